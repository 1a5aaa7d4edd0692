package znode_test

import (
	"math"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// TestRefreshReplacesItsEntry: a layerd refreshing a session tick after
// tick leaves one expiry-index entry for it, not one per refresh (each of
// which the sweeper would read and clear when due: a transaction per
// active session per tick); a refresh by another layerd (the session
// moved) leaves the first one's entry, which the sweep finds stale once.
func TestRefreshReplacesItsEntry(t *testing.T) { engines.Each(t, testRefreshReplacesItsEntry) }

func testRefreshReplacesItsEntry(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	s, err := f.tree.CreateSessionOn(t.Context(), 4000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Expiry == 0 {
		t.Fatal("CreateSessionOn returned no expiry tick")
	}
	old := s.Expiry
	for i := int64(1); i <= 5; i++ {
		b := znode.Beat{Session: s.ID, Expiry: s.Expiry + i, Old: old}
		if gone, err := f.tree.Heartbeat(t.Context(), []znode.Beat{b}); err != nil || len(gone) != 0 {
			t.Fatalf("heartbeat %d: %v, %v", i, gone, err)
		}
		old = b.Expiry
	}
	if got := entries(t, f, s.ID); len(got) != 1 || got[0] != old {
		t.Fatalf("index entries of the session after 5 refreshes: %v, want only %d", got, old)
	}
	// Another layerd refreshes it (its first beat replaces nothing).
	if _, err := f.tree.Heartbeat(t.Context(), []znode.Beat{{Session: s.ID, Expiry: old + 3}}); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, f, s.ID); len(got) != 2 {
		t.Fatalf("index entries after a second layerd's refresh: %v, want 2", got)
	}
	// The first one's entry is stale when due: swept without expiring.
	f.setClock(old + 1)
	sw, err := znode.SweepExpired(t.Context(), f.db, f.root, keys.Shard(s.ID), old+1)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Expired != 0 || sw.Stale != 1 {
		t.Fatalf("sweep at %d: %+v, want one stale entry and no expiry", old+1, sw)
	}
}

// entries returns the expiry ticks indexed for session.
func entries(t *testing.T, f *fixture, session int64) []int64 {
	t.Helper()
	rows, err := store.ReadTransact(t.Context(), f.db, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(f.root.ExpiryDue(keys.Shard(session), math.MaxInt64-1), store.RangeOptions{}).GetSlice()
	})
	if err != nil {
		t.Fatal(err)
	}
	var ticks []int64
	for _, kv := range rows {
		e, err := f.root.ParseExpiry(kv.Key)
		if err != nil {
			t.Fatal(err)
		}
		if e.Session == session {
			ticks = append(ticks, e.Tick)
		}
	}
	return ticks
}

// TestHeartbeatMarksEachTickDue: a heartbeat marks, for each expiry tick
// it indexes, the shards of the sessions expiring then as due the tick
// after (one mark per tick for all its sessions, not one per session): a
// sweeper reads only marked shards, so a session whose mark was lost
// would outlive its timeout.
func TestHeartbeatMarksEachTickDue(t *testing.T) { engines.Each(t, testHeartbeatMarksEachTickDue) }

func testHeartbeatMarksEachTickDue(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	var beats []znode.Beat
	want := map[int64]map[int]bool{} // due tick → shards
	for i := range 40 {
		s, err := f.tree.CreateSessionOn(ctx, 4000, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Two expiry ticks, well after any the creates marked.
		expiry := s.Expiry + 100 + int64(i%2)*50
		beats = append(beats, znode.Beat{Session: s.ID, Expiry: expiry, Old: s.Expiry})
		if want[expiry+1] == nil {
			want[expiry+1] = map[int]bool{}
		}
		want[expiry+1][keys.Shard(s.ID)] = true
	}
	if gone, err := f.tree.Heartbeat(ctx, beats); err != nil || len(gone) != 0 {
		t.Fatalf("heartbeat: %v, %v", gone, err)
	}
	for tick, shards := range want {
		v, err := store.ReadTransact(ctx, f.db, func(r store.Reader) ([]byte, error) {
			return r.Get(f.root.Due(tick)).Get()
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.DueShards(v)
		if err != nil {
			t.Fatalf("due summary of tick %d: %v", tick, err)
		}
		if len(got) != len(shards) {
			t.Errorf("tick %d: %d shards marked, want %d", tick, len(got), len(shards))
		}
		for _, sh := range got {
			if !shards[sh] {
				t.Errorf("tick %d: shard %d marked, no session of it expires then", tick, sh)
			}
		}
	}
}
