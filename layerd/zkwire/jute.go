package zkwire

import (
	"encoding/binary"
	"fmt"
)

// Record is a jute record.
type Record interface {
	// AppendJute appends the record's encoding to dst and returns the
	// extended slice.
	AppendJute(dst []byte) []byte
	// DecodeJute reads the record's fields from d. Errors stick in d.
	DecodeJute(d *Decoder)
}

// Decode decodes r from b, ignoring any bytes after it, as ZooKeeper does.
// Errors wrap ErrMalformed.
func Decode(b []byte, r Record) error {
	d := NewDecoder(b)
	r.DecodeJute(d)
	return d.Err()
}

// AppendInt appends a jute int.
func AppendInt(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v))
}

// AppendLong appends a jute long.
func AppendLong(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// AppendBool appends a jute boolean: one byte, 1 or 0.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// AppendBuffer appends a jute buffer; nil is appended as null (length −1).
func AppendBuffer(dst, b []byte) []byte {
	if b == nil {
		return AppendInt(dst, -1)
	}
	dst = AppendInt(dst, int32(len(b)))
	return append(dst, b...)
}

// AppendUstring appends a jute ustring. It is never null.
func AppendUstring(dst []byte, s string) []byte {
	dst = AppendInt(dst, int32(len(s)))
	return append(dst, s...)
}

// AppendStrings appends a jute vector<ustring>; nil is appended as null
// (count −1).
func AppendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return AppendInt(dst, -1)
	}
	dst = AppendInt(dst, int32(len(ss)))
	for _, s := range ss {
		dst = AppendUstring(dst, s)
	}
	return dst
}

// Decoder reads jute values from a byte slice. The first error sticks:
// later reads return zero values and Err reports it. A Decoder never panics,
// and checks every length and count against the bytes left before it
// allocates. It is not safe for concurrent use.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder reading b. Decoded buffers are copies; b may
// be reused once decoding is done.
func NewDecoder(b []byte) *Decoder {
	return &Decoder{b: b}
}

// Err returns the first error met, which wraps ErrMalformed unless set
// with Fail.
func (d *Decoder) Err() error { return d.err }

// Fail records err as the decoder's error if it has none yet. Records with
// their own checks (multi ops) use it.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Remaining returns the number of bytes not read yet.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Offset returns the number of bytes read so far.
func (d *Decoder) Offset() int { return d.off }

func (d *Decoder) failf(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), d.off)
	}
}

// take returns the next n bytes, or nil after recording an error.
func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.Remaining() {
		d.failf("%s needs %d bytes, %d left", what, n, d.Remaining())
		return nil
	}
	b := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// Int reads a jute int.
func (d *Decoder) Int() int32 {
	b := d.take(4, "int")
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads a jute long.
func (d *Decoder) Long() int64 {
	b := d.take(8, "long")
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Bool reads a jute boolean. Like Java's DataInput.readBoolean, any
// non-zero byte is true.
func (d *Decoder) Bool() bool {
	b := d.take(1, "bool")
	return b != nil && b[0] != 0
}

// length reads a buffer or string length: −1 means null; other negative
// lengths and lengths beyond the input are errors.
func (d *Decoder) length(what string) (n int, null bool) {
	l := d.Int()
	switch {
	case d.err != nil:
		return 0, false
	case l == -1:
		return 0, true
	case l < 0:
		d.failf("%s length %d", what, l)
		return 0, false
	case int64(l) > int64(d.Remaining()):
		d.failf("%s length %d, %d bytes left", what, l, d.Remaining())
		return 0, false
	}
	return int(l), false
}

// Buffer reads a jute buffer: nil for null, a non-nil copy otherwise.
func (d *Decoder) Buffer() []byte {
	n, null := d.length("buffer")
	if null || d.err != nil {
		return nil
	}
	b := d.take(n, "buffer")
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, n), b...)
}

// Ustring reads a jute ustring; null gives "". The bytes are not checked
// for valid UTF-8.
func (d *Decoder) Ustring() string {
	n, null := d.length("ustring")
	if null || d.err != nil {
		return ""
	}
	return string(d.take(n, "ustring"))
}

// VectorLen reads a vector count: null is true for −1. minItem, the
// smallest encoding of one item in bytes (at least 1), bounds the count by
// the bytes left, so a count the input cannot hold is an error before any
// allocation.
func (d *Decoder) VectorLen(minItem int) (n int, null bool) {
	c := d.Int()
	switch {
	case d.err != nil:
		return 0, false
	case c == -1:
		return 0, true
	case c < 0:
		d.failf("vector count %d", c)
		return 0, false
	case int64(c)*int64(max(minItem, 1)) > int64(d.Remaining()):
		d.failf("vector count %d, %d bytes left", c, d.Remaining())
		return 0, false
	}
	return int(c), false
}

// Strings reads a jute vector<ustring>: nil for null, non-nil otherwise.
func (d *Decoder) Strings() []string {
	n, null := d.VectorLen(4)
	if null || d.err != nil {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.Ustring()
	}
	if d.err != nil {
		return nil
	}
	return ss
}
