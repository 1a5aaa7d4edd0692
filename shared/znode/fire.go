package znode

import (
	"encoding/binary"
	"errors"
	"fmt"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Firing watches, in the writes (watch.go has the design): every create,
// delete and setData reads the watchers of what it changed and, in its own
// transaction, clears the one-shot watches it fires and logs the events.

// trigger is one change a write made that may fire watches.
type trigger struct {
	typ       EventType // NodeCreated, NodeDeleted or NodeDataChanged of path
	path      string
	acl       []ACL // the node's
	parent    string
	parentACL []ACL
}

// watchEntry is one active watch a write found.
type watchEntry struct {
	w    keys.Watcher
	conn int64
}

// firing is what a write's triggers fire, per session, in order.
type firing struct {
	byPath    map[string][]watchEntry // watchers of a path (all kinds), loaded once
	recursive map[string][]watchEntry // recursive watchers of an ancestor
	anyRec    *bool
	events    map[int64][]sessionEvent
	sessions  []int64 // in order of their first event
	// fired are the one-shot watches fired already (forget), dropped
	// from byPath when next read: a write firing n watches of one node
	// does O(n) work, not O(n²).
	fired map[keys.Watcher]bool
}

type sessionEvent struct {
	conn int64
	e    Event
}

// addTrigger records a change for the watches (fired at the end of the
// write, in order).
func (x *txn) addTrigger(t trigger) { x.triggers = append(x.triggers, t) }

// fire fires the watches of the transaction's triggers, as ZooKeeper's
// DataTree does, in their order.
func (x *txn) fire() error {
	if len(x.triggers) == 0 {
		return nil
	}
	f := &firing{byPath: map[string][]watchEntry{}, recursive: map[string][]watchEntry{}, events: map[int64][]sessionEvent{}}
	for _, t := range x.triggers {
		notified := map[int64]bool{} // sessions told of this node's change
		// The node's data table: its data and persistent watches, and
		// recursive ones on it and on its ancestors.
		node, err := x.watchers(f, t.path)
		if err != nil {
			return err
		}
		recursive, err := x.ancestorRecursive(f, t.path)
		if err != nil {
			return err
		}
		for _, we := range append(node, recursive...) {
			switch we.w.Kind {
			case keys.WatchData, keys.WatchPersistent, keys.WatchRecursive:
			default:
				continue
			}
			x.deliver(f, we, notified, Event{Type: t.typ, Path: t.path, acl: t.acl, checked: true})
		}
		if t.typ == EventNodeDeleted {
			// Its child table: NodeDeleted to those not told already.
			for _, we := range node {
				if we.w.Kind == keys.WatchChild || we.w.Kind == keys.WatchPersistent {
					x.deliver(f, we, notified, Event{Type: t.typ, Path: t.path, acl: t.acl, checked: true})
				}
			}
		}
		if t.typ == EventNodeDataChanged || t.parent == "" {
			continue
		}
		parent, err := x.watchers(f, t.parent)
		if err != nil {
			return err
		}
		told := map[int64]bool{}
		for _, we := range parent {
			if we.w.Kind == keys.WatchChild || we.w.Kind == keys.WatchPersistent {
				x.deliver(f, we, told, Event{Type: EventNodeChildrenChanged, Path: t.parent, acl: t.parentACL, checked: true})
			}
		}
	}
	x.logEvents(f)
	return nil
}

// logEvents appends the fired events to each session's log, in order, and
// bumps the sessions' notify keys; those of the session being closed
// (x.capture) are not logged: the ones its closing connection is owed are
// kept in x.captured.
func (x *txn) logEvents(f *firing) {
	for _, s := range f.sessions {
		if x.capture.Session != 0 && s == x.capture.Session {
			for _, se := range f.events[s] {
				if se.conn == x.capture.ID {
					x.captured = append(x.captured, se.e)
				}
			}
			continue
		}
		for i, se := range f.events[s] {
			x.tx.SetVersionstampedKey(x.t.Event(s, uint16(i)), encodeEvent(se.conn, se.e))
		}
		x.tx.Atomic(store.Add, x.t.Notify(s), keys.EncodeInt64(1))
	}
}

// deliver queues e for we's session, once per trigger, and clears we if
// it is a one-shot watch (even when the session was told already).
func (x *txn) deliver(f *firing, we watchEntry, told map[int64]bool, e Event) {
	s := we.w.Session
	if we.w.Kind == keys.WatchData || we.w.Kind == keys.WatchChild {
		unregister(x.tx, x.t, we.w)
		x.forget(f, we)
	}
	if told[s] {
		return
	}
	told[s] = true
	if _, ok := f.events[s]; !ok {
		f.sessions = append(f.sessions, s)
	}
	f.events[s] = append(f.events[s], sessionEvent{conn: we.conn, e: e})
}

// forget drops a fired one-shot watch from the loaded ones, so that a
// later op of the same multi does not fire it again.
func (x *txn) forget(f *firing, we watchEntry) {
	if f.fired == nil {
		f.fired = map[keys.Watcher]bool{}
	}
	f.fired[we.w] = true
}

// watchers loads every watch on p (all kinds), once per transaction, less
// those fired since (forget).
func (x *txn) watchers(f *firing, p string) ([]watchEntry, error) {
	if list, ok := f.byPath[p]; ok {
		if len(f.fired) == 0 {
			return list, nil
		}
		live := make([]watchEntry, 0, len(list))
		for _, we := range list {
			if !f.fired[we.w] {
				live = append(live, we)
			}
		}
		f.byPath[p] = live
		return live, nil
	}
	kp, ok := key(p)
	if !ok {
		return nil, nil
	}
	list, err := x.loadWatches(x.t.Watchers(kp))
	if err != nil {
		return nil, err
	}
	f.byPath[p] = list
	return list, nil
}

func (x *txn) loadWatches(r store.Range) ([]watchEntry, error) {
	rows, err := x.getRange(r).GetSlice()
	if err != nil {
		return nil, err
	}
	list := make([]watchEntry, 0, len(rows))
	for _, kv := range rows {
		w, err := x.t.ParseWatch(kv.Key)
		if err != nil {
			return nil, err
		}
		list = append(list, watchEntry{w: w, conn: connOf(kv.Value)})
	}
	return list, nil
}

// ancestorRecursive returns the recursive watches on p's strict
// ancestors; none are looked for while the tenant has no recursive watch.
func (x *txn) ancestorRecursive(f *firing, p string) ([]watchEntry, error) {
	if f.anyRec == nil {
		b, err := x.get(x.t.Counter(keys.CountRecursiveWatches)).Get()
		if err != nil {
			return nil, err
		}
		n, _ := keys.DecodeInt64(b)
		any := n > 0
		f.anyRec = &any
	}
	if !*f.anyRec {
		return nil, nil
	}
	kp, ok := key(p)
	if !ok {
		return nil, nil
	}
	// Every ancestor's recursive watchers not known yet, read at once.
	ancestors := kp.Ancestors()
	for _, a := range ancestors {
		if _, ok := f.recursive[a.String()]; !ok {
			x.preRangeRead(x.t.WatchersOf(a, keys.WatchRecursive))
		}
	}
	var out []watchEntry
	for _, a := range ancestors {
		list, ok := f.recursive[a.String()]
		if !ok {
			var err error
			list, err = x.loadWatches(x.t.WatchersOf(a, keys.WatchRecursive))
			if err != nil {
				return nil, err
			}
			f.recursive[a.String()] = list
		}
		out = append(out, list...)
	}
	return out, nil
}

// Event log records: connection id (8), type (1), whether the ACL check
// applies (1), the ACL (count, then perms, scheme, id each), the path.
func encodeEvent(conn int64, e Event) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(conn))
	b = append(b, byte(e.Type))
	if e.checked {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.acl)))
	for _, a := range e.acl {
		b = binary.BigEndian.AppendUint32(b, uint32(a.Perms))
		b = appendString(b, a.ID.Scheme)
		b = appendString(b, a.ID.ID)
	}
	return appendString(b, e.Path)
}

var errBadEvent = errors.New("znode: corrupt event record")

func decodeEvent(b []byte) (int64, Event, error) {
	// The check flag is 0 or 1: another value is a corrupt byte, which
	// read as 0 would deliver the event without the ACL check.
	if len(b) < 12 || b[9] > 1 {
		return 0, Event{}, errBadEvent
	}
	conn := int64(binary.BigEndian.Uint64(b))
	e := Event{Type: EventType(b[8]), checked: b[9] == 1}
	r := lastWriteReader{b: b[10:]}
	if len(r.b) < 2 {
		return 0, Event{}, errBadEvent
	}
	n := int(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	for range n {
		if len(r.b) < 4 {
			return 0, Event{}, errBadEvent
		}
		perms := int32(binary.BigEndian.Uint32(r.b))
		r.b = r.b[4:]
		scheme := r.string()
		id := r.string()
		e.acl = append(e.acl, ACL{Perms: perms, ID: ID{Scheme: scheme, ID: id}})
	}
	e.Path = r.string()
	if r.bad {
		return 0, Event{}, fmt.Errorf("%w (%d bytes)", errBadEvent, len(b))
	}
	return conn, e, nil
}
