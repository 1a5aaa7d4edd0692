package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"

	"zkfdb/shared/store"
)

// maxBatch bounds how many transactions share one commit batch (one fsync).
const maxBatch = 1024

// commitRequest carries one transaction to the committer and its result
// back.
type commitRequest struct {
	readVersion int64
	reads       []store.Range // sorted, merged
	writes      []store.Range // write-conflict ranges, versionstamped keys excepted
	log         []mutation
	watches     []*watch
	size        int

	done    chan struct{}
	err     error
	version int64
	stamp   store.Versionstamp
}

// runCommitter takes commit requests in batches until Close. Each batch is
// resolved, applied with one fsync, published, and answered.
func (db *DB) runCommitter() {
	defer close(db.stopped)
	batch := make([]*commitRequest, 0, maxBatch)
	for {
		select {
		case <-db.stop:
			db.failQueued()
			return
		case r := <-db.commits:
			batch = append(batch[:0], r)
		}
		// Let the goroutines that are about to commit queue first: on a
		// busy machine the committer wakes for the first request while
		// the others are runnable but not yet run, and would otherwise
		// spend an fsync on each. It yields again while a yield brought
		// more: requests whose sockets the network poller finds only once
		// the run queue is empty come in a later wave (64 sessions'
		// setData: 25 transactions a batch with one yield, 37 with this;
		// each fsync holds layerd's only P). A yield that brings nothing
		// ends it, so a lone commit waits for none.
		for range maxYields {
			runtime.Gosched()
			queued := len(batch)
			if batch = db.takeQueued(batch); len(batch) == queued || len(batch) == maxBatch {
				break
			}
		}
		db.commitBatch(batch)
	}
}

// maxYields bounds the committer's yields before one batch.
const maxYields = 4

// takeQueued appends to batch the requests queued now, up to maxBatch.
func (db *DB) takeQueued(batch []*commitRequest) []*commitRequest {
	for len(batch) < maxBatch {
		select {
		case r := <-db.commits:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// failQueued answers the requests left in the queue at Close.
func (db *DB) failQueued() {
	for {
		select {
		case r := <-db.commits:
			r.err = store.ErrTransactionCancelled
			close(r.done)
		default:
			return
		}
	}
}

type acceptedTx struct {
	req           *commitRequest
	reportUnknown bool
}

func (db *DB) commitBatch(batch []*commitRequest) {
	db.mu.Lock()
	version := db.committed + 1
	if now := db.clock.now(); now > version {
		version = now
	}
	db.inflight = true
	db.mu.Unlock()

	oldest := version - store.MVCCWindow
	var accepted []acceptedTx
	for i, r := range batch {
		fault := db.faults.Decide()
		switch fault {
		case FaultNotCommitted, FaultTooOld, FaultFutureVersion, FaultProcessBehind:
			// Not applied: the code alone tells the client.
			r.err = fault.Err()
			db.metrics.commits.WithLabelValues(fault.label()).Inc()
			continue
		}
		// Every writing transaction has a read-conflict range on FDB (its
		// client adds a self-conflicting one when no read meets a write),
		// so the resolver's age check applies to all of them.
		if r.readVersion < oldest {
			r.err = store.ErrTransactionTooOld
			db.metrics.commits.WithLabelValues("too_old").Inc()
			continue
		}
		if len(r.reads) > 0 && db.history.conflicts(r.reads, r.readVersion) {
			r.err = store.ErrNotCommitted
			db.metrics.commits.WithLabelValues("conflict").Inc()
			continue
		}
		r.version = version
		binary.BigEndian.PutUint64(r.stamp[:8], uint64(version))
		binary.BigEndian.PutUint16(r.stamp[8:], uint16(i))
		writes := r.writes
		for _, m := range r.log {
			if m.kind == mVersionstampedKey {
				k := stampKey(m.key, r.stamp)
				writes = append(writes, store.Range{Begin: k, End: keyAfter(k)})
			}
		}
		if fault == FaultUnknownDropped {
			r.err = store.ErrCommitUnknownResult
			db.metrics.commits.WithLabelValues("fault_unknown_dropped").Inc()
			continue
		}
		// Recorded at once, so that later transactions of this batch that
		// read what it writes conflict, as in FDB.
		db.history.add(version, writes)
		accepted = append(accepted, acceptedTx{req: r, reportUnknown: fault == FaultUnknownApplied})
	}

	changed, err := db.apply(version, accepted)
	if err != nil {
		db.log.Error("commit batch failed", zap.Error(err), zap.Int("transactions", len(accepted)))
		db.mu.Lock()
		db.inflight = false
		db.mu.Unlock()
		for _, a := range accepted {
			a.req.err = err
		}
		// What Pebble holds now is unknown; no cached read may outlive it.
		db.points.published(db.current().version, nil)
		db.ranges.published(db.current().version, nil)
		answer(batch)
		return
	}
	db.history.trim(oldest)
	db.points.published(version, &changed)
	db.ranges.published(version, &changed)
	snap := db.publish(version)
	db.watches.fire(snap, changed)
	for _, a := range accepted {
		for _, w := range a.req.watches {
			db.watches.arm(w, snap)
		}
		if a.reportUnknown {
			a.req.err = store.ErrCommitUnknownResult
			db.metrics.commits.WithLabelValues("fault_unknown_applied").Inc()
		} else {
			db.metrics.commits.WithLabelValues("committed").Inc()
		}
	}
	db.metrics.batchSize.Observe(float64(len(batch)))
	answer(batch)
}

func answer(batch []*commitRequest) {
	for _, r := range batch {
		close(r.done)
	}
}

// changes lists what a batch wrote, in order and resolved (an atomic
// op's result, a versionstamp's key or value): the watches check the
// keys and ranges it names, the point cache drops them, and the range
// cache brings its entries up to date with it (rangecache.go).
type changes struct {
	ops []change
}

type changeKind uint8

const (
	changeSet        changeKind = iota // key now holds value
	changeClear                        // key is absent
	changeClearRange                   // [key, end) is empty
)

type change struct {
	kind       changeKind
	key, value []byte
	end        []byte // a cleared range's end
}

func (ch *changes) set(k, v []byte) {
	ch.ops = append(ch.ops, change{kind: changeSet, key: k, value: v})
}
func (ch *changes) clear(k []byte) { ch.ops = append(ch.ops, change{kind: changeClear, key: k}) }
func (ch *changes) clearRange(begin, end []byte) {
	ch.ops = append(ch.ops, change{kind: changeClearRange, key: begin, end: end})
}

// apply writes the accepted transactions' mutations, in order, in one
// Pebble batch with one fsync. Atomic ops read the value left by the
// mutations before them, as on an FDB storage server.
func (db *DB) apply(version int64, accepted []acceptedTx) (changes, error) {
	n := 0
	for _, a := range accepted {
		n += len(a.req.log)
	}
	ch := changes{ops: make([]change, 0, n)}
	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	for _, a := range accepted {
		for _, m := range a.req.log {
			var err error
			switch m.kind {
			case mSet:
				err = b.Set(m.key, m.value, nil)
				ch.set(m.key, m.value)
			case mClear:
				err = b.Delete(m.key, nil)
				ch.clear(m.key)
			case mClearRange:
				err = clearRange(b, m.key, m.value)
				ch.clearRange(m.key, m.value)
			case mAtomic:
				var old []byte
				old, err = batchGet(b, m.key)
				if err == nil {
					v, present := applyAtomic(m.op, old, m.value)
					if present {
						err = b.Set(m.key, v, nil)
						ch.set(m.key, v)
					} else {
						err = b.Delete(m.key, nil)
						ch.clear(m.key)
					}
				}
			case mVersionstampedKey:
				k := stampKey(m.key, a.req.stamp)
				err = b.Set(k, m.value, nil)
				ch.set(k, m.value)
			case mVersionstampedValue:
				v := stampKey(m.value, a.req.stamp)
				err = b.Set(m.key, v, nil)
				ch.set(m.key, v)
			}
			if err != nil {
				return ch, fmt.Errorf("embedded: apply: %w", err)
			}
		}
	}
	var vbuf [8]byte
	binary.BigEndian.PutUint64(vbuf[:], uint64(version))
	if err := b.Set(metaVersion, vbuf[:], nil); err != nil {
		return ch, fmt.Errorf("embedded: apply: %w", err)
	}
	start := time.Now()
	if err := b.Commit(pebble.Sync); err != nil {
		return ch, fmt.Errorf("embedded: commit: %w", err)
	}
	db.metrics.fsync.Observe(time.Since(start).Seconds())
	return ch, nil
}

// pointClearLimit is how many keys a cleared range may hold to be
// cleared key by key.
const pointClearLimit = 64

// clearRange clears [begin, end). A range holding few keys is cleared key
// by key: a Pebble range tombstone costs every later read of the memtable
// it sits in (tombstones are fragmented again as they accumulate), and a
// layer that clears small ranges often (a znode's leftover data chunks,
// a deleted node) would make every read slower. Larger ranges get one
// tombstone. The result is the same.
func clearRange(b *pebble.Batch, begin, end []byte) error {
	opts := &pebble.IterOptions{LowerBound: begin, UpperBound: end}
	if len(begin) == 0 {
		opts.LowerBound = nil // see scanLocked
	}
	it, err := b.NewIter(opts)
	if err != nil {
		return err
	}
	var keys [][]byte
	for valid := it.First(); valid && len(keys) <= pointClearLimit; valid = it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return err
	}
	if len(keys) > pointClearLimit {
		return b.DeleteRange(begin, end, nil)
	}
	for _, k := range keys {
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	return nil
}

func batchGet(b *pebble.Batch, k []byte) ([]byte, error) {
	v, closer, err := b.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(v))
	copy(out, v)
	closer.Close()
	return out, nil
}

// stampKey removes the 4-byte little-endian offset that ends b and writes
// the stamp at that offset. The offset was validated when queued.
func stampKey(b []byte, stamp store.Versionstamp) []byte {
	n := len(b) - 4
	p := int(binary.LittleEndian.Uint32(b[n:]))
	out := cloneKey(b[:n]) // its conflict range needs the key after it
	copy(out[p:p+10], stamp[:])
	return out
}

// stampOffset validates a versionstamp op's argument and returns the
// template (without the offset) and the offset.
func stampOffset(b []byte) ([]byte, int, error) {
	if len(b) < 4 {
		return nil, 0, store.ErrClientInvalidOperation
	}
	n := len(b) - 4
	p := int64(binary.LittleEndian.Uint32(b[n:]))
	if p+10 > int64(n) {
		return nil, 0, store.ErrClientInvalidOperation
	}
	return b[:n], int(p), nil
}

// FaultInjector decides each commit's injected failure, as Faults say.
// It is safe for concurrent use. The embedded engine asks it for every
// write commit; a wrapper of another engine may too, so that one test
// injects the same failures on every engine.
type FaultInjector struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
	seq uint64
	// readSeq numbers the reads DecideRead is asked about.
	readSeq uint64
}

// Injector returns the injector of f.
func (f Faults) Injector() *FaultInjector {
	seed := f.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return &FaultInjector{f: f, rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

// Enabled reports whether it injects anything.
func (fi *FaultInjector) Enabled() bool {
	return fi.f.Decide != nil || fi.f.DecideRead != nil || fi.f.UnknownResultApplied > 0 || fi.f.UnknownResultDropped > 0 || fi.f.NotCommitted > 0
}

// DecideRead returns the fault of the next read that reaches storage.
func (fi *FaultInjector) DecideRead() Fault {
	if fi.f.DecideRead == nil {
		return NoFault
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.readSeq++
	return fi.f.DecideRead(fi.readSeq)
}

// label names f in store_embedded_commits_total.
func (f Fault) label() string {
	switch f {
	case FaultNotCommitted:
		return "fault_not_committed"
	case FaultTooOld:
		return "fault_too_old"
	case FaultFutureVersion:
		return "fault_future_version"
	case FaultProcessBehind:
		return "fault_process_behind"
	}
	return "fault"
}

// Decide returns the fault of the next write commit.
func (fi *FaultInjector) Decide() Fault {
	if !fi.Enabled() {
		return NoFault
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.seq++
	if fi.f.Decide != nil {
		return fi.f.Decide(fi.seq)
	}
	x := fi.rng.Float64()
	switch {
	case x < fi.f.NotCommitted:
		return FaultNotCommitted
	case x < fi.f.NotCommitted+fi.f.UnknownResultDropped:
		return FaultUnknownDropped
	case x < fi.f.NotCommitted+fi.f.UnknownResultDropped+fi.f.UnknownResultApplied:
		return FaultUnknownApplied
	}
	return NoFault
}
