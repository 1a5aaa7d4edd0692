package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"zkfdb/shared/store"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func bigInt(t testing.TB, s string) *big.Int {
	t.Helper()
	b, ok := new(big.Int).SetString(s, 0)
	if !ok {
		t.Fatalf("bad big.Int %q", s)
	}
	return b
}

// TestPackVectors checks the examples of design/tuple.md and the edges of
// every integer width against hand-computed bytes, both ways.
func TestPackVectors(t *testing.T) {
	stamp := Versionstamp{TransactionVersion: store.Versionstamp{0, 0, 0, 0, 0, 0, 0x30, 0x39, 0, 7}, UserVersion: 0x0102}
	uuid := UUID{0x11, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	for _, tc := range []struct {
		name string
		in   Tuple
		hex  string
		out  Tuple // what Unpack gives back; nil means in
	}{
		// The test cases of design/tuple.md.
		{"bytes with nul", Tuple{[]byte("foo\x00bar")}, "01 666f6f 00ff 626172 00", nil},
		{"unicode string", Tuple{"F\u00d4O\u0000bar"}, "02 46c3944f 00ff 626172 00", nil},
		{"nested", Tuple{Tuple{[]byte("foo\x00bar"), nil, Tuple{}}}, "05 01666f6f00ff62617200 00ff 0500 00", nil},
		{"int -5551212", Tuple{-5551212}, "11 ab4b93", Tuple{int64(-5551212)}},
		{"float -42", Tuple{float32(-42)}, "20 3dd7ffff", nil},
		// Integers: every width boundary.
		{"zero", Tuple{0}, "14", Tuple{int64(0)}},
		{"one", Tuple{1}, "15 01", Tuple{int64(1)}},
		{"255", Tuple{255}, "15 ff", Tuple{int64(255)}},
		{"256", Tuple{256}, "16 0100", Tuple{int64(256)}},
		{"-1", Tuple{-1}, "13 fe", Tuple{int64(-1)}},
		{"-255", Tuple{-255}, "13 00", Tuple{int64(-255)}},
		{"-256", Tuple{-256}, "12 feff", Tuple{int64(-256)}},
		{"max int64", Tuple{int64(math.MaxInt64)}, "1c 7fffffffffffffff", nil},
		{"min int64", Tuple{int64(math.MinInt64)}, "0c 7fffffffffffffff", nil},
		{"2^63 as uint64", Tuple{uint64(1 << 63)}, "1c 8000000000000000", nil},
		{"max uint64", Tuple{uint64(math.MaxUint64)}, "1c ffffffffffffffff", nil},
		{"small uint", Tuple{uint8(7)}, "15 07", Tuple{int64(7)}},
		{"big 2^64", Tuple{bigInt(t, "0x10000000000000000")}, "1d 09 010000000000000000", nil},
		{"big -2^64", Tuple{bigInt(t, "-0x10000000000000000")}, "0b f6 feffffffffffffffff", nil},
		{"big -(2^64-1)", Tuple{bigInt(t, "-0xffffffffffffffff")}, "0c 0000000000000000", nil},
		{"big -(2^63+1)", Tuple{bigInt(t, "-0x8000000000000001")}, "0c 7ffffffffffffffe", nil},
		{"big small", Tuple{big.NewInt(-3)}, "13 fc", Tuple{int64(-3)}},
		{"big value", Tuple{*big.NewInt(300)}, "16 012c", Tuple{int64(300)}},
		// Other types.
		{"empty", Tuple{}, "", nil},
		{"null", Tuple{nil}, "00", nil},
		{"nested null", Tuple{Tuple{nil}}, "05 00ff 00", nil},
		{"nested empty", Tuple{Tuple{}}, "05 00", nil},
		{"empty string", Tuple{""}, "02 00", nil},
		{"empty bytes", Tuple{[]byte{}}, "01 00", nil},
		{"0xff in bytes", Tuple{[]byte{0xff, 0x00}}, "01 ff 00ff 00", nil},
		{"false true", Tuple{false, true}, "26 27", nil},
		{"float 0", Tuple{float32(0)}, "20 80000000", nil},
		{"double -0", Tuple{math.Copysign(0, -1)}, "21 7fffffffffffffff", nil},
		{"double 1", Tuple{1.0}, "21 bff0000000000000", nil},
		{"uuid", Tuple{uuid}, "30 1100aabbccddeeff1100aabbccddeeff", nil},
		{"versionstamp", Tuple{stamp}, "33 00000000000030390007 0102", nil},
		{"mixed", Tuple{"a", 1, nil, true}, "02 61 00 15 01 00 27", Tuple{"a", int64(1), nil, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got := tc.in.Pack()
			if !bytes.Equal(got, want) {
				t.Fatalf("Pack(%s) = % x, want % x", tc.in, got, want)
			}
			back, err := Unpack(got)
			if err != nil {
				t.Fatalf("Unpack(% x): %v", got, err)
			}
			out := tc.out
			if out == nil {
				out = tc.in
			}
			if !equalTuples(back, out) {
				t.Fatalf("Unpack(% x) = %s (%#v), want %s", got, back, back, out)
			}
		})
	}
}

// equalTuples compares decoded tuples, *big.Int by value.
func equalTuples(a, b Tuple) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case *big.Int:
			y, ok := b[i].(*big.Int)
			if !ok || x.Cmp(y) != 0 {
				return false
			}
		case big.Int:
			y, ok := b[i].(big.Int)
			if !ok || x.Cmp(&y) != 0 {
				return false
			}
		case Tuple:
			y, ok := b[i].(Tuple)
			if !ok || !equalTuples(x, y) {
				return false
			}
		case float32:
			y, ok := b[i].(float32)
			if !ok || math.Float32bits(x) != math.Float32bits(y) {
				return false
			}
		case float64:
			y, ok := b[i].(float64)
			if !ok || math.Float64bits(x) != math.Float64bits(y) {
				return false
			}
		default:
			if !reflect.DeepEqual(a[i], b[i]) {
				return false
			}
		}
	}
	return true
}

// gen makes random tuples of every element type, with the values that
// stress the encoding (nul bytes, 0xff bytes, integer width edges, huge
// integers) over-represented.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g gen) bytes() []byte {
	alphabet := []byte{0x00, 0x01, 0xfe, 0xff, 'a', 'b', '/'}
	b := make([]byte, g.r.IntN(6))
	for i := range b {
		if g.r.IntN(2) == 0 {
			b[i] = alphabet[g.r.IntN(len(alphabet))]
		} else {
			b[i] = byte(g.r.UintN(256))
		}
	}
	return b
}

// integer returns an int64, a uint64 ≥ 2^63 or a *big.Int beyond 64 bits:
// the types Unpack gives back.
func (g gen) integer() any {
	switch g.r.IntN(6) {
	case 0:
		return g.r.Int64()
	case 1:
		return -g.r.Int64()
	case 2: // near a byte-width edge, either sign
		v := int64(1)<<(8*g.r.IntN(8)) + int64(g.r.IntN(5)) - 2
		if g.r.IntN(2) == 0 {
			v = -v
		}
		return v
	case 3:
		return uint64(1)<<63 + g.r.Uint64N(1<<63)
	default:
		mag := make([]byte, 9+g.r.IntN(30))
		for i := range mag {
			mag[i] = byte(g.r.UintN(256))
		}
		mag[0] |= 1
		b := new(big.Int).SetBytes(mag)
		if g.r.IntN(2) == 0 {
			b.Neg(b)
		}
		return b
	}
}

func (g gen) float() float64 {
	switch g.r.IntN(4) {
	case 0:
		return math.Inf(1 - 2*g.r.IntN(2))
	case 1:
		return math.Copysign(0, float64(1-2*g.r.IntN(2)))
	default:
		return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
	}
}

func (g gen) element(depth int) any {
	switch g.r.IntN(12) {
	case 0:
		return nil
	case 1:
		return g.bytes()
	case 2:
		return string(g.bytes())
	case 3:
		if depth > 2 {
			return nil
		}
		return g.tuple(depth + 1)
	case 4, 5:
		return g.integer()
	case 6:
		return float32(g.float())
	case 7:
		return g.float()
	case 8:
		return g.r.IntN(2) == 0
	case 9:
		var u UUID
		for i := range u {
			u[i] = byte(g.r.UintN(256))
		}
		return u
	case 10:
		var v Versionstamp
		for i := range v.TransactionVersion {
			v.TransactionVersion[i] = byte(g.r.UintN(256))
		}
		v.TransactionVersion[0] &= 0x7f // complete
		v.UserVersion = uint16(g.r.UintN(1 << 16))
		return v
	default:
		return g.integer()
	}
}

func (g gen) tuple(depth int) Tuple {
	t := Tuple{}
	for range g.r.IntN(5) {
		t = append(t, g.element(depth))
	}
	return t
}

func TestRoundTrip(t *testing.T) {
	g := newGen(1)
	for range 20_000 {
		tu := g.tuple(0)
		packed := tu.Pack()
		back, err := Unpack(packed)
		if err != nil {
			t.Fatalf("Unpack(Pack(%s)) = %v", tu, err)
		}
		if !equalTuples(back, tu) {
			t.Fatalf("Unpack(Pack(%s)) = %s", tu, back)
		}
	}
}

// typeRank orders element types as their type codes do.
func typeRank(el any) int {
	switch el.(type) {
	case nil:
		return 0
	case []byte:
		return 1
	case string:
		return 2
	case Tuple:
		return 5
	case int64, uint64, *big.Int:
		return 0x14
	case float32:
		return 0x20
	case float64:
		return 0x21
	case bool:
		if el.(bool) {
			return 0x27
		}
		return 0x26
	case UUID:
		return 0x30
	case Versionstamp:
		return 0x33
	}
	panic("unknown element type")
}

func toBig(el any) *big.Int {
	switch v := el.(type) {
	case int64:
		return big.NewInt(v)
	case uint64:
		return new(big.Int).SetUint64(v)
	case *big.Int:
		return v
	}
	panic("not an integer")
}

// cmpFloat is IEEE total order without NaNs: -0 before +0.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return boolCmp(!math.Signbit(a), !math.Signbit(b))
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// compareTuples is the tuple order, computed from the values (not the
// bytes): the reference the packed byte order must agree with.
func compareTuples(a, b Tuple) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareElements(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func compareElements(a, b any) int {
	if ra, rb := typeRank(a), typeRank(b); ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case nil, bool:
		return 0
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case string:
		return strings.Compare(x, b.(string))
	case Tuple:
		return compareTuples(x, b.(Tuple))
	case int64, uint64, *big.Int:
		return toBig(a).Cmp(toBig(b))
	case float32:
		return cmpFloat(float64(x), float64(b.(float32)))
	case float64:
		return cmpFloat(x, b.(float64))
	case UUID:
		y := b.(UUID)
		return bytes.Compare(x[:], y[:])
	case Versionstamp:
		y := b.(Versionstamp)
		if c := bytes.Compare(x.TransactionVersion[:], y.TransactionVersion[:]); c != 0 {
			return c
		}
		return int(x.UserVersion) - int(y.UserVersion)
	}
	panic("unknown element type")
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// TestOrdering checks that packed bytes sort as the tuples do, for random
// pairs of each type alone (where the order is the values' order) and of
// mixed tuples.
func TestOrdering(t *testing.T) {
	g := newGen(2)
	for _, tc := range []struct {
		name string
		gen  func() Tuple
	}{
		{"integers", func() Tuple { return Tuple{g.integer()} }},
		{"strings", func() Tuple { return Tuple{string(g.bytes()), string(g.bytes())} }},
		{"bytes", func() Tuple { return Tuple{g.bytes()} }},
		{"floats", func() Tuple { return Tuple{float32(g.float())} }},
		{"doubles", func() Tuple { return Tuple{g.float()} }},
		{"mixed", func() Tuple { return g.tuple(0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts []Tuple
			for range 2_000 {
				ts = append(ts, tc.gen())
			}
			// Sorting by value and by packed bytes must give the same order.
			byValue := slices.Clone(ts)
			slices.SortStableFunc(byValue, compareTuples)
			for i := 1; i < len(byValue); i++ {
				a, b := byValue[i-1], byValue[i]
				want := sign(compareTuples(a, b))
				if got := sign(bytes.Compare(a.Pack(), b.Pack())); got != want {
					t.Fatalf("order of %s and %s: bytes say %d, values %d", a, b, got, want)
				}
			}
			for range 2_000 {
				a, b := ts[g.r.IntN(len(ts))], ts[g.r.IntN(len(ts))]
				want := sign(compareTuples(a, b))
				if got := sign(bytes.Compare(a.Pack(), b.Pack())); got != want {
					t.Fatalf("order of %s and %s: bytes say %d, values %d", a, b, got, want)
				}
			}
		})
	}
}

func TestUnpackErrors(t *testing.T) {
	for _, tc := range []struct {
		name, hex, msg string
	}{
		{"unknown code", "03", "unknown type code 0x03"},
		{"escape as code", "ff", "unknown type code 0xff"},
		{"unterminated bytes", "01 6162", "no terminator"},
		{"unterminated after escape", "01 00ff", "no terminator"},
		{"unterminated nested", "05 14", "nested tuple has no terminator"},
		{"nested escape at end", "05 00", ""}, // valid: empty nested tuple
		{"truncated int", "16 01", "integer needs 2 bytes"},
		{"int padded", "15 00", "shortest encoding"},
		{"negative int padded", "13 ff", "shortest encoding"},
		{"8-byte int padded", "1c 00ffffffffffffff", "shortest encoding"},
		{"big without length", "1d", "integer length needs 1 bytes"},
		{"big too short", "1d 08 0100000000000000", "must use codes"},
		{"negative big too short", "0b f7 00", "must use codes"},
		{"big truncated", "1d 09 01", "integer needs 9 bytes"},
		{"big padded", "1d 09 000100000000000000", "shortest encoding"},
		{"negative big padded", "0b f6 ff0000000000000000", "shortest encoding"},
		{"truncated float", "20 3dd7", "float needs 4 bytes"},
		{"truncated double", "21 00", "double needs 8 bytes"},
		{"truncated uuid", "30 00", "UUID needs 16 bytes"},
		{"truncated versionstamp", "33 0000", "versionstamp needs 12 bytes"},
		{"top-level escaped null", "00 ff", "unknown type code 0xff"},
		{"deep error", "05 05 02 61", "no terminator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpack(unhex(t, tc.hex))
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Unpack(%s) = %v, want success", tc.hex, err)
				}
				return
			}
			if !errors.Is(err, ErrBadTuple) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Unpack(%s) = %v, want ErrBadTuple with %q", tc.hex, err, tc.msg)
			}
		})
	}
}

func TestPackWithVersionstamp(t *testing.T) {
	prefix := []byte("pre")
	k, err := Tuple{"a", IncompleteVersionstamp(7)}.PackWithVersionstamp(prefix)
	if err != nil {
		t.Fatal(err)
	}
	// pre | 02 61 00 | 33 | ff*10 | 00 07 | offset 7 as 4 bytes LE
	want := unhex(t, "707265 026100 33 ffffffffffffffffffff 0007 07000000")
	if !bytes.Equal(k, want) {
		t.Fatalf("PackWithVersionstamp = % x, want % x", k, want)
	}

	// Nested stamps count; the offset is the nested one's.
	k, err = Tuple{1, Tuple{nil, IncompleteVersionstamp(0)}}.PackWithVersionstamp(nil)
	if err != nil {
		t.Fatal(err)
	}
	// 15 01 | 05 00 ff | 33 -> stamp at offset 6
	if off := k[len(k)-4:]; !bytes.Equal(off, []byte{6, 0, 0, 0}) || k[5] != codeVersionstamp {
		t.Fatalf("nested stamp key % x: offset % x", k, off)
	}

	for _, tc := range []struct {
		name string
		in   Tuple
	}{
		{"none", Tuple{"a"}},
		{"complete only", Tuple{Versionstamp{UserVersion: 1}}},
		{"two", Tuple{IncompleteVersionstamp(0), IncompleteVersionstamp(1)}},
		{"two nested", Tuple{IncompleteVersionstamp(0), Tuple{IncompleteVersionstamp(1)}}},
		{"unpackable", Tuple{IncompleteVersionstamp(0), struct{}{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := tc.in.PackWithVersionstamp(prefix); err == nil {
				t.Fatalf("PackWithVersionstamp(%s) = % x, want an error", tc.in, k)
			}
		})
	}
}

func TestPackPanics(t *testing.T) {
	huge := new(big.Int).Lsh(big.NewInt(1), 8*255) // 256 bytes
	for _, tc := range []struct {
		name string
		in   Tuple
	}{
		{"incomplete versionstamp", Tuple{IncompleteVersionstamp(0)}},
		{"unsupported type", Tuple{struct{}{}}},
		{"nested unsupported", Tuple{Tuple{1.5, map[string]int{}}}},
		{"nil big", Tuple{(*big.Int)(nil)}},
		{"256-byte integer", Tuple{huge}},
		{"256-byte negative", Tuple{new(big.Int).Neg(huge)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("Pack(%#v) did not panic", tc.in)
				}
			}()
			tc.in.Pack()
		})
	}
	// The largest integers do pack.
	maxBig := new(big.Int).Sub(huge, big.NewInt(1))
	for _, v := range []*big.Int{maxBig, new(big.Int).Neg(maxBig)} {
		back, err := Unpack(Tuple{v}.Pack())
		if err != nil || !equalTuples(back, Tuple{v}) {
			t.Fatalf("255-byte integer round trip: %s, %v", back, err)
		}
	}
}

func TestTupleRange(t *testing.T) {
	r := Tuple{"a"}.Range()
	if want := unhex(t, "02 61 00 00"); !bytes.Equal(r.Begin, want) {
		t.Fatalf("Begin = % x, want % x", r.Begin, want)
	}
	if want := unhex(t, "02 61 00 ff"); !bytes.Equal(r.End, want) {
		t.Fatalf("End = % x, want % x", r.End, want)
	}
	in := func(k []byte) bool { return bytes.Compare(k, r.Begin) >= 0 && bytes.Compare(k, r.End) < 0 }
	for _, tc := range []struct {
		t    Tuple
		want bool
	}{
		{Tuple{"a", nil}, true},
		{Tuple{"a", 1}, true},
		{Tuple{"a", Versionstamp{TransactionVersion: store.IncompleteVersionstamp}}, true},
		{Tuple{"a", "zzz", true}, true},
		{Tuple{"a"}, false},      // the prefix itself
		{Tuple{"a\x00"}, false},  // shares the bytes 02 61 00
		{Tuple{"a\x00b"}, false}, // likewise
		{Tuple{"ab"}, false},
		{Tuple{"`", 1}, false},
	} {
		k, err := tc.t.AppendPack(nil)
		if err != nil {
			k, _ = tc.t.PackWithVersionstamp(nil)
			k = k[:len(k)-4]
		}
		if got := in(k); got != tc.want {
			t.Errorf("%s in %s.Range() = %v, want %v", tc.t, Tuple{"a"}, got, tc.want)
		}
	}
}

func TestTupleString(t *testing.T) {
	got := Tuple{"/a", int64(3), []byte{0, 'x'}, nil, Tuple{true, 1.5}, UUID{1}}.String()
	want := `("/a", 3, b"\x00x", nil, (true, 1.5), 01000000-0000-0000-0000-000000000000)`
	if got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

// FuzzUnpack feeds arbitrary bytes to Unpack: it must not panic, and what
// it accepts must pack back to the same bytes (Unpack accepts only the
// canonical encoding), and print.
func FuzzUnpack(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzUnpack.
	f.Add([]byte{})
	f.Add(Tuple{"a", int64(1), nil, Tuple{nil, []byte{0}}}.Pack())
	f.Fuzz(func(t *testing.T, b []byte) {
		tu, err := Unpack(b)
		if err != nil {
			if !errors.Is(err, ErrBadTuple) {
				t.Fatalf("Unpack(% x) = %v, not ErrBadTuple", b, err)
			}
			return
		}
		_ = tu.String()
		e := encoder{stampPos: -1, allowIncomplete: true}
		if err := e.tuple(tu, false); err != nil {
			t.Fatalf("repack of %s (from % x): %v", tu, b, err)
		}
		if !bytes.Equal(e.buf, b) {
			t.Fatalf("Unpack(% x) = %s, which packs to % x", b, tu, e.buf)
		}
	})
}
