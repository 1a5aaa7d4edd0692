package embedded

import (
	"bytes"
	"context"
	"sync"

	"zkfdb/shared/store"
)

// watch is a store.Watch. Its baseline is the value its transaction could
// read when it was created; once armed it fires when the stored value
// differs from the baseline.
type watch struct {
	reg      *watchRegistry
	key      []byte
	baseline []byte // nil when absent
	once     sync.Once
	done     chan struct{}
	err      error
	after    store.DoneFuncs // run once done closes
}

func (w *watch) Done() <-chan struct{} { return w.done }

func (w *watch) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

func (w *watch) Wait(ctx context.Context) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		w.Cancel()
		return ctx.Err()
	}
}

func (w *watch) Cancel() { w.end(store.ErrOperationCancelled) }

// AfterDone runs f when the watch ends (store.Watch), or now if it has.
func (w *watch) AfterDone(f func()) { w.after.Add(f) }

// closeDone closes done and runs AfterDone's functions.
func (w *watch) closeDone() {
	close(w.done)
	w.after.Run()
}

// fireOwn fires the watch because its own transaction changed the key.
func (w *watch) fireOwn() { w.end(nil) }

// end ends the watch with err unless it has ended already.
func (w *watch) end(err error) {
	if w.reg != nil {
		w.reg.remove(w, err)
	}
}

// failedWatch is a watch that failed at creation.
func failedWatch(err error) *watch {
	w := &watch{done: make(chan struct{}), err: err}
	w.once.Do(w.closeDone)
	return w
}

// watchRegistry holds the armed watches by key and counts pending ones
// against FDB's max_watches.
type watchRegistry struct {
	db      *DB
	max     int
	mu      sync.Mutex
	pending int
	armed   map[string][]*watch
}

func newWatchRegistry(db *DB, max int) *watchRegistry {
	return &watchRegistry{db: db, max: max, armed: make(map[string][]*watch)}
}

// create makes a pending (not yet armed) watch, or fails with
// too_many_watches.
func (r *watchRegistry) create(key, baseline []byte) *watch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending >= r.max {
		return failedWatch(store.ErrTooManyWatches)
	}
	r.pending++
	r.db.metrics.watches.Set(float64(r.pending))
	return &watch{reg: r, key: key, baseline: baseline, done: make(chan struct{})}
}

// endLocked ends w once, with err (nil: it fired). r.mu must be held.
func (r *watchRegistry) endLocked(w *watch, err error) {
	w.once.Do(func() {
		w.err = err
		w.closeDone()
		r.pending--
		r.db.metrics.watches.Set(float64(r.pending))
	})
}

// arm starts watching at the state of snap (or the newest state when snap
// is nil): the watch fires at once if that state already differs from its
// baseline. The committer arms a write transaction's watches right after
// publishing its batch and before the next batch, so no change is missed;
// read-only transactions arm against the newest state under the registry
// lock, which the committer also takes (after publishing) to fire.
func (r *watchRegistry) arm(w *watch, snap *snapEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-w.done:
		return // cancelled before it was armed
	default:
	}
	for {
		if snap == nil {
			snap = r.db.current()
			if snap == nil {
				r.endLocked(w, store.ErrOperationCancelled)
				return
			}
		}
		cur, err := snap.get(w.key)
		if err == store.ErrTransactionTooOld {
			snap = nil // dropped meanwhile: the newest state will do
			continue
		}
		if err != nil {
			r.endLocked(w, err)
			return
		}
		if !sameValue(cur, w.baseline) {
			r.endLocked(w, nil)
			return
		}
		k := string(w.key)
		r.armed[k] = append(r.armed[k], w)
		return
	}
}

// fire fires the armed watches on what a batch changed, comparing with the
// state it published.
func (r *watchRegistry) fire(snap *snapEntry, ch changes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.armed) == 0 {
		return
	}
	check := func(k string) {
		ws := r.armed[k]
		if len(ws) == 0 {
			return
		}
		cur, err := snap.get([]byte(k))
		if err != nil {
			return
		}
		kept := ws[:0]
		for _, w := range ws {
			if sameValue(cur, w.baseline) {
				kept = append(kept, w)
				continue
			}
			r.endLocked(w, nil)
		}
		if len(kept) == 0 {
			delete(r.armed, k)
		} else {
			r.armed[k] = kept
		}
	}
	var ranges []change
	for _, op := range ch.ops {
		if op.kind == changeClearRange {
			ranges = append(ranges, op)
		} else {
			check(string(op.key))
		}
	}
	if len(ranges) > 0 {
		for k := range r.armed {
			for _, cr := range ranges {
				if bytes.Compare([]byte(k), cr.key) >= 0 && bytes.Compare([]byte(k), cr.end) < 0 {
					check(k)
					break
				}
			}
		}
	}
}

// remove ends w with err if it has not ended yet.
func (r *watchRegistry) remove(w *watch, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := string(w.key)
	ws := r.armed[k]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(r.armed, k)
	} else {
		r.armed[k] = ws
	}
	r.endLocked(w, err)
}

// closeAll fails every armed watch (the database is closing).
func (r *watchRegistry) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ws := range r.armed {
		for _, w := range ws {
			r.endLocked(w, store.ErrOperationCancelled)
		}
	}
	r.armed = make(map[string][]*watch)
}

// sameValue compares two values where nil means absent and is not equal to
// an empty present value.
func sameValue(a, b []byte) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return bytes.Equal(a, b)
}
