package znode

import (
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Prefetching a write's reads. Every read of a transaction is a round
// trip on FoundationDB; a setData that waited for its session's record,
// then its node, then its watchers, then the recursive-watch count did
// four in a row. prefetch issues, at once, the reads the ops will make
// first, so that the write waits about one round trip for all of them.
// They are the very reads the ops make (same keys, same serializable or
// snapshot kind, so the same conflict ranges): a successful write makes
// them all anyway, and a failed one resets the transaction, conflict
// ranges included. Each prefetched read is used once, by the first read
// of its key; the transaction keeps what it learnt (x.nodes, the
// firing's watcher lists), so no later read needs a fresher answer. The
// one key an op writes before another op's first read of it, a parent's
// child counters (childChanged, then a sequential create's needCounts),
// drops its prefetched read when written.

// rangeOpts is how the transaction reads a node's keys and a path's
// watchers: all at once.
var rangeOpts = store.RangeOptions{Mode: store.StreamingWantAll}

// prefetch issues the first reads of ops.
func (x *txn) prefetch(ops []Op) {
	if x.c.Session != 0 && x.c.Conn != 0 {
		x.preGet(x.t.Session(x.c.Session))
	}
	fires := false
	for _, op := range ops {
		switch op := op.(type) {
		case CreateOp:
			m, err := createMode(op)
			if err != nil {
				continue
			}
			if m.ephemeral && x.c.Session != 0 {
				x.preGet(x.t.Session(x.c.Session))
			}
			parent, ok := splitParent(op.Path)
			if !ok {
				continue
			}
			x.preStat(parent)
			x.preWatchers(parent)
			if m.sequential {
				if kp, ok := key(parent); ok {
					x.preGet(x.t.ChildCounts(kp))
					x.preGet(x.t.Pzxid(kp))
				}
			} else {
				x.preStat(op.Path)
				x.preWatchers(op.Path)
			}
			fires = true
		case DeleteOp:
			if parent, ok := splitParent(op.Path); ok {
				x.preStat(parent)
				x.preWatchers(parent)
			}
			x.preNode(op.Path)
			x.preWatchers(op.Path)
			fires = true
		case SetDataOp:
			x.preNode(op.Path)
			x.preWatchers(op.Path)
			fires = true
		case CheckOp:
			x.preStat(op.Path)
		case SetACLOp:
			x.preNode(op.Path)
		}
	}
	if fires {
		x.preGet(x.t.Counter(keys.CountRecursiveWatches))
	}
}

func (x *txn) preGet(k []byte) {
	if _, ok := x.pre[string(k)]; !ok {
		x.pre[string(k)] = x.tx.Get(k)
	}
}

func (x *txn) preRangeRead(r store.Range) {
	k := rangeKey(r)
	if _, ok := x.preRange[k]; !ok {
		x.preRange[k] = x.tx.GetRange(r, rangeOpts)
	}
}

// preStat prefetches what load reads of p.
func (x *txn) preStat(p string) {
	if kp, ok := key(p); ok {
		x.preGet(x.t.Stat(kp))
	}
}

// preNode prefetches what loadCounted reads of p.
func (x *txn) preNode(p string) {
	if kp, ok := key(p); ok {
		x.preRangeRead(x.t.NodeStat(kp))
	}
}

// preWatchers prefetches what firing reads of p's watchers.
func (x *txn) preWatchers(p string) {
	if kp, ok := key(p); ok {
		x.preRangeRead(x.t.Watchers(kp))
	}
}

// get reads k: the prefetched read if there is one (once), else a new one.
func (x *txn) get(k []byte) store.FutureValue {
	if f, ok := x.pre[string(k)]; ok {
		delete(x.pre, string(k))
		return f
	}
	return x.tx.Get(k)
}

// getRange reads r whole: the prefetched read if there is one (once),
// else a new one.
func (x *txn) getRange(r store.Range) store.RangeResult {
	k := rangeKey(r)
	if f, ok := x.preRange[k]; ok {
		delete(x.preRange, k)
		return f
	}
	return x.tx.GetRange(r, rangeOpts)
}

func rangeKey(r store.Range) string {
	return string(r.Begin) + "\x00\xff" + string(r.End)
}

// prefetchNodes issues, at once, the node reads of a multiRead's ops, so
// that on FoundationDB it waits about one round trip for them, not one
// per op; it returns r answering each with its prefetched read, once.
// They are the reads readNode makes (same range, same options).
func (tr *Tree) prefetchNodes(r store.Reader, ops []ReadOp) store.Reader {
	pending := make(map[string]store.RangeResult, len(ops))
	for _, op := range ops {
		_, rg, ok := tr.nodeRange(op.Path, !op.Children)
		if !ok {
			continue
		}
		k := rangeKey(rg)
		if _, ok := pending[k]; !ok {
			pending[k] = r.GetRange(rg, rangeOpts)
		}
	}
	return prefetchedReader{Reader: r, pending: pending}
}

// prefetchedReader answers the first read of each prefetched range with
// its prefetched result.
type prefetchedReader struct {
	store.Reader
	pending map[string]store.RangeResult
}

func (r prefetchedReader) GetRange(rg store.Range, o store.RangeOptions) store.RangeResult {
	if o == rangeOpts {
		k := rangeKey(rg)
		if f, ok := r.pending[k]; ok {
			delete(r.pending, k)
			return f
		}
	}
	return r.Reader.GetRange(rg, o)
}
