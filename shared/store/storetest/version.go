package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// testTooOld: a read at a version more than the MVCC window (5e6 versions)
// behind the newest fails with transaction_too_old (1007).
func testTooOld(t *testing.T, e *env) {
	old, rv := e.oldVersion(t)

	tx := e.tx(t)
	tx.SetReadVersion(old)
	_, err := tx.Get(e.key("k")).Get()
	wantCode(t, fmt.Sprintf("Get at read version %d (newest %d)", old, rv), err, 1007)

	tx = e.tx(t)
	tx.SetReadVersion(old)
	_, err = tx.GetRange(e.rng("a", "z"), store.RangeOptions{}).GetSlice()
	wantCode(t, "GetRange at an old read version", err, 1007)

	// The retry loop retries 1007 with a fresh read version.
	attempts := 0
	_, err = store.Transact(ctxFor(t, 30*time.Second), e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		if attempts == 1 {
			tx.SetReadVersion(old)
		}
		_, err := tx.Get(e.key("k")).Get()
		return struct{}{}, err
	})
	if err != nil || attempts != 2 {
		t.Errorf("Transact after 1007: %v after %d attempts, want success after 2", err, attempts)
	}
}

// oldVersion returns a read version more than the MVCC window behind the
// newest (waiting, in a young database, for versions to get there).
func (e *env) oldVersion(t *testing.T) (old, newest int64) {
	t.Helper()
	rv := mustRV(t, e.tx(t))
	if rv <= store.MVCCWindow+1 {
		// A young database has no version old enough yet; versions
		// advance with wall-clock time (about 1e6 a second).
		t.Logf("read version %d is inside the first MVCC window; waiting for versions to advance", rv)
		deadline := time.Now().Add(15 * time.Second)
		for rv <= store.MVCCWindow+1 {
			if time.Now().After(deadline) {
				t.Fatalf("read version still %d after 15 s: versions do not advance with time", rv)
			}
			time.Sleep(100 * time.Millisecond)
			rv = mustRV(t, e.tx(t))
		}
	}
	return max(rv-6_000_000, 1), rv
}

// testCommitTooOld: the resolver fails a commit whose read version is more
// than the MVCC window behind with transaction_too_old (1007) when it has a
// read-conflict range; FDB's client gives every writing transaction one
// (self-conflict fencing, FDB-SEMANTICS §2), so blind writes fail too.
func testCommitTooOld(t *testing.T, e *env) {
	old, _ := e.oldVersion(t)
	tx := e.tx(t)
	tx.SetReadVersion(old)
	if err := tx.AddReadConflictKey(e.key("k")); err != nil {
		t.Fatalf("AddReadConflictKey: %v", err)
	}
	tx.Set(e.key("x"), []byte("x"))
	wantCode(t, "commit with a read-conflict range at an old read version", tx.Commit(), 1007)

	tx = e.tx(t)
	tx.SetReadVersion(old)
	tx.Set(e.key("y"), []byte("y"))
	wantCode(t, "blind write at an old read version", tx.Commit(), 1007)

	tx = e.tx(t)
	tx.SetReadVersion(old)
	wantCode(t, "read-only commit at an old read version", tx.Commit(), 0)
}

// testFutureVersion: a read at a version the database has not reached
// fails with future_version (1009) after about a second.
func testFutureVersion(t *testing.T, e *env) {
	rv := mustRV(t, e.tx(t))
	tx, err := e.db.CreateTransaction(ctxFor(t, 30*time.Second))
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	defer tx.Close()
	tx.SetReadVersion(rv + 1_000_000_000) // about 1,000 s ahead
	began := time.Now()
	_, err = tx.Get(e.key("k")).Get()
	wantCode(t, "Get at a read version 1e9 ahead", err, 1009)
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("future_version took %v, FDB gives up after about 1 s", d)
	}
}

// testSetReadVersion: SetReadVersion must come once, before any read, with
// a positive version; its errors (2010, 2011) are deferred to the next read.
func testSetReadVersion(t *testing.T, e *env) {
	rv := mustRV(t, e.tx(t))

	tx := e.tx(t)
	tx.SetReadVersion(rv)
	if got := mustRV(t, tx); got != rv {
		t.Errorf("GetReadVersion after SetReadVersion(%d) = %d", rv, got)
	}

	tx = e.tx(t)
	tx.SetReadVersion(rv)
	tx.SetReadVersion(rv)
	_, err := tx.Get(e.key("k")).Get()
	wantCode(t, "Get after SetReadVersion twice", err, 2010)

	tx = e.tx(t)
	mustGet(t, tx, e.key("k"))
	tx.SetReadVersion(rv)
	_, err = tx.Get(e.key("k2")).Get()
	wantCode(t, "Get after SetReadVersion after a read", err, 2010)

	for _, v := range []int64{0, -1} {
		tx = e.tx(t)
		tx.SetReadVersion(v)
		_, err = tx.Get(e.key("k")).Get()
		wantCode(t, fmt.Sprintf("Get after SetReadVersion(%d)", v), err, 2011)
	}
}

// testReadAtOldVersion: a read version inside the MVCC window reads the data
// as of that version (commits at versions ≤ it, none after), and a write
// after such a read conflicts with the later commits.
func testReadAtOldVersion(t *testing.T, e *env) {
	cv1 := e.set(t, "k", "1", "a", "1")
	cv2 := e.set(t, "k", "2", "b", "2")

	tx := e.tx(t)
	tx.SetReadVersion(cv1)
	wantValue(t, "Get at first commit's version", mustGet(t, tx, e.key("k")), []byte("1"))
	e.wantRows(t, "range at first commit's version", mustRange(t, tx, e.rng("", "z"), store.RangeOptions{}), "a=1", "k=1")

	tx = e.tx(t)
	tx.SetReadVersion(cv2)
	wantValue(t, "Get at second commit's version", mustGet(t, tx, e.key("k")), []byte("2"))

	tx = e.tx(t)
	tx.SetReadVersion(cv2 - 1)
	wantValue(t, "Get just before the second commit", mustGet(t, tx, e.key("k")), []byte("1"))

	tx = e.tx(t)
	tx.SetReadVersion(cv1)
	mustGet(t, tx, e.key("k"))
	tx.Set(e.key("k"), []byte("stale"))
	wantCode(t, "commit of a write after a read at an old version", tx.Commit(), 1020)
}

// testCancelAndTimeout: Cancel, the end of the transaction's context and its
// timeout fail later operations.
func testCancelAndTimeout(t *testing.T, e *env) {
	t.Run("Cancel", func(t *testing.T) {
		tx := e.tx(t)
		tx.Set(e.key("k"), []byte("v"))
		tx.Cancel()
		_, err := tx.Get(e.key("k")).Get()
		wantCode(t, "Get after Cancel", err, 1025)
		wantCode(t, "Commit after Cancel", tx.Commit(), 1025)
		wantValue(t, "k", e.get(t, e.key("k")), nil)
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		tx, err := e.db.CreateTransaction(ctx)
		if err != nil {
			t.Fatalf("CreateTransaction: %v", err)
		}
		defer tx.Close()
		mustGet(t, tx, e.key("k"))
		cancel()
		// The engine may notice the cancellation asynchronously; it must
		// within a bound. Each read is of a new key, so no cache answers.
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; ; i++ {
			_, err := tx.Get(e.key(fmt.Sprintf("k%d", i))).Get()
			if store.Code(err) == 1025 {
				break
			}
			if err != nil {
				t.Fatalf("Get after the context ended: %v, want %v", err, store.ErrTransactionCancelled)
			}
			if time.Now().After(deadline) {
				t.Fatalf("Get still succeeds 5 s after the transaction's context ended")
			}
			time.Sleep(10 * time.Millisecond)
		}
		tx.Set(e.key("k"), []byte("v"))
		wantCode(t, "Commit after the context ended", tx.Commit(), 1025)
	})
	t.Run("SetTimeout", func(t *testing.T) {
		tx := e.tx(t)
		tx.SetTimeout(20 * time.Millisecond)
		time.Sleep(60 * time.Millisecond) // let the timeout pass
		_, err := tx.Get(e.key("k")).Get()
		wantCode(t, "Get after the timeout", err, 1031)
		wantCode(t, "Commit after the timeout", tx.Commit(), 1031)
	})
	t.Run("SetTimeout persists across OnError", func(t *testing.T) {
		tx := e.tx(t)
		// Long enough for the backoff and a read on a loaded machine
		// (CI's FDB once took over 190 ms for them), short for a test.
		tx.SetTimeout(time.Second)
		if err := tx.OnError(store.ErrNotCommitted); err != nil {
			t.Fatalf("OnError(1020) = %v", err)
		}
		mustGet(t, tx, e.key("k"))
		time.Sleep(1100 * time.Millisecond) // let the timeout pass
		_, err := tx.Get(e.key("k2")).Get()
		wantCode(t, "Get after the timeout set before OnError", err, 1031)
	})
}

// testReset: Reset and a retrying OnError drop the transaction's writes,
// reads and read version.
func testReset(t *testing.T, e *env) {
	for _, tc := range []struct {
		name  string
		reset func(tx store.Tx) error
	}{
		{"Reset", func(tx store.Tx) error { tx.Reset(); return nil }},
		{"OnError", func(tx store.Tx) error { return tx.OnError(store.ErrNotCommitted) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.sub(tc.name)
			tx := s.tx(t)
			rv := mustRV(t, tx)
			mustGet(t, tx, s.key("read"))
			tx.Set(s.key("dropped"), []byte("x"))
			if err := tc.reset(tx); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			s.set(t, "read", "changed")
			wantValue(t, "Get of a write made before "+tc.name, mustGet(t, tx, s.key("dropped")), nil)
			if got := mustRV(t, tx); got < rv {
				t.Errorf("read version after %s = %d, older than before (%d)", tc.name, got, rv)
			}
			wantValue(t, "Get after "+tc.name+" sees a later commit", mustGet(t, tx, s.key("read")), []byte("changed"))
			tx.Set(s.key("kept"), []byte("y"))
			wantCode(t, "commit after "+tc.name, tx.Commit(), 0)
			wantValue(t, "write made before "+tc.name, s.get(t, s.key("dropped")), nil)
		})
	}
}

// testUsedAfterCommit: after Commit, calls other than Reset and OnError fail
// with used_during_commit (2017); Reset makes the transaction usable again.
func testUsedAfterCommit(t *testing.T, e *env) {
	tx := e.tx(t)
	tx.Set(e.key("k"), []byte("v"))
	wantCode(t, "commit", tx.Commit(), 0)
	_, err := tx.Get(e.key("k")).Get()
	wantCode(t, "Get after Commit", err, 2017)
	_, err = tx.GetVersionstamp().Get()
	wantCode(t, "GetVersionstamp after Commit", err, 2017)
	tx.Reset()
	wantValue(t, "Get after Reset", mustGet(t, tx, e.key("k")), []byte("v"))
	wantCode(t, "commit after Reset", tx.Commit(), 0)
}

// testCommitVersions: sequential commits get strictly increasing versions,
// each greater than its read version, and a transaction started after a
// commit reads at a version at least as new and sees it (causality).
func testCommitVersions(t *testing.T, e *env) {
	var prev int64
	for i := range 30 {
		tx := e.tx(t)
		rv := mustRV(t, tx)
		if rv < prev {
			t.Errorf("commit %d: read version %d is older than the previous commit %d", i, rv, prev)
		}
		if got := mustGet(t, tx, e.key("k")); i > 0 && !sameValue(got, fmt.Append(nil, i-1)) {
			t.Errorf("commit %d: read %s, want the previous commit's %d", i, show(got), i-1)
		}
		tx.Set(e.key("k"), fmt.Append(nil, i))
		wantCode(t, "commit", tx.Commit(), 0)
		cv, err := tx.GetCommittedVersion()
		if err != nil {
			t.Fatalf("GetCommittedVersion: %v", err)
		}
		if cv <= prev || cv <= rv {
			t.Errorf("commit %d: version %d, want > previous %d and > read version %d", i, cv, prev, rv)
		}
		prev = cv
	}
}
