package engines

import (
	"context"
	"sync/atomic"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// withFaults wraps db so that its write commits and its reads fail as f
// says, the way the embedded engine injects them (embedded.Faults): on
// FoundationDB a client cannot make the cluster return
// commit_unknown_result, transaction_too_old, future_version or
// process_behind at will, so the wrapper does at the seams it can, Commit
// and the reads. An applied fault commits and then reports 1021; the
// others report their code (1021, 1020, 1007, 1009, 1037) without
// committing. A read fault (f.DecideRead) fails a Get or range read, plain
// or snapshot, with its code before it reaches the cluster; reads the
// transaction answers from its own writes fail too here, where FDB's
// would not (stricter, never more forgiving).
func withFaults(db store.DB, f embedded.Faults) store.DB {
	return &faultyDB{DB: db, inj: f.Injector(), latency: f.Latency}
}

type faultyDB struct {
	store.DB
	inj     *embedded.FaultInjector
	latency time.Duration
}

func (d *faultyDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &faultyTx{WriteTracker: store.WriteTracker{Tx: tx}, db: d}, nil
}

// faultyTx notes whether the transaction writes (store.WriteTracker:
// only write commits are faulted, as in the embedded engine) and what its
// last commit was told.
type faultyTx struct {
	store.WriteTracker
	db *faultyDB
	// injected is the error the last commit was made to report.
	injected atomic.Pointer[error]
}

// HintReadOnly passes store.HintReadOnly on.
func (t *faultyTx) HintReadOnly() { store.HintReadOnly(t.WriteTracker.Tx) }

// NoteRetry passes store.NoteRetry on.
func (t *faultyTx) NoteRetry(err error) { store.NoteRetry(t.WriteTracker.Tx, err) }

func (t *faultyTx) Commit() error {
	t.injected.Store(nil)
	if !t.Writes() {
		return t.Tx.Commit()
	}
	if t.db.latency > 0 {
		time.Sleep(t.db.latency)
	}
	var err error
	switch f := t.db.inj.Decide(); f {
	case embedded.FaultNotCommitted, embedded.FaultUnknownDropped, embedded.FaultTooOld, embedded.FaultFutureVersion, embedded.FaultProcessBehind:
		err = f.Err()
	case embedded.FaultUnknownApplied:
		if cerr := t.Tx.Commit(); cerr != nil {
			return cerr
		}
		err = store.ErrCommitUnknownResult
	default:
		return t.Tx.Commit()
	}
	t.injected.Store(&err)
	return err
}

// GetVersionstamp fails, as FDB's does, after a commit that reported an
// error, even one that in fact applied.
func (t *faultyTx) GetVersionstamp() store.FutureVersionstamp {
	return faultyStamp{f: t.Tx.GetVersionstamp(), tx: t}
}

type faultyStamp struct {
	f  store.FutureVersionstamp
	tx *faultyTx
}

func (s faultyStamp) Get() (store.Versionstamp, error) {
	if p := s.tx.injected.Load(); p != nil {
		return store.Versionstamp{}, store.ErrInvalidVersion
	}
	return s.f.Get()
}

func (t *faultyTx) GetCommittedVersion() (int64, error) {
	if p := t.injected.Load(); p != nil {
		return 0, store.ErrInvalidVersion
	}
	return t.Tx.GetCommittedVersion()
}

func (t *faultyTx) OnError(err error) error {
	oerr := t.Tx.OnError(err)
	if oerr == nil {
		t.NewAttempt()
	}
	return oerr
}

func (t *faultyTx) Reset() {
	t.NewAttempt()
	t.injected.Store(nil)
	t.Tx.Reset()
}

// Reads fail as f.DecideRead says.

func (t *faultyTx) Get(k []byte) store.FutureValue { return t.db.get(t.Tx, k) }
func (t *faultyTx) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	return t.db.getRange(t.Tx, r, o)
}
func (t *faultyTx) Snapshot() store.Reader { return faultyReader{Reader: t.Tx.Snapshot(), db: t.db} }

type faultyReader struct {
	store.Reader
	db *faultyDB
}

func (r faultyReader) Get(k []byte) store.FutureValue { return r.db.get(r.Reader, k) }
func (r faultyReader) GetRange(rg store.Range, o store.RangeOptions) store.RangeResult {
	return r.db.getRange(r.Reader, rg, o)
}

func (d *faultyDB) get(r store.Reader, k []byte) store.FutureValue {
	if err := d.inj.DecideRead().Err(); err != nil {
		return failedValue{err}
	}
	return r.Get(k)
}

func (d *faultyDB) getRange(r store.Reader, rg store.Range, o store.RangeOptions) store.RangeResult {
	if err := d.inj.DecideRead().Err(); err != nil {
		return failedRange{err}
	}
	return r.GetRange(rg, o)
}

type failedValue struct{ err error }

func (f failedValue) Get() ([]byte, error) { return nil, f.err }

type failedRange struct{ err error }

func (f failedRange) GetSlice() ([]store.KeyValue, error) { return nil, f.err }
func (f failedRange) Iterator() store.RangeIterator       { return failedIterator(f) }

type failedIterator struct{ err error }

func (failedIterator) Next() bool               { return false }
func (failedIterator) KeyValue() store.KeyValue { return store.KeyValue{} }
func (f failedIterator) Err() error             { return f.err }
