//go:build fdb

package proccluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// netnsChildEnv marks the copy of the test binary that runs inside the
// network namespace TestGossipCut makes; binEnv passes it the daemons.
const (
	netnsChildEnv = "ZKFDB_PROCCLUSTER_NETNS_CHILD"
	binEnv        = "ZKFDB_PROCCLUSTER_BIN"
)

// nobody is the user the cut-off sweeperd runs as, so that a routing
// rule can tell its packets from the others' (uidrange).
const nobody = 65534

// TestGossipCut: one sweeperd cut off from the others' gossip but not
// from FoundationDB, then healed. The cut is made with routing rules
// (blackhole routes matched by address, port and, for the cut-off
// process's own packets, its user), so the test runs in a network
// namespace of its own, with its own loopback: it starts a copy of itself
// under `unshare -n`, and that copy runs the cluster and the test.
//
// While cut, each side finds the other dead: the cut-off sweeperd owns
// every shard, the two others every shard between them, so every shard
// has two owners. Expiry stays right: a dead client's ephemeral goes
// within timeout + 2 ticks, exactly one session is counted expired for
// it across the sweeperds (the second sweep of it is a no-op), no live
// session expires, the registers stay linearizable and the clock keeps
// its pace. Healed, the three share the shards again.
func TestGossipCut(t *testing.T) {
	if os.Getenv(netnsChildEnv) == "1" {
		testGossipCut(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make a network namespace and routing rules")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	bin := daemons(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-n", "--", self, "-test.run=^TestGossipCut$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), netnsChildEnv+"=1", binEnv+"="+bin)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	passed := false
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		t.Log(line)
		if strings.HasPrefix(line, "--- PASS: TestGossipCut") {
			passed = true
		}
	}
	if err := cmd.Wait(); err != nil || !passed {
		t.Fatalf("the test in its network namespace: %v (passed: %v)", err, passed)
	}
}

func testGossipCut(t *testing.T) {
	ns := netns{t: t}
	ns.ip("link", "set", "lo", "up")
	// Rules before the local table's, which answers every loopback
	// address at preference 0: move it to 100.
	ns.ip("rule", "add", "pref", "100", "lookup", "local")
	ns.ip("rule", "del", "pref", "0")

	c := StartT(t, os.Getenv(binEnv), Options{})
	db, root := openStore(t, c)
	// The cut-off sweeperd runs as nobody: its directory must be open to
	// it (the cluster file; its log is opened by the harness).
	for dir := c.Dir(); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cut := c.Sweepers[2]
	cut.Kill()
	cut.Credential = &syscall.Credential{Uid: nobody, Gid: nobody}
	restart(t, cut)
	awaitShards(t, c, c.Sweepers)

	admin := connect(t, c.Addrs(), holderTimeout)
	reg, stop := load(t, c, admin, "/reg")
	awaitOps(t, reg, 100)
	clk := watchClock(t, db, root)

	// The cut: nobody reaches the cut-off sweeperd's gossip port, and it
	// reaches no one's. Its FoundationDB traffic goes to other ports.
	_, cutPort := hostPort(t, cut.Addr)
	var rules [][]string
	for _, proto := range []string{"udp", "tcp"} {
		rules = append(rules, []string{"to", cut.Host, "ipproto", proto, "dport", cutPort})
		for _, p := range c.Sweepers[:2] {
			_, port := hostPort(t, p.Addr)
			rules = append(rules, []string{"uidrange", fmt.Sprintf("%d-%d", nobody, nobody), "ipproto", proto, "dport", port})
		}
	}
	for i, r := range rules {
		ns.ip(append([]string{"rule", "add", "pref", strconv.Itoa(10 + i)}, append(r, "blackhole")...)...)
	}
	cutAt := time.Now()
	// Both sides find the other dead: the cut-off one owns every shard,
	// the others every shard between them.
	awaitShards(t, c, []*Proc{cut})
	awaitShards(t, c, c.Sweepers[:2])
	t.Logf("%v after the cut, every shard has two owners", time.Since(cutAt).Round(time.Millisecond))

	expired0 := expiredTotal(c)
	checkDeadClient(t, c, db, root, admin, "while-cut")
	// The dead client's session is counted expired once: the second
	// owner's sweep of it finds nothing left to do. Wait a few ticks for
	// a late second sweep to show.
	tick := now(t, db, root)
	waitTicks(t, db, root, tick+3)
	if n := expiredTotal(c) - expired0; n != 1 {
		t.Errorf("the sweeperds counted %v sessions expired for one dead client", n)
	}
	awaitOps(t, reg, 200)
	clk.check("while cut")

	for i := range rules {
		ns.ip("rule", "del", "pref", strconv.Itoa(10+i))
	}
	took := awaitShardsWithin(t, c, c.Sweepers, 90*time.Second)
	owned, _, _ := ownedShards(c.Sweepers)
	t.Logf("%v after the cut healed, the three own every shard once: %v", took.Round(time.Millisecond), owned)
	checkDeadClient(t, c, db, root, admin, "healed")
	clk.check("healed")
	stop()
}

// expiredTotal sums the sessions the sweeperds counted expired.
func expiredTotal(c *Cluster) float64 {
	var n float64
	for _, p := range c.Sweepers {
		v, _ := metric(p, "sweeper_sessions_expired_total")
		n += v
	}
	return n
}

// waitTicks waits until the cluster's clock reaches tick.
func waitTicks(t *testing.T, db store.DB, root keys.Root, tick int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, db, root.Clock(), tick-1); err != nil {
		t.Fatalf("the clock did not reach %d: %v", tick, err)
	}
}

type netns struct{ t *testing.T }

// ip runs ip(8) in the test's network namespace.
func (n netns) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
