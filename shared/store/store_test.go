package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestPrefixRange(t *testing.T) {
	for _, tc := range []struct {
		prefix, end []byte
	}{
		{[]byte("a"), []byte("b")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xff\xff"), []byte("b")},
		{[]byte{}, []byte{0xff}},
		{[]byte{0xfe, 0xff}, []byte{0xff}},
	} {
		t.Run(fmt.Sprintf("%x", tc.prefix), func(t *testing.T) {
			r := PrefixRange(tc.prefix)
			if !bytes.Equal(r.Begin, tc.prefix) || !bytes.Equal(r.End, tc.end) {
				t.Fatalf("PrefixRange(%x) = [%x, %x), want [%x, %x)", tc.prefix, r.Begin, r.End, tc.prefix, tc.end)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	wrapped := fmt.Errorf("create /a: %w", ErrNotCommitted)
	if !errors.Is(wrapped, ErrNotCommitted) || errors.Is(wrapped, ErrCommitUnknownResult) {
		t.Fatal("errors.Is does not match codes through wrapping")
	}
	if Code(wrapped) != 1020 || Code(errors.New("x")) != 0 {
		t.Fatalf("Code: %d, %d", Code(wrapped), Code(errors.New("x")))
	}
	for _, tc := range []struct {
		err            Error
		retry, unknown bool
	}{
		{ErrNotCommitted, true, false},
		{ErrTransactionTooOld, true, false},
		{ErrFutureVersion, true, false},
		{ErrCommitUnknownResult, false, true},
		{ErrClusterVersionChanged, false, true},
		{ErrTransactionTimedOut, false, false},
		{ErrKeyTooLarge, false, false},
	} {
		if tc.err.Retryable() != tc.retry || tc.err.MaybeCommitted() != tc.unknown {
			t.Errorf("%v: Retryable %v MaybeCommitted %v, want %v %v", tc.err, tc.err.Retryable(), tc.err.MaybeCommitted(), tc.retry, tc.unknown)
		}
		if IsRetryable(tc.err) != (tc.retry || tc.unknown) {
			t.Errorf("IsRetryable(%v) = %v", tc.err, IsRetryable(tc.err))
		}
	}
	if got := ErrNotCommitted.Error(); got != "store: not_committed (1020)" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestVersionstamp(t *testing.T) {
	v := Versionstamp{0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x00, 0x07}
	if v.Version() != 0x0102 || v.Order() != 7 {
		t.Fatalf("Version %d Order %d", v.Version(), v.Order())
	}
	if got := AppendStampOffset([]byte("k"), 0x01020304); !bytes.Equal(got, []byte{'k', 4, 3, 2, 1}) {
		t.Fatalf("AppendStampOffset = %x", got)
	}
}
