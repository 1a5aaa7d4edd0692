package embedded

import (
	"bytes"

	"zkfdb/shared/store"
)

// applyAtomic returns the value of a key after op with param, given its
// value before (nil when absent), and whether the key is present after.
// The rules are FDB's (fdbclient/include/fdbclient/Atomic.h, API ≥ 520):
// an absent value gives param for every op but CompareAndClear, and only
// CompareAndClear deletes.
func applyAtomic(op store.MutationType, old, param []byte) ([]byte, bool) {
	if op == store.CompareAndClear {
		if old != nil && bytes.Equal(old, param) {
			return nil, false
		}
		return old, old != nil
	}
	if old == nil {
		return clone(param), true
	}
	switch op {
	case store.Add:
		return addLE(old, param), true
	case store.BitAnd, store.BitOr, store.BitXor:
		out := fit(old, len(param))
		for i := range out {
			switch op {
			case store.BitAnd:
				out[i] &= param[i]
			case store.BitOr:
				out[i] |= param[i]
			default:
				out[i] ^= param[i]
			}
		}
		return out, true
	case store.AppendIfFits:
		if len(old)+len(param) > store.MaxValueSize {
			return clone(old), true
		}
		return append(clone(old), param...), true
	case store.Max, store.Min:
		e := fit(old, len(param))
		c := compareLE(e, param)
		if (op == store.Max && c >= 0) || (op == store.Min && c <= 0) {
			return e, true
		}
		return clone(param), true
	case store.ByteMax:
		if bytes.Compare(old, param) >= 0 {
			return clone(old), true
		}
		return clone(param), true
	case store.ByteMin:
		if bytes.Compare(old, param) <= 0 {
			return clone(old), true
		}
		return clone(param), true
	}
	// Unknown ops are rejected when queued (validMutation).
	return clone(old), true
}

func validMutation(op store.MutationType) bool {
	switch op {
	case store.Add, store.BitAnd, store.BitOr, store.BitXor, store.AppendIfFits,
		store.Max, store.Min, store.ByteMin, store.ByteMax, store.CompareAndClear:
		return true
	}
	return false
}

// fit returns a copy of b zero-padded or truncated to n bytes.
func fit(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

// addLE adds param to old as little-endian integers of len(param) bytes,
// dropping the carry past the end (two's complement works).
func addLE(old, param []byte) []byte {
	out := fit(old, len(param))
	carry := 0
	for i := range out {
		s := int(out[i]) + int(param[i]) + carry
		out[i] = byte(s)
		carry = s >> 8
	}
	return out
}

// compareLE compares two equal-length unsigned little-endian integers.
func compareLE(a, b []byte) int {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// cloneKey copies k into a buffer that holds k+"\x00" beyond its length,
// so that keyAfter makes the key after it without an allocation: a
// point's conflict range [k, k+"\x00") then costs one allocation, not
// three. The copy's capacity ends at that byte.
func cloneKey(k []byte) []byte {
	b := make([]byte, len(k)+1)
	copy(b, k)
	return b[: len(k) : len(k)+1]
}

// keyAfter returns store.KeyAfter(k), sharing k's buffer where cloneKey
// made it.
func keyAfter(k []byte) []byte {
	if n := len(k); cap(k) == n+1 && k[:n+1][n] == 0 {
		return k[:n+1]
	}
	return store.KeyAfter(k)
}
