package embedded

import (
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
