package zkserver

import (
	"context"
	"errors"
	"net"
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
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		wg.Wait()
	})
	return ln.Addr().String()
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
