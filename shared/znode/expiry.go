package znode

import (
	"context"
	"time"

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Session expiry, in ticks of the cluster's clock (DESIGN.md §4):
//
//   - A session's expiry tick lives in its own key (keys.SessionExpiry),
//     raised with an atomic Max, and each raise adds an entry to the
//     expiry index (keys.Tenant.Expiry) and clears, blindly, the entry the
//     same layerd wrote before for it: a refresh is blind, so two layerds
//     refreshing one session (a client that moved) never conflict, and
//     neither does a refresh with anything else but the expiry of that
//     session. Each layerd's entries of a session rise, so the highest
//     entry is never cleared; one left by a layerd the session moved
//     away from is found stale by the sweeper.
//   - The shard's sweeper reads the entries due each tick. For each, it
//     reads the session's expiry tick: later than the entry's, the entry
//     is stale and cleared; otherwise the session is expired: its
//     ephemerals deleted (firing watches, updating parents), its watches
//     and record cleared, in one transaction.
//
// A session is expired at tick n when its expiry tick is below n.

// TimeoutTicks returns how many ticks a session with timeout ms lives
// without traffic: the timeout rounded up to whole ticks, and one more for
// the tick in progress, so that no session expires early.
func (tr *Tree) TimeoutTicks(timeoutMs int32) int64 {
	return ticksOf(int64(timeoutMs), tr.opts.Tick.Milliseconds()) + 1
}

// nowTick reads the clock, by snapshot: the ticker's writes must not make
// a session's transaction conflict.
func (tr *Tree) nowTick(tx store.Tx) (int64, error) {
	b, err := tx.Snapshot().Get(tr.t.Root().Clock()).Get()
	if err != nil {
		return 0, err
	}
	return clock.Decode(b)
}

// refresh raises session's expiry tick to expiry and indexes it, in
// place of the entry at old (0: none) that the caller wrote before: the
// sweeper reads an index entry only when it is due, so one left behind by
// every refresh would cost it a transaction per active session per tick.
func (tr *Tree) refresh(tx store.Tx, session, expiry, old int64) {
	tx.Atomic(store.Max, tr.t.SessionExpiry(session), keys.EncodeInt64(expiry))
	tx.Set(tr.t.Expiry(expiry, session), nil)
	// Expired from the tick after its expiry tick: due then.
	markDue(tx, tr.t.Root(), expiry+1, tr.t.ExpiryShard(session))
	if old != 0 && old != expiry {
		tx.Clear(tr.t.Expiry(old, session))
	}
}

// Beat is one session's refresh: its new expiry tick, and the one the
// same layerd indexed before (Session.Expiry or the last Beat's; 0:
// none), whose entry it replaces.
type Beat struct {
	Session int64
	Expiry  int64
	Old     int64
}

// Heartbeat refreshes sessions, all in one commit (a layerd sends one per
// tick for the sessions that had traffic). It returns the sessions that no
// longer exist (expired or closed), which it does not refresh.
func (tr *Tree) Heartbeat(ctx context.Context, beats []Beat) ([]int64, error) {
	if len(beats) == 0 {
		return nil, nil
	}
	return store.Transact(ctx, tr.db, func(tx store.Tx) ([]int64, error) {
		futures := make([]store.FutureValue, len(beats))
		for i, b := range beats {
			futures[i] = tx.Snapshot().Get(tr.t.Session(b.Session))
		}
		var gone []int64
		for i, b := range beats {
			rec, err := futures[i].Get()
			if err != nil {
				return nil, err
			}
			if rec == nil {
				gone = append(gone, b.Session)
				continue
			}
			tr.refresh(tx, b.Session, b.Expiry, b.Old)
		}
		return gone, nil
	})
}

// endSession deletes session id's ephemerals (firing their watches and
// updating their parents as a client's deletes would), its watches and
// its records, in tx. It returns the deleted paths. With conn set (a
// client's closeSession through that connection) the session's own
// watches fire too, and the events they owe conn are returned instead of
// logged; on expiry (conn 0) the session is told nothing: its own
// watches go first.
func (tr *Tree) endSession(tx store.Tx, id, conn int64) ([]string, []Event, error) {
	paths, err := tr.ephemerals(tx, id)
	if err != nil {
		return nil, nil, err
	}
	x := tr.newTxn(tx, Caller{})
	var gone []string
	for _, p := range paths {
		parentPath, ok := splitParent(p)
		if !ok {
			continue
		}
		n, err := x.load(p)
		if err != nil {
			return nil, nil, err
		}
		parent, err := x.load(parentPath)
		if err != nil {
			return nil, nil, err
		}
		if !n.exists || n.rec.owner != id || !parent.exists {
			continue
		}
		x.remove(p, parentPath, n, parent)
		gone = append(gone, p)
	}
	if conn == 0 {
		if err := tr.dropWatches(tx, id, 0); err != nil {
			return nil, nil, err
		}
	}
	x.capture = Conn{Session: id, ID: conn}
	if err := x.finish(); err != nil {
		return nil, nil, err
	}
	if conn != 0 {
		if err := tr.dropWatches(tx, id, 0); err != nil {
			return nil, nil, err
		}
	}
	tx.ClearRange(tr.t.Ephemerals(id))
	tx.Clear(tr.t.Session(id))
	tx.Clear(tr.t.LastWrite(id))
	tx.Clear(tr.t.SessionExpiry(id))
	return gone, x.captured, nil
}

// Sweep is what one sweep of a shard did.
type Sweep struct {
	Expired    int // sessions expired
	Ephemerals int // their ephemerals deleted
	Stale      int // index entries of refreshed or closed sessions cleared
}

// sweepBatch bounds the index entries one sweep of a shard reads; the
// rest wait for the next tick.
const sweepBatch = 1000

// Due is what is due in one shard of the timer indices at a tick: expiry
// entries of sessions, container and TTL timers.
type Due struct {
	Shard                      int
	Sessions, Containers, TTLs []store.KeyValue
}

// ReadDue reads what is due at now in shards (at most sweepBatch entries
// of each kind per shard; the rest wait for the next tick), in one read
// transaction whose range reads are all issued before any is awaited: on
// FoundationDB one round trip, however many shards.
func ReadDue(ctx context.Context, db store.DB, root keys.Root, shards []int, now int64) ([]Due, error) {
	opts := store.RangeOptions{Limit: sweepBatch, Mode: store.StreamingWantAll}
	return store.ReadTransact(ctx, db, func(r store.Reader) ([]Due, error) {
		pending := make([][3]store.RangeResult, len(shards))
		for i, shard := range shards {
			pending[i] = [3]store.RangeResult{
				r.GetRange(root.ExpiryDue(shard, now-1), opts),
				r.GetRange(root.ContainersDue(shard, now), opts),
				r.GetRange(root.TTLDue(shard, now), opts),
			}
		}
		var out []Due
		for i, shard := range shards {
			var rows [3][]store.KeyValue
			for k := range rows {
				var err error
				if rows[k], err = pending[i][k].GetSlice(); err != nil {
					return nil, err
				}
			}
			if len(rows[0])+len(rows[1])+len(rows[2]) > 0 {
				out = append(out, Due{Shard: shard, Sessions: rows[0], Containers: rows[1], TTLs: rows[2]})
			}
		}
		return out, nil
	})
}

// SweepExpired expires the sessions of shard, in every tenant under root,
// whose expiry tick is below now (ReadDue, then ExpireDue).
func SweepExpired(ctx context.Context, db store.DB, root keys.Root, shard int, now int64) (Sweep, error) {
	due, err := ReadDue(ctx, db, root, []int{shard}, now)
	if err != nil || len(due) == 0 {
		return Sweep{}, err
	}
	return ExpireDue(ctx, db, root, due[0].Sessions, now)
}

// ExpireDue expires the sessions of due expiry-index entries (ReadDue's
// Sessions). Each session is expired in a transaction of its own that
// first checks it is still expired, so two sweepers of one shard do no
// harm.
func ExpireDue(ctx context.Context, db store.DB, root keys.Root, rows []store.KeyValue, now int64) (Sweep, error) {
	var sw Sweep
	for _, kv := range rows {
		e, err := root.ParseExpiry(kv.Key)
		if err != nil {
			return sw, err
		}
		tr := New(db, root.Tenant(e.Tenant), Options{})
		type outcome struct {
			expired bool
			deleted int
			stamp   store.FutureVersionstamp // the expiry's, whence its zxid
		}
		o, err := store.Transact(ctx, db, func(tx store.Tx) (outcome, error) {
			tx.Clear(kv.Key)
			rec, err := tx.Get(tr.t.Session(e.Session)).Get()
			if err != nil {
				return outcome{}, err
			}
			b, err := tx.Get(tr.t.SessionExpiry(e.Session)).Get()
			if err != nil {
				return outcome{}, err
			}
			expiry, err := keys.DecodeInt64(b)
			if err != nil {
				return outcome{}, err
			}
			if rec == nil {
				if b != nil {
					tx.Clear(tr.t.SessionExpiry(e.Session)) // a refresh raced the end
				}
				return outcome{}, nil
			}
			if expiry >= now {
				return outcome{}, nil // refreshed since: a stale entry
			}
			gone, _, err := tr.endSession(tx, e.Session, 0)
			if err != nil {
				return outcome{}, err
			}
			// Wake the session's connection, wherever it is: it finds the
			// session gone and closes.
			tx.Atomic(store.Add, tr.t.Notify(e.Session), keys.EncodeInt64(1))
			return outcome{true, len(gone), tx.GetVersionstamp()}, nil
		})
		if err != nil {
			return sw, err
		}
		if o.expired {
			sw.Expired++
			sw.Ephemerals += o.deleted
			own, err := o.stamp.Get()
			if err == nil {
				err = checkOrder(own)
			}
			if err != nil {
				return sw, err
			}
		} else {
			sw.Stale++
		}
	}
	return sw, nil
}

// EachTick calls fn at each new tick of the cluster's clock until ctx
// ends (shared/clock.EachTick).
func (tr *Tree) EachTick(ctx context.Context, fn func(tick int64), waitFailed func(error)) {
	clock.EachTick(ctx, tr.db, tr.t.Root().Clock(), fn, waitFailed)
}

// SweepNodes deletes, in shard of every tenant under root, the containers
// whose timer is due at now and that are empty after having had children,
// and the TTL nodes whose timer is due, that were not modified since it
// was armed and that have no children (ZooKeeper's container manager,
// with the TTL counted in ticks of the cluster's clock). Each deletion is
// a deleteContainer of its own (its own zxid, watches fired), which checks
// again that the node is empty. A TTL node with children is looked at
// again at the next tick.
func SweepNodes(ctx context.Context, db store.DB, root keys.Root, shard int, now int64, tick time.Duration) (int, error) {
	due, err := ReadDue(ctx, db, root, []int{shard}, now)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	return ReapDue(ctx, db, root, due[0], now, tick)
}

// ReapDue reaps the containers and TTL nodes of d (SweepNodes).
func ReapDue(ctx context.Context, db store.DB, root keys.Root, d Due, now int64, tick time.Duration) (int, error) {
	deleted := 0
	for _, due := range []struct {
		rows  []store.KeyValue
		parse func([]byte) (keys.NodeTimer, error)
		ttl   bool
	}{
		{d.Containers, root.ParseContainer, false},
		{d.TTLs, root.ParseTTL, true},
	} {
		for _, kv := range due.rows {
			nt, err := due.parse(kv.Key)
			if err != nil {
				return deleted, err
			}
			tr := New(db, root.Tenant(nt.Tenant), Options{Tick: tick})
			gone, again, err := tr.reapable(ctx, nt.Path.String(), due.ttl, kv.Value)
			if err != nil {
				return deleted, err
			}
			if gone {
				w, err := tr.Write(ctx, Caller{Now: time.Now().UnixMilli()}, []Op{DeleteContainerOp{Path: nt.Path.String()}})
				if err != nil {
					return deleted, err
				}
				if w.Failed() == nil {
					deleted++
				}
			}
			if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
				tx.Clear(kv.Key)
				if again {
					tx.Set(tr.t.TTL(now+1, nt.Path), kv.Value)
					markDue(tx, root, now+1, tr.t.NodeShard(nt.Path))
				}
				return struct{}{}, nil
			}); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, nil
}

// reapable reports whether the node at p is due for the reaper now, and,
// for a TTL node due but with children, whether to look again at the next
// tick. stamp is a TTL entry's value: the mzxid the node had when it was
// armed.
func (tr *Tree) reapable(ctx context.Context, p string, ttl bool, stamp []byte) (bool, bool, error) {
	n, err := store.ReadTransact(ctx, tr.db, func(r store.Reader) (*node, error) {
		n, _, err := tr.readNode(r, p, false)
		return n, err
	})
	if err != nil || !n.exists {
		return false, false, err
	}
	if !ttl {
		return isContainer(n.rec.owner) && numChildren(n.counts) == 0 && storedCversion(n.counts) > 0, false, nil
	}
	if !isTTL(n.rec.owner) || string(n.rec.mzxid.stamp[:]) != string(stamp) {
		return false, false, nil // not this node, or modified since: a later entry is armed
	}
	if numChildren(n.counts) > 0 {
		return false, true, nil // ZooKeeper looks again at every check
	}
	return true, false, nil
}
