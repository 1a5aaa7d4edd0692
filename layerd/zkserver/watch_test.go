package zkserver

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
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
