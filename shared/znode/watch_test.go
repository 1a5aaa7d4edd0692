package znode_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// watcher is a connection of its own session on the fixture's tree.
type watcher struct {
	f      *fixture
	conn   znode.Conn
	cursor keys.Versionstamp
}

func (f *fixture) watcher(id int64) *watcher {
	f.t.Helper()
	s, err := f.tree.CreateSession(f.t.Context(), 10_000)
	if err != nil {
		f.t.Fatal(err)
	}
	return &watcher{f: f, conn: znode.Conn{Session: s.ID, ID: id}}
}

// events returns what the connection has been sent since the last call,
// as "type path" strings.
func (w *watcher) events() []string {
	w.f.t.Helper()
	evs, next, err := w.f.tree.Events(w.f.t.Context(), w.conn, w.cursor, 0)
	if err != nil {
		w.f.t.Fatalf("events: %v", err)
	}
	w.cursor = next
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%d %s", e.Type, e.Path))
	}
	return out
}

func (w *watcher) expect(want ...string) {
	w.f.t.Helper()
	if got := w.events(); !slices.Equal(got, want) {
		w.f.t.Errorf("events %q, want %q", got, want)
	}
}

const (
	created  = "1 "
	deleted  = "2 "
	changed  = "3 "
	children = "4 "
)

func TestWatchOneShot(t *testing.T) { engines.Each(t, testWatchOneShot) }

func testWatchOneShot(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	w := f.watcher(1)
	ctx := t.Context()

	// exists on a missing node sets a watch; its create fires it once.
	if _, err := f.tree.ExistsWatch(ctx, f.auth, w.conn, "/w"); err != znode.ErrNoNode {
		t.Fatalf("exists /w = %v, want NoNode", err)
	}
	res := f.mustCreate("/w", 0)
	evs, _, err := f.tree.Events(ctx, w.conn, w.cursor, 0)
	if err != nil || len(evs) != 1 || evs[0].Zxid != res.Stat.Czxid {
		t.Fatalf("events after create: %+v, %v; want one NodeCreated with the create's zxid %d", evs, err, res.Stat.Czxid)
	}
	w.expect(created + "/w")
	f.write(znode.SetDataOp{Path: "/w", Data: []byte("y"), Version: -1})
	w.expect() // one-shot: gone

	// getData and getChildren on one node, then its delete: one
	// NodeDeleted, and the parent's child watch its own event.
	f.mustCreate("/w/c", 0)
	for _, read := range []func() error{
		func() error { _, err := f.tree.GetDataWatch(ctx, f.auth, w.conn, "/w/c"); return err },
		func() error { _, err := f.tree.GetChildrenWatch(ctx, f.auth, w.conn, "/w/c"); return err },
		func() error { _, err := f.tree.GetChildrenWatch(ctx, f.auth, w.conn, "/w"); return err },
	} {
		if err := read(); err != nil {
			t.Fatal(err)
		}
	}
	f.write(znode.DeleteOp{Path: "/w/c", Version: -1})
	w.expect(deleted+"/w/c", children+"/w")

	// getData on a missing node sets nothing.
	if _, err := f.tree.GetDataWatch(ctx, f.auth, w.conn, "/nope"); err != znode.ErrNoNode {
		t.Fatalf("getData /nope = %v", err)
	}
	f.mustCreate("/nope", 0)
	w.expect()
}

func TestWatchMultiAndPersistent(t *testing.T) { engines.Each(t, testWatchMultiAndPersistent) }

func testWatchMultiAndPersistent(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	one := f.watcher(1)
	per := f.watcher(2)
	if _, err := f.tree.ExistsWatch(ctx, f.auth, one.conn, "/m"); err != znode.ErrNoNode {
		t.Fatal(err)
	}
	if _, err := f.tree.AddWatch(ctx, per.conn, "/m", znode.AddWatchPersistent); err != nil {
		t.Fatal(err)
	}
	f.write(znode.CreateOp{Path: "/m", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.SetDataOp{Path: "/m", Data: []byte("1"), Version: -1},
		znode.CreateOp{Path: "/m/k", ACL: znode.OpenACLUnsafe, TTL: -1})
	one.expect(created + "/m")
	per.expect(created+"/m", changed+"/m", children+"/m")
	f.write(znode.DeleteOp{Path: "/m/k", Version: -1})
	f.write(znode.DeleteOp{Path: "/m", Version: -1})
	per.expect(children+"/m", deleted+"/m")
	f.mustCreate("/m", 0) // persistent watches outlive their node
	per.expect(created + "/m")

	// A failed multi fires nothing.
	w := f.write(znode.SetDataOp{Path: "/m", Version: -1}, znode.DeleteOp{Path: "/missing", Version: -1})
	if w.Failed() == nil {
		t.Fatal("multi did not fail")
	}
	per.expect()
}

func TestWatchRecursive(t *testing.T) { engines.Each(t, testWatchRecursive) }

func testWatchRecursive(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	w := f.watcher(1)
	f.mustCreate("/r", 0)
	if _, err := f.tree.AddWatch(ctx, w.conn, "/r", znode.AddWatchPersistentRecursive); err != nil {
		t.Fatal(err)
	}
	f.mustCreate("/r/a", 0)
	f.mustCreate("/r/a/b", 0)
	f.write(znode.SetDataOp{Path: "/r/a/b", Data: []byte("z"), Version: -1})
	f.write(znode.DeleteOp{Path: "/r/a/b", Version: -1})
	f.mustCreate("/other", 0)
	// Never NodeChildrenChanged; nothing outside /r.
	w.expect(created+"/r/a", created+"/r/a/b", changed+"/r/a/b", deleted+"/r/a/b")

	if _, err := f.tree.RemoveWatches(ctx, w.conn, "/r", znode.WatcherRecursive, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tree.RemoveWatches(ctx, w.conn, "/r", znode.WatcherRecursive, false); err != znode.ErrNoWatcher {
		t.Fatalf("checkWatches after removal = %v, want NoWatcher", err)
	}
	f.mustCreate("/r/c", 0)
	w.expect()
}

func TestWatchConnections(t *testing.T) { engines.Each(t, testWatchConnections) }

func testWatchConnections(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	old := f.watcher(1)
	f.mustCreate("/c", 0)
	if _, err := f.tree.GetDataWatch(ctx, f.auth, old.conn, "/c"); err != nil {
		t.Fatal(err)
	}
	// The session moves to a new connection, which sets its own watch;
	// then the old connection's clean-up runs: the new watch stays.
	cur := &watcher{f: f, conn: znode.Conn{Session: old.conn.Session, ID: 2}}
	if _, err := f.tree.ExistsWatch(ctx, f.auth, cur.conn, "/d"); err != znode.ErrNoNode {
		t.Fatal(err)
	}
	if err := f.tree.DropConnection(ctx, old.conn); err != nil {
		t.Fatal(err)
	}
	f.write(znode.SetDataOp{Path: "/c", Version: -1})
	f.mustCreate("/d", 0)
	cur.expect(created + "/d")

	// setWatches with the client's last zxid: what changed since fires
	// at once, the rest is registered.
	before := f.stat("/c").Mzxid
	f.write(znode.SetDataOp{Path: "/c", Version: -1})
	f.mustCreate("/e", 0)
	evs, err := f.tree.SetWatches(ctx, cur.conn, before, []string{"/c", "/gone"}, []string{"/e", "/f"}, []string{"/"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.Zxid != -1 {
			t.Errorf("immediate event %+v: zxid %d, want -1", e, e.Zxid)
		}
		got = append(got, fmt.Sprintf("%d %s", e.Type, e.Path))
	}
	if want := []string{changed + "/c", deleted + "/gone", created + "/e", children + "/"}; !slices.Equal(got, want) {
		t.Errorf("setWatches fired %q, want %q", got, want)
	}
	f.mustCreate("/f", 0) // the registered exist watch
	cur.expect(created + "/f")

	// Closing the session drops every watch and the log.
	if _, err := f.tree.ExistsWatch(ctx, f.auth, cur.conn, "/g"); err != znode.ErrNoNode {
		t.Fatal(err)
	}
	if _, _, err := f.tree.CloseSession(ctx, cur.conn.Session); err != nil {
		t.Fatal(err)
	}
	f.mustCreate("/g", 0)
	cur.expect()
}

// TestWatchNotify: the notify watch fires when an event is logged, and
// arming it clears what was delivered.
func TestWatchNotify(t *testing.T) { engines.Each(t, testWatchNotify) }

func testWatchNotify(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	w := f.watcher(1)
	if _, err := f.tree.ExistsWatch(ctx, f.auth, w.conn, "/n"); err != znode.ErrNoNode {
		t.Fatal(err)
	}
	armed, err := f.tree.ArmNotify(ctx, w.conn, w.cursor, true)
	if err != nil || len(armed.Events) != 0 || !armed.Alive {
		t.Fatalf("arm: %+v, %v", armed, err)
	}
	notify := armed.Notify
	f.mustCreate("/n", 0)
	select {
	case <-notify.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the notify watch did not fire within 10 s of the event")
	}
	armed, err = f.tree.ArmNotify(ctx, w.conn, armed.Cursor, true)
	if err != nil || len(armed.Events) != 1 || armed.Events[0].Path != "/n" {
		t.Fatalf("after the notify: %+v, %v", armed, err)
	}
	armed.Notify.Cancel()
	// An arming without clear leaves the delivered event in the log, and
	// does not deliver it again.
	if armed, err = f.tree.ArmNotify(ctx, w.conn, armed.Cursor, false); err != nil || len(armed.Events) != 0 {
		t.Fatalf("arming again: %+v, %v; want no event", armed, err)
	}
	armed.Notify.Cancel()
	if all, _, err := f.tree.Events(ctx, w.conn, keys.Versionstamp{}, 0); err != nil || len(all) != 1 {
		t.Fatalf("log after an arming without clear: %+v, %v; want the delivered event", all, err)
	}
	// An arming with clear clears it.
	if armed, err = f.tree.ArmNotify(ctx, w.conn, armed.Cursor, true); err != nil {
		t.Fatal(err)
	}
	armed.Notify.Cancel()
	if all, _, err := f.tree.Events(ctx, w.conn, keys.Versionstamp{}, 0); err != nil || len(all) != 0 {
		t.Fatalf("log after delivery and re-arming: %+v, %v; want empty", all, err)
	}
}

// TestWatchACLFilter: an event goes only to a connection that may read
// the node (ZooKeeper 3.9.2).
func TestWatchACLFilter(t *testing.T) { engines.Each(t, testWatchACLFilter) }

func testWatchACLFilter(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	w := f.watcher(1)
	if _, err := f.tree.ExistsWatch(ctx, f.auth, w.conn, "/secret"); err != znode.ErrNoNode {
		t.Fatal(err)
	}
	acl := []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "digest", ID: znode.DigestID("bob:pw")}}}
	if w := f.write(znode.CreateOp{Path: "/secret", ACL: acl, TTL: -1}); w.Failed() != nil {
		t.Fatal(w.Failed())
	}
	evs, _, err := f.tree.Events(ctx, w.conn, w.cursor, 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %+v, %v", evs, err)
	}
	if evs[0].Visible(f.auth) {
		t.Error("NodeCreated of a node the connection cannot read is visible to it")
	}
	bob, err := f.auth.AddAuth("digest", []byte("bob:pw"), "")
	if err != nil || !evs[0].Visible(bob) {
		t.Errorf("bob, who can read it, does not see it (%v)", err)
	}
}

// TestWatchExactlyOnce: concurrent writers under a child watch fire it
// once.
func TestWatchExactlyOnce(t *testing.T) { engines.Each(t, testWatchExactlyOnce) }

func testWatchExactlyOnce(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := t.Context()
	w := f.watcher(1)
	f.mustCreate("/p", 0)
	if _, err := f.tree.GetChildrenWatch(ctx, f.auth, w.conn, "/p"); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := f.create(fmt.Sprintf("/p/%d", i), nil, 0)
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := w.events(); len(got) != 1 || !strings.HasPrefix(got[0], children) {
		t.Errorf("16 concurrent creates under a child watch sent %q, want one NodeChildrenChanged", got)
	}
}
