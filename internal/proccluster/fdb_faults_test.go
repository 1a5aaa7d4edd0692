//go:build fdb

package proccluster

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/shared/clock"
)

// pids returns the process ids of the layerds and sweeperds.
func pids(c *Cluster) map[string]int {
	out := map[string]int{}
	for _, p := range append(append([]*Proc{}, c.Layerds...), c.Sweepers...) {
		out[p.Name] = p.Pid()
	}
	return out
}

// checkNoRestart asserts that every layerd and sweeperd is the process
// it was.
func checkNoRestart(t *testing.T, c *Cluster, before map[string]int) {
	t.Helper()
	for name, pid := range pids(c) {
		if pid == 0 || pid != before[name] {
			t.Errorf("%s: pid %d, was %d: it exited during the fault", name, pid, before[name])
		}
	}
}

// TestKillFDBServer: kill -9 of one of the three fdbservers (a
// coordinator, with a replica of some data): the one with a commit proxy
// and a transaction log, under write load, so that some commits end in
// commit_unknown_result (the layerds' store retries with code 1021 are
// reported) and their retries must neither lose nor repeat a write (the
// registers' history and the sequential creates are checked). FDB
// recovers with the two left; the layerds and sweeperds ride it out without a restart; no
// session expires, the registers stay linearizable, a dead client's
// ephemerals still go in time and the clock keeps its pace.
func TestKillFDBServer(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	db, root := openStore(t, c)
	admin := connect(t, c.Addrs(), holderTimeout)
	reg, stop := load(t, c, admin, "/reg")
	h := newHolder(t, c, admin, "")
	awaitOps(t, reg, 200)
	clk := watchClock(t, db, root)
	before := pids(c)

	victim := c.FDB[2]
	if roles, err := fdbRoles(t, c); err == nil {
		for _, p := range c.FDB {
			r := roles[p.Addr]
			if slices.Contains(r, "commit_proxy") && slices.Contains(r, "log") {
				victim = p
			}
		}
		t.Logf("roles: %v; killing %s", roles, victim.Name)
	}
	unknown0 := commitUnknown(c)
	victim.Kill()
	killed := time.Now()
	awaitOps(t, reg, 200)
	t.Logf("200 more operations done %v after the kill", time.Since(killed).Round(time.Millisecond))
	// While FDB recovered nothing committed, the clock's tick neither.
	clk.restart()
	checkDeadClient(t, c, db, root, admin, "one-fdbserver-down")
	clk.check("one fdbserver down")
	h.check(t, admin)

	t.Logf("commits of unknown result (1021) the layerds retried: %v", commitUnknown(c)-unknown0)
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	awaitOps(t, reg, 200)
	clk.restart() // the server's return is a recovery too
	awaitOps(t, reg, 200)
	clk.check("fdbserver back")
	checkNoRestart(t, c, before)
	stop()
}

// commitUnknown sums the layerds' store retries after
// commit_unknown_result.
func commitUnknown(c *Cluster) float64 {
	var n float64
	for _, p := range c.Layerds {
		v, _ := metricWith(p, "layerd_store_retries_total", `code="1021"`)
		n += v
	}
	return n
}

// TestFDBOutage: every fdbserver killed, and started again 10 s later
// (longer than the clients' 6 s timeout). Clients see CONNECTIONLOSS,
// then carry on with the same sessions: nothing expires because of the
// outage, the holder keeps its ephemeral and its watch, and the daemons
// ride it out without a restart.
func TestFDBOutage(t *testing.T) {
	const outage = 10 * time.Second
	c := StartT(t, daemons(t), Options{})
	db, root := openStore(t, c)
	admin := connect(t, c.Addrs(), holderTimeout)
	reg, stop := load(t, c, admin, "/reg")
	h := newHolder(t, c, admin, "")
	awaitOps(t, reg, 200)
	// The clock runs before the outage (a fresh cluster's starts at 0),
	// so every sweeperd has read it and counts the intervals it then
	// stands still.
	tickCtx, tickCancel := context.WithTimeout(t.Context(), 30*time.Second)
	if _, err := clock.WaitAfter(tickCtx, db, root.Clock(), 1); err != nil {
		t.Fatalf("the clock did not pass tick 1: %v", err)
	}
	tickCancel()
	before := pids(c)
	missedBefore := ticksMissed(t, c)

	for _, p := range c.FDB {
		p.Kill()
	}
	down := time.Now()
	// A request during the outage ends in CONNECTIONLOSS (go-zookeeper:
	// ErrConnectionClosed), not in a hang, within the session timeout.
	// It writes the holder's own ephemeral, which nobody watches: its
	// outcome is unknown, and it may land once FDB is back.
	_, err := h.Set(h.ephemeral, []byte("during"), -1)
	if !errors.Is(err, zk.ErrConnectionClosed) {
		t.Errorf("setData during the outage: %v, want CONNECTIONLOSS", err)
	}
	t.Logf("setData during the outage failed after %v: %v", time.Since(down).Round(time.Millisecond), err)
	time.Sleep(time.Until(down.Add(outage))) // the fault's length, not a wait for an event
	for _, p := range c.FDB {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := c.AwaitFDB(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("FoundationDB available %v after the servers started again", time.Since(down.Add(outage)).Round(time.Millisecond))
	h.awaitSession(t, time.Minute)
	awaitOps(t, reg, 200)
	h.check(t, admin)
	clk := watchClock(t, db, root)
	checkDeadClient(t, c, db, root, admin, "after-outage")
	clk.check("after the outage")
	checkNoRestart(t, c, before)
	// The ticks nobody won during the outage show in every sweeperd's
	// clock_ticks_missed_total: it stood still for at least the outage,
	// 10 intervals, with one tick due.
	missed := ticksMissed(t, c)
	for i, p := range c.Sweepers {
		if d := missed[i] - missedBefore[i]; d < float64(outage/time.Second)-1 {
			t.Errorf("%s counted %v ticks missed over a %v outage, want at least %v", p.Name, d, outage, float64(outage/time.Second)-1)
		}
	}
	t.Logf("clock_ticks_missed_total of the sweeperds: %v before the outage, %v after", missedBefore, missed)
	stop()
}

// ticksMissed reads clock_ticks_missed_total of each sweeperd (their
// clock ticks every second).
func ticksMissed(t *testing.T, c *Cluster) []float64 {
	t.Helper()
	var out []float64
	for _, p := range c.Sweepers {
		n, ok := metric(p, "clock_ticks_missed_total")
		if !ok {
			t.Fatalf("%s does not answer on /metrics", p.Name)
		}
		out = append(out, n)
	}
	return out
}
