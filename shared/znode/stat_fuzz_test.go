package znode

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"zkfdb/shared/store"
)

// seedRecords are stat records as writes make them: a create (czxid and
// mzxid this transaction's), a setData, a setACL of several entries, a
// container, a TTL node and an ephemeral with null data.
func seedRecords() []record {
	old := store.Versionstamp{0, 0, 0, 0, 0, 0, 0x11, 0, 0, 1}
	older := store.Versionstamp{0, 0, 0, 0, 0, 0, 0x10, 0xff, 0, 2}
	return []record{
		{czxid: zx{pending: true}, mzxid: zx{pending: true}, ctime: 1_700_000_000_123, mtime: 1_700_000_000_123, acl: OpenACLUnsafe},
		{czxid: zx{stamp: older}, mzxid: zx{pending: true}, ctime: 5, mtime: 6, version: 3, dataLength: 1 << 20, acl: ReadACLUnsafe},
		{czxid: zx{stamp: older}, mzxid: zx{stamp: old}, version: -2, aversion: 9, dataLength: 7, acl: []ACL{
			{PermRead | PermWrite, ID{"digest", DigestID("user:secret")}},
			{PermAdmin, ID{"ip", "10.0.0.0/8"}},
			{PermAll, ID{"x509", "CN=\u00e9,O=\x00"}},
			{0, ID{}},
		}},
		{czxid: zx{stamp: old}, mzxid: zx{stamp: old}, owner: containerOwner, acl: OpenACLUnsafe},
		{czxid: zx{pending: true}, mzxid: zx{pending: true}, owner: ttlOwner(MaxTTL), mtime: math.MaxInt64, acl: OpenACLUnsafe},
		{czxid: zx{stamp: old}, mzxid: zx{stamp: old}, owner: 0x1234_5678_9abc, dataNull: true, dataLength: -1, ctime: math.MinInt64},
	}
}

// ttlOwner is the ephemeralOwner of a TTL node of ttl ms.
func ttlOwner(ttl int64) int64 { return int64(ttlOwnerMark | uint64(ttl)) }

// stored returns r as the store holds it once its transaction committed
// with stamp: the SetVersionstampedValue template filled in when r's mzxid
// is the transaction's own.
func stored(r record, stamp store.Versionstamp) []byte {
	b, stamped := r.encode()
	if stamped {
		return committed(b, stamp)
	}
	return b
}

// resolved is r as decodeRecord reads stored(r, stamp) back.
func resolved(r record, stamp store.Versionstamp) record {
	if r.mzxid.pending {
		r.mzxid = zx{stamp: stamp}
	}
	if r.czxid.pending {
		r.czxid = r.mzxid
	}
	return r
}

// refusesCuts checks that decode refuses every strict prefix of enc, a
// whole record: one cut short is never read as a shorter one. Records of
// more than 512 bytes are cut at 512 places spread over them, so that a
// long input costs the fuzzer linear, not quadratic, time.
func refusesCuts(t *testing.T, enc []byte, decode func([]byte) error) {
	t.Helper()
	step := max(1, len(enc)/512)
	for n := len(enc) - 1; n >= 0; n -= step {
		if decode(enc[:n]) == nil {
			t.Fatalf("% x, a record cut to %d of %d bytes, was accepted", enc[:n], n, len(enc))
		}
	}
}

// FuzzDecodeRecord: a stat record is read or refused with errBadRecord,
// never a panic. What is read encodes back to the bytes it was read from
// (less what the format leaves undefined: bytes after the ACL, flag bits
// other than the two it has, and the czxid the create flag replaces), and
// every cut of that encoding is refused.
func FuzzDecodeRecord(f *testing.F) {
	stamp := store.Versionstamp{0, 0, 0, 0, 0, 0x01, 0x23, 0x45, 0, 3}
	for _, r := range seedRecords() {
		b := stored(r, stamp)
		got, err := decodeRecord(b)
		if want := resolved(r, stamp); err != nil || !reflect.DeepEqual(got, want) {
			f.Fatalf("decodeRecord(encode(%+v)) = %+v, %v", want, got, err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, recordFixedLength)) // format 0
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, errBadRecord) {
				t.Fatalf("decodeRecord(% x) = %v, not errBadRecord", b, err)
			}
			return
		}
		enc, stamped := r.encode()
		if stamped {
			t.Fatalf("decodeRecord(% x) = %+v, with a pending mzxid", b, r)
		}
		if len(enc) > len(b) {
			t.Fatalf("decodeRecord(% x) = %+v, which encodes to %d bytes", b, r, len(enc))
		}
		want := bytes.Clone(b[:len(enc)])
		want[1] &= flagDataNull
		if b[1]&flagCzxidIsMzxid != 0 {
			copy(want[12:22], b[2:12])
		}
		if !bytes.Equal(enc, want) {
			t.Fatalf("decodeRecord(% x) = %+v, which encodes to % x", b, r, enc)
		}
		if r2, err := decodeRecord(enc); err != nil || !reflect.DeepEqual(r2, r) {
			t.Fatalf("decodeRecord(% x) = %+v, %v; want %+v", enc, r2, err, r)
		}
		refusesCuts(t, enc, func(b []byte) error { _, err := decodeRecord(b); return err })
	})
}

// FuzzDecodeCounts: the child counters are read as FDB's atomic add
// treats a value (missing high bytes are zero; a longer value is cut to
// the 8 bytes of the add's parameter), so counterParam writes back exactly
// what was read, and a child create or delete moves numChildren by one and
// the visible cversion up by one.
func FuzzDecodeCounts(f *testing.F) {
	for _, c := range []uint64{0, childCreated, 3<<32 | 2, 7<<32 | 5, math.MaxUint32, math.MaxUint64} {
		if got := decodeCounts(counterParam(c)); got != c {
			f.Fatalf("decodeCounts(counterParam(%#x)) = %#x", c, got)
		}
		f.Add(counterParam(c))
	}
	f.Add([]byte(nil))
	f.Add([]byte{5})
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := decodeCounts(b)
		want := make([]byte, 8)
		copy(want, b)
		if got := counterParam(c); !bytes.Equal(got, want) {
			t.Fatalf("decodeCounts(% x) = %#x, which is stored as % x", b, c, got)
		}
		n, v := numChildren(c), visibleCversion(c)
		if uint32(c) != math.MaxUint32 { // no carry out of numChildren
			if a := decodeCounts(counterParam(c + childCreated)); numChildren(a) != n+1 || visibleCversion(a) != v+1 {
				t.Fatalf("a create moved %#x (numChildren %d, cversion %d) to numChildren %d, cversion %d",
					c, n, v, numChildren(a), visibleCversion(a))
			}
		}
		if uint32(c) != 0 { // no borrow from the stored cversion
			if d := decodeCounts(counterParam(c + childDeleted)); numChildren(d) != n-1 || visibleCversion(d) != v+1 {
				t.Fatalf("a delete moved %#x (numChildren %d, cversion %d) to numChildren %d, cversion %d",
					c, n, v, numChildren(d), visibleCversion(d))
			}
		}
	})
}
