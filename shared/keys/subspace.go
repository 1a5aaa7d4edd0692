package keys

import (
	"bytes"
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// ErrBadKey is returned (wrapped) by the Parse functions for a key that is
// not of the kind they parse: outside the subspace, or with elements of
// the wrong number or type.
var ErrBadKey = errors.New("keys: not a key of the expected kind")

// Subspace is a key prefix under which every key is the prefix followed by
// a packed tuple, as FoundationDB's subspace layer has it. The zero value
// is the whole keyspace. A Subspace is immutable and safe for concurrent
// use.
type Subspace struct {
	prefix []byte
}

// NewSubspace returns the subspace of keys that start with prefix (copied).
func NewSubspace(prefix []byte) Subspace {
	return Subspace{prefix: append([]byte(nil), prefix...)}
}

// Bytes returns a copy of the subspace's prefix.
func (s Subspace) Bytes() []byte {
	return append([]byte(nil), s.prefix...)
}

// Sub returns the subspace of s extended by the packed elements.
func (s Subspace) Sub(elems ...any) Subspace {
	return Subspace{prefix: s.Pack(Tuple(elems))}
}

// Pack returns the prefix followed by the encoding of t. It panics where
// Tuple.Pack does.
func (s Subspace) Pack(t Tuple) []byte {
	room := 0
	for _, el := range t {
		switch el := el.(type) {
		case string:
			room += strRoom(el)
		case []byte:
			room += len(el) + 2
		default:
			room += intRoom
		}
	}
	b, err := t.AppendPack(s.build(room).b)
	if err != nil {
		panic(err)
	}
	return b
}

// PackWithVersionstamp returns the key for SetVersionstampedKey: the prefix,
// the encoding of t (which must hold exactly one incomplete versionstamp)
// and the stamp's 4-byte little-endian offset from the start of the key.
func (s Subspace) PackWithVersionstamp(t Tuple) ([]byte, error) {
	return t.PackWithVersionstamp(s.prefix)
}

// Unpack returns the tuple that follows the prefix in key. It fails with
// ErrBadKey for a key outside s and with ErrBadTuple for bad bytes.
func (s Subspace) Unpack(key []byte) (Tuple, error) {
	if !s.Contains(key) {
		return nil, fmt.Errorf("%w: %x is outside subspace %x", ErrBadKey, key, s.prefix)
	}
	return Unpack(key[len(s.prefix):])
}

// Contains reports whether key starts with the subspace's prefix.
func (s Subspace) Contains(key []byte) bool {
	return bytes.HasPrefix(key, s.prefix)
}

// Range returns the keys of every non-empty tuple in s: prefix+0x00 up to
// prefix+0xFF, as FoundationDB's subspace Range.
func (s Subspace) Range() store.Range {
	return tupleRange(s.prefix)
}

// elemKind is the type a parsed key expects of one tuple element.
type elemKind int

const (
	kindInt    elemKind = iota // int64
	kindString                 // string
	kindStamp                  // complete Versionstamp
)

func (k elemKind) matches(el any) bool {
	switch k {
	case kindInt:
		_, ok := el.(int64)
		return ok
	case kindString:
		_, ok := el.(string)
		return ok
	case kindStamp:
		v, ok := el.(Versionstamp)
		return ok && v.Complete()
	}
	return false
}

// unpackAs unpacks key from s and checks that it is (code, elems...) with
// elements of the given kinds. what names the key kind in errors.
func unpackAs(s Subspace, key []byte, what string, code int64, kinds ...elemKind) (Tuple, error) {
	t, err := s.Unpack(key)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", what, err)
	}
	if len(t) != 1+len(kinds) || t[0] != code {
		return nil, fmt.Errorf("%w: %s key %s", ErrBadKey, what, t)
	}
	for i, k := range kinds {
		if !k.matches(t[1+i]) {
			return nil, fmt.Errorf("%w: %s key %s", ErrBadKey, what, t)
		}
	}
	return t, nil
}
