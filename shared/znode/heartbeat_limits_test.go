package znode

import (
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// TestHeartbeatManySessions: one layerd's refresh of 60,000 sessions in a
// tick, more than one FoundationDB transaction holds (10 MB), is written
// in batches, every session refreshed.
func TestHeartbeatManySessions(t *testing.T) { engines.Each(t, testHeartbeatManySessions) }

func testHeartbeatManySessions(t *testing.T, e engines.Engine) {
	const n = 60_000
	st := e.Open(t, engines.Options{})
	tr := New(st.DB, st.Root.Tenant(keys.DefaultTenant), Options{})
	ctx := t.Context()
	// The sessions' records, written directly: 60,000 session creates
	// would be as many transactions.
	var beats []Beat
	for b := 0; b < n; b += 5000 {
		if _, err := store.Transact(ctx, st.DB, func(tx store.Tx) (struct{}, error) {
			for id := int64(b + 1); id <= int64(min(b+5000, n)); id++ {
				tx.Set(tr.t.Session(id), Session{ID: id, Timeout: 10_000}.encode())
			}
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(1); id <= n; id++ {
		beats = append(beats, Beat{Session: id, Expiry: 1000 + id, Old: 0})
	}
	beats = append(beats, Beat{Session: n + 1, Expiry: 5}) // no such session
	start := time.Now()
	gone, err := tr.Heartbeat(ctx, beats)
	if err != nil || len(gone) != 1 || gone[0] != n+1 {
		t.Fatalf("heartbeat of %d sessions: gone %v, %v", n, len(gone), err)
	}
	t.Logf("heartbeat of %d sessions: %v", n, time.Since(start))
	for _, id := range []int64{1, n / 2, n} {
		b, err := store.ReadTransact(ctx, st.DB, func(r store.Reader) ([]byte, error) {
			return r.Get(tr.t.SessionExpiry(id)).Get()
		})
		if got, _ := keys.DecodeInt64(b); err != nil || got != 1000+id {
			t.Fatalf("expiry of session %d: %d, %v; want %d", id, got, err, 1000+id)
		}
	}
}
