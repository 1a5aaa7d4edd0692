package keys

import (
	"fmt"

	"zkfdb/shared/store"
)

// Each session has an event log and a notify key:
//
//	(8, session, versionstamp) → event    triggered watch events, in commit order
//	(9, session)               → 8-byte little-endian counter
//
// A write that triggers a session's watch appends the event to the log
// with SetVersionstampedKey (Event), so events sort in the order of the
// writes that caused them, whichever layerd committed them, and bumps the
// session's notify key with an atomic Add(1), which conflicts with
// nothing. The session's layerd keeps an FDB watch on the notify key, and
// reads the log in the same transaction as every read it answers, so the
// client sees an event before any reply that reflects its change. Read
// events are cleared by their key (EventAt) or by range.

// Event returns the key for appending an event to session's log: it ends
// with an incomplete versionstamp and its 4-byte offset, so it is NOT a
// plain key: pass it to SetVersionstampedKey only. userVersion orders
// several events one transaction appends to the same session's log (the
// commit gives them all the same stamp): number them 0, 1, 2...
func (t Tenant) Event(session int64, userVersion uint16) []byte {
	k, err := t.space.PackWithVersionstamp(Tuple{tenantEvents, session, IncompleteVersionstamp(userVersion)})
	if err != nil {
		// The tuple holds exactly one incomplete stamp and nothing
		// unpackable: this cannot happen.
		panic(fmt.Sprintf("keys: event key: %v", err))
	}
	return k
}

// EventAt returns the key of the event that was written with stamp v
// (read back from the log or from GetVersionstamp and the user version).
func (t Tenant) EventAt(session int64, v Versionstamp) []byte {
	return t.space.Pack(Tuple{tenantEvents, session, v})
}

// Events returns the range of session's whole event log.
func (t Tenant) Events(session int64) store.Range {
	return t.space.Sub(tenantEvents, session).Range()
}

// EventsAfter returns the range of session's events after v: what a layerd
// that delivered every event up to v still has to read.
func (t Tenant) EventsAfter(session int64, v Versionstamp) store.Range {
	return store.Range{Begin: store.KeyAfter(t.EventAt(session, v)), End: t.Events(session).End}
}

// ParseEvent returns the session and stamp in an event-log key.
func (t Tenant) ParseEvent(key []byte) (session int64, v Versionstamp, err error) {
	tu, err := unpackAs(t.space, key, "event", tenantEvents, kindInt, kindStamp)
	if err != nil {
		return 0, Versionstamp{}, err
	}
	return tu[1].(int64), tu[2].(Versionstamp), nil
}

// Notify returns session's notify key: an 8-byte little-endian counter
// that writers bump with an atomic Add(EncodeInt64(1)) after appending to
// the session's log, and that the session's layerd watches.
func (t Tenant) Notify(session int64) []byte {
	return t.space.Pack(Tuple{tenantNotify, session})
}
