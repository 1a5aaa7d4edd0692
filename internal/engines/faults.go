package engines

import (
	"context"
	"sync/atomic"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// withFaults wraps db so that its write commits fail as f says, the way
// the embedded engine injects them (embedded.Faults): on FoundationDB a
// client cannot make the cluster return commit_unknown_result, so the
// wrapper does at the one seam it can, Commit. An applied fault commits
// and then reports 1021; a dropped one reports 1021 (or 1020) without
// committing. Reads pass through.
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
	return &faultyTx{Tx: tx, db: d}, nil
}

// faultyTx notes whether the transaction writes (only write commits are
// faulted, as in the embedded engine) and what its last commit was told.
type faultyTx struct {
	store.Tx
	db     *faultyDB
	writes bool
	// injected is the error the last commit was made to report.
	injected atomic.Pointer[error]
}

func (t *faultyTx) Set(k, v []byte)          { t.writes = true; t.Tx.Set(k, v) }
func (t *faultyTx) Clear(k []byte)           { t.writes = true; t.Tx.Clear(k) }
func (t *faultyTx) ClearRange(r store.Range) { t.writes = true; t.Tx.ClearRange(r) }
func (t *faultyTx) Atomic(op store.MutationType, k, p []byte) {
	t.writes = true
	t.Tx.Atomic(op, k, p)
}
func (t *faultyTx) SetVersionstampedKey(k, v []byte) {
	t.writes = true
	t.Tx.SetVersionstampedKey(k, v)
}
func (t *faultyTx) SetVersionstampedValue(k, v []byte) {
	t.writes = true
	t.Tx.SetVersionstampedValue(k, v)
}
func (t *faultyTx) AddWriteConflictRange(r store.Range) error {
	t.writes = true
	return t.Tx.AddWriteConflictRange(r)
}
func (t *faultyTx) AddWriteConflictKey(k []byte) error {
	t.writes = true
	return t.Tx.AddWriteConflictKey(k)
}

func (t *faultyTx) Commit() error {
	t.injected.Store(nil)
	if !t.writes {
		return t.Tx.Commit()
	}
	if t.db.latency > 0 {
		time.Sleep(t.db.latency)
	}
	var err error
	switch t.db.inj.Decide() {
	case embedded.FaultNotCommitted:
		err = store.ErrNotCommitted
	case embedded.FaultUnknownDropped:
		err = store.ErrCommitUnknownResult
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
		t.writes = false
	}
	return oerr
}

func (t *faultyTx) Reset() {
	t.writes = false
	t.injected.Store(nil)
	t.Tx.Reset()
}
