//go:build fdb

package proccluster

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// dyingTimeout is the session timeout of clients that die: 2 ticks, the
// least a session gets.
const dyingTimeout = 2 * time.Second

// shardMoveBound is how long a dead sweeperd's shards may stay unowned:
// memberlist's failure detection with its LAN defaults (a probe a
// second, a suspicion of about 4 × log10(members) probe intervals) and
// a tick for the new owners to sweep and say so.
const shardMoveBound = 10 * time.Second

// checkDeadClient has a client create an ephemeral node and die (no
// closeSession), and asserts that the node is gone within the client's
// timeout + 2 ticks of the cluster's clock, as a watcher on another
// connection hears.
func checkDeadClient(t *testing.T, c *Cluster, db store.DB, root keys.Root, watcher *client, name string) {
	t.Helper()
	path := "/dying-" + name
	dying := connect(t, c.Addrs(), dyingTimeout)
	if _, err := dying.Create(path, nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	var ch <-chan zk.Event
	retry(t, "exists "+path, func() error {
		var err error
		_, _, ch, err = watcher.ExistsW(path)
		return err
	})
	diedAt := now(t, db, root)
	dying.die()
	if ev := awaitEvent(t, ch, 60*time.Second); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("%s: event %+v, want NodeDeleted", path, ev)
	}
	ticks := now(t, db, root) - diedAt
	if limit := int64(dyingTimeout/time.Second) + 2; ticks > limit {
		t.Errorf("%s went %d ticks after its client died; want at most the timeout + 2 = %d", path, ticks, limit)
	} else {
		t.Logf("%s went %d ticks after its client died (timeout %d ticks)", path, ticks, dyingTimeout/time.Second)
	}
}

// clockWatch follows the cluster's clock against the wall clock.
type clockWatch struct {
	t     *testing.T
	db    store.DB
	root  keys.Root
	tick0 int64
	wall0 time.Time
	last  int64
}

func watchClock(t *testing.T, db store.DB, root keys.Root) *clockWatch {
	n := now(t, db, root)
	return &clockWatch{t: t, db: db, root: root, tick0: n, wall0: time.Now(), last: n}
}

// check asserts that the clock never went back, and that it advanced
// once per second of wall time since the watch began (or restarted),
// give or take 2 ticks.
func (w *clockWatch) check(when string) {
	w.t.Helper()
	n := now(w.t, w.db, w.root)
	if n < w.last {
		w.t.Fatalf("%s: the clock went back from %d to %d", when, w.last, n)
	}
	w.last = n
	wall := time.Since(w.wall0).Seconds()
	advanced := float64(n - w.tick0)
	if advanced > wall+1 || advanced < wall-2 {
		w.t.Errorf("%s: the clock advanced %v ticks in %.1f s; want one a second", when, advanced, wall)
	} else {
		w.t.Logf("%s: the clock advanced %v ticks in %.1f s", when, advanced, wall)
	}
}

// restart begins the pace again from now, after a fault during which the
// store could commit nothing, so nobody could tick: such ticks are lost,
// never made up (the clock counts ticks, not seconds). That it never
// goes back is still checked from the first reading.
func (w *clockWatch) restart() {
	n := now(w.t, w.db, w.root)
	if n < w.last {
		w.t.Fatalf("the clock went back from %d to %d", w.last, n)
	}
	w.tick0, w.wall0, w.last = n, time.Now(), n
}

// TestKillSweeperds: kill -9 of one sweeperd, then of a second of the
// three. Each time, the others own the dead one's shards within
// shardMoveBound; a dead client's ephemerals still go within its timeout
// + 2 ticks; the clock keeps its pace; no live session expires and the
// registers stay linearizable. Started again, the sweeperds take their
// shards back.
func TestKillSweeperds(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	db, root := openStore(t, c)
	admin := connect(t, c.Addrs(), holderTimeout)
	reg, stop := load(t, c, admin, "/reg")
	awaitShards(t, c, c.Sweepers)
	clk := watchClock(t, db, root)
	checkDeadClient(t, c, db, root, admin, "all-sweeperds")

	// Kill first the one that owns the most shards, then the next: the
	// one on a host with no replica of the expiry index may own none.
	live := slices.Clone(c.Sweepers)
	for killed := 1; killed <= 2; killed++ {
		victim := slices.MaxFunc(live, func(a, b *Proc) int {
			na, _ := metric(a, "sweeper_shards_owned")
			nb, _ := metric(b, "sweeper_shards_owned")
			return cmp.Compare(na, nb)
		})
		n, _ := metric(victim, "sweeper_shards_owned")
		victim.Kill()
		live = slices.DeleteFunc(live, func(p *Proc) bool { return p == victim })
		took := awaitShards(t, c, live)
		if took > shardMoveBound {
			t.Errorf("with %d sweeperds killed, the others owned every shard after %v; want within %v", killed, took, shardMoveBound)
		} else {
			t.Logf("with %d sweeperds killed, the others owned every shard (%v of them the dead one's) after %v", killed, n, took.Round(time.Millisecond))
		}
		awaitOps(t, reg, 100)
		checkDeadClient(t, c, db, root, admin, fmt.Sprintf("%d-killed", killed))
		clk.check(fmt.Sprintf("%d sweeperds killed", killed))
	}

	for _, p := range c.Sweepers {
		if !p.Running() {
			restart(t, p)
		}
	}
	// Back: the three share the shards again, the returned ones among
	// them.
	deadline := time.Now().Add(60 * time.Second)
	for {
		awaitShards(t, c, c.Sweepers)
		owned, _, _ := ownedShards(c.Sweepers)
		returned := 0.0
		for i, p := range c.Sweepers {
			if !slices.Contains(live, p) {
				returned += owned[i]
			}
		}
		if returned > 0 {
			t.Logf("shards owned after the restarts: %v", owned)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted sweeperds own no shard after 60 s: %v", owned)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkDeadClient(t, c, db, root, admin, "restarted")
	clk.check("sweeperds restarted")
	stop()
}
