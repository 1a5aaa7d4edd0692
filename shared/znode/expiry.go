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
//
// Its expiry tick is the tick its last request arrived in (or a later
// one) plus its timeout in whole ticks (TimeoutTicks). A request that
// arrived a fraction φ (0 ≤ φ < 1) of a tick into tick a is followed by
// the expiry at tick a + timeout + 1 at the earliest, and no two ticks
// commit within one interval (docs/clock.md): at least timeout + 1 − φ
// ticks later, never early. It is at most a tick late where the
// request's tick is known, read after the request arrived: by the
// transaction that creates or resumes the session, or through the read
// versions of the request's own transactions (layerd/zkserver's
// heartbeat.go); where it is not, the next heartbeat's tick stands in.

// TimeoutTicks returns how many ticks a session with timeout ms lives
// without traffic beyond the tick its last request arrived in: the
// timeout rounded up to whole ticks.
func (tr *Tree) TimeoutTicks(timeoutMs int32) int64 {
	return ticksOf(int64(timeoutMs), tr.opts.Tick.Milliseconds())
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
	tr.reindex(tx, session, expiry, old)
	// Expired from the tick after its expiry tick: due then.
	markDue(tx, tr.t.Root(), expiry+1, tr.t.ExpiryShard(session))
}

// reindex is refresh but for the due mark, which a heartbeat sets once
// per tick for all its sessions (dueMarks).
func (tr *Tree) reindex(tx store.Tx, session, expiry, old int64) {
	tx.Atomic(store.Max, tr.t.SessionExpiry(session), keys.EncodeInt64(expiry))
	tx.Set(tr.t.Expiry(expiry, session), nil)
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

// heartbeatBatch bounds the sessions one commit of Heartbeat refreshes:
// each costs about 250 bytes of mutations and conflict ranges, so one
// FoundationDB transaction (10 MB) holds some 40,000.
const heartbeatBatch = 10_000

// Heartbeat refreshes sessions, in one commit per heartbeatBatch of them
// (a layerd sends them once per tick for the sessions that had traffic).
// It returns the sessions that no longer exist (expired or closed), which
// it does not refresh. On an error the batches before it are written;
// writing them again is harmless.
func (tr *Tree) Heartbeat(ctx context.Context, beats []Beat) ([]int64, error) {
	var gone []int64
	for len(beats) > 0 {
		n := min(len(beats), heartbeatBatch)
		g, err := tr.heartbeat(ctx, beats[:n])
		if err != nil {
			return nil, err
		}
		gone = append(gone, g...)
		beats = beats[n:]
	}
	return gone, nil
}

func (tr *Tree) heartbeat(ctx context.Context, beats []Beat) ([]int64, error) {
	return store.Transact(ctx, tr.db, func(tx store.Tx) ([]int64, error) {
		futures := make([]store.FutureValue, len(beats))
		for i, b := range beats {
			futures[i] = tx.Snapshot().Get(tr.t.Session(b.Session))
		}
		var gone []int64
		due := dueMarks{}
		for i, b := range beats {
			rec, err := futures[i].Get()
			if err != nil {
				return nil, err
			}
			if rec == nil {
				gone = append(gone, b.Session)
				continue
			}
			tr.reindex(tx, b.Session, b.Expiry, b.Old)
			// Expired from the tick after its expiry tick: due then.
			due.add(b.Expiry+1, tr.t.ExpiryShard(b.Session))
		}
		due.write(tx, tr.t.Root())
		return gone, nil
	})
}

// A session ends (it expires, or its client closes it) by losing its
// ephemerals, which fire their watches and update their parents as a
// client's deletes would, its watches and its records. ZooKeeper does it
// in one transaction, with one zxid. One FoundationDB transaction holds a
// few thousand ephemerals or watches (10 MB, 5 seconds), so a larger
// session ends in several, each within the limits (endItems, endBytes,
// halved while a transaction is still too large):
//
//  1. the first clears the session's record, expiry key and last write:
//     from its commit the session is gone (a resume is refused, its
//     writes and ephemeral creates fail with SESSIONEXPIRED, its refreshes
//     find nothing), and an expired one's connections are woken;
//  2. each transaction then clears a batch of its watches or deletes a
//     batch of its ephemerals (each still the session's), in the order
//     ZooKeeper's one transaction has: on expiry its watches first (it is
//     told nothing), on close its ephemerals first (its own watches fire,
//     and the events are the closing connection's);
//  3. the last clears its event log and notify key and, for a sweeper,
//     the expiry-index entry it swept. Until then the entry stays: a
//     sweeper or layerd that stops midway leaves the rest to the next
//     sweep of the entry, which finds the record gone but ephemerals or
//     watches left (leftovers) and finishes.
//
// A small session ends in one transaction, with one zxid, as before. A
// larger one's ephemerals go with one zxid per batch, the first batch in
// the transaction that ends the session (docs/fdb.md).

// Bounds of one transaction's share of a session's end: ephemerals
// deleted or watches cleared, and their estimated bytes of mutations and
// conflict ranges (a path's keys several times over).
const (
	endItems = 1000
	endBytes = 2_000_000
)

// ending is a session's end in progress.
type ending struct {
	id int64
	// conn is the connection closing the session (0: an expiry): its
	// session's own watches fire on its ephemerals' deletion, and the
	// events they owe it are kept (Owed) instead of logged.
	conn int64
	// entry is the expiry-index entry being swept, cleared by the last
	// transaction (nil: none).
	entry []byte
	// limit is the items one transaction takes: endItems, halved while a
	// transaction is too large.
	limit int
}

// endStep is what one transaction of a session's end did.
type endStep struct {
	gone []string // ephemerals deleted
	owed []Event  // events of the closing connection
	done bool     // the session's end is complete
}

// endStep does one transaction's share of e in tx; first makes it the
// transaction that ends the session (clears its records).
func (tr *Tree) endStep(tx store.Tx, e *ending, first bool) (endStep, error) {
	var st endStep
	if first {
		tx.Clear(tr.t.Session(e.id))
		tx.Clear(tr.t.LastWrite(e.id))
		tx.ClearRange(tr.t.LastWriteChunks(e.id))
		tx.Clear(tr.t.SessionExpiry(e.id))
		if e.conn == 0 {
			// Wake the session's connections, wherever they are: they
			// find the session gone and close.
			tx.Atomic(store.Add, tr.t.Notify(e.id), keys.EncodeInt64(1))
		}
	}
	x := tr.newTxn(tx, Caller{})
	x.capture = Conn{Session: e.id, ID: e.conn}
	b := &endBudget{items: e.limit, bytes: endBytes}
	phases := []func(*txn, *endBudget, *endStep) (bool, error){tr.endWatches, tr.endEphemerals}
	if e.conn != 0 {
		phases[0], phases[1] = phases[1], phases[0]
	}
	more, fired := false, false
	for i, phase := range phases {
		var err error
		if more, err = phase(x, b, &st); err != nil {
			return st, err
		}
		if i == 0 && e.conn != 0 {
			// A close fires its ephemerals' deletion before its own
			// watches go: those are owed their events too.
			if err := x.finish(); err != nil {
				return st, err
			}
			fired = true
		}
		if more {
			break
		}
	}
	if !fired {
		if err := x.finish(); err != nil {
			return st, err
		}
	}
	st.owed = x.captured
	if more {
		return st, nil
	}
	tx.ClearRange(tr.t.Events(e.id))
	if !first || e.conn != 0 {
		tx.Clear(tr.t.Notify(e.id)) // (an expiry's first transaction leaves it bumped)
	}
	if e.entry != nil {
		tx.Clear(e.entry)
	}
	st.done = true
	return st, nil
}

// endBudget is what is left of one transaction's share of a session's end.
type endBudget struct{ items, bytes int }

// take reports whether an item touching keys of path p still fits, and
// counts it.
func (b *endBudget) take(p string, keysTouched int) bool {
	cost := keysTouched * (len(p) + 64)
	if b.items <= 0 || (b.bytes < cost && b.bytes < endBytes) {
		return false // (the first item always fits)
	}
	b.items--
	b.bytes -= cost
	return true
}

// endWatches clears a batch of the session's watches; more is true if
// some may be left.
func (tr *Tree) endWatches(x *txn, b *endBudget, _ *endStep) (bool, error) {
	if b.items <= 0 {
		return true, nil
	}
	id := x.capture.Session
	rows, err := x.tx.GetRange(tr.t.SessionWatches(id), store.RangeOptions{Limit: b.items, Mode: store.StreamingWantAll}).GetSlice()
	if err != nil {
		return false, err
	}
	limited := len(rows) == b.items
	for _, kv := range rows {
		wt, err := tr.t.ParseSessionWatch(kv.Key)
		if err != nil {
			return false, err
		}
		if !b.take(wt.Path.String(), 8) {
			return true, nil
		}
		unregister(x.tx, tr.t, wt)
	}
	return limited, nil
}

// endEphemerals deletes a batch of the session's ephemerals (those still
// its own), their index entries with them; more is true if some may be
// left.
func (tr *Tree) endEphemerals(x *txn, b *endBudget, st *endStep) (bool, error) {
	if b.items <= 0 {
		return true, nil
	}
	id := x.capture.Session
	rows, err := x.tx.GetRange(tr.t.Ephemerals(id), store.RangeOptions{Limit: b.items, Mode: store.StreamingWantAll}).GetSlice()
	if err != nil {
		return false, err
	}
	more := len(rows) == b.items
	type item struct {
		key    []byte
		p      string
		parent string
	}
	var batch []item
	for _, kv := range rows {
		_, kp, err := tr.t.ParseEphemeral(kv.Key)
		if err != nil {
			return false, err
		}
		if !b.take(kp.String(), 16) {
			more = true
			break
		}
		parent, _ := splitParent(kp.String())
		batch = append(batch, item{kv.Key, kp.String(), parent})
	}
	// Their reads all at once (prefetch.go): each node, its parent, and
	// both one's watchers.
	for _, it := range batch {
		x.preStat(it.p)
		x.preWatchers(it.p)
		x.preStat(it.parent)
		x.preWatchers(it.parent)
	}
	if len(batch) > 0 {
		x.preGet(tr.t.Counter(keys.CountRecursiveWatches))
	}
	for _, it := range batch {
		x.tx.Clear(it.key)
		n, err := x.load(it.p)
		if err != nil {
			return false, err
		}
		parent, err := x.load(it.parent)
		if err != nil {
			return false, err
		}
		if !n.exists || n.rec.owner != id || !parent.exists {
			continue
		}
		x.remove(it.p, it.parent, n, parent)
		st.gone = append(st.gone, it.p)
	}
	return more, nil
}

// leftovers reports whether a session whose record is gone still has
// ephemerals or watches: its end stopped midway.
func (tr *Tree) leftovers(tx store.Tx, id int64) (bool, error) {
	opts := store.RangeOptions{Limit: 1}
	eph := tx.GetRange(tr.t.Ephemerals(id), opts)
	w, err := tx.GetRange(tr.t.SessionWatches(id), opts).GetSlice()
	if err != nil {
		return false, err
	}
	e, err := eph.GetSlice()
	return len(e)+len(w) > 0, err
}

// ended is what ending a session did.
type ended struct {
	ended bool // check let it proceed
	first bool // its first transaction ended the session (the record was there)
	gone  []string
	owed  []Event // with the zxids of their transactions
	zxid  int64   // the last transaction's
}

// endSession ends e's session in as many transactions as it takes. The
// first runs check first, in its transaction: proceed false ends nothing
// (the caller's writes in tx are committed), first true makes it end the
// session (clear its records); nil check proceeds as first.
func (tr *Tree) endSession(ctx context.Context, e *ending, check func(tx store.Tx) (proceed, first bool, err error)) (ended, error) {
	var out ended
	if e.limit <= 0 {
		e.limit = endItems
	}
	started := false
	for {
		var stamp store.FutureVersionstamp
		type result struct {
			st       endStep
			proceed  bool
			first    bool
			wroteAny bool
		}
		r, err := store.Transact(ctx, tr.db, func(tx store.Tx) (result, error) {
			r := result{proceed: true, first: !started}
			if !started && check != nil {
				var err error
				if r.proceed, r.first, err = check(tx); err != nil || !r.proceed {
					return r, err
				}
			}
			st, err := tr.endStep(tx, e, r.first)
			r.st = st
			stamp = tx.GetVersionstamp()
			return r, err
		})
		if tooLarge(err) && e.limit > 1 {
			e.limit /= 2
			continue
		}
		if err != nil {
			return out, err
		}
		if !r.proceed {
			return out, nil
		}
		if !started {
			out.ended, out.first = true, r.first
		}
		started = true
		own, err := stamp.Get()
		if err != nil {
			return out, err
		}
		if err := checkOrder(own); err != nil {
			return out, err
		}
		out.zxid = Zxid(own)
		out.gone = append(out.gone, r.st.gone...)
		for _, ev := range r.st.owed {
			ev.Zxid = out.zxid
			out.owed = append(out.owed, ev)
		}
		if r.st.done {
			return out, nil
		}
	}
}

// Sweep is what one sweep of a shard did.
type Sweep struct {
	Expired    int // sessions expired
	Ephemerals int // their ephemerals deleted
	Stale      int // index entries of refreshed or closed sessions cleared
	// Ended are the sessions expired, in order.
	Ended []Ended
}

// Ended is one session a sweep expired.
type Ended struct {
	Tenant, Session int64
	Ephemerals      int // its ephemerals deleted
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
// Sessions). Each session's end (endSession, in one transaction or more)
// first checks, in its first transaction, that the session is still
// expired, so two sweepers of one shard do no harm; an entry of a session
// whose end stopped midway finishes it.
func ExpireDue(ctx context.Context, db store.DB, root keys.Root, rows []store.KeyValue, now int64) (Sweep, error) {
	var sw Sweep
	for _, kv := range rows {
		e, err := root.ParseExpiry(kv.Key)
		if err != nil {
			return sw, err
		}
		tr := New(db, root.Tenant(e.Tenant), Options{})
		check := func(tx store.Tx) (bool, bool, error) {
			rec, err := tx.Get(tr.t.Session(e.Session)).Get()
			if err != nil {
				return false, false, err
			}
			b, err := tx.Get(tr.t.SessionExpiry(e.Session)).Get()
			if err != nil {
				return false, false, err
			}
			expiry, err := keys.DecodeInt64(b)
			if err != nil {
				return false, false, err
			}
			if rec == nil {
				left, err := tr.leftovers(tx, e.Session)
				if err != nil || left {
					return left, false, err // an end stopped midway: finish it
				}
				tx.Clear(kv.Key)
				if b != nil {
					tx.Clear(tr.t.SessionExpiry(e.Session)) // a refresh raced the end
				}
				return false, false, nil
			}
			if expiry >= now {
				tx.Clear(kv.Key)
				return false, false, nil // refreshed since: a stale entry
			}
			return true, true, nil
		}
		o, err := tr.endSession(ctx, &ending{id: e.Session, entry: kv.Key}, check)
		if err != nil {
			return sw, err
		}
		if o.ended {
			sw.Expired++
			sw.Ephemerals += len(o.gone)
			sw.Ended = append(sw.Ended, Ended{Tenant: e.Tenant, Session: e.Session, Ephemerals: len(o.gone)})
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

// Now reads the cluster's clock: the current tick.
func (tr *Tree) Now(ctx context.Context) (int64, error) {
	return clock.Now(ctx, tr.db, tr.t.Root().Clock())
}

// NowStamped reads the cluster's clock and the stamp of its tick
// (clock.ReadStamp): ok when the stamp is the current tick's.
func (tr *Tree) NowStamped(ctx context.Context) (tick int64, stamp clock.Stamp, ok bool, err error) {
	type out struct {
		tick  int64
		stamp clock.Stamp
		ok    bool
	}
	o, err := store.ReadTransact(ctx, tr.db, func(r store.Reader) (out, error) {
		tick, stamp, ok, err := clock.ReadStamp(r, tr.t.Root().Clock(), tr.t.Root().ClockStamp())
		return out{tick, stamp, ok}, err
	})
	return o.tick, o.stamp, o.ok, err
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
