package znode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"zkfdb/shared/store"
)

// committed fills a SetVersionstampedValue template as a commit does.
func committed(template []byte, stamp store.Versionstamp) []byte {
	n := len(template) - 4
	off := binary.LittleEndian.Uint32(template[n:])
	b := append([]byte(nil), template[:n]...)
	copy(b[off:], stamp[:])
	return b
}

func TestLastWriteRoundTrip(t *testing.T) {
	stamp := store.Versionstamp{0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 7}
	old := store.Versionstamp{0, 0, 0, 0, 0, 0, 0x11, 0, 0, 1}
	token := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	created := node{exists: true, counted: true, counts: 3<<32 | 2, rec: record{
		czxid: zx{pending: true}, mzxid: zx{pending: true}, ctime: 1_700_000_000_123, mtime: 1_700_000_000_123,
		version: 0, aversion: 0, owner: 0x1234_5678_9abc, dataLength: 100,
	}}
	changed := node{exists: true, counted: true, hasPz: true, pzxid: zx{pending: true}, rec: record{
		czxid: zx{stamp: old}, mzxid: zx{stamp: old}, ctime: 5, mtime: 6, version: -2, aversion: 9, owner: containerOwner, dataLength: -1,
	}}
	rs := []pendingResult{
		{Path: "/a/n-0000000007", snap: created, has: true},
		{Path: "/b"},
		{Path: "/c/\u00e9", snap: changed, has: true},
	}
	b, err := encodeLastWrite(token, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	lw, ok := decodeLastWrite(committed(b, stamp))
	if !ok {
		t.Fatal("decodeLastWrite refused its own record")
	}
	if lw.Token != token || lw.failure != nil {
		t.Fatalf("token %x failure %v", lw.Token, lw.failure)
	}
	if want := resolve(rs, stamp); !reflect.DeepEqual(lw.written(len(rs)), want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", lw.written(len(rs)), want)
	}

	b, err = encodeLastWrite(token, nil, &multiFailure{at: 2, err: ErrBadVersion})
	if err != nil {
		t.Fatal(err)
	}
	lw, ok = decodeLastWrite(committed(b, stamp))
	if !ok || lw.failure == nil || lw.failure.at != 2 || !errors.Is(lw.failure.err, ErrBadVersion) || lw.Zxid != Zxid(stamp) {
		t.Fatalf("failure record decoded as %+v, %v", lw, ok)
	}
	w := lw.written(4)
	if w.Results[1].Err != nil || !errors.Is(w.Results[2].Err, ErrBadVersion) || !errors.Is(w.Results[3].Err, ErrRuntimeInconsistency) {
		t.Fatalf("failure replayed as %+v", w.Results)
	}

	// Every error a write can fail with is stored as a code and comes
	// back as itself, wrapped or not; another keeps its message.
	for _, cause := range append(slices.Clone(sentinels), fmt.Errorf("op: %w", ErrNoAuth), errors.New("something else")) {
		b, err := encodeLastWrite(token, nil, &multiFailure{at: 0, err: cause})
		if err != nil {
			t.Fatal(err)
		}
		lw, ok := decodeLastWrite(committed(b, stamp))
		if !ok || lw.failure == nil {
			t.Fatalf("failure %v decoded as %+v, %v", cause, lw, ok)
		}
		want := cause
		if errors.Unwrap(cause) != nil {
			want = errors.Unwrap(cause)
		}
		if lw.failure.err.Error() != want.Error() || (failureCode(cause) != 0 && lw.failure.err != want) {
			t.Errorf("failure %v came back as %v", cause, lw.failure.err)
		}
	}
	if got := failureCode(ErrNoNode); got != 1 {
		t.Errorf("ErrNoNode's stored code = %d; codes are stored, never renumber them", got)
	}

	// Every truncation of a record is refused, never misread.
	full := committed(mustEncode(t, token, rs), stamp)
	for n := range len(full) {
		if _, ok := decodeLastWrite(full[:n]); ok {
			t.Fatalf("a record cut to %d of %d bytes was accepted", n, len(full))
		}
	}
}

func mustEncode(t *testing.T, token [16]byte, rs []pendingResult) []byte {
	b, err := encodeLastWrite(token, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeLastWrite: a corrupt record is refused or read, never a panic.
func FuzzDecodeLastWrite(f *testing.F) {
	var token [16]byte
	b, _ := encodeLastWrite(token, []pendingResult{{Path: "/x", has: true, snap: node{exists: true}}}, nil)
	f.Add(committed(b, store.Versionstamp{}))
	b, _ = encodeLastWrite(token, nil, &multiFailure{at: 1, err: ErrNoNode})
	f.Add(committed(b, store.Versionstamp{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		lw, ok := decodeLastWrite(b)
		if ok && lw.failure == nil && len(lw.Results) > len(b) {
			t.Fatalf("%d results from %d bytes", len(lw.Results), len(b))
		}
	})
}
