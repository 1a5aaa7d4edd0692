package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

func open(t *testing.T, opts embedded.Options) *embedded.DB {
	t.Helper()
	if opts.Dir == "" {
		opts.InMemory = true
	}
	opts.Logger = zaptest.NewLogger(t)
	db, err := embedded.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func set(t *testing.T, db store.DB, k, v string) int64 {
	t.Helper()
	var tx store.Tx
	_, err := store.Transact(context.Background(), db, func(x store.Tx) (any, error) {
		tx = x
		x.Set([]byte(k), []byte(v))
		return nil, nil
	})
	if err != nil {
		t.Fatalf("set %s: %v", k, err)
	}
	cv, err := tx.GetCommittedVersion()
	if err != nil {
		t.Fatalf("committed version: %v", err)
	}
	return cv
}

// Versions never go back across a restart: the engine resumes past the
// last persisted commit version, as an FDB recovery does.
func TestVersionsNeverGoBackAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	last := set(t, db, "k", "1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, embedded.Options{Dir: dir})
	next := set(t, db, "k", "2")
	if next <= last {
		t.Fatalf("version after restart %d <= before %d", next, last)
	}
	rv, err := readVersion(db)
	if err != nil {
		t.Fatal(err)
	}
	if rv < next {
		t.Fatalf("read version %d below last commit %d", rv, next)
	}
}

// Versions advance about 1,000,000 per second of wall time.
func TestVersionRate(t *testing.T) {
	db := open(t, embedded.Options{})
	start := time.Now()
	v1 := set(t, db, "a", "1")
	timer := time.NewTimer(200 * time.Millisecond)
	<-timer.C
	v2 := set(t, db, "a", "2")
	elapsed := time.Since(start)
	got := v2 - v1
	if got < 150_000 || got > elapsed.Microseconds()+1000 {
		t.Fatalf("versions advanced %d in %v; want about 1e6/s", got, elapsed)
	}
}

func readVersion(db store.DB) (int64, error) {
	return store.ReadTransact(context.Background(), db, func(r store.Reader) (int64, error) {
		return r.GetReadVersion().Get()
	})
}

// A read version keeps reading the state as of that version while later
// commits go on (MVCC), through SetReadVersion in another transaction too.
func TestSnapshotReadsWhileCommitsGoOn(t *testing.T) {
	db := open(t, embedded.Options{})
	ctx := context.Background()
	set(t, db, "k", "old")
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rv, err := tx.GetReadVersion().Get()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		set(t, db, "k", fmt.Sprint("new", i))
		set(t, db, fmt.Sprint("other", i), "x")
	}
	if v, err := tx.Get([]byte("k")).Get(); err != nil || string(v) != "old" {
		t.Fatalf("at rv: %q, %v; want old", v, err)
	}
	kvs, err := tx.GetRange(store.Range{Begin: []byte("o"), End: []byte("p")}, store.RangeOptions{}).GetSlice()
	if err != nil || len(kvs) != 0 {
		t.Fatalf("range at rv: %d rows, %v; want none", len(kvs), err)
	}
	tx2, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Close()
	tx2.SetReadVersion(rv)
	if v, err := tx2.Get([]byte("k")).Get(); err != nil || string(v) != "old" {
		t.Fatalf("SetReadVersion(rv): %q, %v; want old", v, err)
	}
}

// Commits of concurrent transactions share fsyncs: with many committers,
// batches hold more than one transaction.
func TestGroupCommit(t *testing.T) {
	reg := prometheus.NewRegistry()
	db := open(t, embedded.Options{Dir: t.TempDir(), Registerer: reg})
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				set(t, db, fmt.Sprintf("g%02d/%02d", g, i), "v")
			}
		})
	}
	wg.Wait()
	n, sum := histogram(t, reg, "store_embedded_commit_batch_transactions")
	if sum != 640 {
		t.Fatalf("batches held %v transactions, want 640", sum)
	}
	if n >= 640 {
		t.Fatalf("%v batches for 640 commits: no commit shared an fsync", n)
	}
	if got := committed(t, reg); got != 640 {
		t.Fatalf("commits_total = %v, want 640", got)
	}
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0, 0
}

// committed sums store_embedded_commits_total{result="committed"}.
func committed(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "store_embedded_commits_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "committed" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// Each injected fault does what FDB does: 1021 with the commit applied or
// not, a spurious 1020 not applied.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   embedded.Fault
		want    error
		applied bool
	}{
		{"unknown_applied", embedded.FaultUnknownApplied, store.ErrCommitUnknownResult, true},
		{"unknown_dropped", embedded.FaultUnknownDropped, store.ErrCommitUnknownResult, false},
		{"not_committed", embedded.FaultNotCommitted, store.ErrNotCommitted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, embedded.Options{Faults: embedded.Faults{Decide: func(n uint64) embedded.Fault {
				if n == 1 {
					return tc.fault
				}
				return embedded.NoFault
			}}})
			tx, err := db.CreateTransaction(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			tx.Set([]byte("k"), []byte("v"))
			w := tx.Watch([]byte("w"))
			vs := tx.GetVersionstamp()
			if err := tx.Commit(); !errors.Is(err, tc.want) {
				t.Fatalf("commit: %v, want %v", err, tc.want)
			}
			if err := w.Wait(context.Background()); !errors.Is(err, tc.want) {
				t.Fatalf("watch: %v, want the commit's error %v", err, tc.want)
			}
			if _, err := vs.Get(); !errors.Is(err, store.ErrInvalidVersion) {
				t.Fatalf("versionstamp: %v, want %v", err, store.ErrInvalidVersion)
			}
			v, err := store.ReadTransact(context.Background(), db, func(r store.Reader) ([]byte, error) { return r.Get([]byte("k")).Get() })
			if err != nil {
				t.Fatal(err)
			}
			if applied := v != nil; applied != tc.applied {
				t.Fatalf("applied = %v, want %v", applied, tc.applied)
			}
		})
	}
}

// Random faults: a retried blind write converges, and a retried atomic add
// after an applied 1021 is applied twice (the layer must not rely on
// atomic ops being idempotent).
func TestRandomFaultsRetry(t *testing.T) {
	db := open(t, embedded.Options{Faults: embedded.Faults{
		UnknownResultApplied: 0.2, UnknownResultDropped: 0.2, NotCommitted: 0.2, Seed: 7,
	}})
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for range 60 {
		_, err := store.Transact(context.Background(), db, func(tx store.Tx) (any, error) {
			tx.Atomic(store.Add, []byte("n"), one)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := store.ReadTransact(context.Background(), db, func(r store.Reader) ([]byte, error) { return r.Get([]byte("n")).Get() })
	if err != nil {
		t.Fatal(err)
	}
	if n := int(v[0]) | int(v[1])<<8; n <= 60 {
		t.Fatalf("n = %d after 60 adds with 20%% applied-unknown results: want > 60 (double-applied retries)", n)
	}
}

// max_watches: creating one watch too many fails with too_many_watches.
func TestMaxWatches(t *testing.T) {
	db := open(t, embedded.Options{MaxWatches: 3})
	ctx := context.Background()
	var ws []store.Watch
	for i := range 4 {
		tx, err := db.CreateTransaction(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w := tx.Watch(fmt.Appendf(nil, "w%d", i))
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx.Close()
		ws = append(ws, w)
	}
	if err := ws[3].Err(); !errors.Is(err, store.ErrTooManyWatches) {
		t.Fatalf("fourth watch: %v, want %v", err, store.ErrTooManyWatches)
	}
	ws[0].Cancel()
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if w := tx.Watch([]byte("again")); w.Err() != nil {
		t.Fatalf("watch after a cancel freed a slot: %v", w.Err())
	}
}

// A range from the empty key (the keyspace's start) reads, forward and
// reverse, with and without a limit.
func TestRangeFromEmptyKey(t *testing.T) {
	db := open(t, embedded.Options{})
	set(t, db, "a", "1")
	set(t, db, "b", "2")
	for _, opts := range []store.RangeOptions{{}, {Reverse: true}, {Limit: 1}, {Limit: 1, Reverse: true}} {
		kvs, err := store.ReadTransact(context.Background(), db, func(r store.Reader) ([]store.KeyValue, error) {
			return r.GetRange(store.Range{Begin: []byte{}, End: []byte{0xff}}, opts).GetSlice()
		})
		want := 2
		if opts.Limit == 1 {
			want = 1
		}
		if err != nil || len(kvs) != want {
			t.Fatalf("%+v: %d rows, %v; want %d", opts, len(kvs), err, want)
		}
	}
}
