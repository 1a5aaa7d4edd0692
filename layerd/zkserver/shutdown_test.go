package zkserver

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// TestShutdownJoinsEverything: Shutdown returns only once every goroutine
// the server started has returned, even when its deadline passes with a
// request still in the store (a create whose commit would take an hour):
// that request is cancelled, and nothing of the server runs afterwards,
// so the caller may close the store. Connections in every state are
// open at the time: mid-handshake, idle, with a half-sent frame, and
// waiting for that create.
func TestShutdownJoinsEverything(t *testing.T) { engines.Each(t, testShutdownJoinsEverything) }

func testShutdownJoinsEverything(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db := &stallingDB{DB: st.DB}
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	// What runs before the server (the store's own goroutines, the
	// test's) is not the server's.
	before := goleak.IgnoreCurrent()

	srv := New(zaptest.NewLogger(t), nil, tree, Config{TickTime: 500 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()

	idle, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	half, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	frame := half.request(1, &zkwire.GetData{Path: "/"})
	half.send(frame[:len(frame)-2])
	handshaking, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer handshaking.Close()
	handshaking.Write([]byte{0, 0, 0, 44}) // a ConnectRequest's length, no body

	// The stuck create: commits stall once the connection serves
	// requests (an exists answered; setting up its watch commits).
	stuck, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	stuck.send(stuck.request(1, &zkwire.Exists{Path: "/"}))
	if h, _, err := stuck.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("exists: %+v, %v", h, err)
	}
	db.stall.Store(true)
	stuck.send(stuck.request(2, &zkwire.Create{Path: "/stuck", ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}}))
	awaitStalled(t, db)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a request stuck past its deadline = %v, want the deadline's error", err)
	}
	// Nothing runs once Shutdown has returned: the stuck request was
	// cancelled and its handler has returned.
	if n := srv.outstanding.Load(); n != 0 {
		t.Errorf("%d requests still executing after Shutdown returned", n)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, _, err := stuck.reply(); err == nil {
		t.Error("the stuck create was answered; want its connection closed")
	}
	for _, c := range []net.Conn{idle.nc, half.nc, stuck.nc, handshaking} {
		c.Close()
	}
	goleak.VerifyNone(t, before)
}

// awaitStalled waits until a commit waits in db.
func awaitStalled(t *testing.T, db *stallingDB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for db.stalled.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no commit stalled after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stallingDB makes every commit, once stall is set, wait until its
// transaction's context ends: a store that stopped answering.
type stallingDB struct {
	store.DB
	stall   atomic.Bool
	stalled atomic.Int64 // commits that waited
}

func (d *stallingDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &stallingTx{Tx: tx, db: d, ctx: ctx}, nil
}

type stallingTx struct {
	store.Tx
	db  *stallingDB
	ctx context.Context
}

func (t *stallingTx) Commit() error {
	if t.db.stall.Load() {
		t.db.stalled.Add(1)
		<-t.ctx.Done()
		return store.ErrTransactionCancelled
	}
	return t.Tx.Commit()
}

// TestShutdownRefreshesSessions: a graceful Shutdown refreshes, at the
// current tick, the sessions with traffic before it closes their
// connections, so that their clients have their whole timeout to reach
// another server; Kill, a crash, does not.
func TestShutdownRefreshesSessions(t *testing.T) { engines.Each(t, testShutdownRefreshesSessions) }

func testShutdownRefreshesSessions(t *testing.T, e engines.Engine) {
	for _, graceful := range []bool{true, false} {
		st := e.Open(t, engines.Options{})
		srv, tree, addr, served := serveWithoutHeartbeats(t, st)
		raw, resp := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 4000})
		ticks := tree.TimeoutTicks(resp.TimeOut)

		// The clock moves on by 100 ticks (no heartbeat loop runs
		// here), then the client sends a request.
		const now = 100
		if _, err := store.Transact(t.Context(), st.DB, func(tx store.Tx) (struct{}, error) {
			tx.Set(st.Root.Clock(), clock.Encode(now))
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
		raw.send(raw.request(1, &zkwire.Exists{Path: "/"}))
		if _, _, err := raw.reply(); err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		var err error
		if graceful {
			err = srv.Shutdown(ctx)
		} else {
			err = srv.Kill(ctx)
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		<-served
		// Refreshed, the session is due at now + its timeout, not before.
		due, err := znode.ReadDue(t.Context(), st.DB, st.Root, allShards(), now+ticks-1)
		if err != nil {
			t.Fatal(err)
		}
		early := 0
		for _, d := range due {
			early += len(d.Sessions)
		}
		if graceful && early != 0 {
			t.Errorf("after a graceful shutdown at tick %d the session is due before tick %d: not refreshed", now, now+ticks)
		}
		if !graceful && early != 1 {
			t.Errorf("after a Kill the session's expiry moved (%d sessions due early), want it left as a crash leaves it", early)
		}
	}
}

// serveWithoutHeartbeats serves st's default tenant with ticks of a
// second and no heartbeat loop (the caller moves the clock and refreshes):
// the server, its tree, its address, and where Serve's result arrives.
func serveWithoutHeartbeats(t *testing.T, st engines.Store) (*Server, *znode.Tree, string, <-chan error) {
	t.Helper()
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), znode.Options{Tick: time.Second})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := New(zaptest.NewLogger(t), nil, tree, Config{TickTime: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return srv, tree, ln.Addr().String(), served
}

func allShards() []int {
	out := make([]int, keys.Shards)
	for i := range out {
		out[i] = i
	}
	return out
}
