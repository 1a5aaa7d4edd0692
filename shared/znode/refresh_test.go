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
