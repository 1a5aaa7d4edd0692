package store_test

import (
	"context"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/store"
)

// countingDB records, for each transaction it makes, how often OnError
// (the retry loop's backoff) and NoteRetry were called and whether it was
// closed.
type countingDB struct {
	store.DB
	made []*countingTx
}

type countingTx struct {
	store.Tx
	onErrors, noted []int // the codes
	closed          bool
}

func (d *countingDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	c := &countingTx{Tx: tx}
	d.made = append(d.made, c)
	return c, nil
}

func (t *countingTx) OnError(err error) error {
	t.onErrors = append(t.onErrors, store.Code(err))
	return t.Tx.OnError(err)
}

func (t *countingTx) NoteRetry(err error) { t.noted = append(t.noted, store.Code(err)) }

func (t *countingTx) Close() {
	t.closed = true
	t.Tx.Close()
}

// TransactConflictAtOnce retries its first conflict in a fresh
// transaction without OnError (so without its backoff), and the next one
// through OnError, as Transact retries every conflict.
func TestTransactConflictAtOnce(t *testing.T) { engines.Each(t, testTransactConflictAtOnce) }

func testTransactConflictAtOnce(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	key := append(st.Root.Clock(), "conflict-at-once-test"...) // inside the test's root
	other := append(st.Root.Clock(), "conflict-at-once-test/other"...)

	// run has fn's first two attempts conflict: each reads key, then a
	// transaction of its own writes key and commits before the attempt's
	// commit. It returns the transaction of each attempt.
	run := func(transact func(context.Context, store.DB, func(store.Tx) (struct{}, error)) (struct{}, error)) (*countingDB, []*countingTx) {
		t.Helper()
		db := &countingDB{DB: st.DB}
		var attempts []*countingTx
		_, err := transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
			attempts = append(attempts, db.made[len(db.made)-1])
			if _, err := tx.Get(key).Get(); err != nil {
				return struct{}{}, err
			}
			if len(attempts) <= 2 {
				if _, err := store.Transact(t.Context(), st.DB, func(w store.Tx) (struct{}, error) {
					w.Set(key, []byte{byte(len(attempts))})
					return struct{}{}, nil
				}); err != nil {
					return struct{}{}, err
				}
			}
			tx.Set(other, []byte("x"))
			return struct{}{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 3 {
			t.Fatalf("%d attempts, want 3 (two conflicts, then a commit)", len(attempts))
		}
		return db, attempts
	}
	conflict := store.ErrNotCommitted.Code

	db, at := run(store.TransactConflictAtOnce[struct{}])
	if len(db.made) != 2 || at[0] == at[1] || at[1] != at[2] {
		t.Errorf("TransactConflictAtOnce: %d transactions made; want the first attempt in one, the two after it in a fresh one", len(db.made))
	}
	if len(at[0].onErrors) != 0 || len(at[0].noted) != 1 || at[0].noted[0] != conflict || !at[0].closed {
		t.Errorf("the first attempt's transaction: OnError %v, NoteRetry %v, closed %v; want no OnError, one NoteRetry of %d, closed",
			at[0].onErrors, at[0].noted, at[0].closed, conflict)
	}
	if len(at[1].onErrors) != 1 || at[1].onErrors[0] != conflict || len(at[1].noted) != 0 {
		t.Errorf("the second conflict: OnError %v, NoteRetry %v; want one OnError of %d (the backoff), no NoteRetry",
			at[1].onErrors, at[1].noted, conflict)
	}

	// Transact retries the first conflict through OnError too.
	db, at = run(store.Transact[struct{}])
	if len(db.made) != 1 || len(at[0].onErrors) != 2 || len(at[0].noted) != 0 {
		t.Errorf("Transact: %d transactions, OnError %v, NoteRetry %v; want one transaction, two OnErrors, no NoteRetry",
			len(db.made), at[0].onErrors, at[0].noted)
	}
}
