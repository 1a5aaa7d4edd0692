package keys

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"zkfdb/shared/store"
)

// ErrBadTuple is returned (wrapped, with the offset and the reason) by
// Unpack for bytes that are not a tuple this package would have packed.
var ErrBadTuple = errors.New("keys: malformed tuple")

// Tuple is an ordered list of elements encoded with FoundationDB's tuple
// layer (design/tuple.md in apple/foundationdb), byte for byte as the
// official bindings encode it, so keys written by this package and by any
// binding read the same. The packed bytes sort in tuple order: by the first
// element, then the second, and so on; a tuple sorts before every tuple it
// is a prefix of.
//
// Elements and their encodings:
//
//	nil                                   null (0x00; 0x00 0xFF inside a nested tuple)
//	[]byte                                byte string (0x01)
//	string                                unicode string (0x02), its bytes as they are
//	Tuple                                 nested tuple (0x05)
//	int, int8..int64, uint, uint8..uint64 integer (0x0C..0x1C)
//	*big.Int, big.Int                     integer, 0x0B/0x1D beyond 8 bytes (at most 255)
//	float32, float64                      IEEE float (0x20, 0x21)
//	bool                                  false 0x26, true 0x27
//	UUID                                  0x30
//	Versionstamp                          0x33
//
// Unpack normalises as the Go binding does: integers come back as int64,
// as uint64 for values ≥ 2^63, and as *big.Int beyond 64 bits; byte
// strings as []byte.
type Tuple []any

// UUID is an RFC 4122 UUID in network byte order (tuple code 0x30).
type UUID [16]byte

// String formats u as 8-4-4-4-12 hex digits.
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Versionstamp is the tuple layer's 12-byte versionstamp (code 0x33): the
// 10-byte transaction stamp FoundationDB assigns at commit, then a 2-byte
// big-endian user version that orders the stamps one transaction writes.
type Versionstamp struct {
	TransactionVersion store.Versionstamp
	UserVersion        uint16
}

// IncompleteVersionstamp returns the placeholder that PackWithVersionstamp
// locates and the commit fills in: ten 0xFF bytes, then userVersion.
func IncompleteVersionstamp(userVersion uint16) Versionstamp {
	return Versionstamp{TransactionVersion: store.IncompleteVersionstamp, UserVersion: userVersion}
}

// Complete reports whether v holds a committed stamp rather than the
// placeholder.
func (v Versionstamp) Complete() bool {
	return v.TransactionVersion != store.IncompleteVersionstamp
}

func (v Versionstamp) String() string {
	return fmt.Sprintf("Versionstamp(%x, %d)", v.TransactionVersion[:], v.UserVersion)
}

// Type codes (design/tuple.md).
const (
	codeNil          = 0x00
	codeBytes        = 0x01
	codeString       = 0x02
	codeNested       = 0x05
	codeNegBig       = 0x0b // negative integer of 9..255 bytes
	codeIntZero      = 0x14 // codes 0x0c..0x13 and 0x15..0x1c: 8..1 and 1..8 bytes
	codePosBig       = 0x1d // positive integer of 9..255 bytes
	codeFloat        = 0x20
	codeDouble       = 0x21
	codeFalse        = 0x26
	codeTrue         = 0x27
	codeUUID         = 0x30
	codeVersionstamp = 0x33

	// escape follows a 0x00 inside byte strings (and nulls inside nested
	// tuples) so that the terminator is the only bare 0x00; it is never a
	// type code.
	escape = 0xff

	versionstampLen = 12
	maxBigIntLen    = 255 // the length byte of codes 0x0b/0x1d
)

// Pack returns the encoding of t. It panics if t holds an element of a type
// not listed on Tuple, an integer of more than 255 bytes, a nil *big.Int,
// or an incomplete versionstamp (use PackWithVersionstamp): all of them
// are programming errors, as every key is built in this package from
// fixed types. Pack never panics because of the values of valid elements.
func (t Tuple) Pack() []byte {
	b, err := t.AppendPack(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// AppendPack appends the encoding of t to dst. It returns an error where
// Pack panics.
func (t Tuple) AppendPack(dst []byte) ([]byte, error) {
	e := encoder{buf: dst, stampPos: -1}
	if err := e.tuple(t, false); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// PackWithVersionstamp returns prefix followed by the encoding of t and by
// the 4-byte little-endian offset, counted from the start of prefix, of
// the one incomplete versionstamp in t (nested tuples included). That is
// the key SetVersionstampedKey expects: the commit writes the transaction's
// stamp at the offset and drops the offset bytes. It fails unless t holds
// exactly one incomplete versionstamp.
func (t Tuple) PackWithVersionstamp(prefix []byte) ([]byte, error) {
	e := encoder{buf: append([]byte(nil), prefix...), stampPos: -1, allowIncomplete: true}
	if err := e.tuple(t, false); err != nil {
		return nil, err
	}
	switch {
	case e.stamps == 0:
		return nil, errors.New("keys: PackWithVersionstamp needs an incomplete versionstamp")
	case e.stamps > 1:
		return nil, fmt.Errorf("keys: PackWithVersionstamp got %d incomplete versionstamps, want 1", e.stamps)
	case e.stampPos > math.MaxUint32:
		return nil, errors.New("keys: versionstamp offset does not fit in 4 bytes")
	}
	return store.AppendStampOffset(e.buf, e.stampPos), nil
}

// Range returns the keys of every tuple that extends t by at least one
// element, t itself excluded: t+0x00 up to t+0xFF, as FoundationDB's
// subspace Range.
func (t Tuple) Range() store.Range {
	return tupleRange(t.Pack())
}

// tupleRange is the range of every packed tuple that starts with the
// packed tuple p and is longer. Every element starts with a type code in
// 0x00..0xFE, so p+0xFF is above all of them, and the 0x00 0xFF escape
// keeps longer strings that share p's bytes out of the range.
func tupleRange(p []byte) store.Range {
	n := len(p) + 1
	buf := make([]byte, 2*n) // one allocation for both bounds
	begin, end := buf[:n:n], buf[n:]
	copy(begin, p)
	copy(end, p)
	end[n-1] = 0xff
	return store.Range{Begin: begin, End: end}
}

// String formats t for people (logs, golden files), e.g.
// ("/a", 3, b"\x00", nil).
func (t Tuple) String() string {
	var sb strings.Builder
	writeTuple(&sb, t)
	return sb.String()
}

func writeTuple(sb *strings.Builder, t Tuple) {
	sb.WriteByte('(')
	for i, el := range t {
		if i > 0 {
			sb.WriteString(", ")
		}
		switch el := el.(type) {
		case nil:
			sb.WriteString("nil")
		case Tuple:
			writeTuple(sb, el)
		case []byte:
			sb.WriteByte('b')
			sb.WriteString(strconv.Quote(string(el)))
		case string:
			sb.WriteString(strconv.Quote(el))
		default:
			fmt.Fprint(sb, el)
		}
	}
	sb.WriteByte(')')
}

type encoder struct {
	buf             []byte
	allowIncomplete bool
	stamps          int // incomplete versionstamps seen
	stampPos        int // offset of the last one's 10 stamp bytes in buf
}

func (e *encoder) tuple(t Tuple, nested bool) error {
	if nested {
		e.buf = append(e.buf, codeNested)
	}
	for i, el := range t {
		if err := e.element(el, nested); err != nil {
			return fmt.Errorf("tuple element %d: %w", i, err)
		}
	}
	if nested {
		e.buf = append(e.buf, 0x00)
	}
	return nil
}

func (e *encoder) element(el any, nested bool) error {
	switch el := el.(type) {
	case nil:
		e.buf = append(e.buf, codeNil)
		if nested {
			e.buf = append(e.buf, escape)
		}
	case Tuple:
		return e.tuple(el, true)
	case []byte:
		e.bytes(codeBytes, el)
	case string:
		e.buf = appendStringElem(e.buf, el)
	case int:
		e.int(int64(el))
	case int8:
		e.int(int64(el))
	case int16:
		e.int(int64(el))
	case int32:
		e.int(int64(el))
	case int64:
		e.int(el)
	case uint:
		e.uint(uint64(el))
	case uint8:
		e.uint(uint64(el))
	case uint16:
		e.uint(uint64(el))
	case uint32:
		e.uint(uint64(el))
	case uint64:
		e.uint(el)
	case *big.Int:
		if el == nil {
			return errors.New("keys: nil *big.Int")
		}
		return e.bigInt(el)
	case big.Int:
		return e.bigInt(&el)
	case float32:
		e.buf = append(e.buf, codeFloat)
		e.buf = appendOrdered(e.buf, uint64(math.Float32bits(el)), 4)
	case float64:
		e.buf = append(e.buf, codeDouble)
		e.buf = appendOrdered(e.buf, math.Float64bits(el), 8)
	case bool:
		if el {
			e.buf = append(e.buf, codeTrue)
		} else {
			e.buf = append(e.buf, codeFalse)
		}
	case UUID:
		e.buf = append(e.buf, codeUUID)
		e.buf = append(e.buf, el[:]...)
	case Versionstamp:
		e.buf = append(e.buf, codeVersionstamp)
		if !el.Complete() {
			if !e.allowIncomplete {
				return errors.New("keys: incomplete versionstamp in Pack; use PackWithVersionstamp")
			}
			e.stamps++
			e.stampPos = len(e.buf)
		}
		e.buf = append(e.buf, el.TransactionVersion[:]...)
		e.buf = binary.BigEndian.AppendUint16(e.buf, el.UserVersion)
	default:
		return fmt.Errorf("keys: cannot pack %T in a tuple", el)
	}
	return nil
}

// bytes writes code, b with every 0x00 escaped as 0x00 0xFF, and the
// terminating 0x00.
func (e *encoder) bytes(code byte, b []byte) {
	e.buf = append(e.buf, code)
	for {
		i := bytes.IndexByte(b, 0x00)
		if i < 0 {
			break
		}
		e.buf = append(e.buf, b[:i+1]...)
		e.buf = append(e.buf, escape)
		b = b[i+1:]
	}
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, 0x00)
}

// uint writes a non-negative integer: code 0x14+n, then n big-endian bytes,
// n minimal, so longer numbers get higher codes and sort after.
func (e *encoder) uint(u uint64) {
	n := byteLen(u)
	e.buf = append(e.buf, byte(codeIntZero+n))
	e.buf = appendBE(e.buf, u, n)
}

// int writes a negative integer as code 0x14−n then the n-byte one's
// complement of its magnitude, which sorts more negative numbers first.
func (e *encoder) int(i int64) {
	if i >= 0 {
		e.uint(uint64(i))
		return
	}
	m := uint64(-i) // also right for MinInt64: -i wraps to 2^63
	n := byteLen(m)
	e.buf = append(e.buf, byte(codeIntZero-n))
	e.buf = appendBE(e.buf, ^m, n)
}

// bigInt writes integers that may exceed 64 bits. Up to 8 bytes of
// magnitude they use the ordinary codes; beyond, code 0x1D and the length,
// or code 0x0B, the length XOR 0xFF and the one's complement.
func (e *encoder) bigInt(b *big.Int) error {
	if b.IsInt64() {
		e.int(b.Int64())
		return nil
	}
	if b.IsUint64() {
		e.uint(b.Uint64())
		return nil
	}
	mag := b.Bytes() // big-endian magnitude, no leading zeros
	n := len(mag)
	if n > maxBigIntLen {
		return fmt.Errorf("keys: integer of %d bytes exceeds the tuple layer's 255", n)
	}
	if b.Sign() > 0 {
		// Positive and more than 64 bits, so n > 8.
		e.buf = append(e.buf, codePosBig, byte(n))
		e.buf = append(e.buf, mag...)
		return nil
	}
	if n > 8 {
		e.buf = append(e.buf, codeNegBig, byte(n)^0xff)
	} else {
		// Below MinInt64 but within 8 bytes: code 0x0C.
		e.buf = append(e.buf, byte(codeIntZero-n))
	}
	for _, c := range mag {
		e.buf = append(e.buf, ^c)
	}
	return nil
}

// appendOrdered writes the n-byte IEEE bits of a float so that the bytes
// sort as the numbers (IEEE total order): negative numbers have every bit
// flipped, others only the sign bit.
func appendOrdered(dst []byte, u uint64, n int) []byte {
	sign := uint64(1) << (8*n - 1)
	if u&sign != 0 {
		u = ^u
	} else {
		u ^= sign
	}
	return appendBE(dst, u, n)
}

// byteLen is the number of bytes of u without leading zero bytes.
func byteLen(u uint64) int {
	return (bits.Len64(u) + 7) / 8
}

// appendBE appends the low n bytes of u, big-endian.
func appendBE(dst []byte, u uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(u>>(8*i)))
	}
	return dst
}

// Unpack decodes a packed tuple. It never panics: malformed input (an
// unknown type code, a truncated element, an unterminated string or nested
// tuple, an integer not in its shortest encoding) gives an error wrapping
// ErrBadTuple with the offset of the bad element. Because Unpack accepts
// only the canonical encoding, Pack(Unpack(b)) == b for every b it accepts
// (PackWithVersionstamp for a b holding an incomplete stamp).
func Unpack(b []byte) (Tuple, error) {
	d := decoder{b: b}
	t, err := d.tuple(false)
	if err != nil {
		return nil, err
	}
	return t, nil
}

type decoder struct {
	b   []byte
	pos int
}

func (d *decoder) errorf(at int, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrBadTuple, at, fmt.Sprintf(format, args...))
}

// tuple decodes elements up to the end of the input (top level) or up to
// the nested tuple's terminating 0x00.
func (d *decoder) tuple(nested bool) (Tuple, error) {
	t := Tuple{}
	for d.pos < len(d.b) {
		if nested && d.b[d.pos] == codeNil {
			if d.pos+1 < len(d.b) && d.b[d.pos+1] == escape {
				t = append(t, nil)
				d.pos += 2
				continue
			}
			d.pos++ // the terminator
			return t, nil
		}
		el, err := d.element()
		if err != nil {
			return nil, err
		}
		t = append(t, el)
	}
	if nested {
		return nil, d.errorf(d.pos, "nested tuple has no terminator")
	}
	return t, nil
}

func (d *decoder) element() (any, error) {
	start := d.pos
	code := d.b[d.pos]
	d.pos++
	switch {
	case code == codeNil:
		return nil, nil
	case code == codeBytes:
		return d.bytes(start)
	case code == codeString:
		b, err := d.bytes(start)
		return string(b), err
	case code == codeNested:
		return d.tuple(true)
	case code == codeNegBig || code == codePosBig:
		return d.bigInt(start, code)
	case code >= codeIntZero-8 && code <= codeIntZero+8:
		return d.int(start, code)
	case code == codeFloat:
		u, err := d.fixed(start, 4, "float")
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(uint32(fromOrdered(u, 4))), nil
	case code == codeDouble:
		u, err := d.fixed(start, 8, "double")
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(fromOrdered(u, 8)), nil
	case code == codeFalse:
		return false, nil
	case code == codeTrue:
		return true, nil
	case code == codeUUID:
		raw, err := d.take(start, 16, "UUID")
		if err != nil {
			return nil, err
		}
		return UUID(raw), nil
	case code == codeVersionstamp:
		raw, err := d.take(start, versionstampLen, "versionstamp")
		if err != nil {
			return nil, err
		}
		return Versionstamp{
			TransactionVersion: store.Versionstamp(raw[:10]),
			UserVersion:        binary.BigEndian.Uint16(raw[10:]),
		}, nil
	}
	return nil, d.errorf(start, "unknown type code 0x%02x", code)
}

// take returns the next n bytes of an element that started at start.
func (d *decoder) take(start, n int, what string) ([]byte, error) {
	if len(d.b)-d.pos < n {
		return nil, d.errorf(start, "%s needs %d bytes, %d left", what, n, len(d.b)-d.pos)
	}
	raw := d.b[d.pos : d.pos+n]
	d.pos += n
	return raw, nil
}

// fixed reads n bytes (n ≤ 8) as a big-endian unsigned integer.
func (d *decoder) fixed(start, n int, what string) (uint64, error) {
	raw, err := d.take(start, n, what)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, c := range raw {
		u = u<<8 | uint64(c)
	}
	return u, nil
}

// bytes reads an escaped string up to its terminating bare 0x00.
func (d *decoder) bytes(start int) ([]byte, error) {
	out := []byte{}
	for {
		i := bytes.IndexByte(d.b[d.pos:], 0x00)
		if i < 0 {
			return nil, d.errorf(start, "string has no terminator")
		}
		out = append(out, d.b[d.pos:d.pos+i+1]...)
		d.pos += i + 1
		if d.pos < len(d.b) && d.b[d.pos] == escape {
			d.pos++ // an escaped 0x00, kept above
			continue
		}
		return out[:len(out)-1], nil // drop the terminator
	}
}

// int decodes codes 0x0C..0x1C. Values that fit come back as int64, larger
// positive ones as uint64 and smaller negative ones (code 0x0C) as
// *big.Int, as the Go binding does.
func (d *decoder) int(start int, code byte) (any, error) {
	if code == codeIntZero {
		return int64(0), nil
	}
	n := int(code) - codeIntZero
	neg := n < 0
	if neg {
		n = -n
	}
	u, err := d.fixed(start, n, "integer")
	if err != nil {
		return nil, err
	}
	first := byte(u >> (8 * (n - 1)))
	if !neg {
		if first == 0x00 {
			return nil, d.errorf(start, "integer not in its shortest encoding")
		}
		if u > math.MaxInt64 {
			return u, nil
		}
		return int64(u), nil
	}
	if first == 0xff {
		return nil, d.errorf(start, "integer not in its shortest encoding")
	}
	m := ^u
	if n < 8 {
		m &= 1<<(8*n) - 1
	}
	if m <= 1<<63 {
		return -int64(m), nil // m == 2^63 wraps to MinInt64, as it should
	}
	return new(big.Int).Neg(new(big.Int).SetUint64(m)), nil
}

// bigInt decodes codes 0x0B and 0x1D: a length byte (XOR 0xFF when
// negative) of 9..255, then the magnitude (one's complement when
// negative).
func (d *decoder) bigInt(start int, code byte) (any, error) {
	lb, err := d.take(start, 1, "integer length")
	if err != nil {
		return nil, err
	}
	n := int(lb[0])
	neg := code == codeNegBig
	if neg {
		n ^= 0xff
	}
	if n <= 8 {
		return nil, d.errorf(start, "integer of %d bytes must use codes 0x0c..0x1c", n)
	}
	raw, err := d.take(start, n, "integer")
	if err != nil {
		return nil, err
	}
	if !neg {
		if raw[0] == 0x00 {
			return nil, d.errorf(start, "integer not in its shortest encoding")
		}
		return new(big.Int).SetBytes(raw), nil
	}
	if raw[0] == 0xff {
		return nil, d.errorf(start, "integer not in its shortest encoding")
	}
	mag := make([]byte, n)
	for i, c := range raw {
		mag[i] = ^c
	}
	return new(big.Int).Neg(new(big.Int).SetBytes(mag)), nil
}

// fromOrdered undoes appendOrdered: a set sign bit means the number was
// positive (only the sign was flipped), a clear one that it was negative.
func fromOrdered(u uint64, n int) uint64 {
	sign := uint64(1) << (8*n - 1)
	if u&sign != 0 {
		return u ^ sign
	}
	return ^u & (sign<<1 - 1)
}
