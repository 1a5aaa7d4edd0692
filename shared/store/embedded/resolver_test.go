package embedded

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"zkfdb/shared/store"
)

func TestHistoryConflicts(t *testing.T) {
	h := newHistory()
	h.add(10, []store.Range{{Begin: []byte("b"), End: []byte("c")}})
	h.add(20, []store.Range{{Begin: []byte("m"), End: []byte("n")}})
	for _, tc := range []struct {
		name  string
		reads []store.Range
		rv    int64
		want  bool
	}{
		{"write after read version", []store.Range{{Begin: []byte("b"), End: []byte("b\x00")}}, 5, true},
		{"write at read version", []store.Range{{Begin: []byte("b"), End: []byte("b\x00")}}, 10, false},
		{"newer batch", []store.Range{{Begin: []byte("a"), End: []byte("z")}}, 15, true},
		{"disjoint", []store.Range{{Begin: []byte("c"), End: []byte("m")}}, 0, false},
		{"end is exclusive", []store.Range{{Begin: []byte("a"), End: []byte("b")}}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.conflicts(tc.reads, tc.rv); got != tc.want {
				t.Fatalf("conflicts = %v, want %v", got, tc.want)
			}
		})
	}
	h.add(3_000_000, []store.Range{{Begin: []byte("x"), End: []byte("y")}})
	h.trim(2_000_000)
	if got := h.len(); got != 3 {
		t.Fatalf("after trim: %d segments, want 3 (start, x, y)", got)
	}
	if !h.conflicts([]store.Range{{Begin: []byte("a"), End: []byte("z")}}, 2_500_000) {
		t.Fatal("trim lost the write at 3,000,000")
	}
}

// TestHistoryMatchesModel checks the resolver against the plainest model
// of it (every write set kept with its version, a read conflicting with
// any newer one that overlaps), over random write sets spread across many
// generations, with trims, for read versions inside the window.
func TestHistoryMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	type written struct {
		version int64
		r       store.Range
	}
	var model []written
	h := newHistory()
	key := func() []byte { return fmt.Appendf(nil, "k%03d", rng.IntN(300)) }
	randomRange := func() store.Range {
		a, b := key(), key()
		switch {
		case rng.IntN(2) == 0:
			return store.Range{Begin: a, End: store.KeyAfter(a)}
		case bytes.Compare(a, b) > 0:
			a, b = b, a
		}
		return store.Range{Begin: a, End: b} // may be empty
	}
	version, oldest := int64(0), int64(0)
	for step := 0; step < 5_000; step++ {
		version += rng.Int64N(generationSpan / 4)
		var ws []store.Range
		for range 1 + rng.IntN(4) {
			r := randomRange()
			ws = append(ws, r)
			model = append(model, written{version, r})
		}
		h.add(version, ws)
		if rng.IntN(50) == 0 {
			oldest = version - rng.Int64N(20*generationSpan)
			h.trim(oldest)
		}
		reads := []store.Range{randomRange(), randomRange()}
		rv := version - rng.Int64N(version-oldest+1)
		if rv < oldest {
			rv = oldest
		}
		want := false
		for _, w := range model {
			for _, r := range reads {
				if w.version > rv && bytes.Compare(w.r.Begin, r.End) < 0 && bytes.Compare(r.Begin, w.r.End) < 0 &&
					bytes.Compare(w.r.Begin, w.r.End) < 0 && bytes.Compare(r.Begin, r.End) < 0 {
					want = true
				}
			}
		}
		if got := h.conflicts(reads, rv); got != want {
			t.Fatalf("step %d: conflicts(%q, rv %d) = %v, model says %v", step, reads, rv, got, want)
		}
	}
	if len(h.gens) < 2 {
		t.Fatalf("only %d generations: the test did not span generations", len(h.gens))
	}
}

// BenchmarkHistoryAdd measures recording one transaction's write set (8
// random keys, the length of a node's keys) while the MVCC window holds n
// write sets, at 100 write sets per generation span, trimming as the
// committer does. The write sets are made before the timer starts.
func BenchmarkHistoryAdd(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("window=%d", n), func(b *testing.B) {
			h := newHistory()
			rng := rand.New(rand.NewPCG(1, 2))
			const step = generationSpan / 100
			sets := make([][]store.Range, 4096)
			for i := range sets {
				for range 8 {
					k := fmt.Appendf(nil, "\x15\x02tenant\x00\x02n\x00\x02/bench/node-%08d\x00\x02s", rng.IntN(1_000_000))
					sets[i] = addRange(sets[i], store.Range{Begin: k, End: store.KeyAfter(k)})
				}
			}
			v, i := int64(0), 0
			write := func() {
				v += step
				h.add(v, sets[i%len(sets)])
				h.trim(v - int64(n)*step)
				i++
			}
			for range n {
				write()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				write()
			}
		})
	}
}

// BenchmarkConflictCheck measures the resolver's check of one transaction
// (4 read ranges) against N write sets committed after its read version,
// each of 8 random keys: the cost of a commit's conflict check as the
// write sets in flight within the MVCC window grow.
func BenchmarkConflictCheck(b *testing.B) {
	for _, n := range []int{10, 100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("writesets=%d", n), func(b *testing.B) {
			h := newHistory()
			rng := rand.New(rand.NewPCG(1, 2))
			key := func() []byte { return fmt.Appendf(nil, "k%08d", rng.IntN(1_000_000)) }
			for v := 1; v <= n; v++ {
				var ws []store.Range
				for range 8 {
					k := key()
					ws = addRange(ws, store.Range{Begin: k, End: store.KeyAfter(k)})
				}
				h.add(int64(v), ws)
			}
			var reads []store.Range
			for range 4 {
				k := key()
				reads = addRange(reads, store.Range{Begin: k, End: store.KeyAfter(k)})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.conflicts(reads, 0)
			}
		})
	}
}
