package clock_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"zkfdb/shared/clock"
)

// FuzzDecode: a stored tick is read or refused with ErrMalformed, never a
// panic; what is read is the tick Encode stores as those very bytes, so a
// value of any length but 8 (a cut or a padded one) is refused.
func FuzzDecode(f *testing.F) {
	if tick, err := clock.Decode(nil); tick != 0 || err != nil {
		f.Fatalf("Decode(nil) = %d, %v; want 0: an absent clock is tick 0", tick, err)
	}
	for _, tick := range []int64{0, 1, 1_700_000_000, -1, math.MaxInt64, math.MinInt64} {
		b := clock.Encode(tick)
		if got, err := clock.Decode(b); got != tick || err != nil {
			f.Fatalf("Decode(Encode(%d)) = %d, %v", tick, got, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if b == nil {
			b = []byte{} // present, and empty: not the absent clock
		}
		tick, err := clock.Decode(b)
		if err != nil {
			if !errors.Is(err, clock.ErrMalformed) || tick != 0 || len(b) == 8 {
				t.Fatalf("Decode(% x) = %d, %v", b, tick, err)
			}
			return
		}
		if enc := clock.Encode(tick); !bytes.Equal(enc, b) {
			t.Fatalf("Decode(% x) = %d, which is stored as % x", b, tick, enc)
		}
	})
}
