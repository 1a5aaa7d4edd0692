package metered_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"zkfdb/internal/engines"
	"zkfdb/shared/store"
	"zkfdb/shared/store/metered"
)

// Cost is what a set of transactions cost, as the metrics count it.
type Cost struct {
	Transactions, ReadVersions, Gets, Ranges, Watches, Commits, NoopCommits, Conflicts float64
}

// Counts returns the costs counted in reg for op so far.
func Counts(t testing.TB, reg prometheus.Gatherer, op string) Cost {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var c Cost
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] != op {
				continue
			}
			v := m.GetCounter().GetValue()
			switch f.GetName() {
			case "test_store_transactions_total":
				c.Transactions += v
			case "test_store_read_versions_total":
				c.ReadVersions += v
			case "test_store_reads_total":
				if labels["kind"] == "get" {
					c.Gets += v
				} else {
					c.Ranges += v
				}
			case "test_store_watches_total":
				c.Watches += v
			case "test_store_commits_total":
				c.Commits += v
			case "test_store_noop_commits_total":
				c.NoopCommits += v
			case "test_store_retries_total":
				if labels["code"] == "1020" {
					c.Conflicts += v
				}
			}
		}
	}
	return c
}

// TestCounts: each kind of transaction is charged what FoundationDB's
// client would spend on it, to the operation its context names.
func TestCounts(t *testing.T) { engines.Each(t, testCounts) }

func testCounts(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	reg := prometheus.NewRegistry()
	db := metered.New(st.DB, "test", reg)
	key := func(s string) []byte { return append(st.Root.Prefix(), s...) }
	k, k2 := key("k"), key("k2")
	span := store.Range{Begin: key("a"), End: key("z")}
	ctx := func(op string) context.Context { return metered.WithOp(t.Context(), op) }

	for _, tc := range []struct {
		name string
		run  func(t *testing.T, ctx context.Context)
		want Cost
	}{
		{"blind write", func(t *testing.T, ctx context.Context) {
			// No read: FDB fetches the read version at commit.
			must(t, transact(ctx, db, func(tx store.Tx) error { tx.Set(k, []byte("1")); return nil }))
		}, Cost{Transactions: 1, ReadVersions: 1, Commits: 1}},
		{"parallel reads", func(t *testing.T, ctx context.Context) {
			_, err := store.ReadTransact(ctx, db, func(r store.Reader) (any, error) {
				a, b := r.Get(k), r.Get(k2)
				rr := r.GetRange(span, store.RangeOptions{})
				if _, err := a.Get(); err != nil {
					return nil, err
				}
				if _, err := b.Get(); err != nil {
					return nil, err
				}
				_, err := rr.GetSlice()
				return nil, err
			})
			must(t, err)
		}, Cost{Transactions: 1, ReadVersions: 1, Gets: 2, Ranges: 1}},
		{"snapshot reads and read version", func(t *testing.T, ctx context.Context) {
			must(t, transact(ctx, db, func(tx store.Tx) error {
				if _, err := tx.GetReadVersion().Get(); err != nil {
					return err
				}
				_, err := tx.Snapshot().Get(k).Get()
				return err
			}))
		}, Cost{Transactions: 1, ReadVersions: 1, Gets: 1, NoopCommits: 1}},
		{"read-modify-write", func(t *testing.T, ctx context.Context) {
			must(t, transact(ctx, db, func(tx store.Tx) error {
				if _, err := tx.Get(k).Get(); err != nil {
					return err
				}
				tx.Atomic(store.Add, k2, []byte{1})
				return nil
			}))
		}, Cost{Transactions: 1, ReadVersions: 1, Gets: 1, Commits: 1}},
		{"read version set", func(t *testing.T, ctx context.Context) {
			rv := readVersion(t, db)
			tx, err := db.CreateTransaction(ctx)
			must(t, err)
			defer tx.Close()
			tx.SetReadVersion(rv)
			_, err = tx.Get(k).Get()
			must(t, err)
		}, Cost{Transactions: 1, Gets: 1}},
		{"watch", func(t *testing.T, ctx context.Context) {
			var w store.Watch
			must(t, transact(ctx, db, func(tx store.Tx) error { w = tx.Watch(k); return nil }))
			w.Cancel()
		}, Cost{Transactions: 1, ReadVersions: 1, Watches: 1, NoopCommits: 1}},
		{"conflict and retry", func(t *testing.T, ctx context.Context) {
			must(t, transact(ctx, db, conflictOnce(t, db, k)))
		}, Cost{Transactions: 1, ReadVersions: 2, Gets: 2, Commits: 2, Conflicts: 1}},
		{"conflict retried at once", func(t *testing.T, ctx context.Context) {
			// The retry goes to a fresh transaction (store.NoteRetry), not
			// through OnError: it is counted all the same.
			body := conflictOnce(t, db, k)
			_, err := store.TransactConflictAtOnce(ctx, db, func(tx store.Tx) (struct{}, error) { return struct{}{}, body(tx) })
			must(t, err)
		}, Cost{Transactions: 2, ReadVersions: 2, Gets: 2, Commits: 2, Conflicts: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := "op " + tc.name
			tc.run(t, ctx(op))
			if got := Counts(t, reg, op); got != tc.want {
				t.Errorf("cost %+v, want %+v", got, tc.want)
			}
		})
	}
	// Transactions of contexts that name no operation: "other".
	before := Counts(t, reg, metered.Other)
	must(t, transact(t.Context(), db, func(tx store.Tx) error { tx.Set(k, nil); return nil }))
	if got := Counts(t, reg, metered.Other); got.Commits != before.Commits+1 || got.Transactions != before.Transactions+1 {
		t.Errorf("unnamed: cost %+v after %+v, want one more transaction and commit", got, before)
	}
}

// TestBoundedOps: past MaxOps names, transactions are counted as Other.
func TestBoundedOps(t *testing.T) {
	st := engines.EmbeddedEngine().Open(t, engines.Options{})
	reg := prometheus.NewRegistry()
	db := metered.New(st.DB, "test", reg)
	for i := range metered.MaxOps + 10 {
		tx, err := db.CreateTransaction(metered.WithOp(t.Context(), "op"+string(rune('A'+i))))
		must(t, err)
		tx.Close()
	}
	fams, err := reg.Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() == "test_store_transactions_total" && len(f.GetMetric()) > metered.MaxOps+1 {
			t.Errorf("%d op labels, want at most %d", len(f.GetMetric()), metered.MaxOps+1)
		}
	}
	if got := Counts(t, reg, metered.Other).Transactions; got != 10 {
		t.Errorf("other: %v transactions, want 10", got)
	}
}

// conflictOnce returns a body that reads k and writes it, and whose first
// attempt conflicts: another writer of k commits after its read.
func conflictOnce(t *testing.T, db store.DB, k []byte) func(store.Tx) error {
	first := true
	return func(tx store.Tx) error {
		if _, err := tx.Get(k).Get(); err != nil {
			return err
		}
		if first {
			first = false
			must(t, transact(t.Context(), db, func(tx store.Tx) error { tx.Set(k, []byte("2")); return nil }))
		}
		tx.Set(k, []byte("3"))
		return nil
	}
}

func transact(ctx context.Context, db store.DB, fn func(store.Tx) error) error {
	_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) { return nil, fn(tx) })
	return err
}

func readVersion(t *testing.T, db store.DB) int64 {
	rv, err := store.ReadTransact(t.Context(), db, func(r store.Reader) (int64, error) { return r.GetReadVersion().Get() })
	must(t, err)
	return rv
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkOverhead compares a one-read transaction on the embedded
// engine with and without the wrapper: it adds one allocation (the
// wrapper) per transaction and a few atomic adds.
func BenchmarkOverhead(b *testing.B) {
	st := engines.EmbeddedEngine().Open(b, engines.Options{})
	k := append(st.Root.Prefix(), 'k')
	ctx := metered.WithOp(context.Background(), "getData")
	for _, bc := range []struct {
		name string
		db   store.DB
	}{
		{"raw", st.DB},
		{"metered", metered.New(st.DB, "bench", prometheus.NewRegistry())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := store.ReadTransact(ctx, bc.db, func(r store.Reader) ([]byte, error) { return r.Get(k).Get() }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
