package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// testTransactRetries: store.Transact reruns a body whose commit conflicted
// (1020), and a body that returned a wrapped retryable store error.
func testTransactRetries(t *testing.T, e *env) {
	ctx := ctxFor(t, 30*time.Second)
	k := e.key("k")
	e.commit(t, func(tx store.Tx) { tx.Set(k, le8(1)) })
	attempts := 0
	n, err := store.Transact(ctx, e.db, func(tx store.Tx) (int64, error) {
		attempts++
		v, err := tx.Get(k).Get()
		if err != nil {
			return 0, err
		}
		if attempts == 1 {
			// Another transaction changes k after this one read it.
			e.commit(t, func(tx store.Tx) { tx.Set(k, le8(100)) })
		}
		n := int8LE(t, v) + 1
		tx.Set(k, le8(n))
		return n, nil
	})
	if err != nil || attempts != 2 || n != 101 {
		t.Errorf("Transact = %d, %v after %d attempts; want 101, nil after 2", n, err, attempts)
	}
	if got := int8LE(t, e.get(t, k)); got != 101 {
		t.Errorf("k = %d, want 101", got)
	}

	attempts = 0
	_, err = store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		if attempts == 1 {
			return struct{}{}, fmt.Errorf("body: %w", store.ErrNotCommitted)
		}
		return struct{}{}, nil
	})
	if err != nil || attempts != 2 {
		t.Errorf("Transact after a wrapped 1020 from the body: %v after %d attempts; want nil after 2", err, attempts)
	}
}

// testTransactOtherErrors: a non-store error from the body is returned at
// once without committing; a non-retryable store error is returned after
// one attempt.
func testTransactOtherErrors(t *testing.T, e *env) {
	ctx := ctxFor(t, 30*time.Second)
	boom := errors.New("boom")
	attempts := 0
	_, err := store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		tx.Set(e.key("k"), []byte("written"))
		return struct{}{}, boom
	})
	if !errors.Is(err, boom) || attempts != 1 {
		t.Errorf("Transact with a failing body = %v after %d attempts, want boom after 1", err, attempts)
	}
	wantValue(t, "k written by a failed body", e.get(t, e.key("k")), nil)

	attempts = 0
	_, err = store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		tx.Set([]byte{0xff, 'x'}, []byte("v"))
		return struct{}{}, nil
	})
	if store.Code(err) != 2004 || attempts != 1 {
		t.Errorf("Transact with a write to \\xff = %v after %d attempts, want 2004 after 1", err, attempts)
	}
}

// testTransactContext: Transact returns ctx.Err() once ctx ends, without
// running the body again; it does not start with an ended context.
func testTransactContext(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	attempts := 0
	_, err := store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		if attempts == 3 {
			cancel()
		}
		return struct{}{}, store.ErrNotCommitted
	})
	if !errors.Is(err, context.Canceled) || attempts != 3 {
		t.Errorf("Transact cancelled in attempt 3 = %v after %d attempts, want context.Canceled after 3", err, attempts)
	}

	attempts = 0
	_, err = store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
		attempts++
		return struct{}{}, nil
	})
	if !errors.Is(err, context.Canceled) || attempts != 0 {
		t.Errorf("Transact with an ended context = %v after %d attempts, want context.Canceled after 0", err, attempts)
	}
}

// testTransactRetryLimit: SetRetryLimit(n) allows n retries, then the loop
// returns the error; the limit persists across OnError.
func testTransactRetryLimit(t *testing.T, e *env) {
	ctx := ctxFor(t, 30*time.Second)
	for _, limit := range []int{0, 2} {
		attempts := 0
		_, err := store.Transact(ctx, e.db, func(tx store.Tx) (struct{}, error) {
			attempts++
			if attempts == 1 {
				tx.SetRetryLimit(limit)
			}
			// A real conflict each time.
			mustGet(t, tx, e.key("k"))
			tx.Set(e.key("k"), []byte("t1"))
			e.commit(t, func(tx store.Tx) { tx.Set(e.key("k"), fmt.Append(nil, attempts)) })
			return struct{}{}, nil
		})
		if store.Code(err) != 1020 || attempts != limit+1 {
			t.Errorf("Transact with retry limit %d = %v after %d attempts, want 1020 after %d", limit, err, attempts, limit+1)
		}
	}
}
