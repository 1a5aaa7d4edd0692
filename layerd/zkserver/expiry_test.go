package zkserver

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"zkfdb/layerd/zkwire"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

// testTick is the clock's tick in these tests (1 s in production).
const testTick = 100 * time.Millisecond

// runClock ticks the cluster's clock and sweeps expired sessions, as
// sweeperd (or layerd on the embedded engine) does, until the test ends.
func runClock(t *testing.T, db store.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ticker := clock.NewTicker(db, clock.Options{Key: keys.Root{}.Clock(), Interval: testTick})
	wg.Go(func() { ticker.Run(ctx) })
	sw := sweep.New(db, sweep.Options{Root: keys.Root{}})
	wg.Go(func() { sw.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// liveServer is a layerd on db that refreshes its sessions each tick.
func liveServer(t *testing.T, db store.DB) string {
	addr, _ := stoppableLiveServer(t, db)
	return addr
}

// stoppableLiveServer is liveServer with a stop function: the server
// stops serving and refreshing, as if its process died (its connections
// are dropped; nothing is cleaned up in the store).
func stoppableLiveServer(t *testing.T, db store.DB) (string, func()) {
	t.Helper()
	tree := znode.New(db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{Tick: testTick})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := New(zaptest.NewLogger(t), nil, tree, Config{TickTime: testTick})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	wg.Go(func() { srv.RunHeartbeats(ctx) })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// TestEphemeralExpiresAcrossServers: a client killed after creating an
// ephemeral through layerd A loses it within its timeout + 2 ticks, and a
// watcher on layerd B is told. A client that keeps talking keeps its
// session however long it lives.
func TestEphemeralExpiresAcrossServers(t *testing.T) {
	db := sharedStore(t)
	runClock(t, db)
	addrA, addrB := liveServer(t, db), liveServer(t, db)

	const timeoutMs = 1000 // 10 ticks
	dead, resp := dialRaw(t, addrA, zkwire.ConnectRequest{TimeOut: timeoutMs})
	if resp.TimeOut != timeoutMs {
		t.Fatalf("negotiated %d ms, want %d", resp.TimeOut, timeoutMs)
	}
	dead.send(dead.request(1, &zkwire.Create{Path: "/eph", Flags: 1, ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}}))
	if h, _, err := dead.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("ephemeral: %+v, %v", h, err)
	}

	// A live client on A, quiet but for go-zookeeper's pings.
	alive := connect(t, addrA)
	if _, err := alive.Create("/alive", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	watcher := connect(t, addrB)
	_, _, deleted, err := watcher.ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}

	killedAt, err := clock.Now(t.Context(), db, keys.Root{}.Clock())
	if err != nil {
		t.Fatal(err)
	}
	dead.nc.Close() // no closeSession: the client is gone
	ev := awaitEvent(t, deleted)
	if ev.Type != zk.EventNodeDeleted || ev.Path != "/eph" {
		t.Fatalf("event %+v, want NodeDeleted /eph", ev)
	}
	firedAt, err := clock.Now(t.Context(), db, keys.Root{}.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if ticks := firedAt - killedAt; ticks > timeoutMs/testTick.Milliseconds()+2 {
		t.Errorf("the ephemeral went %d ticks after its client died, want at most timeout (10) + 2", ticks)
	}
	// The live client's session (2 s, the most these servers grant: 20
	// ticks) outlives its own timeout by far, kept by its pings.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, db, keys.Root{}.Clock(), firedAt+30); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := watcher.Exists("/alive"); err != nil || !ok {
		t.Errorf("a live session's ephemeral: exists %v, %v", ok, err)
	}
	// The dead session cannot come back.
	_, resp2 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd, TimeOut: timeoutMs})
	if resp2.SessionID != 0 {
		t.Errorf("resuming the expired session: %+v, want the expired answer", resp2)
	}
}

// TestSessionOutlivesItsServer: a client whose layerd dies reconnects to
// another within its timeout and keeps its session, its ephemerals and,
// through setWatches, its watches, long past the timeout.
func TestSessionOutlivesItsServer(t *testing.T) {
	db := sharedStore(t)
	runClock(t, db)
	addrA, stopA := stoppableLiveServer(t, db)
	addrB, stopB := stoppableLiveServer(t, db)
	c, events, err := zk.Connect([]string{addrA, addrB}, time.Second, zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	awaitSession := func() {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.State == zk.StateHasSession {
					return
				}
				if ev.State == zk.StateExpired {
					t.Fatal("session expired")
				}
			case <-timeout:
				t.Fatal("no session within 15 s")
			}
		}
	}
	awaitSession()
	stopFirst, other := stopA, addrB
	if c.Server() == addrB {
		stopFirst, other = stopB, addrA
	}
	if _, err := c.Create("/mine", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, _, watch, err := c.GetW("/mine")
	if err != nil {
		t.Fatal(err)
	}
	session := c.SessionID()
	stopFirst()
	awaitSession()
	if c.SessionID() != session || c.Server() != other {
		t.Fatalf("after the failover: session %x on %s, want %x on %s", c.SessionID(), c.Server(), session, other)
	}
	// Well past the session's timeout (10 ticks).
	now, err := clock.Now(t.Context(), db, keys.Root{}.Clock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, db, keys.Root{}.Clock(), now+30); err != nil {
		t.Fatal(err)
	}
	admin := connect(t, other)
	if _, err := admin.Set("/mine", []byte("still here"), -1); err != nil {
		t.Fatalf("the session's ephemeral after its layerd died: %v", err)
	}
	if ev := awaitEvent(t, watch); ev.Type != zk.EventNodeDataChanged || ev.Path != "/mine" {
		t.Fatalf("the watch set before the failover: %+v, want NodeDataChanged /mine", ev)
	}
}

// TestSessionMoved: once a session is resumed through another connection,
// the old one gets no answer to a write and is closed (ZooKeeper's
// SESSIONMOVED), on another layerd or on the same one.
func TestSessionMoved(t *testing.T) {
	db := sharedStore(t)
	addrA, _ := serveOn(t, db)
	addrB, _ := serveOn(t, db)
	open := []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}

	old, resp := dialRaw(t, addrA, zkwire.ConnectRequest{})
	old.send(old.request(1, &zkwire.Create{Path: "/m", ACL: open}))
	if h, _, err := old.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("create: %+v, %v", h, err)
	}
	moved, resp2 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd})
	if resp2.SessionID != resp.SessionID {
		t.Fatalf("resume on B: %+v", resp2)
	}
	// The old connection, on the other layerd, is closed at once, before
	// it sends anything.
	if h, _, err := old.reply(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the old connection after the session moved: %+v, %v; want it closed", h, err)
	}
	moved.send(moved.request(2, &zkwire.GetData{Path: "/m"}))
	_, body, err := moved.reply()
	var got zkwire.GetDataResponse
	if err != nil || zkwire.Decode(body, &got) != nil || len(got.Data) != 0 {
		t.Fatalf("through the new connection: %q, %v; want the write through the old one not applied", got.Data, err)
	}

	// On one server: the old connection is closed at once.
	again, resp3 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd})
	if resp3.SessionID != resp.SessionID {
		t.Fatalf("second resume: %+v", resp3)
	}
	if _, _, err := moved.reply(); err == nil {
		t.Fatal("the session's previous connection on the same server is still open")
	}
	again.send(again.request(3, &zkwire.Exists{Path: "/m"}))
	if h, _, err := again.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("exists through the newest connection: %+v, %v", h, err)
	}
}
