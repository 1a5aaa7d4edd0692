package znode

import (
	"bytes"
	"math"
	"testing"
)

// FuzzDecodeSession: a session record is read or refused, never a panic.
// Records of the two lengths writers have used are read (20 bytes, written
// before Conn, has none); a record cut shorter than either is refused; what
// is read encodes back to the bytes it was read from (less bytes after
// Conn).
func FuzzDecodeSession(f *testing.F) {
	seeds := []Session{
		{ID: 0x1234_5678, Password: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, Timeout: 30_000, Conn: 7},
		{ID: 1},
		{ID: math.MaxInt64, Password: [16]byte{0: 0xff, 15: 0xff}, Timeout: -1, Conn: math.MinInt64},
	}
	for _, s := range seeds {
		b := s.encode()
		if got, err := decodeSession(s.ID, b); err != nil || got != s {
			f.Fatalf("decodeSession(encode(%+v)) = %+v, %v", s, got, err)
		}
		f.Add(s.ID, b)
		f.Add(s.ID, b[:20]) // a record written before Conn
	}
	f.Fuzz(func(t *testing.T, id int64, b []byte) {
		s, err := decodeSession(id, b)
		cut := len(b) < 20 || len(b) > 20 && len(b) < sessionRecordLength
		if err != nil {
			if s != (Session{}) || !cut {
				t.Fatalf("decodeSession(%#x, % x) = %+v, %v", id, b, s, err)
			}
			return
		}
		if cut {
			t.Fatalf("decodeSession(%#x, % x), a record cut to %d bytes, = %+v", id, b, len(b), s)
		}
		if s.ID != id || s.Expiry != 0 {
			t.Fatalf("decodeSession(%#x, % x) = %+v", id, b, s)
		}
		want := make([]byte, sessionRecordLength) // a record before Conn: Conn 0
		copy(want, b)
		if enc := s.encode(); !bytes.Equal(enc, want) {
			t.Fatalf("decodeSession(%#x, % x) = %+v, which encodes to % x", id, b, s, enc)
		}
	})
}
