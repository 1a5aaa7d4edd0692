package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"zkfdb/shared/store"
)

type txState int

const (
	active     txState = iota
	committing         // Commit called, result pending
	committed          // Commit succeeded
	failed             // Commit failed: only OnError and Reset are left
)

// tx is a store.Tx. Its mutex serializes the goroutines of one
// transaction; reads hold it for the duration of one storage read.
type tx struct {
	db      *DB
	ctx     context.Context
	created time.Time

	mu sync.Mutex
	// Persist across OnError and Reset, as FDB's timeout and retry_limit.
	timeout    time.Duration
	retryLimit int
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration

	// readOnly: store.HintReadOnly said it will not commit; its reads
	// add no read conflicts.
	readOnly  bool
	rv        int64
	rvKnown   bool       // fetched, or given by SetReadVersion
	rvAt      time.Time  // when a fetched rv reaches the client (Faults.ReadLatency)
	stored    uint64     // reads that reached storage (Faults.ReadLatency)
	snap      *snapEntry // the state as of rv, once a read needed it
	deferred  error      // first error of a write, reported by the next read or Commit
	wm        *writeMap
	reads     []store.Range
	writes    []store.Range // explicit write-conflict ranges
	watches   []*watch      // created, not yet committed
	stamp     *stampFuture
	state     txState
	version   int64
	cancelled bool
}

// OnError's backoff, as FDB's client: it starts at 10 ms and doubles up
// to max_retry_delay, 1 s unless SetMaxRetryDelay says otherwise.
const (
	initialBackoff    = 10 * time.Millisecond
	defaultMaxBackoff = time.Second
)

func newTx(ctx context.Context, db *DB) *tx {
	t := &tx{
		db:         db,
		ctx:        ctx,
		created:    time.Now(),
		timeout:    db.opts.Timeout,
		retryLimit: -1,
		backoff:    initialBackoff,
		maxBackoff: defaultMaxBackoff,
		wm:         newWriteMap(),
	}
	if db.opts.RetryLimit > 0 {
		t.retryLimit = db.opts.RetryLimit
	}
	return t
}

var maxKey = []byte{store.SystemPrefix}

func isSystem(k []byte) bool { return len(k) > 0 && k[0] == store.SystemPrefix }

// errLocked returns the error every operation fails with now, if any.
func (t *tx) errLocked() error {
	if t.cancelled {
		return store.ErrTransactionCancelled
	}
	if err := t.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return store.ErrTransactionTimedOut
		}
		return store.ErrTransactionCancelled
	}
	if t.timeout > 0 && time.Since(t.created) > t.timeout {
		return store.ErrTransactionTimedOut
	}
	if t.state != active {
		return store.ErrUsedDuringCommit
	}
	return t.deferred
}

func (t *tx) deferLocked(err error) {
	if t.deferred == nil {
		t.deferred = err
	}
}

// writableLocked checks a write to key k; a non-nil result is deferred.
func (t *tx) writableLocked(k []byte) error {
	if t.state != active {
		return store.ErrUsedDuringCommit
	}
	if isSystem(k) {
		return store.ErrKeyOutsideLegalRange
	}
	if len(k) > store.MaxKeySize {
		return store.ErrKeyTooLarge
	}
	return nil
}

func (t *tx) ensureSnapLocked() error {
	if t.snap != nil {
		return nil
	}
	if !t.rvKnown {
		rv, snap, err := t.db.readVersion()
		if err != nil {
			return err
		}
		t.rv, t.rvKnown, t.snap = rv, true, snap
		if d := t.db.opts.Faults.ReadLatency; d > 0 {
			t.rvAt = time.Now().Add(d)
		}
		return nil
	}
	snap, err := t.db.snapshotAt(t.rv)
	if err != nil {
		return err
	}
	t.snap = snap
	return nil
}

// storageLocked returns the snapshot to read, failing with
// transaction_too_old once the read version left the MVCC window.
func (t *tx) storageLocked() (*snapEntry, error) {
	t.stored++
	if err := t.ensureSnapLocked(); err != nil {
		return nil, err
	}
	if t.rv < t.db.clock.now()-store.MVCCWindow {
		return nil, store.ErrTransactionTooOld
	}
	if err := t.db.faults.DecideRead().Err(); err != nil {
		return nil, err // an injected storage-server answer (Faults.DecideRead)
	}
	return t.snap, nil
}

func (t *tx) addReadLocked(r store.Range) {
	if t.readOnly {
		return // it will not commit (Commit refuses its writes): no conflicts
	}
	t.reads = t.wm.appendWithoutIndependent(t.reads, r)
}

// readReadyLocked returns when a read issued at issued is answered
// (Faults.ReadLatency): a round trip after it was issued or, if it waits
// for the read version, after that arrives. Zero without ReadLatency.
func (t *tx) readReadyLocked(issued time.Time) time.Time {
	d := t.db.opts.Faults.ReadLatency
	if d <= 0 {
		return time.Time{}
	}
	if t.rvAt.After(issued) {
		issued = t.rvAt
	}
	return issued.Add(d)
}

// await waits until ready (Faults.ReadLatency), or fails as the
// transaction's operations do when its context ends first.
func (t *tx) await(ready time.Time) error { return store.WaitUntil(t.ctx, ready) }

// --- reads ---

// valueFuture is a read's result, answered at ready (zero: at once;
// Faults.ReadLatency) by tx's storage.
type valueFuture struct {
	v     []byte
	err   error
	t     *tx
	ready time.Time
}

func (f valueFuture) Get() ([]byte, error) {
	if f.err == nil && !f.ready.IsZero() {
		if err := f.t.await(f.ready); err != nil {
			return nil, err
		}
	}
	return f.v, f.err
}

type versionFuture struct {
	v     int64
	err   error
	t     *tx
	ready time.Time
}

func (f versionFuture) Get() (int64, error) {
	if f.err == nil && !f.ready.IsZero() {
		if err := f.t.await(f.ready); err != nil {
			return 0, err
		}
	}
	return f.v, f.err
}

func (t *tx) Get(k []byte) store.FutureValue { return t.get(k, false) }

func (t *tx) get(k []byte, snapshot bool) store.FutureValue {
	var issued time.Time
	if t.db.opts.Faults.ReadLatency > 0 {
		issued = time.Now()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	stored := t.stored
	v, err := t.getLocked(k, snapshot)
	f := valueFuture{v: v, err: err}
	if t.stored != stored {
		f.t, f.ready = t, t.readReadyLocked(issued)
	}
	return f
}

func (t *tx) getLocked(k []byte, snapshot bool) ([]byte, error) {
	if err := t.errLocked(); err != nil {
		return nil, err
	}
	if isSystem(k) {
		return nil, store.ErrKeyOutsideLegalRange
	}
	if len(k) > store.MaxKeySize {
		return nil, nil // FDB: a key that cannot exist reads as absent
	}
	if t.wm.isUnreadable(k) {
		return nil, store.ErrAccessedUnreadable
	}
	base := func() ([]byte, error) {
		s, err := t.storageLocked()
		if err != nil {
			return nil, err
		}
		v, ok := t.db.points.get(k, t.rv)
		if !ok {
			v, err = s.get(k)
			if err == nil {
				t.db.points.add(k, v, s.version)
			}
		}
		if err == nil && !snapshot {
			k := cloneKey(k)
			t.addReadLocked(store.Range{Begin: k, End: keyAfter(k)})
		}
		return v, err
	}
	if e := t.wm.lookup(k); e != nil {
		switch e.kind {
		case known:
			if !e.present {
				return nil, nil
			}
			return append([]byte{}, e.value...), nil
		case unreadable:
			return nil, store.ErrAccessedUnreadable
		case atomicOnUnknown:
			v, err := base()
			if err != nil {
				return nil, err
			}
			return e.resolve(v), nil
		}
	}
	if t.wm.isCleared(k) {
		return nil, nil
	}
	return base()
}

// resolve applies an atomicOnUnknown entry's ops to the stored value.
func (e *entry) resolve(stored []byte) []byte {
	v, present := stored, stored != nil
	for _, op := range e.ops {
		var base []byte
		if present {
			base = v
		}
		v, present = applyAtomic(op.op, base, op.param)
	}
	if !present {
		return nil
	}
	return append([]byte{}, v...)
}

func (t *tx) GetRange(r store.Range, opts store.RangeOptions) store.RangeResult {
	return rangeResult{t: t, r: r, opts: opts, issued: t.issueRange()}
}

// issueRange returns when a range read is issued, for Faults.ReadLatency:
// at GetRange, as FDB's Go binding sends its first batch's request there,
// so that range reads issued together overlap (the rows are read from the
// snapshot when they are wanted: the same rows). Like that request, it
// fetches the read version if none is known. Zero without ReadLatency.
func (t *tx) issueRange() time.Time {
	if t.db.opts.Faults.ReadLatency <= 0 {
		return time.Time{}
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.rvKnown && t.errLocked() == nil {
		t.ensureSnapLocked() // an error is the read's, reported when it is read
	}
	return now
}

func (t *tx) GetReadVersion() store.FutureVersion {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.errLocked(); err != nil {
		return versionFuture{err: err}
	}
	if !t.rvKnown {
		if err := t.ensureSnapLocked(); err != nil {
			return versionFuture{err: err}
		}
	}
	return versionFuture{v: t.rv, t: t, ready: t.rvAt}
}

func (t *tx) Snapshot() store.Reader { return snapshotReader{t} }

type snapshotReader struct{ t *tx }

func (s snapshotReader) Get(k []byte) store.FutureValue { return s.t.get(k, true) }
func (s snapshotReader) GetRange(r store.Range, opts store.RangeOptions) store.RangeResult {
	return rangeResult{t: s.t, r: r, opts: opts, snapshot: true, issued: s.t.issueRange()}
}
func (s snapshotReader) GetReadVersion() store.FutureVersion { return s.t.GetReadVersion() }

// --- range reads ---

type rangeResult struct {
	t        *tx
	r        store.Range
	opts     store.RangeOptions
	snapshot bool
	issued   time.Time // issueRange
}

func (rr rangeResult) GetSlice() ([]store.KeyValue, error) {
	it := rr.iterator(store.StreamingWantAll)
	var out []store.KeyValue
	for !it.done && it.err == nil {
		it.fetch()
		if out == nil {
			out = it.buf // the common case: all of it in one fetch
		} else {
			out = append(out, it.buf...)
		}
		it.buf = nil
	}
	return out, it.err
}

func (rr rangeResult) Iterator() store.RangeIterator { return rr.iterator(rr.opts.Mode) }

func (rr rangeResult) iterator(mode store.StreamingMode) *rangeIter {
	// Both bounds copied into one allocation.
	bounds := make([]byte, len(rr.r.Begin)+len(rr.r.End))
	n := copy(bounds, rr.r.Begin)
	copy(bounds[n:], rr.r.End)
	it := &rangeIter{
		t:        rr.t,
		issued:   rr.issued,
		snapshot: rr.snapshot,
		lo:       bounds[:n:n],
		hi:       bounds[n:],
		reverse:  rr.opts.Reverse,
		limit:    rr.opts.Limit,
	}
	switch mode {
	case store.StreamingIterator, store.StreamingSmall:
		it.batch, it.grow = 64, true
	case store.StreamingMedium:
		it.batch = 512
	case store.StreamingLarge:
		it.batch = 4096
	default: // WantAll, Exact, Serial
		it.batch = 10_000
	}
	switch {
	case it.limit < -1:
		it.err = store.ErrRangeLimitsInvalid
		return it
	case it.limit <= 0 && rr.opts.Mode == store.StreamingExact:
		it.err = store.ErrExactModeWithoutLimits
		return it
	case it.limit == -1:
		it.limit = 0 // FDB's ROW_LIMIT_UNLIMITED
	}
	if bytes.Compare(it.lo, maxKey) > 0 || bytes.Compare(it.hi, maxKey) > 0 {
		it.err = store.ErrKeyOutsideLegalRange
		return it
	}
	if bytes.Compare(it.lo, it.hi) >= 0 {
		it.done = true // empty: no error, no conflict
	}
	return it
}

// rangeIter streams a range read in batches. Each batch adds the read
// conflict of what it scanned, as FDB's iterator does for each batch it
// fetches.
type rangeIter struct {
	t        *tx
	snapshot bool
	lo, hi   []byte // what is left to scan
	reverse  bool
	limit    int // rows left; 0: unlimited
	batch    int
	grow     bool
	issued   time.Time // of the first batch (issueRange); later ones at fetch
	buf      []store.KeyValue
	i        int
	cur      store.KeyValue
	done     bool
	err      error
}

func (it *rangeIter) Next() bool {
	for {
		if it.i < len(it.buf) {
			it.cur = it.buf[it.i]
			it.i++
			return true
		}
		if it.done || it.err != nil {
			return false
		}
		it.fetch()
	}
}

func (it *rangeIter) KeyValue() store.KeyValue { return it.cur }
func (it *rangeIter) Err() error               { return it.err }

// fetch reads the next batch, and waits for it as for a round trip
// (Faults.ReadLatency).
func (it *rangeIter) fetch() {
	issued := it.issued
	if issued.IsZero() && it.t.db.opts.Faults.ReadLatency > 0 {
		issued = time.Now()
	}
	it.issued = time.Time{}
	if ready := it.read(issued); !ready.IsZero() && it.err == nil {
		if err := it.t.await(ready); err != nil {
			it.err, it.buf, it.done = err, nil, true
		}
	}
}

// read reads the next batch, issued at issued, and returns when it is
// answered (readReadyLocked).
func (it *rangeIter) read(issued time.Time) (ready time.Time) {
	t := it.t
	t.mu.Lock()
	defer t.mu.Unlock()
	// After the read, which may have fetched the read version.
	defer func() { ready = t.readReadyLocked(issued) }()
	if err := t.errLocked(); err != nil {
		it.err = err
		return
	}
	n := it.batch
	limited := it.limit > 0
	if limited && it.limit < n {
		n = it.limit
	}
	rows, exhausted, err := t.scanLocked(it.lo, it.hi, it.reverse, n)
	if err != nil {
		it.err = err
		return
	}
	scanned := store.Range{Begin: it.lo, End: it.hi}
	if !exhausted {
		last := rows[len(rows)-1].Key
		if it.reverse {
			scanned.Begin = last
		} else {
			scanned.End = store.KeyAfter(last)
		}
	}
	if t.wm.touchesUnreadable(scanned) {
		it.err = store.ErrAccessedUnreadable
		return
	}
	if !it.snapshot {
		t.addReadLocked(scanned)
	}
	it.buf, it.i = rows, 0
	if exhausted {
		it.done = true
		return
	}
	if it.reverse {
		it.hi = scanned.Begin
	} else {
		it.lo = scanned.End
	}
	if limited {
		it.limit -= len(rows)
		if it.limit == 0 {
			it.done = true
		}
	}
	if it.grow && it.batch < 4096 {
		it.batch *= 2
	}
	return
}

// errReadOnlyWrote is the commit of a transaction hinted read-only that
// wrote: a misuse of store.HintReadOnly.
var errReadOnlyWrote = errors.New("embedded: commit of writes by a transaction hinted read-only (store.HintReadOnly)")

// HintReadOnly notes that the transaction will not commit
// (store.HintReadOnly): its reads add no conflict ranges, and a commit
// of writes fails.
func (t *tx) HintReadOnly() {
	t.mu.Lock()
	t.readOnly = true
	t.mu.Unlock()
}

// scanLocked returns up to n rows of [lo, hi) in order (or reverse), the
// stored rows merged with the transaction's writes; exhausted tells that
// the range holds no more.
func (t *tx) scanLocked(lo, hi []byte, reverse bool, n int) ([]store.KeyValue, bool, error) {
	s, err := t.storageLocked()
	if err != nil {
		return nil, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, store.ErrTransactionTooOld
	}
	// A forward scan may come from the range cache (rangecache.go), and
	// goes to it, unless the transaction wrote inside its range: a
	// write's reads after its first writes (the watchers of the node it
	// changed, read when it fires them) are the stored rows.
	cacheable := !reverse && !t.wm.touches(store.Range{Begin: lo, End: hi})
	if cacheable {
		if rows, ok := t.db.ranges.get(lo, hi, t.rv); ok && len(rows) <= n {
			return rows, true, nil
		}
	}
	lower := lo
	if len(lo) == 0 {
		// The empty key is the keyspace's start. Pebble built with its
		// invariants (race builds) reads key[0] of a non-nil empty bound.
		lower = nil
	}
	it, err := s.iter(lower, hi)
	if err != nil {
		return nil, false, err
	}
	defer s.release(it)
	// NextPrefix, not Next: every key has one prefix (the default
	// comparer), so it moves to the next key by seeking past the older
	// versions of this one, which the MVCC window's snapshots keep; a
	// key rewritten thousands of times in the window (a hot node's stat)
	// would otherwise cost a step per version on every scan.
	step := it.NextPrefix
	valid := it.First()
	if reverse {
		step = it.Prev
		valid = it.Last()
	}
	// Rows are copied out of Pebble into one arena, and sliced from it
	// when the scan ends (appending may move it): a few allocations per
	// scan instead of two per row. Both start empty: most scans of a
	// write find a few short rows or none (a node's stat, its watchers),
	// and a 2 KB arena made up front was a quarter of the bytes a
	// setData allocated.
	type span struct{ key, end int }
	var (
		arena []byte
		spans []span
	)
	add := func(k, v []byte) {
		if arena == nil {
			arena = make([]byte, 0, max(256, 2*(len(k)+len(v))))
		}
		start := len(arena)
		arena = append(append(arena, k...), v...)
		spans = append(spans, span{start + len(k), len(arena)})
	}
	finish := func(exhausted bool) ([]store.KeyValue, bool, error) {
		rows := make([]store.KeyValue, len(spans))
		start := 0
		for i, sp := range spans {
			rows[i] = store.KeyValue{Key: arena[start:sp.key:sp.key], Value: arena[sp.key:sp.end:sp.end]}
			start = sp.end
		}
		err := it.Error()
		// A write's scan that found nothing is kept once it is seen
		// twice: the watchers of a node being written, read by each of
		// its writes and most often none, went to Pebble at every
		// setData (7 % of its CPU); a node a create makes is empty once.
		switch {
		case !exhausted || !cacheable || err != nil:
		case len(rows) > 0 || t.readOnly:
			t.db.ranges.add(lo, hi, rows, s.version)
		default:
			t.db.ranges.addEmpty(lo, hi, s.version)
		}
		return rows, exhausted, err
	}
	ov := overlayCursor{wm: t.wm, lo: lo, hi: hi, reverse: reverse}
	o := ov.next()
	for len(spans) < n {
		if !valid && o == nil {
			return finish(true)
		}
		c := 1 // the overlay's key comes first
		if valid && o == nil {
			c = -1
		} else if valid {
			c = bytes.Compare(it.Key(), o.key)
			if reverse {
				c = -c
			}
		}
		if c < 0 {
			if k := it.Key(); !t.wm.isCleared(k) {
				v, err := it.ValueAndErr()
				if err != nil {
					return nil, false, err
				}
				add(k, v)
			}
			valid = step()
			continue
		}
		var stored []byte
		if c == 0 {
			v, err := it.ValueAndErr()
			if err != nil {
				return nil, false, err
			}
			stored = append([]byte{}, v...)
			valid = step()
		}
		switch o.kind {
		case unreadable:
			return nil, false, store.ErrAccessedUnreadable
		case known:
			if o.present {
				add(o.key, o.value)
			}
		case atomicOnUnknown:
			if v := o.resolve(stored); v != nil {
				add(o.key, v)
			}
		}
		o = ov.next()
	}
	return finish(false)
}

// overlayCursor walks the write map's entries in [lo, hi).
type overlayCursor struct {
	wm      *writeMap
	lo, hi  []byte
	reverse bool
	pos     []byte
	started bool
}

func (c *overlayCursor) next() *entry {
	if c.wm.entries == nil {
		return nil
	}
	var found *entry
	if !c.reverse {
		pivot := c.lo
		if c.started {
			pivot = store.KeyAfter(c.pos)
		}
		c.wm.entries.AscendGreaterOrEqual(&entry{key: pivot}, func(e *entry) bool {
			if bytes.Compare(e.key, c.hi) < 0 {
				found = e
			}
			return false
		})
	} else {
		pivot := c.hi
		if c.started {
			pivot = c.pos
		}
		c.wm.entries.DescendLessOrEqual(&entry{key: pivot}, func(e *entry) bool {
			if bytes.Equal(e.key, pivot) {
				return true // exclusive bound: keep looking
			}
			if bytes.Compare(e.key, c.lo) >= 0 {
				found = e
			}
			return false
		})
	}
	if found != nil {
		c.pos, c.started = found.key, true
	}
	return found
}

// --- writes ---

func (t *tx) Set(k, v []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.writableLocked(k); err != nil {
		t.deferLocked(err)
		return
	}
	if len(v) > store.MaxValueSize {
		t.deferLocked(store.ErrValueTooLarge)
		return
	}
	v = append([]byte{}, v...)
	t.wm.set(cloneKey(k), v)
	t.touchWatchesLocked(k, func(w *watch) bool { return !sameValue(w.baseline, v) })
}

func (t *tx) Clear(k []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.writableLocked(k)
	if errors.Is(err, store.ErrKeyTooLarge) {
		return // FDB: clearing a key that cannot exist is a no-op
	}
	if err != nil {
		t.deferLocked(err)
		return
	}
	t.wm.clear(cloneKey(k))
	t.touchWatchesLocked(k, func(w *watch) bool { return w.baseline != nil })
}

func (t *tx) ClearRange(r store.Range) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state != active:
		t.deferLocked(store.ErrUsedDuringCommit)
	case bytes.Compare(r.Begin, r.End) > 0:
		t.deferLocked(store.ErrInvertedRange)
	case bytes.Compare(r.Begin, maxKey) > 0 || bytes.Compare(r.End, maxKey) > 0:
		t.deferLocked(store.ErrKeyOutsideLegalRange)
	case bytes.Equal(r.Begin, r.End):
	default:
		t.wm.clearRange(store.Range{Begin: clone(r.Begin), End: clone(r.End)})
		for _, w := range t.watches {
			if w.baseline != nil && bytes.Compare(w.key, r.Begin) >= 0 && bytes.Compare(w.key, r.End) < 0 {
				w.fireOwn()
			}
		}
	}
}

func (t *tx) Atomic(op store.MutationType, k, param []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.writableLocked(k); err != nil {
		t.deferLocked(err)
		return
	}
	if !validMutation(op) {
		t.deferLocked(store.ErrClientInvalidOperation)
		return
	}
	if len(param) > store.MaxValueSize {
		t.deferLocked(store.ErrValueTooLarge)
		return
	}
	t.wm.atomic(op, cloneKey(k), append([]byte{}, param...))
	t.touchWatchesLocked(k, func(*watch) bool { return true })
}

func (t *tx) SetVersionstampedKey(key, value []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != active {
		t.deferLocked(store.ErrUsedDuringCommit)
		return
	}
	template, p, err := stampOffset(key)
	switch {
	case err != nil:
		t.deferLocked(err)
	case len(template) > store.MaxKeySize:
		t.deferLocked(store.ErrKeyTooLarge)
	case p > 0 && isSystem(template):
		t.deferLocked(store.ErrKeyOutsideLegalRange)
	case len(value) > store.MaxValueSize:
		t.deferLocked(store.ErrValueTooLarge)
	default:
		var floor store.Versionstamp
		if t.rvKnown {
			binary.BigEndian.PutUint64(floor[:8], uint64(t.rv))
		}
		t.wm.setVersionstampedKey(clone(template), p, append([]byte{}, value...), floor)
	}
}

func (t *tx) SetVersionstampedValue(key, value []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.writableLocked(key); err != nil {
		t.deferLocked(err)
		return
	}
	template, p, err := stampOffset(value)
	switch {
	case err != nil:
		t.deferLocked(err)
	case len(template) > store.MaxValueSize:
		t.deferLocked(store.ErrValueTooLarge)
	default:
		t.wm.setVersionstampedValue(cloneKey(key), clone(template), p)
		t.touchWatchesLocked(key, func(*watch) bool { return true })
	}
}

// touchWatchesLocked fires this transaction's uncommitted watches on k for
// which changed says the write changes the value they saw: before commit,
// FDB fires a watch at once on its own transaction's set of a different
// value, clear of a present key, or any atomic op (RYW watch).
func (t *tx) touchWatchesLocked(k []byte, changed func(*watch) bool) {
	for _, w := range t.watches {
		if bytes.Equal(w.key, k) && changed(w) {
			w.fireOwn()
		}
	}
}

// --- conflict ranges ---

func (t *tx) AddReadConflictRange(r store.Range) error {
	return t.addConflict(r, true)
}

func (t *tx) AddReadConflictKey(k []byte) error {
	return t.addConflict(store.Range{Begin: k, End: store.KeyAfter(k)}, true)
}

func (t *tx) AddWriteConflictRange(r store.Range) error {
	return t.addConflict(r, false)
}

func (t *tx) AddWriteConflictKey(k []byte) error {
	return t.addConflict(store.Range{Begin: k, End: store.KeyAfter(k)}, false)
}

func (t *tx) addConflict(r store.Range, read bool) error {
	if bytes.Compare(r.Begin, r.End) > 0 {
		return store.ErrInvertedRange // FDB reports this one at once
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state != active:
		t.deferLocked(store.ErrUsedDuringCommit)
	case bytes.Compare(r.Begin, maxKey) > 0 || bytes.Compare(r.End, maxKey) > 0:
		t.deferLocked(store.ErrKeyOutsideLegalRange)
	case bytes.Equal(r.Begin, r.End):
	case read:
		t.addReadLocked(store.Range{Begin: clone(r.Begin), End: clone(r.End)})
	default:
		t.writes = append(t.writes, store.Range{Begin: clone(r.Begin), End: clone(r.End)})
	}
	return nil
}

func (t *tx) SetReadVersion(v int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state != active:
		t.deferLocked(store.ErrUsedDuringCommit)
	case t.rvKnown:
		t.deferLocked(store.ErrReadVersionAlreadySet)
	case v <= 0:
		t.deferLocked(store.ErrVersionInvalid)
	default:
		t.rv, t.rvKnown, t.snap = v, true, nil
	}
}

// --- watches ---

func (t *tx) Watch(k []byte) store.Watch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.errLocked(); err != nil {
		return failedWatch(err)
	}
	if isSystem(k) {
		return failedWatch(store.ErrKeyOutsideLegalRange)
	}
	if len(k) > store.MaxKeySize {
		return failedWatch(store.ErrKeyTooLarge)
	}
	baseline, err := t.getLocked(k, true)
	if err != nil {
		return failedWatch(err)
	}
	// A watch adds the read conflict [k, k\0) (FDB's RYW watch).
	ck := cloneKey(k)
	t.addReadLocked(store.Range{Begin: ck, End: keyAfter(ck)})
	w := t.db.watches.create(clone(k), baseline)
	if w.reg != nil {
		t.watches = append(t.watches, w)
	}
	return w
}

// --- commit ---

type stampFuture struct {
	once  sync.Once
	done  chan struct{}
	stamp store.Versionstamp
	err   error
}

func newStampFuture() *stampFuture { return &stampFuture{done: make(chan struct{})} }

func (f *stampFuture) resolve(s store.Versionstamp, err error) {
	f.once.Do(func() {
		f.stamp, f.err = s, err
		close(f.done)
	})
}

func (f *stampFuture) Get() (store.Versionstamp, error) {
	<-f.done
	return f.stamp, f.err
}

func (t *tx) GetVersionstamp() store.FutureVersionstamp {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != active {
		f := newStampFuture()
		f.resolve(store.Versionstamp{}, store.ErrUsedDuringCommit)
		return f
	}
	if t.stamp == nil {
		t.stamp = newStampFuture()
	}
	return t.stamp
}

func (t *tx) Commit() error {
	t.mu.Lock()
	if t.state != active {
		t.mu.Unlock()
		return store.ErrUsedDuringCommit
	}
	if err := t.errLocked(); err != nil {
		t.failLocked(err)
		t.mu.Unlock()
		return err
	}
	if t.wm.empty() && len(t.writes) == 0 {
		err := t.commitReadOnlyLocked()
		t.mu.Unlock()
		return err
	}
	if t.readOnly {
		// Its reads added no conflict ranges: committing its writes
		// would skip the check FoundationDB makes.
		t.failLocked(errReadOnlyWrote)
		t.mu.Unlock()
		return errReadOnlyWrote
	}
	if !t.rvKnown {
		// FDB fetches a read version at commit for a transaction that
		// never read.
		if err := t.ensureSnapLocked(); err != nil {
			t.failLocked(err)
			t.mu.Unlock()
			return err
		}
	}
	req := &commitRequest{
		readVersion: t.rv,
		reads:       mergeRanges(t.reads),
		writes:      t.writeConflictsLocked(),
		log:         t.wm.log,
		watches:     t.watches,
		done:        make(chan struct{}),
	}
	if size := t.wm.size() + rangesSize(req.reads) + rangesSize(req.writes); size > store.MaxTransactionSize {
		t.failLocked(store.ErrTransactionTooLarge)
		t.mu.Unlock()
		return store.ErrTransactionTooLarge
	}
	t.state = committing
	rvAt := t.rvAt // a read version fetched for the commit is waited for
	t.mu.Unlock()

	err := t.await(rvAt)
	if err == nil {
		err = t.db.submit(req)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failLocked(err)
		return err
	}
	t.state, t.version = committed, req.version
	if t.stamp != nil {
		t.stamp.resolve(req.stamp, nil)
	}
	t.watches = nil // armed by the committer
	return nil
}

// submit hands req to the committer and waits for its answer.
func (db *DB) submit(req *commitRequest) error {
	if d := db.opts.Faults.Latency; d > 0 {
		time.Sleep(d)
	}
	select {
	case db.commits <- req:
	case <-db.stop:
		return store.ErrTransactionCancelled
	}
	select {
	case <-req.done:
		return req.err
	case <-db.stopped:
		select {
		case <-req.done:
			return req.err
		default:
			return store.ErrTransactionCancelled
		}
	}
}

func (t *tx) commitReadOnlyLocked() error {
	if !t.rvKnown {
		if err := t.ensureSnapLocked(); err != nil {
			t.failLocked(err)
			return err
		}
	}
	t.state, t.version = committed, -1
	if t.stamp != nil {
		t.stamp.resolve(store.Versionstamp{}, store.ErrNoCommitVersion)
	}
	for _, w := range t.watches {
		t.db.watches.arm(w, nil)
	}
	t.watches = nil
	return nil
}

func (t *tx) writeConflictsLocked() []store.Range {
	ws := append([]store.Range(nil), t.writes...)
	for _, m := range t.wm.log {
		switch m.kind {
		case mClearRange:
			ws = append(ws, store.Range{Begin: m.key, End: m.value})
		case mVersionstampedKey:
			// Known only at commit: the committer adds it.
		default:
			ws = append(ws, store.Range{Begin: m.key, End: keyAfter(m.key)})
		}
	}
	return mergeRanges(ws)
}

// failLocked ends a failed commit: its watches and versionstamp fail.
func (t *tx) failLocked(err error) {
	t.state = failed
	for _, w := range t.watches {
		w.end(err)
	}
	t.watches = nil
	if t.stamp != nil {
		t.stamp.resolve(store.Versionstamp{}, store.ErrInvalidVersion)
	}
}

func (t *tx) GetCommittedVersion() (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != committed {
		return 0, store.ErrClientInvalidOperation
	}
	return t.version, nil
}

// --- retry ---

func (t *tx) OnError(err error) error {
	var se store.Error
	if !errors.As(err, &se) || !(se.Retryable() || se.MaybeCommitted()) {
		return err
	}
	t.mu.Lock()
	if t.retryLimit >= 0 && t.retries >= t.retryLimit {
		t.mu.Unlock()
		return err
	}
	t.retries++
	delay := initialBackoff
	if se.Code != store.ErrTransactionTooOld.Code && se.Code != store.ErrFutureVersion.Code {
		delay = time.Duration(rand.Float64() * float64(min(t.backoff, t.maxBackoff)))
		t.backoff = min(2*t.backoff, t.maxBackoff)
	}
	var deadline <-chan time.Time
	if t.timeout > 0 {
		left := t.timeout - time.Since(t.created)
		if left <= 0 {
			t.mu.Unlock()
			return store.ErrTransactionTimedOut
		}
		dt := time.NewTimer(left)
		defer dt.Stop()
		deadline = dt.C
	}
	t.mu.Unlock()

	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-deadline:
		return store.ErrTransactionTimedOut
	case <-t.ctx.Done():
		if errors.Is(t.ctx.Err(), context.DeadlineExceeded) {
			return store.ErrTransactionTimedOut
		}
		return store.ErrTransactionCancelled
	}
	t.Reset()
	return nil
}

func (t *tx) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.abandonLocked()
	t.rv, t.rvKnown, t.snap, t.rvAt = 0, false, nil, time.Time{}
	t.deferred = nil
	t.wm = newWriteMap()
	t.reads, t.writes = nil, nil
	t.stamp = nil
	t.state = active
	t.version = 0
	t.cancelled = false
}

func (t *tx) Cancel() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancelled = true
	t.abandonLocked()
}

func (t *tx) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.abandonLocked()
	t.snap = nil
}

// abandonLocked fails what the transaction will no longer commit: watches
// not yet committed and an unresolved versionstamp. During a commit the
// committer owns them.
func (t *tx) abandonLocked() {
	if t.state == committing {
		return
	}
	for _, w := range t.watches {
		w.end(store.ErrTransactionCancelled)
	}
	t.watches = nil
	if t.stamp != nil {
		t.stamp.resolve(store.Versionstamp{}, store.ErrTransactionCancelled)
	}
}

func (t *tx) SetTimeout(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timeout = d
}

func (t *tx) SetRetryLimit(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retryLimit = n
}

func (t *tx) SetMaxRetryDelay(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maxBackoff = max(d, 0)
}
