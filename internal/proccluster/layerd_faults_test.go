//go:build fdb

package proccluster

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// holderTimeout is the session timeout of the clients whose sessions,
// ephemerals and watches a fault must not lose: 6 ticks of 1 s.
const holderTimeout = 6 * time.Second

// holder is a client with an ephemeral node and three watches of
// different kinds, whose layerd the test then harms.
type holder struct {
	*client
	session   int64
	ephemeral string // its ephemeral node
	watched   string // the node whose data it watches
	parent    string // the node whose children it watches
	absent    string // the node whose creation it watches (exists)
	watches   []<-chan zk.Event
}

// newHolder starts a holder of /holder, watching the data of /w, the
// children of /w-dir and the creation of /w-new; a name other than ""
// makes them /holder-name, /w-name, /w-name-dir and /w-name-new.
func newHolder(t *testing.T, c *Cluster, admin *client, name string) *holder {
	t.Helper()
	h := &holder{ephemeral: "/holder", watched: "/w"}
	if name != "" {
		h.ephemeral, h.watched = h.ephemeral+"-"+name, h.watched+"-"+name
	}
	h.parent, h.absent = h.watched+"-dir", h.watched+"-new"
	for _, p := range []string{h.watched, h.parent} {
		if _, err := admin.Create(p, nil, 0, open); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatal(err)
		}
	}
	if err := admin.Delete(h.absent, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	h.client = connect(t, c.Addrs(), holderTimeout)
	h.session = h.SessionID()
	if _, err := h.Create(h.ephemeral, nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	_, _, data, err := h.GetW(h.watched)
	if err != nil {
		t.Fatal(err)
	}
	_, _, children, err := h.ChildrenW(h.parent)
	if err != nil {
		t.Fatal(err)
	}
	ok, _, exists, err := h.ExistsW(h.absent)
	if err != nil || ok {
		t.Fatalf("exists %s: %v, %v; want absent", h.absent, ok, err)
	}
	h.watches = []<-chan zk.Event{data, children, exists}
	return h
}

// check asserts that the holder kept its session, ephemeral and watches:
// three writes through admin, one after the other, fire its three
// watches exactly once each, in the order of the writes (ZooKeeper's
// order: a session sees the events of its watches in zxid order).
func (h *holder) check(t *testing.T, admin *client) {
	t.Helper()
	if h.SessionID() != h.session || h.sawExpiry() {
		t.Fatalf("the holder's session: %x now, expired %v; want %x kept", h.SessionID(), h.sawExpiry(), h.session)
	}
	retry(t, "exists "+h.ephemeral, func() error {
		ok, _, err := admin.Exists(h.ephemeral)
		if err == nil && !ok {
			t.Fatal("the holder's ephemeral is gone")
		}
		return err
	})
	if heard := h.watchEvents(); len(heard) != 0 {
		t.Fatalf("the holder heard %v before any write to what it watches", heard)
	}
	// Each write is acknowledged before the next is sent, so their zxids
	// increase in this order; a retried create that finds its node made
	// by the first try counts as done.
	child := h.parent + "/c"
	retry(t, "create "+child, func() error {
		_, err := admin.Create(child, nil, 0, open)
		if errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		return err
	})
	retry(t, "set "+h.watched, func() error { _, err := admin.Set(h.watched, []byte("changed"), -1); return err })
	retry(t, "create "+h.absent, func() error {
		_, err := admin.Create(h.absent, nil, 0, open)
		if errors.Is(err, zk.ErrNodeExists) {
			return nil
		}
		return err
	})
	for _, ch := range h.watches {
		awaitEvent(t, ch, 30*time.Second)
	}
	// Exactly once: a sync through the holder's connection comes after
	// any further notification its server would send.
	retry(t, "sync", func() error { _, err := h.Sync(h.watched); return err })
	want := []string{
		eventName(zk.EventNodeChildrenChanged, h.parent),
		eventName(zk.EventNodeDataChanged, h.watched),
		eventName(zk.EventNodeCreated, h.absent),
	}
	if heard := h.watchEvents(); !slices.Equal(heard, want) {
		t.Fatalf("the holder heard %q, want each watch once, in the writes' order: %q", heard, want)
	}
}

// TestKillLayerd: kill -9 of a layerd under load. Its clients reconnect
// to another layerd within their timeout with their sessions, ephemerals
// and watches (setWatches); the registers' history stays linearizable;
// restarted, the layerd serves again.
func TestKillLayerd(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	admin := connect(t, c.Addrs(), holderTimeout)
	reg, stop := load(t, c, admin, "/reg")
	h := newHolder(t, c, admin, "")
	awaitOps(t, reg, 200)

	victim := layerdAt(t, c, h.Server())
	victim.Kill()
	took := h.awaitSession(t, holderTimeout)
	t.Logf("the holder's session was back on another layerd %v after its layerd was killed", took.Round(time.Millisecond))
	if h.Server() == victim.Addr {
		t.Fatalf("the holder is back on the killed layerd %s", victim.Addr)
	}
	awaitOps(t, reg, 200)
	h.check(t, admin)

	restart(t, victim)
	back := connect(t, []string{victim.Addr}, holderTimeout)
	if _, err := back.Sync("/w"); err != nil {
		t.Fatal(err)
	}
	if data, _, err := back.Get("/w"); err != nil || string(data) != "changed" {
		t.Fatalf("through the restarted layerd: %q, %v", data, err)
	}
	awaitOps(t, reg, 200)
	stop()
}

// TestPauseLayerd: SIGSTOP of a layerd for twice its clients' timeout,
// then SIGCONT. Its clients move to other layerds with their sessions;
// a write that reached the stopped layerd's socket before its client
// moved is never applied (the session moved: ZooKeeper's SESSIONMOVED),
// and the stale process neither expires nor closes sessions it no
// longer serves.
func TestPauseLayerd(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	admin := connect(t, c.Addrs(), holderTimeout)
	if _, err := admin.Create("/late", []byte("before"), 0, open); err != nil {
		t.Fatal(err)
	}
	reg, stop := load(t, c, admin, "/reg")
	h := newHolder(t, c, admin, "")
	awaitOps(t, reg, 200)

	victim := layerdAt(t, c, h.Server())
	if err := victim.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	// Sent to the stopped layerd: it waits in its socket, unanswered,
	// until the client gives up on the connection.
	late := make(chan error, 1)
	go func() { _, err := h.Set("/late", []byte("stale"), -1); late <- err }()
	h.awaitSession(t, 2*holderTimeout)
	t.Logf("the holder's session was back on another layerd %v after its layerd was stopped", time.Since(paused).Round(time.Millisecond))
	if err := <-late; err == nil {
		t.Fatal("a write to the stopped layerd was acknowledged")
	}
	if h.Server() == victim.Addr {
		t.Fatalf("the holder is back on the stopped layerd %s", victim.Addr)
	}
	if _, err := h.Set("/late", []byte("fresh"), -1); err != nil {
		t.Fatal(err)
	}
	// Stopped for twice the timeout in all: longer than any session it
	// served could live without it.
	time.Sleep(time.Until(paused.Add(2 * holderTimeout)))
	if err := victim.Resume(); err != nil {
		t.Fatal(err)
	}
	// The stale layerd now reads what waited in its sockets: the late
	// write, then the end of the connection its client gave up on. Once
	// it holds no connection, it has read them all.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, ok := metric(victim, "num_alive_connections")
		if ok && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resumed layerd still holds %v connections after 30 s (metrics answered: %v)", n, ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	awaitOps(t, reg, 200)
	data, _, err := admin.Get("/late")
	if err != nil || string(data) != "fresh" {
		t.Fatalf("/late = %q, %v; want \"fresh\": the stale layerd applied a write of a session that had moved", data, err)
	}
	h.check(t, admin)
	stop()
}
