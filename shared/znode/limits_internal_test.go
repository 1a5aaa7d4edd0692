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

// TestWriteFiresManyWatches: a setData that fires the data watches of
// 10,000 sessions (about as many as one transaction holds: the write
// logs an event and bumps a key per session) fires each once and clears
// them all, in time linear in their number.
func TestWriteFiresManyWatches(t *testing.T) { engines.Each(t, testWriteFiresManyWatches) }

func testWriteFiresManyWatches(t *testing.T, e engines.Engine) {
	const n = 10_000
	st := e.Open(t, engines.Options{})
	tr := New(st.DB, st.Root.Tenant(keys.DefaultTenant), Options{})
	ctx := t.Context()
	if err := tr.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if w, err := tr.Write(ctx, Caller{Now: 1}, []Op{CreateOp{Path: "/hot", ACL: OpenACLUnsafe, TTL: -1}}); err != nil || w.Failed() != nil {
		t.Fatal(err, w.Failed())
	}
	// The watches, registered directly: n watched reads would be n
	// transactions.
	for b := 0; b < n; b += 5000 {
		if _, err := store.Transact(ctx, st.DB, func(tx store.Tx) (struct{}, error) {
			for i := b; i < min(b+5000, n); i++ {
				if err := tr.register(tx, Conn{Session: int64(i + 1), ID: 1}, "/hot", keys.WatchData); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	w, err := tr.Write(ctx, Caller{Now: 1}, []Op{SetDataOp{Path: "/hot", Data: []byte("x"), Version: -1}})
	if err != nil || w.Failed() != nil {
		t.Fatalf("setData firing %d watches: %v, %v", n, err, w.Failed())
	}
	t.Logf("setData firing %d watches: %v", n, time.Since(start))
	kp, _ := keys.NewPath("/hot")
	rows, err := store.ReadTransact(ctx, st.DB, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(tr.t.Watchers(kp), store.RangeOptions{Limit: 1}).GetSlice()
	})
	if err != nil || len(rows) != 0 {
		t.Fatalf("watches left on /hot: %d, %v", len(rows), err)
	}
	for _, s := range []int64{1, n / 2, n} {
		evs, _, err := tr.Events(ctx, Conn{Session: s, ID: 1}, keys.Versionstamp{}, 0)
		if err != nil || len(evs) != 1 || evs[0].Type != EventNodeDataChanged {
			t.Fatalf("events of session %d: %+v, %v", s, evs, err)
		}
	}
}
