package store

import "sync/atomic"

// WriteTracker is a Tx that notes whether the current attempt writes: a
// mutation, a versionstamped key or value, or a write-conflict range.
// FoundationDB commits an attempt that does none as a no-op, so wrappers
// that treat writing commits apart (metering, injected faults, injected
// delays) embed it, ask Writes at Commit, and call NewAttempt when an
// attempt ends (a retry allowed by OnError, Reset). It is safe for the
// concurrent calls a Tx allows.
type WriteTracker struct {
	Tx
	writes atomic.Bool
}

// Writes reports whether the current attempt writes.
func (t *WriteTracker) Writes() bool { return t.writes.Load() }

// NewAttempt forgets the writes of the attempt that ended.
func (t *WriteTracker) NewAttempt() { t.writes.Store(false) }

// The writes: each notes that the attempt writes, then does it.

func (t *WriteTracker) Set(k, v []byte)    { t.writes.Store(true); t.Tx.Set(k, v) }
func (t *WriteTracker) Clear(k []byte)     { t.writes.Store(true); t.Tx.Clear(k) }
func (t *WriteTracker) ClearRange(r Range) { t.writes.Store(true); t.Tx.ClearRange(r) }
func (t *WriteTracker) Atomic(op MutationType, k, p []byte) {
	t.writes.Store(true)
	t.Tx.Atomic(op, k, p)
}
func (t *WriteTracker) SetVersionstampedKey(k, v []byte) {
	t.writes.Store(true)
	t.Tx.SetVersionstampedKey(k, v)
}
func (t *WriteTracker) SetVersionstampedValue(k, v []byte) {
	t.writes.Store(true)
	t.Tx.SetVersionstampedValue(k, v)
}
func (t *WriteTracker) AddWriteConflictRange(r Range) error {
	t.writes.Store(true)
	return t.Tx.AddWriteConflictRange(r)
}
func (t *WriteTracker) AddWriteConflictKey(k []byte) error {
	t.writes.Store(true)
	return t.Tx.AddWriteConflictKey(k)
}
