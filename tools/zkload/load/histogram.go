package load

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear like HdrHistogram: values below subCount
// nanoseconds get a bucket each; above, every power of two is split into
// halfCount buckets, so a bucket's width is at most 1/halfCount (0.8%) of its
// values. Values above maxValue (~275 s) share the last bucket; Max stays
// exact.
const (
	subBits    = 8
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	maxShift   = 30
	maxValue   = 1<<(subBits+maxShift) - 1
	numBuckets = subCount + maxShift*halfCount
)

// Histogram records latencies in bounded memory (32 KiB) with a relative
// error below 1%. The zero value is empty and ready. It is not safe for
// concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max time.Duration
	sum      time.Duration
}

// bucket returns the index of v's bucket.
func bucket(v uint64) int {
	if v > maxValue {
		v = maxValue
	}
	if v < subCount {
		return int(v)
	}
	s := bits.Len64(v) - subBits // v>>s is in [halfCount, subCount)
	return subCount + (s-1)*halfCount + int(v>>s) - halfCount
}

// bucketHigh returns the highest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	s := (i-subCount)/halfCount + 1
	m := uint64((i-subCount)%halfCount + halfCount)
	return (m+1)<<s - 1
}

// Record adds one latency; negative values count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.max = max(h.max, d)
	h.n++
	h.sum += d
	h.counts[bucket(uint64(d))]++
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest recorded value, 0 if none.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest recorded value, 0 if none.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the average of the recorded values, 0 if none.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the value at or below which a fraction q (0..1) of the
// recorded values fall, rounded up to its bucket's highest value and never
// above Max: Quantile(1) is Max. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == numBuckets-1 { // also holds everything above maxValue
				return h.max
			}
			return min(time.Duration(bucketHigh(i)), h.max)
		}
	}
	return h.max
}
