package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/zkref"
	"zkfdb/layerd/zkwire"
)

// startZooKeeper starts Debian's ZooKeeper for one test. ZooKeeper allows
// 60 connections per client address by default; zkload opens more.
func startZooKeeper(t *testing.T) Target {
	t.Helper()
	srv := zkref.StartT(t, zkref.Options{Config: []string{"maxClientCnxns=0"}})
	return Target{Label: "zookeeper", Servers: []string{srv.Addr()}}
}

// checker opens one session for the test's own reads of the tree.
func checker(t *testing.T, ctx context.Context, target Target) *zk.Conn {
	t.Helper()
	c, err := connectOne(ctx, zaptest.NewLogger(t), target.Servers, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestWorkloadsAgainstZooKeeper runs every workload for a fixed number of
// requests against a real ZooKeeper, keeps the tree, checks that it shows
// exactly the writes the result counts, then deletes it with Cleanup.
func TestWorkloadsAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	check := checker(t, ctx, target)
	cfg := Config{
		Sessions:    8,
		Depth:       2,
		ValueSize:   37,
		Ops:         1000,
		Warmup:      100 * time.Millisecond,
		Children:    25,
		ReadPercent: 70,
		Prefix:      "/zkloadtest",
		Keep:        true,
	}

	for _, w := range Workloads {
		t.Run(string(w), func(t *testing.T) {
			log := zaptest.NewLogger(t)
			res, err := Run(ctx, log, target, w, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.OK != cfg.Ops || len(res.Errors) != 0 {
				t.Fatalf("ok %d, errors %v; want %d requests, no errors", res.OK, res.Errors, cfg.Ops)
			}
			if got := res.Latency.Count(); got != uint64(res.OK) {
				t.Errorf("latency count %d, want %d", got, res.OK)
			}
			p50, p99, maxLat := res.Latency.Quantile(0.5), res.Latency.Quantile(0.99), res.Latency.Max()
			if p50 <= 0 || p50 > p99 || p99 > maxLat {
				t.Errorf("p50 %v, p99 %v, max %v: want 0 < p50 <= p99 <= max", p50, p99, maxLat)
			}
			if res.Elapsed <= 0 || res.OpsPerSec() <= 0 {
				t.Errorf("elapsed %v, %v ops/s: want positive", res.Elapsed, res.OpsPerSec())
			}
			if !strings.HasPrefix(res.Root, cfg.Prefix+"-") {
				t.Errorf("root %q is not named after prefix %q", res.Root, cfg.Prefix)
			}

			writes := res.Writes + res.WarmupWrites
			switch w {
			case Create:
				if res.Writes != res.OK {
					t.Errorf("create: %d writes of %d requests, want all", res.Writes, res.OK)
				}
				var created int64
				for i, kids := range sessionKids(t, check, res.Root, cfg.Sessions) {
					created += int64(len(kids))
					for _, k := range kids[:min(len(kids), 3)] {
						checkData(t, check, sessionNode(res.Root, i)+"/"+k, cfg.ValueSize)
					}
				}
				if created != writes {
					t.Errorf("create: %d nodes exist, want %d (%d measured + %d warm-up)", created, writes, res.Writes, res.WarmupWrites)
				}
			case Delete:
				// The nodes taken are the first writes of the pool, in
				// order; the rest are still there.
				if res.Writes != res.OK {
					t.Errorf("delete: %d writes of %d requests, want all", res.Writes, res.OK)
				}
				var left int64
				for _, kids := range sessionKids(t, check, res.Root, cfg.Sessions) {
					left += int64(len(kids))
				}
				pool := &deletePool{root: res.Root, sessions: cfg.Sessions}
				for k, want := range map[int64]bool{0: false, writes - 1: false, writes: left > 0, writes + left - 1: left > 0, writes + left: false} {
					if ok, _, err := check.Exists(pool.node(k)); err != nil || ok != want {
						t.Errorf("delete: after %d deletes with %d nodes left, node %d exists = %v, %v; want %v", writes, left, k, ok, err, want)
					}
				}
				if left > 0 {
					checkData(t, check, pool.node(writes), cfg.ValueSize)
				}
			case MultiRead:
				if res.Writes != 0 {
					t.Errorf("multiRead: %d writes, want none", res.Writes)
				}
				for j := range MultiReadNodes {
					if st := checkData(t, check, multiReadNode(res.Root, cfg.Sessions-1, j), cfg.ValueSize); st.Version != 0 {
						t.Errorf("multiRead: node %d has version %d, want 0", j, st.Version)
					}
				}
			case SetData, GetData, Mixed:
				var versions int64
				for i := range cfg.Sessions {
					versions += int64(checkData(t, check, sessionNode(res.Root, i), cfg.ValueSize).Version)
				}
				if versions != writes {
					t.Errorf("%s: session nodes' versions add up to %d, want %d setData (%d measured + %d warm-up)", w, versions, writes, res.Writes, res.WarmupWrites)
				}
				switch wantWrites := map[Workload]float64{SetData: 1, GetData: 0, Mixed: 0.3}[w]; {
				case w != Mixed && float64(res.Writes) != wantWrites*float64(res.OK):
					t.Errorf("%s: %d writes of %d requests, want %v of them", w, res.Writes, res.OK, wantWrites)
				case w == Mixed && (res.Writes < res.OK*15/100 || res.Writes > res.OK*45/100):
					// 30% writes: 300 ± 14.5 (one sigma) of 1000.
					t.Errorf("mixed: %d writes of %d requests, want about 30%%", res.Writes, res.OK)
				}
			case Watch:
				// Each request wrote its watched node once.
				var versions int64
				for i := range cfg.Sessions {
					for lane := range cfg.Depth {
						versions += int64(checkData(t, check, watchNode(res.Root, i, lane), cfg.ValueSize).Version)
					}
				}
				if versions != writes || res.Writes != res.OK {
					t.Errorf("watch: %d setData, %d writes of %d requests; want %d and all", versions, res.Writes, res.OK, writes)
				}
			case Lock:
				// Every lock node was released.
				kids, stat, err := check.Children(res.Root + "/lock")
				if err != nil {
					t.Fatal(err)
				}
				if len(kids) != 0 || int64(stat.Cversion) != 2*writes {
					t.Errorf("lock: %d lock nodes left, cversion %d; want none, %d (a create and a delete per acquisition)", len(kids), stat.Cversion, 2*writes)
				}
			case GetChildren:
				kids, _, err := check.Children(res.Root + "/children")
				if err != nil {
					t.Fatal(err)
				}
				if len(kids) != cfg.Children || res.Writes != 0 {
					t.Errorf("getChildren: %d children, %d writes; want %d, 0", len(kids), res.Writes, cfg.Children)
				}
			}

			if err := Cleanup(ctx, log, target, res.Root); err != nil {
				t.Fatalf("Cleanup: %v", err)
			}
			if ok, _, err := check.Exists(res.Root); err != nil || ok {
				t.Fatalf("after Cleanup: Exists(%s) = %v, %v; want false", res.Root, ok, err)
			}
		})
	}
}

// TestExpiryAgainstZooKeeper: the expiry workload's requests each see an
// ephemeral go no sooner than its session's timeout after its client
// died, and leave no node behind.
func TestExpiryAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cfg := Config{Sessions: 2, Ops: 4, Warmup: -1, Prefix: "/zkloadexp", Keep: true}
	res, err := Run(ctx, zaptest.NewLogger(t), target, Expiry, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.OK != cfg.Ops || len(res.Errors) != 0 {
		t.Fatalf("ok %d, errors %v; want %d, none", res.OK, res.Errors, cfg.Ops)
	}
	if low := res.Latency.Quantile(0); low < ExpiryTimeout*9/10 {
		t.Errorf("an ephemeral went %v after its client died, before the %v timeout", low, ExpiryTimeout)
	}
	check := checker(t, ctx, target)
	kids, _, err := check.Children(res.Root)
	if err != nil || len(kids) != 0 {
		t.Errorf("after the run: %v, %v; want no node left", kids, err)
	}
	if err := Cleanup(ctx, zaptest.NewLogger(t), target, res.Root); err != nil {
		t.Fatal(err)
	}
}

// sessionKids lists the children of each of n sessions' nodes under root.
func sessionKids(t *testing.T, c *zk.Conn, root string, n int) [][]string {
	t.Helper()
	out := make([][]string, n)
	for i := range n {
		kids, _, err := c.Children(sessionNode(root, i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = kids
	}
	return out
}

// checkData checks that path holds size bytes and returns its stat.
func checkData(t *testing.T, c *zk.Conn, path string, size int) *zk.Stat {
	t.Helper()
	data, stat, err := c.Get(path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	if len(data) != size {
		t.Errorf("%s holds %d bytes, want %d", path, len(data), size)
	}
	return stat
}

// TestCompareAgainstZooKeeper runs the comparison path (RunAll with two
// targets, here the same server under two names) and checks the report,
// the ratios and that every run deleted its root.
func TestCompareAgainstZooKeeper(t *testing.T) {
	zk := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, b := Target{Label: "a", Servers: zk.Servers}, Target{Label: "b", Servers: zk.Servers}
	cfg := Config{Sessions: 4, Ops: 300, Warmup: -1, Prefix: "/zkloadcmp"}

	rep, err := RunAll(ctx, zaptest.NewLogger(t), []Target{a, b}, []Workload{Create, GetData}, cfg)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	var got []string
	for _, res := range rep.Results {
		got = append(got, string(res.Workload)+"/"+res.Target)
		if res.OK != cfg.Ops || res.WarmupOK != 0 {
			t.Errorf("%s/%s: ok %d, warm-up %d; want %d, 0 (no warm-up)", res.Workload, res.Target, res.OK, res.WarmupOK, cfg.Ops)
		}
	}
	if want := "create/a create/b getData/a getData/b"; strings.Join(got, " ") != want {
		t.Fatalf("results %q, want %q", got, want)
	}
	ratios := rep.Ratios()
	if len(ratios) != 2 {
		t.Fatalf("%d ratios, want 2: %+v", len(ratios), ratios)
	}
	for _, x := range ratios {
		if x.Target != "b" || x.Baseline != "a" || !(x.OpsPerSec > 0) || math.IsInf(x.OpsPerSec, 0) || !(x.P99 > 0) || math.IsInf(x.P99, 0) {
			t.Errorf("ratio %+v: want b against a, finite and positive", x)
		}
	}

	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text.String(), "\ncreate "); n != 3 { // two results, one ratio
		t.Errorf("text report has %d create rows, want 3:\n%s", n, text.String())
	}
	var doc struct {
		Results []struct{ OK int64 }
		Ratios  []struct {
			OpsPerSec *float64 `json:"ops_per_s"`
		}
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, js.String())
	}
	if len(doc.Results) != 4 || doc.Results[0].OK != cfg.Ops || len(doc.Ratios) != 2 || doc.Ratios[0].OpsPerSec == nil {
		t.Errorf("JSON report lacks results or ratios:\n%s", js.String())
	}

	kids, _, err := checker(t, ctx, a).Children("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if strings.HasPrefix(k, "zkloadcmp") {
			t.Errorf("root /%s is left after the runs", k)
		}
	}
}

// TestDurationAgainstZooKeeper checks the timed mode: the measured phase
// lasts at least Duration and ends soon after; Delete's may end sooner,
// when its nodes run out, and its run leaves nothing behind.
func TestDurationAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfg := Config{Sessions: 2, Depth: 2, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Prefix: "/zkloadtime"}
	for _, w := range []Workload{GetData, Delete} {
		res, err := Run(ctx, zaptest.NewLogger(t), target, w, cfg)
		if err != nil {
			t.Fatal(err)
		}
		low := cfg.Duration
		if w == Delete {
			low = 0
		}
		if res.Elapsed < low || res.Elapsed > cfg.Duration+10*time.Second || res.OK == 0 || res.WarmupOK == 0 || len(res.Errors) != 0 {
			t.Errorf("%s: elapsed %v with %d requests (%d in the warm-up), errors %v; want at least %v (and not %v more) with some requests in both phases, no errors",
				w, res.Elapsed, res.OK, res.WarmupOK, res.Errors, low, 10*time.Second)
		}
		if ok, _, err := checker(t, ctx, target).Exists(res.Root); err != nil || ok {
			t.Errorf("%s: after the run, Exists(%s) = %v, %v; want false", w, res.Root, ok, err)
		}
	}
}

// TestUnreachableServer checks that a run against a port nobody listens on
// fails within ConnectTimeout instead of hanging.
func TestUnreachableServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := Config{Sessions: 3, ConnectTimeout: 500 * time.Millisecond}
	_, err := Run(ctx, zaptest.NewLogger(t), Target{Servers: []string{"127.0.0.1:1"}}, GetData, cfg)
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("Run against 127.0.0.1:1 = %v (test context: %v); want the connect timeout", err, ctx.Err())
	}
}

// TestRawSessionAgainstZooKeeper: a session spoken without go-zookeeper
// gets the timeout ZooKeeper negotiates (at least 2 ticks of 2 s), answers
// pings, and after closeSession the server closes its connection.
func TestRawSessionAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := openRaw(ctx, target.Servers[0], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.id == 0 || s.timeout != 4*time.Second {
		t.Errorf("session %#x, timeout %v; want an id and ZooKeeper's minimum of 4s", s.id, s.timeout)
	}
	for range 3 {
		if err := s.ping(); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	if err := s.call(zkwire.OpCloseSession, s.timeout); err != nil {
		t.Fatalf("closeSession: %v", err)
	}
	defer s.nc.Close()
	if err := s.ping(); errorCode(err) != "CONNECTIONLOSS" {
		t.Errorf("ping after closeSession: %v; want the connection closed", err)
	}
}

// TestSessionWorkloadAgainstZooKeeper: every request of the session
// workload opens and closes a session, and counts as a write.
func TestSessionWorkloadAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfg := Config{Sessions: 2, Depth: 4, Ops: 200, Warmup: -1, Prefix: "/zkloadses"}
	res, err := Run(ctx, zaptest.NewLogger(t), target, Session, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.OK != cfg.Ops || res.Writes != cfg.Ops || len(res.Errors) != 0 {
		t.Errorf("ok %d, writes %d, errors %v; want %d, %d, none", res.OK, res.Writes, res.Errors, cfg.Ops, cfg.Ops)
	}
}

// TestHoldAgainstZooKeeper: Hold opens every session asked for, ZooKeeper
// counts them while they are held, each is pinged about every third of
// its timeout, and none is left open afterwards.
func TestHoldAgainstZooKeeper(t *testing.T) {
	target := startZooKeeper(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const n = 150
	cfg := Config{SessionTimeout: 4 * time.Second} // pings every 1.33 s
	aliveWhileHeld := -1
	res, err := Hold(ctx, zaptest.NewLogger(t), target, n, cfg, 3*time.Second, func(open int) {
		aliveWhileHeld = zkAlive(t, ctx, target)
		if open != n {
			t.Errorf("%d sessions open, want %d", open, n)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Held != n || res.Lost != 0 || len(res.OpenErrors) != 0 {
		t.Errorf("held %d, lost %d, open errors %v; want %d, 0, none", res.Held, res.Lost, res.OpenErrors, n)
	}
	// Rounds at 0, 1.33 and 2.67 s.
	if res.Pings < 2*n || res.Pings > 4*n || res.PingLatency.Count() != uint64(res.Pings) {
		t.Errorf("%d pings (%d latencies) over 3 s; want 2 to 4 rounds of %d", res.Pings, res.PingLatency.Count(), n)
	}
	if aliveWhileHeld < n {
		t.Errorf("ZooKeeper had %d connections while %d sessions were held", aliveWhileHeld, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for zkAlive(t, ctx, target) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // ZooKeeper closes the sockets after the replies
	}
	if left := zkAlive(t, ctx, target); left > 0 {
		t.Errorf("%d connections left 10 s after the hold", left)
	}
}

// A slow opening does not cost the sessions opened first: each is pinged
// from its open on. The last session's open is held back until the others
// have been pinged for twice their timeout; then all of them must still be
// alive for the hold.
func TestHoldPingsWhileOpening(t *testing.T) {
	srv := zkref.StartT(t, zkref.Options{TickTime: 500 * time.Millisecond,
		Config: []string{"maxClientCnxns=0", "minSessionTimeout=1000", "maxSessionTimeout=1000"}})
	target := Target{Label: "zookeeper", Servers: []string{srv.Addr()}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const n = 20
	cfg := Config{SessionTimeout: time.Second} // pings every 333 ms
	var opening atomic.Int64
	kept := make(chan struct{})
	holdTestHooks.openingPing = func() {
		// Eight rounds of the n-1 open sessions: over 2 s, twice the
		// timeout (ZooKeeper expires a session within its timeout and
		// a tick).
		if opening.Add(1) == 8*(n-1) {
			close(kept)
		}
	}
	holdTestHooks.beforeOpen = func(i int) {
		if i != n-1 {
			return
		}
		select {
		case <-kept:
		case <-ctx.Done():
		}
	}
	defer func() { holdTestHooks.openingPing, holdTestHooks.beforeOpen = nil, nil }()
	res, err := Hold(ctx, zaptest.NewLogger(t), target, n, cfg, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Opening < 2*time.Second {
		t.Errorf("opening took %v; the hook should have held it back for 2 s", res.Opening)
	}
	if res.Held != n || res.Lost != 0 || len(res.OpenErrors) != 0 {
		t.Errorf("held %d, lost %d, open errors %v after an opening of %v; want %d, 0, none",
			res.Held, res.Lost, res.OpenErrors, res.Opening, n)
	}
	if res.Pings < n {
		t.Errorf("%d pings counted in the hold, want a round of %d at least", res.Pings, n)
	}
}

// zkAlive returns ZooKeeper's zk_num_alive_connections (mntr), less the
// connection that asks.
func zkAlive(t *testing.T, ctx context.Context, target Target) int {
	t.Helper()
	out, err := zkref.FourLetterWord(ctx, target.Servers[0], "mntr")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(line, "zk_num_alive_connections\t"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n - 1
		}
	}
	t.Fatalf("mntr has no zk_num_alive_connections:\n%s", out)
	return 0
}
