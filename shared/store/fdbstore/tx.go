//go:build fdb

package fdbstore

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apple/foundationdb/bindings/go/src/fdb"

	"zkfdb/shared/store"
)

// transaction is a store.Tx on one fdb.Transaction. Reads may be issued from
// several goroutines (the binding's transaction is safe for concurrent use);
// Commit, OnError, Reset and Close must not race with other calls, as the
// contract says.
type transaction struct {
	reader // serializable reads

	db         *DB
	tr         fdb.Transaction
	ctx        context.Context
	stopCancel func() bool // unregisters the ctx callback

	// Persistent options, re-applied after Reset. Only Commit, OnError,
	// Reset and the setters touch them, never concurrently.
	created       time.Time // FDB counts the timeout from here
	deadline      time.Time // ctx's deadline; zero if none
	timeout       time.Duration
	retryLimit    int
	maxRetryDelay time.Duration // -1: FDB's default (1 s)

	committed atomic.Bool // the last Commit succeeded (and no Reset since)
	closeOnce sync.Once
}

var _ store.Tx = (*transaction)(nil)

// applyOptions sets the FDB options the contract says persist: the timeout
// (the earlier of SetTimeout's and ctx's deadline), the retry limit and
// the maximum retry delay. FDB keeps them across OnError but not across
// Reset.
func (t *transaction) applyOptions() {
	d := t.timeout
	if !t.deadline.IsZero() {
		c := t.deadline.Sub(t.created)
		if c <= 0 {
			c = time.Millisecond // already past: time out at once
		}
		if d <= 0 || c < d {
			d = c
		}
	}
	o := t.tr.Options()
	// The values are in range (timeout ≥ 0 ms, limit ≥ -1, delay ≥ 0 ms),
	// for which the binding returns no error.
	_ = o.SetTimeout(millis(d))
	_ = o.SetRetryLimit(int64(t.retryLimit))
	if t.maxRetryDelay >= 0 {
		_ = o.SetMaxRetryDelay(millis(t.maxRetryDelay))
	}
}

// millis converts d to whole milliseconds, rounding up so that a positive
// duration never becomes 0 (which FDB reads as "no timeout").
func millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

func (t *transaction) Snapshot() store.Reader {
	return reader{t: t, rt: t.tr.Snapshot()}
}

func (t *transaction) Set(key, value []byte) { t.tr.Set(fdb.Key(key), value) }

func (t *transaction) Clear(key []byte) { t.tr.Clear(fdb.Key(key)) }

func (t *transaction) ClearRange(r store.Range) { t.tr.ClearRange(keyRange(r)) }

// Atomic maps op to the binding's method of the same FDB mutation. An op
// outside the contract's set fails the transaction the way FDB fails a
// malformed mutation: with a deferred store.ErrClientInvalidOperation (2000)
// on the next read, watch or commit (it issues a versionstamped-key op whose
// key is too short to hold an offset, which FDB rejects).
func (t *transaction) Atomic(op store.MutationType, key, param []byte) {
	k := fdb.Key(key)
	switch op {
	case store.Add:
		t.tr.Add(k, param)
	case store.BitAnd:
		t.tr.BitAnd(k, param)
	case store.BitOr:
		t.tr.BitOr(k, param)
	case store.BitXor:
		t.tr.BitXor(k, param)
	case store.AppendIfFits:
		t.tr.AppendIfFits(k, param)
	case store.Max:
		t.tr.Max(k, param)
	case store.Min:
		t.tr.Min(k, param)
	case store.ByteMin:
		t.tr.ByteMin(k, param)
	case store.ByteMax:
		t.tr.ByteMax(k, param)
	case store.CompareAndClear:
		t.tr.CompareAndClear(k, param)
	default:
		t.tr.SetVersionstampedKey(fdb.Key{}, nil)
	}
}

// SetVersionstampedKey passes key through: the contract's format (stamp
// offset as 4 little-endian bytes at the end) is FDB's at API ≥ 520.
func (t *transaction) SetVersionstampedKey(key, value []byte) {
	t.tr.SetVersionstampedKey(fdb.Key(key), value)
}

// SetVersionstampedValue passes value through, as SetVersionstampedKey.
func (t *transaction) SetVersionstampedValue(key, value []byte) {
	t.tr.SetVersionstampedValue(fdb.Key(key), value)
}

func (t *transaction) AddReadConflictRange(r store.Range) error {
	return storeErr(t.tr.AddReadConflictRange(keyRange(r)))
}

func (t *transaction) AddReadConflictKey(key []byte) error {
	return storeErr(t.tr.AddReadConflictKey(fdb.Key(key)))
}

func (t *transaction) AddWriteConflictRange(r store.Range) error {
	return storeErr(t.tr.AddWriteConflictRange(keyRange(r)))
}

func (t *transaction) AddWriteConflictKey(key []byte) error {
	return storeErr(t.tr.AddWriteConflictKey(fdb.Key(key)))
}

func (t *transaction) SetReadVersion(v int64) { t.tr.SetReadVersion(v) }

// Watch creates the watch in FDB and hands its future to a goroutine owned
// by the DB (see watch).
func (t *transaction) Watch(key []byte) store.Watch {
	return t.db.startWatch(t.tr.Watch(fdb.Key(key)))
}

func (t *transaction) GetVersionstamp() store.FutureVersionstamp {
	return &futureVersionstamp{f: t.tr.GetVersionstamp(), t: t}
}

func (t *transaction) Commit() error {
	err := storeErr(t.tr.Commit().Get())
	t.committed.Store(err == nil)
	return err
}

func (t *transaction) GetCommittedVersion() (int64, error) {
	v, err := t.tr.GetCommittedVersion()
	return v, storeErr(err)
}

// OnError hands err's FDB code to the binding's OnError, which backs off,
// resets the transaction and returns nil for a retryable code, or returns
// the code when it is fatal (FDB then cancels the transaction until Reset).
// A fatal code equal to err's returns err itself. An error without an FDB
// code is returned as is, without touching the transaction. When the
// transaction's ctx ends during the backoff, the cancellation ends it early
// with store.ErrTransactionCancelled.
func (t *transaction) OnError(err error) error {
	fe, ok := fdbErr(err)
	if !ok {
		return err
	}
	if oerr := t.tr.OnError(fe).Get(); oerr != nil {
		se := storeErr(oerr)
		if store.Code(se) == fe.Code {
			return err
		}
		return se
	}
	t.committed.Store(false)
	t.recancel()
	return nil
}

// Reset resets the FDB transaction and re-applies the options the contract
// keeps (FDB's own reset drops them and restarts the timeout clock).
func (t *transaction) Reset() {
	t.tr.Reset()
	t.committed.Store(false)
	t.created = time.Now()
	t.applyOptions()
	t.recancel()
}

// recancel cancels the transaction again if ctx is done: a reset clears
// FDB's cancelled state, and the ctx callback fires only once.
func (t *transaction) recancel() {
	if t.ctx.Err() != nil {
		t.tr.Cancel()
	}
}

func (t *transaction) Cancel() { t.tr.Cancel() }

// Close unregisters the ctx callback and, unless the last Commit succeeded,
// resets and cancels the FDB transaction: its pending reads and the watches
// it created fail now (store.ErrTransactionCancelled) rather than when the
// garbage collector finalizes it. (FDB fails an uncommitted transaction's
// watches on reset or destroy, not on cancel.) Watches armed by a successful
// commit are independent of the transaction and survive. The FDB
// transaction itself is destroyed by the binding's finalizer: the pinned
// binding has no explicit destroy. Close is idempotent.
func (t *transaction) Close() {
	t.closeOnce.Do(func() {
		t.stopCancel()
		if !t.committed.Load() {
			t.tr.Reset()
			t.tr.Cancel()
		}
		t.db.forget(t)
	})
}

// SetTimeout sets FDB's timeout option, capped by ctx's deadline. Like FDB's,
// it counts from the transaction's creation (or last Reset).
func (t *transaction) SetTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.timeout = d
	t.applyOptions()
}

// SetMaxRetryDelay sets FDB's max_retry_delay option.
func (t *transaction) SetMaxRetryDelay(d time.Duration) {
	t.maxRetryDelay = max(d, 0)
	t.applyOptions()
}

// SetRetryLimit sets FDB's retry_limit option; -1 (or less) means none.
func (t *transaction) SetRetryLimit(n int) {
	if n < -1 {
		n = -1
	}
	t.retryLimit = n
	t.applyOptions()
}

// keyRange converts r for the binding, copying the keys: a range iterator
// keeps its end key for its later batches, and the caller may reuse r's
// buffers.
func keyRange(r store.Range) fdb.KeyRange {
	return fdb.KeyRange{Begin: fdb.Key(bytes.Clone(r.Begin)), End: fdb.Key(bytes.Clone(r.End))}
}
