package cluster

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/cutdial"
	"zkfdb/internal/engines"
	"zkfdb/internal/zkref"
)

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// client is a go-zookeeper session whose connections can be cut as a
// dying client's are (cutdial).
type client struct {
	*zk.Conn
	events <-chan zk.Event
	dialer cutdial.Dialer
}

func connect(t testing.TB, addrs []string, timeout time.Duration) *client {
	t.Helper()
	c := &client{}
	conn, events, err := zk.Connect(addrs, timeout, zk.WithLogger(quiet{}), zk.WithDialer(c.dialer.Dial))
	if err != nil {
		t.Fatal(err)
	}
	c.Conn, c.events = conn, events
	t.Cleanup(conn.Close)
	c.awaitSession(t)
	return c
}

func (c *client) awaitSession(t testing.TB) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if ev.State == zk.StateHasSession {
				return
			}
			if ev.State == zk.StateExpired {
				t.Fatal("session expired")
			}
		case <-timeout:
			t.Fatal("no session within 20 s")
		}
	}
}

// revive lets a dead client connect again, with its session id and
// password, as go-zookeeper does.
func (c *client) revive() { c.dialer.Revive() }

// die cuts the client off as a dying process: no closeSession, no
// reconnection.
func (c *client) die() { c.dialer.Die() }

func awaitEvent(t testing.TB, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30 s")
		return zk.Event{}
	}
}

var open = zk.WorldACL(zk.PermAll)

// A dead client's ephemeral, made through layerd 0, goes within its
// timeout and 2 ticks, and a watcher on layerd 1 is told; with a sweeper
// killed first, the other sweeper does it. A client that keeps talking
// keeps its session however long it lives, and the dead one's session
// cannot come back.
func TestEphemeralOfDeadClient(t *testing.T) { engines.Each(t, testEphemeralOfDeadClient) }

func testEphemeralOfDeadClient(t *testing.T, e engines.Engine) {
	// Ticks of a second, as in production, not the default 100 ms: the
	// measure ends when the event reaches a client of the other layerd,
	// and on a loaded CI machine with short ticks that delivery and the
	// store's latency each came to a tick (13 ticks of 100 ms, then 7 of
	// 250 ms, against a bound of timeout + 2).
	c := Start(t, e, Options{Tick: time.Second})
	c.AwaitMembers()
	c.Sweeper(0).Kill()
	c.AwaitMembers()

	const timeout = 2 * time.Second // 2 ticks, the least a session gets
	dying := connect(t, c.Addrs()[:1], timeout)
	if _, err := dying.Create("/eph", nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	// A live client on layerd 0, quiet but for go-zookeeper's pings.
	alive := connect(t, c.Addrs()[:1], 4*time.Second)
	if _, err := alive.Create("/alive", nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	watcher := connect(t, c.Addrs()[1:], 4*time.Second)
	_, _, ch, err := watcher.ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}
	diedAt := c.Now()
	dying.die()
	if ev := awaitEvent(t, ch); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("event %+v, want NodeDeleted", ev)
	}
	firedAt := c.Now()
	if ticks := firedAt - diedAt; ticks > int64(timeout/c.Tick())+2 {
		t.Errorf("the ephemeral went %d ticks after its client died; want at most the timeout (%d) + 2", ticks, timeout/c.Tick())
	} else {
		t.Logf("the ephemeral went %d ticks after its client died", ticks)
	}
	// The live client's session (4 s asked and granted: 4 ticks)
	// outlives its own timeout by far.
	c.WaitTicks(firedAt, 10)
	if ok, _, err := watcher.Exists("/alive"); err != nil || !ok {
		t.Errorf("a live session's ephemeral: exists %v, %v", ok, err)
	}
	// The dead session cannot come back: its client reconnects with it
	// and is told it expired.
	dying.revive()
	for {
		select {
		case ev := <-dying.events:
			if ev.State == zk.StateHasSession {
				t.Fatal("the expired session was resumed")
			}
			if ev.State != zk.StateExpired {
				continue
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the dead client was not told its session expired")
		}
		break
	}
}

// A layerd that crashes loses its clients to the other, with their
// sessions, ephemerals and watches; restarted on its address, it serves
// again.
func TestLayerdCrash(t *testing.T) { engines.Each(t, testLayerdCrash) }

func testLayerdCrash(t *testing.T, e engines.Engine) {
	c := Start(t, e, Options{})
	cl := connect(t, c.Addrs(), time.Second)
	if _, err := cl.Create("/mine", nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	_, _, ch, err := cl.GetW("/mine")
	if err != nil {
		t.Fatal(err)
	}
	first := 0
	if cl.Server() == c.Layerd(1).Addr() {
		first = 1
	}
	c.Layerd(first).Kill()
	cl.awaitSession(t)
	c.WaitTicks(c.Now(), 30) // three timeouts
	admin := connect(t, []string{c.Layerd(1 - first).Addr()}, 4*time.Second)
	if _, err := admin.Set("/mine", []byte("x"), -1); err != nil {
		t.Fatalf("the session's ephemeral after its layerd crashed: %v", err)
	}
	if ev := awaitEvent(t, ch); ev.Type != zk.EventNodeDataChanged {
		t.Fatalf("the watch set before the crash: %+v", ev)
	}

	c.Layerd(first).Start()
	back := connect(t, []string{c.Layerd(first).Addr()}, 4*time.Second)
	if data, _, err := back.Get("/mine"); err != nil || string(data) != "x" {
		t.Fatalf("through the restarted layerd: %q, %v", data, err)
	}
}

// BenchmarkWatchAcrossServers measures watch delivery when the watch and
// the write go through different servers: a client of one server sets a
// data watch, a client of another writes the node, and the latency runs
// from the write's start to the event's arrival. It reports p50 and p99
// in ms for Apache ZooKeeper (an ensemble of three on loopback, watcher
// and writer on the two followers) and for layerd (two layerds over one
// embedded store on disk, fsync on, as ZooKeeper's), in one run.
func BenchmarkWatchAcrossServers(b *testing.B) {
	var followers []string
	for _, s := range zkref.StartEnsembleT(b, 3, zkref.Options{}) {
		srvr, err := zkref.FourLetterWord(b.Context(), s.Addr(), "srvr")
		if err != nil {
			b.Fatal(err)
		}
		if strings.Contains(srvr, "Mode: follower") {
			followers = append(followers, s.Addr())
		}
	}
	if len(followers) != 2 {
		b.Fatalf("%d followers, want 2", len(followers))
	}
	c := Start(b, engines.EmbeddedEngine(), Options{Sweepers: 1, Disk: true})
	b.Run("ZooKeeper", func(b *testing.B) { measureWatch(b, followers[0], followers[1]) })
	b.Run("layerd", func(b *testing.B) { measureWatch(b, c.Layerd(0).Addr(), c.Layerd(1).Addr()) })
}

// measureWatch is BenchmarkWatchAcrossServers on one pair of servers.
func measureWatch(b *testing.B, writerAddr, watcherAddr string) {
	writer := connect(b, []string{writerAddr}, 4*time.Second)
	watcher := connect(b, []string{watcherAddr}, 4*time.Second)
	if _, err := writer.Create("/w", nil, 0, open); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		_, _, ch, err := watcher.GetW("/w")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := writer.Set("/w", []byte("x"), -1); err != nil {
			b.Fatal(err)
		}
		if ev := awaitEvent(b, ch); ev.Type != zk.EventNodeDataChanged {
			b.Fatalf("event %+v", ev)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// A client whose layerd crashes reconnects to the other, sets its watches
// again (setWatches, with its last zxid), and hears of what changed while
// it was away.
func TestSetWatchesAfterCrash(t *testing.T) { engines.Each(t, testSetWatchesAfterCrash) }

func testSetWatchesAfterCrash(t *testing.T, e engines.Engine) {
	c := Start(t, e, Options{})
	cl := connect(t, c.Addrs(), 5*time.Second)
	first := 0
	if cl.Server() == c.Layerd(1).Addr() {
		first = 1
	}
	other := c.Layerd(1 - first).Addr()
	admin := connect(t, []string{other}, 5*time.Second)
	if _, err := admin.Create("/s", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, err := cl.GetW("/s")
	if err != nil {
		t.Fatal(err)
	}
	_, _, childCh, err := cl.ChildrenW("/s")
	if err != nil {
		t.Fatal(err)
	}
	c.Layerd(first).Kill()
	// While the client is away (or reconnecting): /s's data changes.
	if _, err := admin.Set("/s", []byte("while away"), -1); err != nil {
		t.Fatal(err)
	}
	cl.awaitSession(t)
	if cl.Server() != other {
		t.Fatalf("reconnected to %s, want %s", cl.Server(), other)
	}
	if ev := awaitEvent(t, dataCh); ev.Type != zk.EventNodeDataChanged || ev.Path != "/s" {
		t.Fatalf("after reconnect: %+v, want NodeDataChanged /s", ev)
	}
	// The child watch was set again on the other layerd, and fires now.
	if _, err := admin.Create("/s/new", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	if ev := awaitEvent(t, childCh); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/s" {
		t.Fatalf("child watch after reconnect: %+v, want NodeChildrenChanged /s", ev)
	}
}
