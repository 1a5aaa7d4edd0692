// Package delayed adds round trips to a store, so that a benchmark on one
// machine shows how the layer behaves when FoundationDB is further away
// (another rack, another zone) than the loopback cluster at hand. It wraps
// any store.DB and changes no result, only when results arrive:
//
//   - a commit of a transaction that writes (or adds a write-conflict
//     range) waits Commit before it is sent; FDB commits a read-only
//     transaction in the client, so that one waits nothing;
//   - a transaction's read version arrives Read after its first read
//     (or GetReadVersion) is issued, unless SetReadVersion gave one;
//   - every read is answered Read after it was issued, or after the read
//     version arrives if that is later. Reads issued together overlap, as
//     FDB's do (one round trip for a batch of parallel reads); dependent
//     reads add up. A range read pays one round trip however many batches
//     it needs, and reads the transaction could answer from its own writes
//     wait too: both differ from FDB by a round trip at most.
//
// The underlying operation is issued at once; only its result is held
// back, so the store's own latency adds to the injected one. Watches are
// not delayed. Waiting ends early, with the error FDB gives, when the
// transaction's context ends.
package delayed

import (
	"context"
	"sync"
	"time"

	"zkfdb/shared/store"
)

// Delays are the round trips to add. Zero adds nothing.
type Delays struct {
	// Commit is added to every commit that writes.
	Commit time.Duration
	// Read is the round trip of a read version fetch and of every read.
	Read time.Duration
}

// Wrap returns db with d's delays, or db itself if d adds none.
func Wrap(db store.DB, d Delays) store.DB {
	if d.Commit <= 0 && d.Read <= 0 {
		return db
	}
	return &delayedDB{DB: db, d: d}
}

type delayedDB struct {
	store.DB
	d Delays
}

func (db *delayedDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := db.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &delayedTx{WriteTracker: store.WriteTracker{Tx: tx}, d: db.d, ctx: ctx}, nil
}

// delayedTx notes when its read version arrives, and whether it writes
// (store.WriteTracker). Reads may run in parallel, so the read version's
// arrival is under mu.
type delayedTx struct {
	store.WriteTracker
	d   Delays
	ctx context.Context

	mu    sync.Mutex
	rvAt  time.Time // when the read version arrives; zero until asked
	rvSet bool      // SetReadVersion gave one: no fetch
}

// HintReadOnly passes store.HintReadOnly on.
func (t *delayedTx) HintReadOnly() { store.HintReadOnly(t.WriteTracker.Tx) }

// NoteRetry passes store.NoteRetry on.
func (t *delayedTx) NoteRetry(err error) { store.NoteRetry(t.WriteTracker.Tx, err) }

// ready returns when a read issued at issued is answered.
func (t *delayedTx) ready(issued time.Time) time.Time {
	if t.d.Read <= 0 {
		return time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.rvSet {
		if t.rvAt.IsZero() {
			t.rvAt = issued.Add(t.d.Read)
		}
		if t.rvAt.After(issued) {
			issued = t.rvAt
		}
	}
	return issued.Add(t.d.Read)
}

// versionReady returns when the read version, asked for at issued,
// arrives.
func (t *delayedTx) versionReady(issued time.Time) time.Time {
	if t.d.Read <= 0 {
		return time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rvSet {
		return time.Time{}
	}
	if t.rvAt.IsZero() {
		t.rvAt = issued.Add(t.d.Read)
	}
	return t.rvAt
}

func (t *delayedTx) Get(k []byte) store.FutureValue {
	return value{f: t.Tx.Get(k), ctx: t.ctx, at: t.ready(time.Now())}
}

func (t *delayedTx) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	return rangeResult{r: t.Tx.GetRange(r, o), ctx: t.ctx, at: t.ready(time.Now())}
}

func (t *delayedTx) GetReadVersion() store.FutureVersion {
	return version{f: t.Tx.GetReadVersion(), ctx: t.ctx, at: t.versionReady(time.Now())}
}

func (t *delayedTx) Snapshot() store.Reader { return snapshot{r: t.Tx.Snapshot(), t: t} }

// snapshot reads like the transaction, without read conflicts.
type snapshot struct {
	r store.Reader
	t *delayedTx
}

func (s snapshot) Get(k []byte) store.FutureValue {
	return value{f: s.r.Get(k), ctx: s.t.ctx, at: s.t.ready(time.Now())}
}

func (s snapshot) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	return rangeResult{r: s.r.GetRange(r, o), ctx: s.t.ctx, at: s.t.ready(time.Now())}
}

func (s snapshot) GetReadVersion() store.FutureVersion {
	return version{f: s.r.GetReadVersion(), ctx: s.t.ctx, at: s.t.versionReady(time.Now())}
}

func (t *delayedTx) SetReadVersion(v int64) {
	t.mu.Lock()
	t.rvSet = true
	t.mu.Unlock()
	t.Tx.SetReadVersion(v)
}

func (t *delayedTx) Commit() error {
	if t.Writes() && t.d.Commit > 0 {
		if err := store.WaitUntil(t.ctx, time.Now().Add(t.d.Commit)); err != nil {
			return err
		}
	}
	return t.Tx.Commit()
}

// OnError and Reset start a new attempt: a new read version, no writes.
func (t *delayedTx) OnError(err error) error {
	if oerr := t.Tx.OnError(err); oerr != nil {
		return oerr
	}
	t.restart()
	return nil
}

func (t *delayedTx) Reset() {
	t.Tx.Reset()
	t.restart()
}

func (t *delayedTx) restart() {
	t.NewAttempt()
	t.mu.Lock()
	t.rvAt, t.rvSet = time.Time{}, false
	t.mu.Unlock()
}

type value struct {
	f   store.FutureValue
	ctx context.Context
	at  time.Time
}

func (v value) Get() ([]byte, error) {
	if err := store.WaitUntil(v.ctx, v.at); err != nil {
		return nil, err
	}
	return v.f.Get()
}

type version struct {
	f   store.FutureVersion
	ctx context.Context
	at  time.Time
}

func (v version) Get() (int64, error) {
	if err := store.WaitUntil(v.ctx, v.at); err != nil {
		return 0, err
	}
	return v.f.Get()
}

type rangeResult struct {
	r   store.RangeResult
	ctx context.Context
	at  time.Time
}

func (r rangeResult) GetSlice() ([]store.KeyValue, error) {
	if err := store.WaitUntil(r.ctx, r.at); err != nil {
		return nil, err
	}
	return r.r.GetSlice()
}

func (r rangeResult) Iterator() store.RangeIterator {
	return &iterator{it: r.r.Iterator(), ctx: r.ctx, at: r.at}
}

// iterator waits once, before its first batch.
type iterator struct {
	it     store.RangeIterator
	ctx    context.Context
	at     time.Time
	waited bool
	err    error
}

func (i *iterator) Next() bool {
	if !i.waited {
		i.waited = true
		if i.err = store.WaitUntil(i.ctx, i.at); i.err != nil {
			return false
		}
	}
	return i.it.Next()
}

func (i *iterator) KeyValue() store.KeyValue { return i.it.KeyValue() }

func (i *iterator) Err() error {
	if i.err != nil {
		return i.err
	}
	return i.it.Err()
}
