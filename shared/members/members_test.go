package members

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/keys"
)

func start(t *testing.T, name string, join ...string) *Member {
	t.Helper()
	m, err := Start(Config{Name: name, Bind: "127.0.0.1:0", Join: join, Logger: zap.NewNop(), Tune: Loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	return m
}

// awaitLive waits until every member in ms sees exactly want live
// members, following membership changes.
func awaitLive(t *testing.T, ms []*Member, want int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for _, m := range ms {
		for {
			ch := m.Changed()
			if len(m.Live()) == want {
				break
			}
			select {
			case <-ch:
			case <-deadline:
				t.Fatalf("%s sees %d live members, want %d", m.Name(), len(m.Live()), want)
			}
		}
	}
}

// checkOwnership requires every shard to have exactly one owner among ms,
// agreed on by all of them.
func checkOwnership(t *testing.T, ms []*Member) map[string]int {
	t.Helper()
	owned := map[string]int{}
	for shard := range keys.Shards {
		owner := ms[0].Owner(shard)
		n := 0
		for _, m := range ms {
			if m.Owner(shard) != owner {
				t.Fatalf("shard %d: %s says %s owns it, %s says %s", shard, ms[0].Name(), owner, m.Name(), m.Owner(shard))
			}
			if m.Owns(shard) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("shard %d has %d owners", shard, n)
		}
		owned[owner]++
	}
	return owned
}

// Three members gossiping on loopback share the shards; when one dies
// (no leave message) the other two own its shards after failure
// detection; when it comes back, it gets them back.
func TestShardsFollowMembership(t *testing.T) {
	a := start(t, "a")
	b := start(t, "b", a.Addr())
	c := start(t, "c", a.Addr())
	all := []*Member{a, b, c}
	awaitLive(t, all, 3)
	owned := checkOwnership(t, all)
	for _, m := range all {
		if owned[m.Name()] < keys.Shards/6 {
			t.Errorf("%s owns %d of %d shards: rendezvous hashing spreads them badly", m.Name(), owned[m.Name()], keys.Shards)
		}
	}
	before := map[int]string{}
	for shard := range keys.Shards {
		before[shard] = a.Owner(shard)
	}

	c.Stop() // a crash: no leave message
	awaitLive(t, []*Member{a, b}, 2)
	owned = checkOwnership(t, []*Member{a, b})
	if owned["a"]+owned["b"] != keys.Shards {
		t.Fatalf("after c died: %v", owned)
	}
	for shard, o := range before {
		if o != "c" && a.Owner(shard) != o {
			t.Errorf("shard %d moved from %s to %s although %s lives: rendezvous hashing moves only the dead member's", shard, o, a.Owner(shard), o)
		}
	}

	c2 := start(t, "c", a.Addr())
	all = []*Member{a, b, c2}
	awaitLive(t, all, 3)
	checkOwnership(t, all)
	for shard, o := range before {
		if got := a.Owner(shard); got != o {
			t.Errorf("shard %d: owned by %s after c came back, by %s before", shard, got, o)
		}
	}
}

// A member on a host that stores a shard's key range owns it first.
func TestPreferredHostOwns(t *testing.T) {
	nodes := []*memberlist.Node{}
	for i := range 4 {
		nodes = append(nodes, &memberlist.Node{Name: fmt.Sprintf("n%d", i), Addr: []byte{10, 0, 0, byte(i + 1)}})
	}
	prefer := func(shard int) []string { return []string{fmt.Sprintf("10.0.0.%d", shard%4+1)} }
	for shard := range keys.Shards {
		if got, want := owner(nodes, shard, prefer), fmt.Sprintf("n%d", shard%4); got != want {
			t.Fatalf("shard %d owned by %s, want %s on its storage host", shard, got, want)
		}
	}
	// No preferred host alive: any member.
	if got := owner(nodes[:1], 1, prefer); got != "n0" {
		t.Fatalf("owner with no preferred member alive = %q", got)
	}
}

// TestRejoin: members started together, each told to join one that is
// not up yet, find each other once it is (every member joins again while
// it sees no other), instead of each running alone for good.
func TestRejoin(t *testing.T) {
	// b is told to join an address where nothing listens yet; a starts
	// there afterwards.
	l, err := Start(Config{Name: "probe", Bind: "127.0.0.1:0", Logger: zap.NewNop(), Tune: Loopback})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr()
	l.Stop()
	b, err := Start(Config{Name: "b", Bind: "127.0.0.1:0", Join: []string{addr}, Logger: zap.NewNop(), Tune: Loopback, RejoinInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	if n := len(b.Live()); n != 1 {
		t.Fatalf("b sees %d members before a starts, want 1", n)
	}
	a, err := Start(Config{Name: "a", Bind: addr, Logger: zap.NewNop(), Tune: Loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	awaitLive(t, []*Member{a, b}, 2)
	checkOwnership(t, []*Member{a, b})
}

// TestMetrics: members_alive follows the members this one sees, and
// members_health_score is exported (0 on a healthy loopback cluster).
func TestMetrics(t *testing.T) {
	a := start(t, "a")
	reg := prometheus.NewRegistry()
	a.Register(reg)
	b := start(t, "b", a.Addr())
	awaitLive(t, []*Member{a, b}, 2)
	values := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		values[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	if values["members_alive"] != 2 {
		t.Errorf("members_alive = %v, want 2", values["members_alive"])
	}
	if v, ok := values["members_health_score"]; !ok || v < 0 {
		t.Errorf("members_health_score = %v (exported %v)", v, ok)
	}
}
