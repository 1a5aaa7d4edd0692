//go:build fdb

package proccluster

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// SoakEnv names the environment variable that sets TestSoak's length (a
// Go duration); without it the soak runs a short schedule, for CI.
const SoakEnv = "ZKFDB_SOAK"

// soakShort is the soak's length without SoakEnv: a few rounds.
const soakShort = 45 * time.Second

// soakFaults are the faults the soak mixes: each harms one process, waits
// for the service to go on without it, and heals it.
var soakFaults = []struct {
	name string
	run  func(t *testing.T, c *Cluster, rng *rand.Rand)
}{
	{"kill -9 layerd", func(t *testing.T, c *Cluster, rng *rand.Rand) {
		p := c.Layerds[rng.IntN(len(c.Layerds))]
		p.Kill()
		restart(t, p)
	}},
	{"SIGSTOP layerd past the timeout", func(t *testing.T, c *Cluster, rng *rand.Rand) {
		p := c.Layerds[rng.IntN(len(c.Layerds))]
		if err := p.Pause(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(holderTimeout + time.Second) // the fault's length
		if err := p.Resume(); err != nil {
			t.Fatal(err)
		}
	}},
	{"kill -9 sweeperd", func(t *testing.T, c *Cluster, rng *rand.Rand) {
		p := c.Sweepers[rng.IntN(len(c.Sweepers))]
		p.Kill()
		awaitShards(t, c, running(c.Sweepers))
		restart(t, p)
	}},
	{"kill -9 two sweeperds", func(t *testing.T, c *Cluster, rng *rand.Rand) {
		keep := rng.IntN(len(c.Sweepers))
		var killed []*Proc
		for i, p := range c.Sweepers {
			if i != keep {
				p.Kill()
				killed = append(killed, p)
			}
		}
		awaitShards(t, c, running(c.Sweepers))
		for _, p := range killed {
			restart(t, p)
		}
	}},
	{"kill -9 fdbserver", func(t *testing.T, c *Cluster, rng *rand.Rand) {
		p := c.FDB[rng.IntN(len(c.FDB))]
		p.Kill()
		if err := c.AwaitFDB(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}},
}

// TestSoak mixes the faults at random under load, round after round,
// for ZKFDB_SOAK (default 45 s). Each round runs a fresh registers
// workload through every layerd, injects one fault, lets the workload
// go on, then checks its history (linearizable, sequential creates once
// each, no session expired), that the holder kept its session, ephemeral
// and watch, and that a client dying now loses its ephemeral within its
// timeout + 2 ticks. The totals are logged as the soak's figures
// (docs/testing.md).
func TestSoak(t *testing.T) {
	length := soakShort
	if v := os.Getenv(SoakEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", SoakEnv, v, err)
		}
		length = d
	}
	c := StartT(t, daemons(t), Options{})
	db, root := openStore(t, c)
	admin := connect(t, c.Addrs(), holderTimeout)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %v", seed, length)
	rng := rand.New(rand.NewPCG(seed, seed))
	clk := watchClock(t, db, root)

	var total RegisterCounts
	ops, histories := 0, 0
	faults := map[string]int{}
	end := time.Now().Add(length)
	for round := 0; round == 0 || time.Now().Before(end); round++ {
		reg, stop := load(t, c, admin, fmt.Sprintf("/soak%d", round))
		h := newHolder(t, c, admin, fmt.Sprint(round))
		clk.restart()
		awaitOps(t, reg, 100)
		f := soakFaults[rng.IntN(len(soakFaults))]
		t.Logf("round %d: %s", round, f.name)
		f.run(t, c, rng)
		faults[f.name]++
		awaitOps(t, reg, 200)
		h.check(t, admin)
		checkDeadClient(t, c, db, root, admin, fmt.Sprintf("soak%d", round))
		if f.name != "kill -9 fdbserver" { // FDB's recovery costs ticks
			clk.check(fmt.Sprintf("round %d", round))
		}
		ops += reg.Ops()
		counts := stop()
		histories++
		total.Writes += counts.Writes
		total.Reads += counts.Reads
		total.BadVersions += counts.BadVersions
		total.Unknown += counts.Unknown
		total.SeqCreates += counts.SeqCreates
		total.SeqUnknown += counts.SeqUnknown
		total.SetOps += counts.SetOps
		if t.Failed() {
			break
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("soak: %v, %d rounds, faults %v; %d operations in %d histories, all linearizable (%d writes, %d reads, %d BADVERSION, %d children-set ops, %d of unknown outcome); "+
		"%d sequential creates, none lost or doubled; 0 live sessions expired",
		length, histories, faults, ops, histories, total.Writes, total.Reads, total.BadVersions, total.SetOps, total.Unknown, total.SeqCreates)
}
