package zkserver

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"zkfdb/internal/engines"
	"zkfdb/layerd/fourletter"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// initialNodes are the nodes of a new tree: /, /zookeeper,
// /zookeeper/quota and /zookeeper/config.
const initialNodes = 4

// countNames are the store counts' names, in the metrics and in mntr
// (with "zk_").
var countNames = []string{"znode_count", "watch_count", "ephemerals_count"}

// serveCounting serves st with every four-letter word allowed and the
// store counts read afresh each time, so that a test sees each change.
func serveCounting(t *testing.T, st engines.Store) (string, *prometheus.Registry) {
	t.Helper()
	return serveAdjusted(t, st, func(s *Server) {
		s.countTTL = 0
		wl, err := fourletter.ParseWhitelist("*")
		if err != nil {
			t.Fatal(err)
		}
		s.whitelist = wl
	})
}

// TestStoreCounts: znode_count, watch_count and ephemerals_count, as
// metrics and in mntr, count exactly the nodes, this server's watches (as
// ZooKeeper's WatchManager does: per path and connection in its data and
// child tables) and the ephemeral nodes, and follow deletes, fired
// watches and a closed session.
func TestStoreCounts(t *testing.T) { engines.Each(t, testStoreCounts) }

func testStoreCounts(t *testing.T, e engines.Engine) {
	addr, reg := serveCounting(t, e.Open(t, engines.Options{}))
	wantCounts(t, addr, reg, initialNodes, 0, 0)

	acl := zk.WorldACL(zk.PermAll)
	a, b := connect(t, addr), connect(t, addr)
	for _, n := range []struct {
		c     *zk.Conn
		path  string
		flags int32
	}{
		{a, "/app", 0}, {a, "/app/p", 0},
		{a, "/app/e1", zk.FlagEphemeral}, {a, "/app/e2", zk.FlagEphemeral},
		{b, "/app/e3", zk.FlagEphemeral},
	} {
		if _, err := n.c.Create(n.path, nil, n.flags, acl); err != nil {
			t.Fatalf("create %s: %v", n.path, err)
		}
	}
	wantCounts(t, addr, reg, initialNodes+5, 0, 3)

	// a: data watches on /app (twice: one watch), /app/p and /missing
	// (exists), a child watch on /app: 4. b: a data watch on /app: 1.
	for _, set := range []func() error{
		func() error { _, _, _, err := a.GetW("/app"); return err },
		func() error { _, _, _, err := a.GetW("/app"); return err },
		func() error { _, _, _, err := a.ExistsW("/app/p"); return err },
		func() error { _, _, _, err := a.ExistsW("/missing"); return err },
		func() error { _, _, _, err := a.ChildrenW("/app"); return err },
		func() error { _, _, _, err := b.GetW("/app"); return err },
	} {
		if err := set(); err != nil {
			t.Fatal(err)
		}
	}
	// r: a persistent watch on /app, in both tables: 2; a recursive and a
	// data watch on /app/p, one entry of the data table: 1.
	r, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	for i, req := range []zkwire.Request{
		&zkwire.AddWatch{Path: "/app", Mode: znode.AddWatchPersistent},
		&zkwire.AddWatch{Path: "/app/p", Mode: znode.AddWatchPersistentRecursive},
		&zkwire.GetData{Path: "/app/p", Watch: true},
	} {
		r.send(r.request(int32(i+1), req))
		if h, _, err := r.reply(); err != nil || h.Err != zkwire.CodeOK {
			t.Fatalf("watch %d of the raw connection: %+v, %v", i+1, h, err)
		}
	}
	wantCounts(t, addr, reg, initialNodes+5, 4+1+3, 3)

	// Deleting /app/e1 fires a's child watch of /app (r's persistent one
	// stays).
	if err := a.Delete("/app/e1", -1); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, addr, reg, initialNodes+4, 7, 2)
	// Setting /app/p fires a's exists watch and r's data watch; r's
	// recursive watch keeps its entry.
	if _, err := a.Set("/app/p", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, addr, reg, initialNodes+4, 6, 2)
	// b's session ends: its ephemeral and its watch go.
	b.Close()
	wantCounts(t, addr, reg, initialNodes+3, 5, 1)
}

// TestStoreCountsUnreadable: while the store cannot be read, a scrape
// leaves the counts out within their budget instead of exporting a
// wrong number, and mntr shows the last counts.
func TestStoreCountsUnreadable(t *testing.T) { engines.Each(t, testStoreCountsUnreadable) }

func testStoreCountsUnreadable(t *testing.T, e engines.Engine) {
	var failing atomic.Bool
	st := e.Open(t, engines.Options{Faults: embedded.Faults{DecideRead: func(uint64) embedded.Fault {
		if failing.Load() {
			return embedded.FaultProcessBehind // retried until the budget ends
		}
		return embedded.NoFault
	}}})
	addr, reg := serveCounting(t, st)
	// A watch, so that counting the watches reads the store too. The
	// connection is quiet while the store fails: nothing of it is read.
	r, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	r.send(r.request(1, &zkwire.GetData{Path: "/", Watch: true}))
	if h, _, err := r.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("getData with a watch: %+v, %v", h, err)
	}
	wantCounts(t, addr, reg, initialNodes, 1, 0)

	failing.Store(true)
	defer failing.Store(false) // for the shutdown's store work
	start := time.Now()
	got := scrapeCounts(t, reg)
	if took := time.Since(start); took > storeCountBudget+2*time.Second {
		t.Errorf("a scrape with the store unreadable took %v, want about the budget %v", took, storeCountBudget)
	}
	if len(got) != 0 {
		t.Errorf("scraped with the store unreadable: %v, want no counts", got)
	}
	if got, want := mntrCounts(t, addr), map[string]float64{"znode_count": initialNodes, "watch_count": 1, "ephemerals_count": 0}; !equalCounts(got, want) {
		t.Errorf("mntr with the store unreadable = %v, want the last counts %v", got, want)
	}
}

// wantCounts waits until the scraped counts and mntr's are the ones
// wanted (a closed connection leaves the server shortly after its client
// sees the close), and fails the test if that takes 10 s.
func wantCounts(t *testing.T, addr string, reg *prometheus.Registry, nodes, watches, ephemerals float64) {
	t.Helper()
	want := map[string]float64{"znode_count": nodes, "watch_count": watches, "ephemerals_count": ephemerals}
	deadline := time.Now().Add(10 * time.Second)
	for {
		scraped, mntr := scrapeCounts(t, reg), mntrCounts(t, addr)
		if equalCounts(scraped, want) && equalCounts(mntr, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts scraped %v, in mntr %v; want %v", scraped, mntr, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func equalCounts(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// scrapeCounts gathers reg and returns the store counts it exported.
func scrapeCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, name := range countNames {
			if mf.GetName() == name {
				out[name] = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	return out
}

// mntrCounts asks addr for mntr and returns its store counts.
func mntrCounts(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte("mntr")); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("mntr: %v", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "\t")
		for _, name := range countNames {
			if k == "zk_"+name {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("mntr's %s: %v", k, err)
				}
				out[name] = n
			}
		}
	}
	return out
}
