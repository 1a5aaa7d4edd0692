//go:build fdb

package fdbstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apple/foundationdb/bindings/go/src/fdb"

	"zkfdb/shared/store"
)

func TestStoreErr(t *testing.T) {
	plain := errors.New("plain")
	for _, tc := range []struct {
		name string
		in   error
		want error
	}{
		{"nil", nil, nil},
		{"fdb", fdb.Error{Code: 1020}, store.ErrNotCommitted},
		{"wrapped fdb", fmt.Errorf("read: %w", fdb.Error{Code: 1007}), store.ErrTransactionTooOld},
		{"unknown code", fdb.Error{Code: 4100}, store.Error{Code: 4100}},
		{"plain", plain, plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := storeErr(tc.in)
			if !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
				t.Fatalf("storeErr(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestFDBErr(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     error
		want   int
		wantOK bool
	}{
		{"store", store.ErrNotCommitted, 1020, true},
		{"wrapped store", fmt.Errorf("create /a: %w", store.ErrCommitUnknownResult), 1021, true},
		{"fdb", fdb.Error{Code: 1009}, 1009, true},
		{"plain", errors.New("plain"), 0, false},
		{"nil", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := fdbErr(tc.in)
			if ok != tc.wantOK || got.Code != tc.want {
				t.Fatalf("fdbErr(%v) = %d, %v; want %d, %v", tc.in, got.Code, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestStreamingMode(t *testing.T) {
	for _, tc := range []struct {
		in   store.StreamingMode
		want fdb.StreamingMode
	}{
		{store.StreamingIterator, fdb.StreamingModeIterator},
		{store.StreamingWantAll, fdb.StreamingModeWantAll},
		{store.StreamingExact, fdb.StreamingModeExact},
		{store.StreamingSmall, fdb.StreamingModeSmall},
		{store.StreamingMedium, fdb.StreamingModeMedium},
		{store.StreamingLarge, fdb.StreamingModeLarge},
		{store.StreamingSerial, fdb.StreamingModeSerial},
	} {
		if got, ok := streamingMode(tc.in); !ok || got != tc.want {
			t.Errorf("streamingMode(%d) = %d, %v; want %d", tc.in, got, ok, tc.want)
		}
	}
	if _, ok := streamingMode(store.StreamingMode(42)); ok {
		t.Errorf("streamingMode(42) accepted")
	}
}

func TestMillis(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{1500 * time.Microsecond, 2},
		{5 * time.Second, 5000},
	} {
		if got := millis(tc.in); got != tc.want {
			t.Errorf("millis(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
