package zkserver

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// awaitEvent returns the next event on ch, failing the test after 10 s.
func awaitEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10 s")
		return zk.Event{}
	}
}

func sharedStore(t *testing.T) store.DB {
	t.Helper()
	db, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A watch set through one layerd fires for writes through another.
func TestWatchAcrossServers(t *testing.T) {
	db := sharedStore(t)
	addrA, _ := serveOn(t, db)
	addrB, _ := serveOn(t, db)
	a, b := connect(t, addrA), connect(t, addrB)
	open := zk.WorldACL(zk.PermAll)

	_, _, created, err := b.ExistsW("/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create("/x", []byte("1"), 0, open); err != nil {
		t.Fatal(err)
	}
	if ev := awaitEvent(t, created); ev.Type != zk.EventNodeCreated || ev.Path != "/x" {
		t.Fatalf("event %+v, want NodeCreated /x", ev)
	}
	_, _, changed, err := b.GetW("/x")
	if err != nil {
		t.Fatal(err)
	}
	_, _, kids, err := b.ChildrenW("/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Set("/x", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	if ev := awaitEvent(t, changed); ev.Type != zk.EventNodeDataChanged || ev.Path != "/x" {
		t.Fatalf("event %+v, want NodeDataChanged /x", ev)
	}
	if err := a.Delete("/x", -1); err != nil {
		t.Fatal(err)
	}
	if ev := awaitEvent(t, kids); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/" {
		t.Fatalf("event %+v, want NodeChildrenChanged /", ev)
	}
}

// TestEventBeforeData: a client sees a watch event before any reply that
// reflects its change, when the write went through another layerd.
// go-zookeeper hands an event to its watch channel before it reads the
// next reply, so when a read returns changed data, the event must be
// waiting in the channel.
func TestEventBeforeData(t *testing.T) {
	db := sharedStore(t)
	addrA, _ := serveOn(t, db)
	addrB, _ := serveOn(t, db)
	writer, reader := connect(t, addrA), connect(t, addrB)
	if _, err := writer.Create("/k", []byte("0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ctx.Err() == nil; i++ {
			if _, err := writer.Set("/k", []byte(strconv.Itoa(i)), -1); err != nil && ctx.Err() == nil {
				t.Errorf("set: %v", err)
				return
			}
		}
	})
	defer wg.Wait()
	defer stop()

	const rounds = 1000
	seen := 0
	for range rounds {
		watched, _, ch, err := reader.GetW("/k")
		if err != nil {
			t.Fatal(err)
		}
		now, _, err := reader.Get("/k")
		if err != nil {
			t.Fatal(err)
		}
		if string(now) == string(watched) {
			<-ch // it fires later; wait, so that the next GetW sets a new one
			continue
		}
		seen++
		select {
		case ev := <-ch:
			if ev.Type != zk.EventNodeDataChanged {
				t.Fatalf("event %+v, want NodeDataChanged", ev)
			}
		default:
			t.Fatalf("read %q after a watch set at %q, and the change's event had not arrived", now, watched)
		}
	}
	if seen < rounds/100 {
		t.Fatalf("only %d of %d reads saw a change: the test did not race the writer", seen, rounds)
	}
}

// stoppableServer serves tree's store on a loopback port until stop.
func stoppableServer(t *testing.T, db store.DB) (addr string, stop func()) {
	t.Helper()
	tree := znode.New(db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := New(zaptest.NewLogger(t), nil, tree, Config{TickTime: 500 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			if err := <-done; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// TestSetWatchesAfterReconnect: a client whose layerd goes away reconnects
// to another, sets its watches again (setWatches, with its last zxid),
// and hears of what changed while it was away.
func TestSetWatchesAfterReconnect(t *testing.T) {
	db := sharedStore(t)
	addrA, stopA := stoppableServer(t, db)
	addrB, stopB := stoppableServer(t, db)

	c, events, err := zk.Connect([]string{addrA, addrB}, 5*time.Second, zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	awaitSession := func(what string) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.State == zk.StateHasSession {
					return
				}
			case <-timeout:
				t.Fatalf("no session within 15 s (%s)", what)
			}
		}
	}
	awaitSession("connect")
	// The client's layerd goes away; the admin works through the other.
	stopFirst, other := stopA, addrB
	if c.Server() == addrB {
		stopFirst, other = stopB, addrA
	}
	admin := connect(t, other)
	open := zk.WorldACL(zk.PermAll)
	if _, err := admin.Create("/s", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, err := c.GetW("/s")
	if err != nil {
		t.Fatal(err)
	}
	_, _, childCh, err := c.ChildrenW("/s")
	if err != nil {
		t.Fatal(err)
	}
	stopFirst()
	// While the client is away (or reconnecting): /s's data changes.
	if _, err := admin.Set("/s", []byte("while away"), -1); err != nil {
		t.Fatal(err)
	}
	awaitSession("reconnect")
	if c.Server() != other {
		t.Fatalf("reconnected to %s, want %s", c.Server(), other)
	}
	if ev := awaitEvent(t, dataCh); ev.Type != zk.EventNodeDataChanged || ev.Path != "/s" {
		t.Fatalf("after reconnect: %+v, want NodeDataChanged /s", ev)
	}
	// The child watch was set again on the new layerd, and fires now.
	if _, err := admin.Create("/s/new", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	if ev := awaitEvent(t, childCh); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/s" {
		t.Fatalf("child watch after reconnect: %+v, want NodeChildrenChanged /s", ev)
	}
}
