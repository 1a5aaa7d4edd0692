package delayed_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/delayed"
	"zkfdb/shared/store/embedded"
)

// open returns an embedded store with d's delays, and the store itself.
func open(t *testing.T, d delayed.Delays) (wrapped, plain store.DB) {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return delayed.Wrap(db, d), db
}

// TestCommitWaitsOnlyWhenWriting: a commit that writes waits its round
// trip (here an hour, ended by the context); a read-only one does not.
func TestCommitWaitsOnlyWhenWriting(t *testing.T) {
	db, plain := open(t, delayed.Delays{Commit: time.Hour})

	tx, err := db.CreateTransaction(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Get([]byte("k")).Get(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("read-only commit: %v", err)
	}
	tx.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tx, err = db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	tx.Set([]byte("k"), []byte("v"))
	if err := tx.Commit(); !errors.Is(err, store.ErrTransactionTimedOut) {
		t.Fatalf("writing commit past its context's deadline: %v, want transaction_timed_out", err)
	}
	if v := get(t, plain, "k"); v != nil {
		t.Fatalf("a commit that timed out while delayed applied: %q", v)
	}
}

// TestReadsOverlapAndChain: parallel reads share one round trip after the
// read version's; a read issued after another's answer adds its own.
func TestReadsOverlapAndChain(t *testing.T) {
	const rtt = 50 * time.Millisecond
	db, _ := open(t, delayed.Delays{Read: rtt})
	put(t, db, "a", "1")

	tx, err := db.CreateTransaction(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	began := time.Now()
	var futures []store.FutureValue
	for range 16 {
		futures = append(futures, tx.Get([]byte("a")))
	}
	var wg sync.WaitGroup
	for _, f := range futures {
		wg.Go(func() {
			if v, err := f.Get(); err != nil || string(v) != "1" {
				t.Errorf("Get = %q, %v; want \"1\"", v, err)
			}
		})
	}
	wg.Wait()
	parallel := time.Since(began)
	// A read version, then the reads: two round trips, not seventeen.
	if parallel < 2*rtt || parallel > 8*rtt {
		t.Errorf("16 parallel first reads took %v, want two round trips of %v (at most 8)", parallel, rtt)
	}

	began = time.Now()
	if _, err := tx.Get([]byte("a")).Get(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Snapshot().GetRange(store.Range{Begin: []byte("a"), End: []byte("b")}, store.RangeOptions{}).GetSlice(); err != nil {
		t.Fatal(err)
	}
	if chained := time.Since(began); chained < 2*rtt {
		t.Errorf("two dependent reads took %v, want at least two round trips of %v", chained, rtt)
	}
}

// TestReadEndsWithContext: a read waiting its round trip fails as FDB's
// reads do when the transaction is cancelled.
func TestReadEndsWithContext(t *testing.T) {
	db, _ := open(t, delayed.Delays{Read: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	f := tx.GetReadVersion()
	cancel()
	if _, err := f.Get(); !errors.Is(err, store.ErrTransactionCancelled) {
		t.Fatalf("GetReadVersion after cancel: %v, want transaction_cancelled", err)
	}
	it := tx.GetRange(store.Range{Begin: []byte("a"), End: []byte("b")}, store.RangeOptions{}).Iterator()
	if it.Next() || !errors.Is(it.Err(), store.ErrTransactionCancelled) {
		t.Fatalf("range iterator after cancel: %v, want transaction_cancelled", it.Err())
	}
}

// TestNoDelaysIsTheStore: Wrap with no delays returns the store itself.
func TestNoDelaysIsTheStore(t *testing.T) {
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if w := delayed.Wrap(db, delayed.Delays{}); w != store.DB(db) {
		t.Fatalf("Wrap with no delays = %T, want the store itself", w)
	}
}

func put(t *testing.T, db store.DB, k, v string) {
	t.Helper()
	_, err := store.Transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
		tx.Set([]byte(k), []byte(v))
		return struct{}{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, db store.DB, k string) []byte {
	t.Helper()
	v, err := store.ReadTransact(t.Context(), db, func(r store.Reader) ([]byte, error) { return r.Get([]byte(k)).Get() })
	if err != nil {
		t.Fatal(err)
	}
	return v
}
