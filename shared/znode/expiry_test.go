package znode_test

import (
	"sync"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// setClock sets the cluster clock to tick, as the ticker would.
func (f *fixture) setClock(tick int64) {
	f.t.Helper()
	if _, err := store.Transact(f.t.Context(), f.db, func(tx store.Tx) (struct{}, error) {
		tx.Set(f.root.Clock(), clock.Encode(tick))
		return struct{}{}, nil
	}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sweepAll(now int64) znode.Sweep {
	f.t.Helper()
	var total znode.Sweep
	for shard := range keys.Shards {
		sw, err := znode.SweepExpired(f.t.Context(), f.db, f.root, shard, now)
		if err != nil {
			f.t.Fatal(err)
		}
		total.Expired += sw.Expired
		total.Ephemerals += sw.Ephemerals
		total.Stale += sw.Stale
	}
	return total
}

func TestSessionExpiry(t *testing.T) { engines.Each(t, testSessionExpiry) }

func testSessionExpiry(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	f.setClock(100)
	// The fixture's session, made at tick 0 with 10 s, is long expired.
	if sw := f.sweepAll(100); sw.Expired != 1 {
		t.Fatalf("sweep at 100: %+v, want the fixture's session expired", sw)
	}
	s, err := f.tree.CreateSession(ctx, 4000) // 4 ticks of 1 s
	if err != nil {
		t.Fatal(err)
	}
	if got := f.tree.TimeoutTicks(4000); got != 4 {
		t.Fatalf("TimeoutTicks(4000) = %d, want 4", got)
	}
	owner := znode.Caller{Session: s.ID, Auth: f.auth, Now: 1}
	f.mustCreate("/parent", 0)
	if w, err := f.tree.Write(ctx, owner, []znode.Op{znode.CreateOp{Path: "/parent/eph", ACL: znode.OpenACLUnsafe, Flags: 1, TTL: -1}}); err != nil || w.Failed() != nil {
		t.Fatalf("ephemeral: %v %v", err, w.Failed())
	}
	w := f.watcher(9)
	if _, err := f.tree.GetChildrenWatch(ctx, f.auth, w.conn, "/parent"); err != nil {
		t.Fatal(err)
	}

	// Not yet due: expiry tick 104 is expired from tick 105.
	if sw := f.sweepAll(104); sw.Expired != 0 {
		t.Fatalf("sweep at 104: %+v, want nothing expired", sw)
	}
	// A heartbeat moves it to 108: the entry at 104 is stale at 105.
	gone, err := f.tree.Heartbeat(ctx, []znode.Beat{{Session: s.ID, Expiry: 108}})
	if err != nil || len(gone) != 0 {
		t.Fatalf("heartbeat: %v, %v", gone, err)
	}
	if sw := f.sweepAll(105); sw.Expired != 0 || sw.Stale != 1 {
		t.Fatalf("sweep at 105 after a refresh: %+v, want one stale entry cleared", sw)
	}
	if sw := f.sweepAll(109); sw.Expired != 1 || sw.Ephemerals != 1 {
		t.Fatalf("sweep at 109: %+v, want the session and its ephemeral gone", sw)
	}
	if st := f.stat("/parent"); st.NumChildren != 0 || st.Cversion != 2 {
		t.Errorf("parent after expiry: %+v, want numChildren 0, cversion 2", st)
	}
	w.expect(children + "/parent")
	if _, err := f.tree.ResumeSession(ctx, s.ID, s.Password[:], 4000); err != znode.ErrSessionExpired {
		t.Errorf("resume after expiry = %v, want SessionExpired", err)
	}
	if w, err := f.tree.Write(ctx, owner, []znode.Op{znode.CreateOp{Path: "/parent/late", ACL: znode.OpenACLUnsafe, Flags: 1, TTL: -1}}); err != nil || w.Failed() != znode.ErrSessionExpired {
		t.Errorf("ephemeral create by the expired session: %v %v, want SessionExpired", err, w.Failed())
	}
	gone, err = f.tree.Heartbeat(ctx, []znode.Beat{{Session: s.ID, Expiry: 120}})
	if err != nil || len(gone) != 1 || gone[0] != s.ID {
		t.Errorf("heartbeat of the expired session: %v, %v; want it reported gone", gone, err)
	}
	// Later: only the watcher's session (made at 100 with 10 s) is due;
	// the refused heartbeat left nothing.
	if sw := f.sweepAll(200); sw.Expired != 1 || sw.Stale != 0 {
		t.Errorf("sweep at 200: %+v, want only the watcher's session expired", sw)
	}
}

func (f *fixture) reapAll(now int64) int {
	f.t.Helper()
	n := 0
	for shard := range keys.Shards {
		d, err := znode.SweepNodes(f.t.Context(), f.db, f.root, shard, now, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		n += d
	}
	return n
}

func (f *fixture) exists(p string) bool {
	f.t.Helper()
	_, err := f.tree.Exists(f.t.Context(), f.auth, p)
	if err != nil && err != znode.ErrNoNode {
		f.t.Fatal(err)
	}
	return err == nil
}

func TestReaper(t *testing.T) { engines.Each(t, testReaper) }

func testReaper(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.setClock(10)
	mk := func(op znode.CreateOp) {
		t.Helper()
		op.ACL = znode.OpenACLUnsafe
		if op.TTL == 0 {
			op.TTL = -1
		}
		if w := f.write(op); w.Failed() != nil {
			t.Fatalf("create %s: %v", op.Path, w.Failed())
		}
	}
	mk(znode.CreateOp{Path: "/used", Flags: 4, Container: true})
	mk(znode.CreateOp{Path: "/used/a"})
	mk(znode.CreateOp{Path: "/never", Flags: 4, Container: true})
	mk(znode.CreateOp{Path: "/busy", Flags: 4, Container: true})
	mk(znode.CreateOp{Path: "/busy/a"})
	mk(znode.CreateOp{Path: "/busy/b"})
	mk(znode.CreateOp{Path: "/ttl", Flags: 5, TTL: 1})
	mk(znode.CreateOp{Path: "/ttl-parent", Flags: 5, TTL: 1})
	mk(znode.CreateOp{Path: "/ttl-parent/kid"})
	mk(znode.CreateOp{Path: "/ttl-long", Flags: 5, TTL: 3_600_000})
	mk(znode.CreateOp{Path: "/ttl-set", Flags: 5, TTL: 2000}) // due at 13
	f.write(znode.DeleteOp{Path: "/used/a", Version: -1})
	f.write(znode.DeleteOp{Path: "/busy/a", Version: -1})

	f.setClock(12)
	f.write(znode.SetDataOp{Path: "/ttl-set", Data: []byte("later"), Version: -1}) // now due at 15
	// Not due before the next tick.
	if n := f.reapAll(10); n != 0 {
		t.Fatalf("reaped %d at the tick of the deletes", n)
	}
	if n := f.reapAll(13); n != 2 || f.exists("/used") || f.exists("/ttl") {
		t.Fatalf("reaped %d at tick 13; want the emptied container and the expired TTL node", n)
	}
	for _, p := range []string{"/never", "/busy", "/ttl-parent", "/ttl-long", "/ttl-set"} {
		if !f.exists(p) {
			t.Errorf("%s was reaped: a container never used, one with a child, a TTL node with a child, a TTL not passed (since its last setData)", p)
		}
	}
	// The TTL parent's child goes: it is reaped at a later look.
	f.write(znode.DeleteOp{Path: "/ttl-parent/kid", Version: -1})
	if n := f.reapAll(15); n != 2 || f.exists("/ttl-parent") || f.exists("/ttl-set") {
		t.Errorf("reaped %d at 15; want the TTL node whose child went and the one set at 12", n)
	}
}

// Refreshes of one session from two layerds at once (a client that moved)
// never conflict: they are blind writes and an atomic max.
func TestConcurrentRefreshesDoNotConflict(t *testing.T) {
	engines.Each(t, testConcurrentRefreshesDoNotConflict)
}

func testConcurrentRefreshesDoNotConflict(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	var wg sync.WaitGroup
	for layerd := range 2 {
		wg.Go(func() {
			for i := range 100 {
				if _, err := f.tree.Heartbeat(ctx, []znode.Beat{{Session: f.sess, Expiry: int64(100 + 2*i + layerd)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := f.commits.conflicts.Load(); n > 0 {
		t.Errorf("%v refreshes conflicted", n)
	}
	if committed := f.commits.writes.Load(); committed < 200 {
		t.Errorf("%v commits, want at least the 200 refreshes", committed)
	}
	// The highest refresh wins, whichever committed last.
	if sw := f.sweepAll(299); sw.Expired != 0 {
		t.Errorf("the session expired at 299 though refreshed to 299: %+v", sw)
	}
}

// A write through a connection that no longer owns its session fails
// with ErrSessionMoved; one of a session that is gone, ErrSessionExpired.
func TestWriteChecksOwner(t *testing.T) { engines.Each(t, testWriteChecksOwner) }

func testWriteChecksOwner(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	s, err := f.tree.CreateSessionOn(ctx, 4000, 5)
	if err != nil {
		t.Fatal(err)
	}
	op := []znode.Op{znode.CreateOp{Path: "/o", ACL: znode.OpenACLUnsafe, TTL: -1}}
	if _, err := f.tree.ResumeSessionOn(ctx, s.ID, s.Password[:], 4000, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tree.Write(ctx, znode.Caller{Session: s.ID, Conn: 5, Now: 1}, op); err != znode.ErrSessionMoved {
		t.Fatalf("write through the old connection = %v, want ErrSessionMoved", err)
	}
	if f.exists("/o") {
		t.Fatal("the refused write was applied")
	}
	if w, err := f.tree.Write(ctx, znode.Caller{Session: s.ID, Conn: 6, Now: 1}, op); err != nil || w.Failed() != nil {
		t.Fatalf("write through the owner: %v, %v", err, w.Failed())
	}
	if _, _, err := f.tree.CloseSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tree.Write(ctx, znode.Caller{Session: s.ID, Conn: 6, Now: 1}, op); err != znode.ErrSessionExpired {
		t.Fatalf("write of a closed session = %v, want ErrSessionExpired", err)
	}
}
