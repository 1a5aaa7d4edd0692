//go:build fdb

// This file compares our tuple encoding with the official binding's, which
// needs the FoundationDB C library (the binding's tuple package imports
// package fdb, which is cgo): run it with `go test -tags fdb`.

package keys

import (
	"bytes"
	"math/big"
	"sync"
	"testing"

	"github.com/apple/foundationdb/bindings/go/src/fdb"
	"github.com/apple/foundationdb/bindings/go/src/fdb/tuple"
)

// The binding's PackWithVersionstamp asks for the API version (to choose
// between 2- and 4-byte offsets), so one must be selected; 730 is ours.
var selectAPI = sync.OnceFunc(func() { fdb.MustAPIVersion(730) })

// toFDB converts one of our tuples to the binding's types.
func toFDB(t *testing.T, in Tuple) tuple.Tuple {
	out := make(tuple.Tuple, len(in))
	for i, el := range in {
		switch v := el.(type) {
		case Tuple:
			out[i] = toFDB(t, v)
		case UUID:
			out[i] = tuple.UUID(v)
		case Versionstamp:
			out[i] = tuple.Versionstamp{TransactionVersion: [10]byte(v.TransactionVersion), UserVersion: v.UserVersion}
		case nil, []byte, string, int64, uint64, *big.Int, float32, float64, bool:
			out[i] = v
		default:
			t.Fatalf("toFDB: unexpected %T", el)
		}
	}
	return out
}

// fromFDB converts a tuple the binding unpacked to our types.
func fromFDB(t *testing.T, in tuple.Tuple) Tuple {
	out := make(Tuple, len(in))
	for i, el := range in {
		switch v := el.(type) {
		case tuple.Tuple:
			out[i] = fromFDB(t, v)
		case tuple.UUID:
			out[i] = UUID(v)
		case tuple.Versionstamp:
			out[i] = Versionstamp{TransactionVersion: v.TransactionVersion, UserVersion: v.UserVersion}
		case []byte:
			if v == nil {
				v = []byte{} // the binding gives nil for an empty byte string
			}
			out[i] = v
		case nil, string, int64, uint64, *big.Int, float32, float64, bool:
			out[i] = v
		default:
			t.Fatalf("fromFDB: unexpected %T", el)
		}
	}
	return out
}

// TestTupleMatchesBinding packs random tuples with both implementations
// and unpacks each one's bytes with the other.
func TestTupleMatchesBinding(t *testing.T) {
	g := newGen(3)
	for range 20_000 {
		ours := g.tuple(0)
		theirs := toFDB(t, ours)

		a, b := ours.Pack(), theirs.Pack()
		if !bytes.Equal(a, b) {
			t.Fatalf("Pack(%s) = % x, binding packs % x", ours, a, b)
		}

		fromUs, err := tuple.Unpack(a)
		if err != nil {
			t.Fatalf("binding cannot unpack our % x (%s): %v", a, ours, err)
		}
		if got := fromFDB(t, fromUs); !equalTuples(got, ours) {
			t.Fatalf("binding unpacks our % x as %s, want %s", a, got, ours)
		}

		fromThem, err := Unpack(b)
		if err != nil {
			t.Fatalf("we cannot unpack the binding's % x (%s): %v", b, ours, err)
		}
		if !equalTuples(fromThem, ours) {
			t.Fatalf("we unpack the binding's % x as %s, want %s", b, fromThem, ours)
		}
	}
}

// TestPackWithVersionstampMatchesBinding puts one incomplete stamp at a
// random place (nested or not) of random tuples, behind a random prefix.
func TestPackWithVersionstampMatchesBinding(t *testing.T) {
	selectAPI()
	g := newGen(4)
	for range 5_000 {
		ours := g.tuple(0)
		stamp := IncompleteVersionstamp(uint16(g.r.UintN(1 << 16)))
		at := g.r.IntN(len(ours) + 1)
		if g.r.IntN(3) == 0 {
			ours = append(ours[:at:at], append(Tuple{Tuple{g.element(1), stamp}}, ours[at:]...)...)
		} else {
			ours = append(ours[:at:at], append(Tuple{stamp}, ours[at:]...)...)
		}
		prefix := g.bytes()

		a, err := ours.PackWithVersionstamp(prefix)
		if err != nil {
			t.Fatalf("PackWithVersionstamp(%s): %v", ours, err)
		}
		b, err := toFDB(t, ours).PackWithVersionstamp(prefix)
		if err != nil {
			t.Fatalf("binding PackWithVersionstamp(%s): %v", ours, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("PackWithVersionstamp(%x, %s) = % x, binding % x", prefix, ours, a, b)
		}
	}
}
