package embedded

import (
	"context"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// OnError's backoff doubles from 10 ms up to max_retry_delay: 1 s by
// default, or what SetMaxRetryDelay says, across OnError.
func TestRetryBackoffCap(t *testing.T) {
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		cap, want time.Duration // cap 0: not set
		errors    int
	}{
		{0, 80 * time.Millisecond, 3},
		{0, time.Second, 7}, // 10 ms · 2^7 > 1 s
		{20 * time.Millisecond, 20 * time.Millisecond, 4},
	} {
		tr, err := db.CreateTransaction(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		x := tr.(*tx)
		if tc.cap > 0 {
			x.SetMaxRetryDelay(tc.cap)
		}
		for range tc.errors {
			if err := x.OnError(store.ErrNotCommitted); err != nil {
				t.Fatal(err)
			}
		}
		x.mu.Lock()
		got := x.backoff
		x.mu.Unlock()
		if got != tc.want {
			t.Errorf("max retry delay %v: backoff after %d conflicts = %v, want %v", tc.cap, tc.errors, got, tc.want)
		}
		x.Close()
	}
}
