//go:build fdb

package fdbstore

import (
	"context"

	"github.com/apple/foundationdb/bindings/go/src/fdb"

	"zkfdb/shared/store"
)

// watch is a store.Watch on the binding's watch future. One goroutine,
// owned by the DB, waits on the future and closes done; it exits when the
// watch fires, fails (commit error, transaction reset or cancelled,
// too_many_watches...) or is cancelled. The number of these goroutines is
// therefore bounded by FDB's max_watches (Options.MaxWatches): past it the
// future fails at once with too_many_watches and its goroutine exits.
type watch struct {
	f     fdb.FutureNil
	done  chan struct{}
	err   error           // written before done is closed
	after store.DoneFuncs // run once done closes
}

var _ store.Watch = (*watch)(nil)

// startWatch starts the goroutine of a new watch, or cancels the watch if
// the DB is closed.
func (db *DB) startWatch(f fdb.FutureNil) *watch {
	w := &watch{f: f, done: make(chan struct{})}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		f.Cancel()
		w.err = store.ErrOperationCancelled
		w.closeDone()
		return w
	}
	db.watches[w] = struct{}{}
	db.wg.Add(1)
	db.mu.Unlock()

	go func() {
		defer db.wg.Done()
		w.err = storeErr(f.Get())
		w.closeDone()
		db.mu.Lock()
		delete(db.watches, w)
		db.mu.Unlock()
	}()
	return w
}

func (w *watch) Done() <-chan struct{} { return w.done }

// AfterDone runs f when the watch ends (store.Watch), or now if it has.
func (w *watch) AfterDone(f func()) { w.after.Add(f) }

// closeDone closes done and runs AfterDone's functions.
func (w *watch) closeDone() {
	close(w.done)
	w.after.Run()
}

func (w *watch) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Wait returns nil once the watch fires, its error if it fails, or
// ctx.Err() after cancelling the watch if ctx ends first.
func (w *watch) Wait(ctx context.Context) error {
	select {
	case <-w.done:
		return w.err
	default:
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		w.Cancel()
		return ctx.Err()
	}
}

// Cancel cancels the FDB future: a pending watch fails with
// store.ErrOperationCancelled (1101); a fired one is unaffected.
func (w *watch) Cancel() { w.f.Cancel() }
