package keys_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"zkfdb/shared/keys"
)

// FuzzDecodeInt64: a counter, notify key or tenant id is read or refused
// with ErrBadValue, never a panic; what is read is the integer EncodeInt64
// stores as those very bytes, so a value of any length but 8 (a cut or a
// padded one) is refused.
func FuzzDecodeInt64(f *testing.F) {
	if v, err := keys.DecodeInt64(nil); v != 0 || err != nil {
		f.Fatalf("DecodeInt64(nil) = %d, %v; want 0: an absent value is 0, as Add treats it", v, err)
	}
	for _, v := range []int64{0, 1, -1, 1 << 40, math.MaxInt64, math.MinInt64} {
		b := keys.EncodeInt64(v)
		if got, err := keys.DecodeInt64(b); got != v || err != nil {
			f.Fatalf("DecodeInt64(EncodeInt64(%d)) = %d, %v", v, got, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if b == nil {
			b = []byte{} // present, and empty: not the absent value
		}
		v, err := keys.DecodeInt64(b)
		if err != nil {
			if !errors.Is(err, keys.ErrBadValue) || v != 0 || len(b) == 8 {
				t.Fatalf("DecodeInt64(% x) = %d, %v", b, v, err)
			}
			return
		}
		if enc := keys.EncodeInt64(v); !bytes.Equal(enc, b) {
			t.Fatalf("DecodeInt64(% x) = %d, which is stored as % x", b, v, enc)
		}
	})
}
