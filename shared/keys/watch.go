package keys

import (
	"fmt"
	"strconv"

	"zkfdb/shared/store"
)

// WatchKind is the kind of an active watch. Its value is stored in keys:
// never renumber one.
type WatchKind int

const (
	// WatchData is a one-shot watch set by getData or exists (ZooKeeper
	// keeps both in one table: exists on a missing node fires on create).
	WatchData WatchKind = 0
	// WatchChild is a one-shot watch set by getChildren.
	WatchChild WatchKind = 1
	// WatchPersistent is addWatch(PERSISTENT): data and child events of
	// the path, until removed.
	WatchPersistent WatchKind = 2
	// WatchRecursive is addWatch(PERSISTENT_RECURSIVE): data events of the
	// path and of every descendant, until removed.
	WatchRecursive WatchKind = 3
)

func (k WatchKind) String() string {
	switch k {
	case WatchData:
		return "data"
	case WatchChild:
		return "child"
	case WatchPersistent:
		return "persistent"
	case WatchRecursive:
		return "recursive"
	}
	return "watchkind(" + strconv.Itoa(int(k)) + ")"
}

// Watcher is a parsed active-watch or session-watch key: session watches
// Path with a watch of kind Kind.
type Watcher struct {
	Path    Path
	Kind    WatchKind
	Session int64
}

// Active watches are kept per path, so a write finds every watcher of the
// path it changes with one range read, and per session, so a closing or
// expiring session can clear its own:
//
//	(6, path, kind, session)  → empty    who watches path
//	(7, session, path, kind)  → empty    what session watches (the same entries)
//
// Registering a watch writes both keys (batched with other sessions'
// registrations), removeWatches and a firing one-shot watch clear both.
// A write to path reads Watchers(path), the parent's Watchers for child
// events, and AncestorWatchers(path) for recursive watches; it moves the
// triggered ones into the sessions' event logs (Event) and bumps their
// Notify keys in the same transaction.

// Watch returns the key saying that session watches p with kind.
func (t Tenant) Watch(p Path, kind WatchKind, session int64) []byte {
	return t.space.build(intRoom + strRoom(p.s) + 2*intRoom).int(tenantWatches).str(p.s).int(int64(kind)).int(session).b
}

// Watchers returns the range of every watch on p, all kinds.
func (t Tenant) Watchers(p Path) store.Range {
	return tupleRange(t.space.build(intRoom + strRoom(p.s)).int(tenantWatches).str(p.s).b)
}

// WatchersOf returns the range of the watches of one kind on p.
func (t Tenant) WatchersOf(p Path, kind WatchKind) store.Range {
	return tupleRange(t.space.build(2*intRoom + strRoom(p.s)).int(tenantWatches).str(p.s).int(int64(kind)).b)
}

// AncestorWatchers returns, for each strict ancestor of p (the root
// first), the range of its recursive watches: a change to p fires them.
// The ranges are independent reads; issue them in parallel. The watches
// of p itself, recursive ones included, are in Watchers(p).
func (t Tenant) AncestorWatchers(p Path) []store.Range {
	anc := p.Ancestors()
	out := make([]store.Range, len(anc))
	for i, a := range anc {
		out[i] = t.WatchersOf(a, WatchRecursive)
	}
	return out
}

// ParseWatch parses an active-watch key (from Watchers or WatchersOf).
func (t Tenant) ParseWatch(key []byte) (Watcher, error) {
	tu, err := unpackAs(t.space, key, "watch", tenantWatches, kindString, kindInt, kindInt)
	if err != nil {
		return Watcher{}, err
	}
	return newWatcher(tu[1].(string), tu[2].(int64), tu[3].(int64))
}

// SessionWatch returns the key saying, in session's own index, that it
// watches p with kind.
func (t Tenant) SessionWatch(session int64, p Path, kind WatchKind) []byte {
	return t.space.build(3*intRoom + strRoom(p.s)).int(tenantSessionWatches).int(session).str(p.s).int(int64(kind)).b
}

// SessionWatches returns the range of session's watches.
func (t Tenant) SessionWatches(session int64) store.Range {
	return t.space.Sub(tenantSessionWatches, session).Range()
}

// ParseSessionWatch parses a key from SessionWatches.
func (t Tenant) ParseSessionWatch(key []byte) (Watcher, error) {
	tu, err := unpackAs(t.space, key, "session watch", tenantSessionWatches, kindInt, kindString, kindInt)
	if err != nil {
		return Watcher{}, err
	}
	return newWatcher(tu[2].(string), tu[3].(int64), tu[1].(int64))
}

func newWatcher(path string, kind, session int64) (Watcher, error) {
	if kind < int64(WatchData) || kind > int64(WatchRecursive) {
		return Watcher{}, fmt.Errorf("%w: unknown watch kind %d", ErrBadKey, kind)
	}
	p, err := NewPath(path)
	if err != nil {
		return Watcher{}, err
	}
	return Watcher{Path: p, Kind: WatchKind(kind), Session: session}, nil
}
