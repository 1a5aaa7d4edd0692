package zkserver

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
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

// A watch set through one layerd fires for writes through another.
func TestWatchAcrossServers(t *testing.T) { engines.Each(t, testWatchAcrossServers) }

func testWatchAcrossServers(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addrA, _ := serveOn(t, st)
	addrB, _ := serveOn(t, st)
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
func TestEventBeforeData(t *testing.T) { engines.Each(t, testEventBeforeData) }

func testEventBeforeData(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addrA, _ := serveOn(t, st)
	addrB, _ := serveOn(t, st)
	reader := connect(t, addrB)
	if _, err := reader.Create("/k", []byte("0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// Concurrent writers through both layerds, each writing values of
	// its own.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for w, addr := range []string{addrA, addrA, addrB} {
		writer := connect(t, addr)
		wg.Go(func() {
			for i := 1; ctx.Err() == nil; i++ {
				if _, err := writer.Set("/k", []byte(fmt.Sprintf("%d-%d", w, i)), -1); err != nil && ctx.Err() == nil {
					t.Errorf("set: %v", err)
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer stop()

	const rounds = 2000
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

// TestRecursiveWatchOrderAcrossServers: a persistent recursive watch on a
// subtree, set through layerd B, sees every change that concurrent
// writers make through A and B, each once, in commit order. Each
// notification's header carries its txn's zxid (3.9), so the order is
// checked on the zxids themselves: strictly increasing over the whole
// stream, every setData's event at the zxid its reply gave, and each
// writer's changes in the order it made them.
func TestRecursiveWatchOrderAcrossServers(t *testing.T) {
	engines.Each(t, testRecursiveWatchOrderAcrossServers)
}

func testRecursiveWatchOrderAcrossServers(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addrA, _ := serveOn(t, st)
	addrB, _ := serveOn(t, st)
	open := zk.WorldACL(zk.PermAll)
	setup := connect(t, addrA)
	if _, err := setup.Create("/sub", nil, 0, open); err != nil {
		t.Fatal(err)
	}

	w, _ := dialRaw(t, addrB, zkwire.ConnectRequest{TimeOut: 30000})
	w.send(w.request(1, &zkwire.AddWatch{Path: "/sub", Mode: zkwire.AddWatchPersistentRecursive}))
	if h, _, err := w.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("addWatch: %+v, %v", h, err)
	}
	// The watcher sends nothing else while the writers run: it pings, as
	// a client does, so that its session outlives a slow run (CI's
	// loaded machine took longer than the session's timeout, and the
	// server rightly closed the silent connection).
	pingsDone := make(chan struct{})
	var pinger sync.WaitGroup
	pinger.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		ping := w.request(zkwire.XidPing, &zkwire.Ping{})
		for {
			select {
			case <-pingsDone:
				return
			case <-tick.C:
				w.nc.Write(ping) // a failure shows in the reads below
			}
		}
	})
	stopPings := sync.OnceFunc(func() {
		close(pingsDone)
		pinger.Wait()
	})
	defer stopPings()

	// Each writer: create its node, then rounds of create a child, set
	// its node, delete the child.
	const writers, rounds = 4, 170
	type change struct {
		typ  zkwire.EventType
		path string
		zxid int64 // known for setData only
	}
	made := make([][]change, writers)
	var wg sync.WaitGroup
	for i := range writers {
		c := connect(t, []string{addrA, addrB}[i%2])
		wg.Go(func() {
			node := fmt.Sprintf("/sub/w%d", i)
			if _, err := c.Create(node, nil, 0, open); err != nil {
				t.Errorf("writer %d: %v", i, err)
				return
			}
			made[i] = append(made[i], change{zkwire.EventNodeCreated, node, 0})
			for k := range rounds {
				child := fmt.Sprintf("%s/c%d", node, k)
				if _, err := c.Create(child, nil, 0, open); err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				st, err := c.Set(node, []byte(strconv.Itoa(k)), -1)
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				if err := c.Delete(child, -1); err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				made[i] = append(made[i],
					change{zkwire.EventNodeCreated, child, 0},
					change{zkwire.EventNodeDataChanged, node, st.Mzxid},
					change{zkwire.EventNodeDeleted, child, 0})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	total := writers * (1 + 3*rounds)
	got := make([]change, 0, total)
	// Reading the events and the exists after them: dialRaw's 10 s
	// deadline covered writes too, and CI's loaded machine once took
	// longer than that to get here, failing the exists's write.
	w.nc.SetDeadline(time.Now().Add(30 * time.Second))
	for len(got) < total {
		h, body, err := w.replyNotPing()
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(got), total, err)
		}
		var ev zkwire.WatcherEvent
		if h.Xid != zkwire.XidNotification || zkwire.Decode(body, &ev) != nil {
			t.Fatalf("after %d events: frame %+v %x, want a notification", len(got), h, body)
		}
		if len(got) > 0 && h.Zxid <= got[len(got)-1].zxid {
			t.Fatalf("event %d (%v %s) has zxid %#x, not above the one before (%#x)", len(got), ev.Type, ev.Path, h.Zxid, got[len(got)-1].zxid)
		}
		got = append(got, change{ev.Type, ev.Path, h.Zxid})
	}
	// Nothing more: one event per change (and the pings' replies).
	stopPings()
	w.send(w.request(2, &zkwire.Exists{Path: "/"}))
	if h, _, err := w.replyNotPing(); err != nil || h.Xid != 2 {
		t.Fatalf("after the %d events, a frame %+v (%v); want only the exists reply", total, h, err)
	}

	// Each writer's changes appear in its order, setData at its zxid.
	next := make([]int, writers)
	for n, ev := range got {
		var i int
		if _, err := fmt.Sscanf(ev.path, "/sub/w%d", &i); err != nil || i < 0 || i >= writers {
			t.Fatalf("event %d on %s, outside the writers' nodes", n, ev.path)
		}
		want := made[i][next[i]]
		next[i]++
		if ev.typ != want.typ || ev.path != want.path || (want.zxid != 0 && ev.zxid != want.zxid) {
			t.Fatalf("event %d: %v %s at %#x; writer %d's change %d was %v %s (zxid %#x)", n, ev.typ, ev.path, ev.zxid, i, next[i]-1, want.typ, want.path, want.zxid)
		}
	}
}

// TestDeliveredEventsCleared: a connection leaves at most clearEvery
// delivered events in its session's log; armings clear the rest, and
// every event still arrives once, in order.
func TestDeliveredEventsCleared(t *testing.T) { engines.Each(t, testDeliveredEventsCleared) }

func testDeliveredEventsCleared(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addr, _ := serveOn(t, st)
	writer, watcher := connect(t, addr), connect(t, addr)
	if _, err := writer.Create("/x", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	const events = 3 * clearEvery
	for i := range events {
		_, stat, ch, err := watcher.GetW("/x")
		if err != nil {
			t.Fatal(err)
		}
		if stat.Version != int32(i) {
			t.Fatalf("watch %d set at version %d", i, stat.Version)
		}
		if _, err := writer.Set("/x", []byte(strconv.Itoa(i)), -1); err != nil {
			t.Fatal(err)
		}
		if ev := awaitEvent(t, ch); ev.Type != zk.EventNodeDataChanged || ev.Path != "/x" {
			t.Fatalf("event %d: %+v, want NodeDataChanged /x", i, ev)
		}
	}
	log := st.Root.Tenant(keys.DefaultTenant).Events(watcher.SessionID())
	rows, err := store.ReadTransact(t.Context(), st.DB, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(log, store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > clearEvery {
		t.Errorf("after %d events delivered: %d left in the session's log, want at most %d", events, len(rows), clearEvery)
	}
}
