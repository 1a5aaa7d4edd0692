package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// watchWait bounds how long a watch that must fire may take.
const watchWait = 10 * time.Second

// watch arms a watch on key in a read-only transaction and closes the
// transaction (the watch outlives it).
func (e *env) watch(t *testing.T, key []byte) store.Watch {
	t.Helper()
	tx, err := e.db.CreateTransaction(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	defer tx.Close()
	w := tx.Watch(key)
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit of watch transaction: %v", err)
	}
	t.Cleanup(w.Cancel)
	return w
}

// wantFired waits for w to fire.
func wantFired(t *testing.T, w store.Watch, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), watchWait)
	defer cancel()
	if err := w.Wait(ctx); err != nil {
		t.Errorf("%s: watch Wait = %v, want it to fire", what, err)
	}
}

// wantQuiet checks that w has not fired. A watch cannot be proven silent by
// waiting, so this orders events instead: it arms a sentinel watch, commits
// a change to the sentinel key, waits for the sentinel to fire, and only
// then looks at w. An engine that fires w for an earlier commit has, in all
// but pathological schedules, done so by then; an engine that does not fire
// w never fails this check, so it cannot flake on a correct engine.
func (e *env) wantQuiet(t *testing.T, w store.Watch, what string) {
	t.Helper()
	s := e.key(fmt.Sprintf("sentinel/%016x", rand.Uint64()))
	ws := e.watch(t, s)
	e.commit(t, func(tx store.Tx) { tx.Set(s, []byte("x")) })
	wantFired(t, ws, "sentinel")
	select {
	case <-w.Done():
		t.Errorf("%s: watch fired (Err %v), want it pending", what, w.Err())
	default:
	}
}

// testWatchFires: an armed watch fires after another transaction commits a
// different value (set, create, clear, atomic op), outliving its own
// transaction; many watches, several on one key, all fire.
func testWatchFires(t *testing.T, e *env) {
	e.set(t, "present", "1", "cleared", "1", "atomic", string(le8(1)))
	for _, tc := range []struct {
		name, key string
		change    func(tx store.Tx)
	}{
		{"set different value", "present", func(tx store.Tx) { tx.Set(e.key("present"), []byte("2")) }},
		{"create absent key", "absent", func(tx store.Tx) { tx.Set(e.key("absent"), []byte{}) }},
		{"clear present key", "cleared", func(tx store.Tx) { tx.ClearRange(e.rng("cleared", "cleared\x00")) }},
		{"atomic add", "atomic", func(tx store.Tx) { tx.Atomic(store.Add, e.key("atomic"), le8(1)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.watch(t, e.key(tc.key))
			select {
			case <-w.Done():
				t.Fatalf("watch fired before any change (Err %v)", w.Err())
			default:
			}
			if err := w.Err(); err != nil {
				t.Errorf("Err before Done = %v, want nil", err)
			}
			e.commit(t, tc.change)
			wantFired(t, w, tc.name)
			if err := w.Err(); err != nil {
				t.Errorf("Err after fire = %v, want nil", err)
			}
		})
	}
	t.Run("many", func(t *testing.T) {
		const n = 50
		var ws []store.Watch
		for i := range n {
			ws = append(ws, e.watch(t, e.key(fmt.Sprintf("many/%02d", i))))
			if i%10 == 0 {
				ws = append(ws, e.watch(t, e.key(fmt.Sprintf("many/%02d", i))))
			}
		}
		e.commit(t, func(tx store.Tx) {
			for i := range n {
				tx.Set(e.key(fmt.Sprintf("many/%02d", i)), []byte("v"))
			}
		})
		for i, w := range ws {
			wantFired(t, w, fmt.Sprintf("watch %d", i))
		}
	})
}

// testWatchSameValue: a write of the value the watch saw does not fire it;
// a later different value does. FDB fires only on an observed difference.
func testWatchSameValue(t *testing.T, e *env) {
	e.set(t, "k", "v1")
	w := e.watch(t, e.key("k"))
	e.set(t, "k", "v1")
	e.wantQuiet(t, w, "after a write of the same value")
	e.set(t, "k", "v2")
	wantFired(t, w, "after a write of a different value")
}

// testWatchCancel: Wait returns ctx.Err() when ctx ends first and cancels the
// watch; Cancel fails a pending watch with operation_cancelled (1101) and
// leaves a fired one alone.
func testWatchCancel(t *testing.T, e *env) {
	t.Run("context cancelled", func(t *testing.T) {
		w := e.watch(t, e.key("k"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait(cancelled ctx) = %v, want context.Canceled", err)
		}
		wantCancelled(t, w)
	})
	t.Run("context deadline", func(t *testing.T) {
		w := e.watch(t, e.key("k"))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := w.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait(ctx with 50ms deadline) = %v, want context.DeadlineExceeded", err)
		}
		wantCancelled(t, w)
	})
	t.Run("Cancel", func(t *testing.T) {
		w := e.watch(t, e.key("k"))
		w.Cancel()
		wantCancelled(t, w)
		ctx, cancel := context.WithTimeout(t.Context(), watchWait)
		defer cancel()
		wantCode(t, "Wait after Cancel", w.Wait(ctx), 1101)
		// A cancelled watch does not fire later.
		e.set(t, "k", "changed")
		wantCode(t, "Err after a change", w.Err(), 1101)
	})
	t.Run("Cancel after fire", func(t *testing.T) {
		w := e.watch(t, e.key("k2"))
		e.set(t, "k2", "changed")
		wantFired(t, w, "change")
		w.Cancel()
		if err := w.Err(); err != nil {
			t.Errorf("Err after Cancel of a fired watch = %v, want nil", err)
		}
	})
}

// wantCancelled waits for w to end and checks it ended with 1101.
func wantCancelled(t *testing.T, w store.Watch) {
	t.Helper()
	waitDone(t, w)
	wantCode(t, "Err of cancelled watch", w.Err(), 1101)
}

// waitDone waits for w to fire or fail, without cancelling it.
func waitDone(t *testing.T, w store.Watch) {
	t.Helper()
	select {
	case <-w.Done():
	case <-time.After(watchWait):
		t.Fatalf("watch not done after %v (Err %v)", watchWait, w.Err())
	}
}

// testWatchFailedCommit: a watch whose transaction fails to commit fails with
// the commit's error; the watch's own read of k is a read conflict.
func testWatchFailedCommit(t *testing.T, e *env) {
	t.Run("conflict on another read", func(t *testing.T) {
		tx := e.tx(t)
		mustGet(t, tx, e.key("j"))
		w := tx.Watch(e.key("k"))
		tx.Set(e.key("x"), []byte("x"))
		e.set(t, "j", "changed")
		wantCode(t, "commit", tx.Commit(), 1020)
		ctx, cancel := context.WithTimeout(t.Context(), watchWait)
		defer cancel()
		wantCode(t, "watch of failed commit", w.Wait(ctx), 1020)
	})
	t.Run("watch is a read conflict", func(t *testing.T) {
		tx := e.tx(t)
		mustRV(t, tx)
		w := tx.Watch(e.key("k"))
		tx.Set(e.key("x"), []byte("x"))
		e.set(t, "k", "changed")
		wantCode(t, "commit", tx.Commit(), 1020)
		ctx, cancel := context.WithTimeout(t.Context(), watchWait)
		defer cancel()
		wantCode(t, "watch of failed commit", w.Wait(ctx), 1020)
	})
}

// testWatchReadOnly: a watch in a read-only transaction is armed at the read
// version, so a change committed between its read and its commit fires it.
func testWatchReadOnly(t *testing.T, e *env) {
	e.set(t, "k", "v1")
	tx := e.tx(t)
	mustRV(t, tx)
	w := tx.Watch(e.key("k"))
	e.set(t, "k", "v2")
	wantCode(t, "read-only commit", tx.Commit(), 0)
	wantFired(t, w, "change after the read version, before the commit")
}

// testWatchOwnWrites: before commit a watch ignores other transactions but
// fires at once when its own transaction writes a different value, clears a
// present key or applies any atomic op; its baseline includes the
// transaction's earlier writes (FDB-SEMANTICS §6).
func testWatchOwnWrites(t *testing.T, e *env) {
	e.set(t, "k", "v1")
	for _, tc := range []struct {
		name  string
		write func(tx store.Tx)
	}{
		{"set different value", func(tx store.Tx) { tx.Set(e.key("k"), []byte("v2")) }},
		{"clear present key", func(tx store.Tx) { tx.Clear(e.key("k")) }},
		{"atomic add of zero", func(tx store.Tx) { tx.Atomic(store.Add, e.key("k"), []byte{0}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := e.tx(t)
			w := tx.Watch(e.key("k"))
			tc.write(tx)
			wantFired(t, w, "own write before commit")
			tx.Cancel()
		})
	}
	t.Run("ignores others before commit", func(t *testing.T) {
		tx := e.tx(t)
		mustRV(t, tx)
		w := tx.Watch(e.key("other"))
		e.set(t, "other", "changed")
		e.wantQuiet(t, w, "uncommitted watch after another transaction's change")
		tx.Cancel()
	})
	t.Run("set same value", func(t *testing.T) {
		tx := e.tx(t)
		w := tx.Watch(e.key("k"))
		tx.Set(e.key("k"), []byte("v1"))
		wantCode(t, "commit", tx.Commit(), 0)
		e.wantQuiet(t, w, "after own write of the same value")
		e.set(t, "k", "v3")
		wantFired(t, w, "after another transaction's different value")
		e.set(t, "k", "v1")
	})
	t.Run("baseline includes earlier own write", func(t *testing.T) {
		tx := e.tx(t)
		tx.Set(e.key("b"), []byte("own"))
		w := tx.Watch(e.key("b"))
		wantCode(t, "commit", tx.Commit(), 0)
		e.wantQuiet(t, w, "after commit of the value the watch saw")
		e.set(t, "b", "other")
		wantFired(t, w, "after a different value")
	})
}

// testWatchReset: resetting or closing a transaction before it commits fails
// its watches with transaction_cancelled (1025).
func testWatchReset(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		end  func(tx store.Tx)
	}{
		{"Reset", func(tx store.Tx) { tx.Reset() }},
		{"Close", func(tx store.Tx) { tx.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := e.db.CreateTransaction(t.Context())
			if err != nil {
				t.Fatalf("CreateTransaction: %v", err)
			}
			w := tx.Watch(e.key("k"))
			tc.end(tx)
			if tc.name == "Reset" {
				defer tx.Close()
			}
			ctx, cancel := context.WithTimeout(t.Context(), watchWait)
			defer cancel()
			wantCode(t, "watch after "+tc.name, w.Wait(ctx), 1025)
		})
	}
}

// testWatchAfterDone: AfterDone's function runs once when the watch fires
// (added before), at once when it has fired or failed (added after), and
// when it is cancelled; never before it ends.
func testWatchAfterDone(t *testing.T, e *env) {
	// ran counts a function's runs and closes its channel at the first.
	type ran struct {
		n  atomic.Int32
		ch chan struct{}
	}
	add := func(w store.Watch) *ran {
		r := &ran{ch: make(chan struct{})}
		w.AfterDone(func() {
			if r.n.Add(1) == 1 {
				close(r.ch)
			}
		})
		return r
	}
	wait := func(t *testing.T, r *ran, what string) {
		t.Helper()
		select {
		case <-r.ch:
		case <-time.After(watchWait):
			t.Fatalf("%s: AfterDone's function did not run", what)
		}
	}
	t.Run("fires", func(t *testing.T) {
		w := e.watch(t, e.key("after/fires"))
		before := add(w)
		e.wantQuiet(t, w, "before the change")
		if n := before.n.Load(); n != 0 {
			t.Fatalf("AfterDone's function ran %d times before the watch ended", n)
		}
		e.commit(t, func(tx store.Tx) { tx.Set(e.key("after/fires"), []byte("x")) })
		wait(t, before, "a fired watch")
		<-w.Done() // closed before the functions run
		after := add(w)
		if n := after.n.Load(); n != 1 {
			t.Errorf("AfterDone on a fired watch: ran %d times at once, want 1", n)
		}
		if n := before.n.Load(); n != 1 {
			t.Errorf("AfterDone's function ran %d times, want 1", n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		w := e.watch(t, e.key("after/cancelled"))
		r := add(w)
		w.Cancel()
		wait(t, r, "a cancelled watch")
		wantCancelled(t, w)
	})
}
