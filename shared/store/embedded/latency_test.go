package embedded_test

import (
	"context"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// TestReadLatency: with Faults.ReadLatency every read-version fetch and
// every read that reaches storage waits a round trip counted from when it
// was issued, so reads issued together overlap and dependent ones add up,
// as on FoundationDB. The latency is large (50 ms) so that scheduling
// noise stays far below the bounds, which still fail if reads were
// serialized (parallel ≥ 2 round trips) or not delayed (sequential < 2).
func TestReadLatency(t *testing.T) {
	const rtt = 50 * time.Millisecond
	db := open(t, embedded.Options{Faults: embedded.Faults{ReadLatency: rtt}})
	set(t, db, "a", "1")
	set(t, db, "b", "2")
	ka, kb := []byte("a"), []byte("b")

	// elapsed runs f in a fresh transaction whose read version is already
	// known when fn starts (unless fresh), and returns how long f took.
	elapsed := func(t *testing.T, fresh bool, f func(tx store.Tx)) time.Duration {
		t.Helper()
		tx, err := db.CreateTransaction(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		if !fresh {
			if _, err := tx.GetReadVersion().Get(); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		f(tx)
		return time.Since(start)
	}
	get := func(t *testing.T, f store.FutureValue, want string) {
		t.Helper()
		v, err := f.Get()
		if err != nil || string(v) != want {
			t.Fatalf("Get = %q, %v; want %q", v, err, want)
		}
	}
	for _, tc := range []struct {
		name     string
		fresh    bool // the read version is fetched inside f
		min, max time.Duration
		f        func(t *testing.T, tx store.Tx)
	}{
		{"read version", true, rtt, 9 * rtt / 5, func(t *testing.T, tx store.Tx) {
			if _, err := tx.GetReadVersion().Get(); err != nil {
				t.Fatal(err)
			}
		}},
		{"parallel gets", false, rtt, 9 * rtt / 5, func(t *testing.T, tx store.Tx) {
			fa, fb := tx.Get(ka), tx.Get(kb)
			get(t, fa, "1")
			get(t, fb, "2")
		}},
		{"sequential gets", false, 2 * rtt, 10 * rtt, func(t *testing.T, tx store.Tx) {
			get(t, tx.Get(ka), "1")
			get(t, tx.Get(kb), "2")
		}},
		{"parallel snapshot gets", false, rtt, 9 * rtt / 5, func(t *testing.T, tx store.Tx) {
			fa, fb := tx.Snapshot().Get(ka), tx.Snapshot().Get(kb)
			get(t, fa, "1")
			get(t, fb, "2")
		}},
		// The first read waits for the read version, then for itself;
		// a second read issued with it shares both waits.
		{"parallel gets, read version first", true, 2 * rtt, 14 * rtt / 5, func(t *testing.T, tx store.Tx) {
			fa, fb := tx.Get(ka), tx.Get(kb)
			get(t, fa, "1")
			get(t, fb, "2")
		}},
		{"range read and get in parallel", false, rtt, 9 * rtt / 5, func(t *testing.T, tx store.Tx) {
			fb := tx.Get(kb)
			rows, err := tx.GetRange(store.Range{Begin: ka, End: store.KeyAfter(ka)}, store.RangeOptions{}).GetSlice()
			if err != nil || len(rows) != 1 {
				t.Fatalf("GetRange = %v, %v", rows, err)
			}
			get(t, fb, "2")
		}},
		// Issued at GetRange, as FDB's binding sends the first batch.
		{"range reads issued together", false, rtt, 9 * rtt / 5, func(t *testing.T, tx store.Tx) {
			ra := tx.GetRange(store.Range{Begin: ka, End: store.KeyAfter(ka)}, store.RangeOptions{})
			rb := tx.Snapshot().GetRange(store.Range{Begin: kb, End: store.KeyAfter(kb)}, store.RangeOptions{})
			for _, rr := range []store.RangeResult{ra, rb} {
				if rows, err := rr.GetSlice(); err != nil || len(rows) != 1 {
					t.Fatalf("GetRange = %v, %v", rows, err)
				}
			}
		}},
		{"range reads issued together, read version first", true, 2 * rtt, 14 * rtt / 5, func(t *testing.T, tx store.Tx) {
			ra := tx.GetRange(store.Range{Begin: ka, End: store.KeyAfter(ka)}, store.RangeOptions{})
			fb := tx.Get(kb)
			if rows, err := ra.GetSlice(); err != nil || len(rows) != 1 {
				t.Fatalf("GetRange = %v, %v", rows, err)
			}
			get(t, fb, "2")
		}},
		{"sequential range reads", false, 2 * rtt, 10 * rtt, func(t *testing.T, tx store.Tx) {
			for range 2 {
				it := tx.Snapshot().GetRange(store.Range{Begin: ka, End: []byte("c")}, store.RangeOptions{}).Iterator()
				n := 0
				for it.Next() {
					n++
				}
				if it.Err() != nil || n != 2 {
					t.Fatalf("range read %d rows, %v", n, it.Err())
				}
			}
		}},
		// Answered from the transaction's own writes: no round trip.
		{"own writes", false, 0, rtt / 2, func(t *testing.T, tx store.Tx) {
			tx.Set(ka, []byte("x"))
			tx.Clear(kb)
			get(t, tx.Get(ka), "x")
			get(t, tx.Get(kb), "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := elapsed(t, tc.fresh, func(tx store.Tx) { tc.f(t, tx) })
			if d < tc.min || d >= tc.max {
				t.Errorf("took %v, want [%v, %v)", d, tc.min, tc.max)
			}
		})
	}
}

// TestReadLatencyEndsWithContext: a read waiting its round trip fails as
// the transaction does when its context ends.
func TestReadLatencyEndsWithContext(t *testing.T) {
	db := open(t, embedded.Options{Faults: embedded.Faults{ReadLatency: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if _, err := tx.Get([]byte("a")).Get(); err != store.ErrTransactionTimedOut {
		t.Fatalf("Get = %v, want %v", err, store.ErrTransactionTimedOut)
	}
}
