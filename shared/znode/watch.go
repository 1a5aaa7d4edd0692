package znode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Watches, as ZooKeeper keeps them (ZK-SEMANTICS §9), without a leader
// (DESIGN.md §3, docs/watches.md):
//
//   - A watch is a pair of keys, (6, path, kind, session) for the writers
//     and (7, session, path, kind) for its owner, both holding the id of
//     the connection that set it: watches belong to a connection and die
//     with it.
//   - A read that sets a watch writes them in its own transaction, so a
//     write either commits before the read's version (the read sees it),
//     or reads the watch and fires it, or conflicts with one of the two.
//   - Every write reads the watchers of what it changes and, in its own
//     transaction, clears the one-shot ones it fires, appends the events
//     to each watching session's log (keyed by versionstamp: commit
//     order) and bumps the session's notify key.
//   - The connection's layerd delivers the log: before each reply, the
//     events committed at or before the reply's version, and, when the
//     notify key changes, the rest.

// EventType is a watch event's type, as on the wire.
type EventType int32

const (
	EventNodeCreated         EventType = 1
	EventNodeDeleted         EventType = 2
	EventNodeDataChanged     EventType = 3
	EventNodeChildrenChanged EventType = 4
)

// Event is a triggered watch on its way to a connection.
type Event struct {
	Type EventType
	Path string
	// Zxid is the triggering write's; -1 for setWatches' immediate events.
	Zxid int64
	// acl is the ACL whose READ a connection needs to receive the event
	// (ZooKeeper 3.9.2's filter); checked is false for events sent
	// without the check (setWatches').
	acl     []ACL
	checked bool
}

// Visible reports whether a connection with identities a receives e.
func (e Event) Visible(a Auth) bool { return !e.checked || a.allowed(e.acl, PermRead) }

// Conn is a client connection as watches see it.
type Conn struct {
	Session int64
	// ID tells the connection apart from the session's earlier and later
	// ones: random, never 0.
	ID int64
}

// Watch modes of addWatch (AddWatchMode on the wire).
const (
	AddWatchPersistent          = 0
	AddWatchPersistentRecursive = 1
)

// Watcher types of checkWatches and removeWatches (WatcherType).
const (
	WatcherChildren   = 1
	WatcherData       = 2
	WatcherAny        = 3
	WatcherPersistent = 4
	WatcherRecursive  = 5
)

func connValue(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func connOf(b []byte) int64 {
	if len(b) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// register sets w's watch of kind on p in tx.
func (tr *Tree) register(tx store.Tx, w Conn, p string, kind keys.WatchKind) error {
	kp, ok := key(p)
	if !ok || w.Session == 0 {
		return nil
	}
	active := tr.t.Watch(kp, kind, w.Session)
	if kind == keys.WatchRecursive {
		old, err := tx.Get(active).Get()
		if err != nil {
			return err
		}
		if old == nil {
			tx.Atomic(store.Add, tr.t.Counter(keys.CountRecursiveWatches), keys.EncodeInt64(1))
		}
	}
	v := connValue(w.ID)
	tx.Set(active, v)
	tx.Set(tr.t.SessionWatch(w.Session, kp, kind), v)
	return nil
}

// unregister clears one watch (both keys) that exists.
func unregister(tx store.Tx, t keys.Tenant, wt keys.Watcher) {
	tx.Clear(t.Watch(wt.Path, wt.Kind, wt.Session))
	tx.Clear(t.SessionWatch(wt.Session, wt.Path, wt.Kind))
	if wt.Kind == keys.WatchRecursive {
		tx.Atomic(store.Add, t.Counter(keys.CountRecursiveWatches), keys.EncodeInt64(-1))
	}
}

// registration is a watch a read set, and what the read saw of its node.
type registration struct {
	path    string
	kind    keys.WatchKind
	existed bool
}

// exactAttempts is how many times a watched read tries to register its
// watch in a transaction whose read of the node conflicts with writes to
// it: exact, as ZooKeeper's single thread is. Against a node written
// without pause (a hot lock node) such a read would retry for ever; after
// that attempt it reads without conflicts and checks, once its
// registration is committed, whether the node changed in between
// (verify), as setWatches does. The one difference that leaves: an event
// found by verify is logged at verify's commit, after the events of any
// other writes committed in those few milliseconds. The attempt after a
// conflict runs at once, without the retry loop's backoff (up to 10 ms
// on FoundationDB's schedule): it cannot conflict on its reads, and a
// conflict here is most often a lock's hand-off (the waiter's exists
// watch on the node its holder deletes), whose wait would be every
// contender's.
const exactAttempts = 1

// watchedRead runs a read that may set a watch (read returns what it
// registers) in one transaction that commits the registration. The read's
// ZooKeeper error is returned after the commit: exists sets a watch on a
// missing node.
func (tr *Tree) watchedRead(ctx context.Context, w Conn, read func(tx store.Tx, r store.Reader) (Read, []registration, error)) (Read, error) {
	type outcome struct {
		rd       Read
		err      error
		regs     []registration
		snapshot bool
		rv       int64 // the read's version
	}
	attempt := 0
	o, err := store.TransactConflictAtOnce(ctx, tr.db, func(tx store.Tx) (outcome, error) {
		attempt++
		snapshot := attempt > exactAttempts
		var r store.Reader = tx
		if snapshot {
			r = tx.Snapshot()
		}
		rd, regs, err := read(tx, r)
		var se store.Error
		if errors.As(err, &se) || errors.Is(err, errSplit) {
			return outcome{}, err
		}
		for _, reg := range regs {
			if rerr := tr.register(tx, w, reg.path, reg.kind); rerr != nil {
				return outcome{}, rerr
			}
		}
		rv, rerr := tx.GetReadVersion().Get()
		if rerr != nil {
			return outcome{}, rerr
		}
		return outcome{rd, err, regs, snapshot, rv}, nil
	})
	if err != nil {
		return Read{}, err
	}
	if o.snapshot && len(o.regs) > 0 {
		if err := tr.verify(ctx, w, o.regs, ReadZxid(o.rv)); err != nil {
			return Read{}, err
		}
	}
	return o.rd, o.err
}

// verify fires, at once, the watches a read registered without conflicts
// whose node changed after the read (at zxid rel) and before the
// registration committed: no write saw them.
func (tr *Tree) verify(ctx context.Context, w Conn, regs []registration, rel int64) error {
	_, err := store.Transact(ctx, tr.db, func(tx store.Tx) (struct{}, error) {
		x := tr.newTxn(tx, Caller{})
		f := &firing{byPath: map[string][]watchEntry{}, recursive: map[string][]watchEntry{}, events: map[int64][]sessionEvent{}}
		for _, reg := range regs {
			kp, ok := key(reg.path)
			if !ok {
				continue
			}
			b, err := tx.Get(tr.t.Watch(kp, reg.kind, w.Session)).Get()
			if err != nil {
				return struct{}{}, err
			}
			if connOf(b) != w.ID {
				continue // fired by a write already, or gone
			}
			n, _, err := tr.readNode(tx.Snapshot(), reg.path, false)
			if err != nil {
				return struct{}{}, err
			}
			typ := firedSince(n, reg, rel)
			if typ == 0 {
				continue
			}
			we := watchEntry{w: keys.Watcher{Path: kp, Kind: reg.kind, Session: w.Session}, conn: w.ID}
			x.deliver(f, we, map[int64]bool{}, Event{Type: typ, Path: reg.path, acl: n.rec.acl, checked: n.exists})
		}
		x.logEvents(f)
		return struct{}{}, nil
	})
	return err
}

// GetDataWatch is GetData that also sets a data watch on p, as ZooKeeper
// does when the read succeeds.
func (tr *Tree) GetDataWatch(ctx context.Context, a Auth, w Conn, p string) (Read, error) {
	return tr.watchedRead(ctx, w, func(tx store.Tx, r store.Reader) (Read, []registration, error) {
		rd, err := tr.getData(r, a, p)
		if err != nil {
			return rd, nil, err
		}
		return rd, []registration{{p, keys.WatchData, true}}, nil
	})
}

// ExistsWatch is Exists that also sets a data watch on p, even when p is
// missing (the "exist" watch), but not when READ is denied.
func (tr *Tree) ExistsWatch(ctx context.Context, a Auth, w Conn, p string) (Read, error) {
	return tr.watchedRead(ctx, w, func(tx store.Tx, r store.Reader) (Read, []registration, error) {
		rd, err := tr.exists(r, a, p)
		switch {
		case err == nil:
			return rd, []registration{{p, keys.WatchData, true}}, nil
		case errors.Is(err, ErrNoNode):
			return rd, []registration{{p, keys.WatchData, false}}, err
		}
		return rd, nil, err
	})
}

// GetChildrenWatch is GetChildren that also sets a child watch on p when
// the read succeeds. A listing that outgrows one transaction (listChildren)
// is read first; then the watch is registered, and fired at once if a
// child was created or deleted since the listing's first read (verify):
// no change the reply may have missed goes without an event, at the cost
// of an event for a change the reply already shows.
func (tr *Tree) GetChildrenWatch(ctx context.Context, a Auth, w Conn, p string) (Read, error) {
	rd, err := tr.watchedRead(ctx, w, func(tx store.Tx, r store.Reader) (Read, []registration, error) {
		rd, err := tr.getChildrenWithin(r, a, p, time.Now())
		if err != nil {
			return rd, nil, err
		}
		return rd, []registration{{p, keys.WatchChild, true}}, nil
	})
	if !errors.Is(err, errSplit) {
		return rd, err
	}
	rd, rv0, err := tr.listChildren(ctx, a, p)
	if err != nil {
		return rd, err // no watch, as ZooKeeper sets none on a failed read
	}
	regs := []registration{{p, keys.WatchChild, true}}
	if _, err := store.Transact(ctx, tr.db, func(tx store.Tx) (struct{}, error) {
		return struct{}{}, tr.register(tx, w, p, keys.WatchChild)
	}); err != nil {
		return Read{}, err
	}
	return rd, tr.verify(ctx, w, regs, ReadZxid(rv0))
}

// AddWatch sets a persistent (AddWatchPersistent) or persistent recursive
// watch on p, with no existence or ACL check, as ZooKeeper does. Another
// mode is ErrMarshalling.
func (tr *Tree) AddWatch(ctx context.Context, w Conn, p string, mode int32) (Read, error) {
	var kind keys.WatchKind
	switch mode {
	case AddWatchPersistent:
		kind = keys.WatchPersistent
	case AddWatchPersistentRecursive:
		kind = keys.WatchRecursive
	default:
		return Read{}, ErrMarshalling
	}
	return tr.watchedRead(ctx, w, func(tx store.Tx, _ store.Reader) (Read, []registration, error) {
		return Read{}, nil, tr.register(tx, w, p, kind) // no read: nothing to verify
	})
}

// kindsOf returns the watch kinds a checkWatches or removeWatches type
// names; false for an unknown type.
func kindsOf(watcherType int32) ([]keys.WatchKind, bool) {
	switch watcherType {
	case WatcherChildren:
		return []keys.WatchKind{keys.WatchChild}, true
	case WatcherData:
		return []keys.WatchKind{keys.WatchData}, true
	case WatcherAny:
		return []keys.WatchKind{keys.WatchData, keys.WatchChild, keys.WatchPersistent, keys.WatchRecursive}, true
	case WatcherPersistent:
		return []keys.WatchKind{keys.WatchPersistent}, true
	case WatcherRecursive:
		return []keys.WatchKind{keys.WatchRecursive}, true
	}
	return nil, false
}

// RemoveWatches removes w's watches on p of watcherType (checkWatches when
// remove is false: only checks that one exists). None: ErrNoWatcher; an
// unknown type: ErrMarshalling. No event is sent for a removal.
func (tr *Tree) RemoveWatches(ctx context.Context, w Conn, p string, watcherType int32, remove bool) (Read, error) {
	kinds, ok := kindsOf(watcherType)
	if !ok {
		return Read{}, ErrMarshalling
	}
	kp, ok := key(p)
	if !ok {
		return Read{}, ErrNoWatcher
	}
	return tr.watchedRead(ctx, w, func(tx store.Tx, _ store.Reader) (Read, []registration, error) {
		found := false
		for _, kind := range kinds {
			b, err := tx.Get(tr.t.SessionWatch(w.Session, kp, kind)).Get()
			if err != nil {
				return Read{}, nil, err
			}
			if b == nil || connOf(b) != w.ID {
				continue
			}
			found = true
			if remove {
				unregister(tx, tr.t, keys.Watcher{Path: kp, Kind: kind, Session: w.Session})
			}
		}
		if !found {
			return Read{}, nil, ErrNoWatcher
		}
		return Read{}, nil, nil
	})
}

// SetWatches re-registers a reconnecting client's watches on w, checking
// each against the state and the client's last zxid as ZooKeeper does:
// what changed since fires at once (the returned events, to send before
// the reply), the rest is registered. A client may send 100,000 paths and
// more, more than one transaction can check and register (10 MB, 5 s):
// they go in batches (endItems, endBytes, halved while still too large),
// a few at once, each path checked and registered in one transaction, so
// none misses a change; a batch's reads are issued at once.
func (tr *Tree) SetWatches(ctx context.Context, w Conn, relZxid int64, data, exist, child, persistent, recursive []string) ([]Event, error) {
	type item = setWatchItem
	var items []item
	for _, list := range []struct {
		paths   []string
		kind    keys.WatchKind
		existed bool
		check   bool
	}{
		{data, keys.WatchData, true, true}, {exist, keys.WatchData, false, true}, {child, keys.WatchChild, true, true},
		{persistent, keys.WatchPersistent, false, false}, {recursive, keys.WatchRecursive, false, false},
	} {
		for _, p := range list.paths {
			items = append(items, item{registration{p, list.kind, list.existed}, list.check})
		}
	}
	// Batches within the budget, run by a few transactions at once (each
	// is a round trip of parallel reads and a commit); their events are
	// returned in the order of the paths.
	var batches [][]item
	for start := 0; start < len(items); {
		b := &endBudget{items: endItems, bytes: endBytes}
		end := start
		for end < len(items) && b.take(items[end].reg.path, 8) {
			end++
		}
		batches = append(batches, items[start:end])
		start = end
	}
	out := make([][]Event, len(batches))
	errs := make([]error, len(batches))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(setWatchesWorkers, len(batches)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(batches); i = int(next.Add(1) - 1) {
				if errs[i] = ctx.Err(); errs[i] != nil {
					return
				}
				out[i], errs[i] = tr.setWatchesBatch(ctx, w, relZxid, batches[i])
			}
		})
	}
	wg.Wait()
	var events []Event
	for i := range batches {
		if errs[i] != nil {
			return nil, errs[i]
		}
		events = append(events, out[i]...)
	}
	return events, nil
}

// setWatchesWorkers is how many of setWatches' batches run at once.
const setWatchesWorkers = 4

// setWatchItem is one watch setWatches re-registers.
type setWatchItem struct {
	reg   registration
	check bool // compared with the state; persistent kinds are only registered
}

// setWatchesBatch checks and registers items in one transaction, or, if
// that is too large, in halves.
func (tr *Tree) setWatchesBatch(ctx context.Context, w Conn, relZxid int64, items []setWatchItem) ([]Event, error) {
	events, err := store.Transact(ctx, tr.db, func(tx store.Tx) ([]Event, error) {
		// A data or exist watch needs the node's record (its mzxid), a
		// child watch its pzxid too: a point read, or the node's stat
		// range.
		stats := make([]store.FutureValue, len(items))
		nodes := make([]store.RangeResult, len(items))
		paths := make([]keys.Path, len(items))
		statKeys := make([][]byte, len(items))
		for i, it := range items {
			p := it.reg.path
			if p == "" {
				p = "/"
			}
			kp, ok := key(p)
			switch {
			case !ok || !it.check:
			case it.reg.kind == keys.WatchChild:
				rg := tr.t.NodeStat(kp)
				paths[i], statKeys[i], nodes[i] = kp, rg.Begin, tx.GetRange(rg, rangeOpts)
			default:
				paths[i], stats[i] = kp, tx.Get(tr.t.Stat(kp))
			}
		}
		var events []Event
		for i, it := range items {
			if it.check {
				n := &node{}
				if nodes[i] != nil {
					rows, err := nodes[i].GetSlice()
					if err != nil {
						return nil, err
					}
					if n, _, err = decodeNode(statKeys[i], paths[i], rows); err != nil {
						return nil, err
					}
				}
				if stats[i] != nil {
					b, err := stats[i].Get()
					if err != nil {
						return nil, err
					}
					if b != nil {
						if n.rec, err = decodeRecord(b); err != nil {
							return nil, fmt.Errorf("stat of %s: %w", it.reg.path, err)
						}
						n.exists = true
					}
				}
				if typ := firedSince(n, it.reg, relZxid); typ != 0 {
					events = append(events, Event{Type: typ, Path: it.reg.path, Zxid: -1})
					continue
				}
			}
			if err := tr.register(tx, w, it.reg.path, it.reg.kind); err != nil {
				return nil, err
			}
		}
		return events, nil
	})
	if !tooLarge(err) || len(items) < 2 {
		return events, err
	}
	first, err := tr.setWatchesBatch(ctx, w, relZxid, items[:len(items)/2])
	if err != nil {
		return nil, err
	}
	rest, err := tr.setWatchesBatch(ctx, w, relZxid, items[len(items)/2:])
	return append(first, rest...), err
}

// firedSince returns the event a watch set when reg's read saw its node
// (at zxid rel) fires now that the node is n, as setWatches decides it
// (ZK-SEMANTICS §9): a data watch on a node now gone fires NodeDeleted,
// on one changed since NodeDataChanged; an exist watch on a missing node
// that now exists fires NodeCreated; a child watch fires NodeDeleted or,
// on children changed since, NodeChildrenChanged. 0: nothing fires.
func firedSince(n *node, reg registration, rel int64) EventType {
	st := n.stat(noStamp)
	switch {
	case reg.existed && !n.exists:
		return EventNodeDeleted
	case !reg.existed && n.exists:
		return EventNodeCreated
	case !n.exists:
		return 0
	case reg.kind == keys.WatchChild && st.Pzxid > rel:
		return EventNodeChildrenChanged
	case reg.kind == keys.WatchData && st.Mzxid > rel:
		return EventNodeDataChanged
	}
	return 0
}

// Events returns the events of w's session logged after cursor, as of
// version atVersion (0: the latest), that belong to w's connection, in
// log order, and the cursor past everything read.
func (tr *Tree) Events(ctx context.Context, w Conn, cursor keys.Versionstamp, atVersion int64) ([]Event, keys.Versionstamp, error) {
	type out struct {
		events []Event
		cursor keys.Versionstamp
	}
	first := true
	o, err := store.Transact(ctx, tr.db, func(tx store.Tx) (out, error) {
		// It writes nothing: the engine may keep its read of the log in
		// its cache even when it finds no event, so that the arming that
		// follows a write's event finds the event there (rows a commit
		// adds to a cached range follow it into the cache).
		store.HintReadOnly(tx)
		// At the reply's version on the first attempt; a retry (the
		// version fell out of the window) reads the latest, which only
		// delivers later events early.
		if first && atVersion > 0 {
			tx.SetReadVersion(atVersion)
		}
		first = false
		events, next, err := tr.readEvents(tx, w, cursor)
		return out{events, next}, err
	})
	return o.events, o.cursor, err
}

func (tr *Tree) readEvents(r store.Reader, w Conn, cursor keys.Versionstamp) ([]Event, keys.Versionstamp, error) {
	rows, err := r.GetRange(tr.t.EventsAfter(w.Session, cursor), store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
	if err != nil {
		return nil, cursor, err
	}
	var events []Event
	for _, kv := range rows {
		_, stamp, err := tr.t.ParseEvent(kv.Key)
		if err != nil {
			return nil, cursor, err
		}
		cursor = stamp
		conn, e, err := decodeEvent(kv.Value)
		if err != nil {
			return nil, cursor, err
		}
		if conn != w.ID {
			continue // a watch of an earlier connection of the session
		}
		e.Zxid = Zxid(stamp.TransactionVersion)
		events = append(events, e)
	}
	return events, cursor, nil
}

// Armed is what ArmNotify found.
type Armed struct {
	// Events are those after the cursor, Cursor is past them.
	Events []Event
	Cursor keys.Versionstamp
	// Notify fires when the session's notify key changes: more events,
	// the session resumed elsewhere, or expired.
	Notify store.Watch
	// Alive says whether the session exists; Owner is the connection
	// that owns it (ErrSessionMoved for the others).
	Alive bool
	Owner int64
}

// ArmNotify reads the events after cursor and the session's record, and
// watches the session's notify key; with clear, it first clears the
// events up to cursor (delivered). Without, it is a read-only transaction:
// a connection clears its delivered events every so often rather than at
// each arming, which would make every delivery a commit.
func (tr *Tree) ArmNotify(ctx context.Context, w Conn, cursor keys.Versionstamp, clear bool) (Armed, error) {
	return store.Transact(ctx, tr.db, func(tx store.Tx) (Armed, error) {
		if clear && cursor != (keys.Versionstamp{}) { // else nothing was delivered
			log := tr.t.Events(w.Session)
			tx.ClearRange(store.Range{Begin: log.Begin, End: store.KeyAfter(tr.t.EventAt(w.Session, cursor))})
		} else {
			// A read and a watch (which FoundationDB sets at the
			// read-only commit): as Events, hinted read-only.
			store.HintReadOnly(tx)
		}
		rec := tx.Snapshot().Get(tr.t.Session(w.Session))
		events, next, err := tr.readEvents(tx, w, cursor)
		if err != nil {
			return Armed{}, err
		}
		a := Armed{Events: events, Cursor: next}
		b, err := rec.Get()
		if err != nil {
			return Armed{}, err
		}
		if b != nil {
			s, err := decodeSession(w.Session, b)
			if err != nil {
				return Armed{}, err
			}
			a.Alive, a.Owner = true, s.Conn
		}
		a.Notify = tx.Watch(tr.t.Notify(w.Session))
		return a, nil
	})
}

// DropConnection removes what connection w left: its watches and its
// undelivered events. Watches and events of a newer connection of the
// session are left alone. A connection may hold more watches than one
// transaction can clear (setWatches of 100,000 paths): they go in batches
// (endItems, endBytes), each transaction on from where the last stopped.
func (tr *Tree) DropConnection(ctx context.Context, w Conn) error {
	for _, rg := range []store.Range{tr.t.SessionWatches(w.Session), tr.t.Events(w.Session)} {
		watches := bytes.Equal(rg.Begin, tr.t.SessionWatches(w.Session).Begin)
		for from := rg.Begin; from != nil; {
			next, err := store.Transact(ctx, tr.db, func(tx store.Tx) ([]byte, error) {
				rows, err := tx.GetRange(store.Range{Begin: from, End: rg.End}, store.RangeOptions{Limit: endItems, Mode: store.StreamingWantAll}).GetSlice()
				if err != nil {
					return nil, err
				}
				b := &endBudget{items: endItems, bytes: endBytes}
				for _, kv := range rows {
					if connOf(kv.Value) != w.ID {
						continue
					}
					if !watches {
						if !b.take("", 4) {
							return kv.Key, nil
						}
						tx.Clear(kv.Key)
						continue
					}
					wt, err := tr.t.ParseSessionWatch(kv.Key)
					if err != nil {
						return nil, err
					}
					if !b.take(wt.Path.String(), 8) {
						return kv.Key, nil
					}
					unregister(tx, tr.t, wt)
				}
				if len(rows) < endItems {
					return nil, nil
				}
				return store.KeyAfter(rows[len(rows)-1].Key), nil
			})
			if err != nil {
				return err
			}
			from = next
		}
	}
	return nil
}

// ConnWatch is one watch a connection holds.
type ConnWatch struct {
	Path string
	Kind keys.WatchKind
}

// ConnWatches lists the watches w holds, by path, in pages of read
// transactions (for the four-letter words that list watches).
func (tr *Tree) ConnWatches(ctx context.Context, w Conn) ([]ConnWatch, error) {
	type page struct {
		watches []ConnWatch
		next    []byte
	}
	var out []ConnWatch
	rg := tr.t.SessionWatches(w.Session)
	for from := rg.Begin; from != nil; {
		// A page of its own on each attempt: the transaction may retry.
		p, err := store.ReadTransact(ctx, tr.db, func(r store.Reader) (page, error) {
			rows, err := r.GetRange(store.Range{Begin: from, End: rg.End}, store.RangeOptions{Limit: endItems, Mode: store.StreamingWantAll}).GetSlice()
			if err != nil {
				return page{}, err
			}
			var p page
			for _, kv := range rows {
				if connOf(kv.Value) != w.ID {
					continue
				}
				wt, err := tr.t.ParseSessionWatch(kv.Key)
				if err != nil {
					return page{}, err
				}
				p.watches = append(p.watches, ConnWatch{Path: wt.Path.String(), Kind: wt.Kind})
			}
			if len(rows) == endItems {
				p.next = store.KeyAfter(rows[len(rows)-1].Key)
			}
			return p, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p.watches...)
		from = p.next
	}
	return out, nil
}
