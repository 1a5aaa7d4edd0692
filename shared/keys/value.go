package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadValue is returned (wrapped) by DecodeInt64 for a value that is not
// an 8-byte integer.
var ErrBadValue = errors.New("keys: malformed value")

// EncodeInt64 returns v as 8 little-endian bytes: the value of the clock,
// counters, notify keys and tenant ids. Little-endian because FDB's atomic
// Add, Max and Min work on little-endian integers, so these keys can be
// changed without a read (and without a read conflict).
func EncodeInt64(v int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(v))
}

// DecodeInt64 reads a value written by EncodeInt64 or by an atomic Add of
// an 8-byte parameter. An absent value (nil) is 0, as Add treats it; a
// value of any length but 8 is ErrBadValue.
func DecodeInt64(b []byte) (int64, error) {
	if b == nil {
		return 0, nil
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: %d bytes, want 8", ErrBadValue, len(b))
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}
