//go:build fdb

package fdbstore

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/apple/foundationdb/bindings/go/src/fdb"

	"zkfdb/shared/store"
)

// reader issues the reads of a transaction, serializable (rt is the
// fdb.Transaction) or snapshot (rt is its fdb.Snapshot). Every read returns
// at once with a future, so reads issued back to back run in parallel in the
// FDB client.
//
// The futures keep t reachable until they are read: the pinned binding's
// futures do not reference their transaction, whose finalizer would
// otherwise cancel pending reads of a dropped Tx.
type reader struct {
	t  *transaction
	rt fdb.ReadTransaction
}

func (r reader) Get(key []byte) store.FutureValue {
	return &futureValue{f: r.rt.Get(fdb.Key(key)), t: r.t}
}

func (r reader) GetReadVersion() store.FutureVersion {
	return &futureVersion{f: r.rt.GetReadVersion(), t: r.t}
}

// GetRange starts the range read. Its first batch is requested at once;
// later batches when the caller gets there (as in the binding, read
// conflicts cover every batch fetched).
func (r reader) GetRange(rg store.Range, opts store.RangeOptions) store.RangeResult {
	mode, ok := streamingMode(opts.Mode)
	if !ok {
		return &rangeResult{err: store.ErrInvalidOptionValue}
	}
	if opts.Limit == -1 && opts.Mode != store.StreamingExact {
		// FDB's ROW_LIMIT_UNLIMITED, as 0: the binding would ask for
		// later batches in exact mode with it (exact_mode_without_limits).
		opts.Limit = 0
	}
	rr := r.rt.GetRange(keyRange(rg), fdb.RangeOptions{Limit: opts.Limit, Mode: mode, Reverse: opts.Reverse})
	return &rangeResult{rr: rr, t: r.t}
}

// streamingMode maps the contract's streaming modes to the binding's.
func streamingMode(m store.StreamingMode) (fdb.StreamingMode, bool) {
	switch m {
	case store.StreamingIterator:
		return fdb.StreamingModeIterator, true
	case store.StreamingWantAll:
		return fdb.StreamingModeWantAll, true
	case store.StreamingExact:
		return fdb.StreamingModeExact, true
	case store.StreamingSmall:
		return fdb.StreamingModeSmall, true
	case store.StreamingMedium:
		return fdb.StreamingModeMedium, true
	case store.StreamingLarge:
		return fdb.StreamingModeLarge, true
	case store.StreamingSerial:
		return fdb.StreamingModeSerial, true
	}
	return 0, false
}

// futureValue is the result of Get. The binding's future caches its result
// and is safe for concurrent Get.
type futureValue struct {
	f fdb.FutureByteSlice
	t *transaction
}

func (f *futureValue) Get() ([]byte, error) {
	v, err := f.f.Get()
	runtime.KeepAlive(f.t)
	if err != nil {
		return nil, storeErr(err)
	}
	return v, nil
}

// futureVersion is the result of GetReadVersion. The binding's int64 future
// does not cache: the Once makes concurrent Gets wait on it only once.
type futureVersion struct {
	f    fdb.FutureInt64
	t    *transaction
	once sync.Once
	v    int64
	err  error
}

func (f *futureVersion) Get() (int64, error) {
	f.once.Do(func() {
		v, err := f.f.Get()
		runtime.KeepAlive(f.t)
		f.v, f.err = v, storeErr(err)
	})
	return f.v, f.err
}

// futureVersionstamp is the result of GetVersionstamp.
type futureVersionstamp struct {
	f fdb.FutureKey
	t *transaction
}

func (f *futureVersionstamp) Get() (store.Versionstamp, error) {
	k, err := f.f.Get()
	runtime.KeepAlive(f.t)
	if err != nil {
		return store.Versionstamp{}, storeErr(err)
	}
	var vs store.Versionstamp
	if len(k) != len(vs) {
		return vs, fmt.Errorf("fdbstore: versionstamp of %d bytes, want %d", len(k), len(vs))
	}
	copy(vs[:], k)
	return vs, nil
}

// rangeResult is a pending range read.
type rangeResult struct {
	rr  fdb.RangeResult
	t   *transaction
	err error // set instead of rr for options the binding cannot take

	// first serializes the first wait on the first batch's future, which
	// every iterator of rr shares: the binding waits by setting a callback
	// on the future, and a future takes only one.
	first sync.Mutex
}

// GetSlice reads the whole range (later batches in the binding's
// exact/want-all mode).
func (r *rangeResult) GetSlice() ([]store.KeyValue, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.first.Lock()
	kvs, err := r.rr.GetSliceWithError()
	r.first.Unlock()
	runtime.KeepAlive(r.t)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]store.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = store.KeyValue{Key: kv.Key, Value: kv.Value}
	}
	return out, nil
}

// Iterator returns a new iterator over the result. Iterators of one result
// may be used concurrently; one iterator may not.
func (r *rangeResult) Iterator() store.RangeIterator {
	if r.err != nil {
		return &rangeIterator{err: r.err, done: true}
	}
	return &rangeIterator{r: r, it: r.rr.Iterator()}
}

// rangeIterator walks a range read with the binding's iterator.
type rangeIterator struct {
	r       *rangeResult
	it      *fdb.RangeIterator
	started bool
	done    bool
	kv      store.KeyValue
	err     error
}

func (i *rangeIterator) Next() bool {
	if i.done {
		return false
	}
	var more bool
	if !i.started {
		i.started = true
		i.r.first.Lock()
		more = i.it.Advance()
		i.r.first.Unlock()
	} else {
		more = i.it.Advance()
	}
	if !more {
		i.done = true
		return false
	}
	kv, err := i.it.Get()
	runtime.KeepAlive(i.r.t)
	if err != nil {
		i.err, i.done = storeErr(err), true
		return false
	}
	i.kv = store.KeyValue{Key: kv.Key, Value: kv.Value}
	return true
}

func (i *rangeIterator) KeyValue() store.KeyValue { return i.kv }

func (i *rangeIterator) Err() error { return i.err }
