package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	// Every bucket's range starts right after the previous one's and holds
	// its own values; the width stays within 1/halfCount of the values.
	if got := bucket(maxValue); got != numBuckets-1 {
		t.Fatalf("bucket(maxValue) = %d, want %d", got, numBuckets-1)
	}
	if got := bucketHigh(numBuckets - 1); got != maxValue {
		t.Fatalf("bucketHigh(last) = %d, want %d", got, uint64(maxValue))
	}
	low := uint64(0)
	for i := range numBuckets {
		high := bucketHigh(i)
		if high < low {
			t.Fatalf("bucket %d: high %d < low %d", i, high, low)
		}
		if bucket(low) != i || bucket(high) != i {
			t.Fatalf("bucket %d = [%d, %d]: bucket(low) = %d, bucket(high) = %d", i, low, high, bucket(low), bucket(high))
		}
		if width := high - low + 1; low >= subCount && width*halfCount > low {
			t.Fatalf("bucket %d = [%d, %d]: width %d is more than 1/%d of its values", i, low, high, width, halfCount)
		}
		low = high + 1
	}
	if got := bucket(1 << 62); got != numBuckets-1 {
		t.Fatalf("bucket(2^62) = %d, want the last bucket", got)
	}
}

func TestQuantileAgainstSortedSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential mean 1ms", func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(time.Millisecond)) }},
		{"small integers", func() time.Duration { return time.Duration(rng.IntN(300)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 100_000)
			for i := range samples {
				samples[i] = tc.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := max(int(float64(len(samples))*q+0.999999), 1)
				want := samples[rank-1] // the exact quantile
				got := h.Quantile(q)
				// Rounded up to the bucket's top: never below, at most 1/halfCount above.
				if got < want || float64(got-want) > float64(want)/halfCount+1 {
					t.Errorf("Quantile(%v) = %v, exact %v", q, got, want)
				}
			}
			if h.Count() != uint64(len(samples)) || h.Min() != samples[0] || h.Max() != samples[len(samples)-1] {
				t.Errorf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), len(samples), samples[0], samples[len(samples)-1])
			}
			if h.Quantile(1) != h.Max() {
				t.Errorf("Quantile(1) = %v, want Max %v", h.Quantile(1), h.Max())
			}
		})
	}
}

func TestQuantileSmall(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatalf("empty histogram: p50 %v max %v mean %v, want zeros", h.Quantile(0.5), h.Max(), h.Mean())
	}
	for _, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 100 * time.Millisecond} {
		h.Record(d)
	}
	h.Record(-time.Second) // clock went backwards: counts as 0
	for _, tc := range []struct {
		q         float64
		low, high time.Duration
	}{
		{0, 0, 0},
		{0.2, 0, 0},
		{0.4, time.Millisecond, time.Millisecond * 1008 / 1000},
		{0.5, 2 * time.Millisecond, time.Millisecond * 2016 / 1000},
		{0.8, 3 * time.Millisecond, time.Millisecond * 3024 / 1000},
		{0.99, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		if got := h.Quantile(tc.q); got < tc.low || got > tc.high {
			t.Errorf("Quantile(%v) = %v, want in [%v, %v]", tc.q, got, tc.low, tc.high)
		}
	}
	if h.Mean() != 106*time.Millisecond/5 {
		t.Errorf("Mean() = %v, want %v", h.Mean(), 106*time.Millisecond/5)
	}
	// Beyond the last bucket: the quantile is clamped to Max, Max exact.
	var big Histogram
	big.Record(time.Hour)
	if big.Quantile(0.5) != time.Hour || big.Max() != time.Hour {
		t.Errorf("1h: p50 %v max %v, want 1h", big.Quantile(0.5), big.Max())
	}
}

func TestMergeEqualsOneHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all, a, b, empty Histogram
	for i := range 10_000 {
		d := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&empty)
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&empty)
	if m != all {
		t.Fatalf("merged histogram differs: count %d/%d min %v/%v max %v/%v", m.Count(), all.Count(), m.Min(), all.Min(), m.Max(), all.Max())
	}
}
