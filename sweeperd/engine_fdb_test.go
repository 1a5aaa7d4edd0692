//go:build fdb

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/cutdial"
	"zkfdb/internal/engines"
	"zkfdb/layerd/layer"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/engine"
	"zkfdb/shared/store/fdbstore"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// owned reads a sweeperd's sweeper_shards_owned gauge.
func owned(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "sweeper_shards_owned" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// TestSweeperdOnFDB runs two sweeperds against the real cluster, with a
// layerd without a sweeper of its own: they gossip on loopback (memberlist)
// and split the 256 expiry shards between them, tick the clock, expire a
// killed client's ephemeral within its timeout and 2 ticks, and learn the
// storage hosts of the shards from the real server's locality API.
func TestSweeperdOnFDB(t *testing.T) {
	engines.All()[1].Require(t)
	cf := os.Getenv(engines.ClusterFileEnv)
	var b [6]byte
	rand.Read(b[:])
	prefix := "sweeperd-test-" + hex.EncodeToString(b[:]) + "/"
	root, err := keys.NewRoot([]byte(prefix))
	if err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(t.Context(), engine.Config{Engine: engine.FDB, ClusterFile: cf})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer store.Transact(context.Background(), db, func(tx store.Tx) (struct{}, error) {
		tx.ClearRange(root.Range())
		return struct{}{}, nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var regs []*prometheus.Registry
	var first string
	for _, name := range []string{"s1", "s2"} {
		addr := freePort(t)
		cfg := config{bind: addr, advertise: addr, nodeName: name, clusterFile: cf, metricsListen: "127.0.0.1:0", prefix: prefix, logLevel: "info"}
		if first != "" {
			cfg.join = []string{first}
		} else {
			first = addr
		}
		reg := prometheus.NewRegistry()
		regs = append(regs, reg)
		wg.Go(func() {
			if err := run(ctx, cfg, zaptest.NewLogger(t).Named(name), reg, nil); err != nil {
				t.Errorf("sweeperd %s: %v", name, err)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, b := owned(t, regs[0]), owned(t, regs[1])
		if a > 0 && b > 0 && a+b == keys.Shards {
			t.Logf("shards owned: %v and %v", a, b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards owned %v and %v after 30 s, want all %d split between both", a, b, keys.Shards)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ly, err := layer.Start(t.Context(), db, layer.Config{Root: root, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ly.Serve(ln)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		ly.Shutdown(sctx)
	}()
	addr := ln.Addr().String()

	// A client that dies as a killed process does: its connection cut, no
	// closeSession, no reconnection.
	var dialer cutdial.Dialer
	dying, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}), zk.WithDialer(dialer.Dial))
	if err != nil {
		t.Fatal(err)
	}
	defer dying.Close()
	awaitSession(t, events)
	if _, err := dying.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	watcher, wevents, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	awaitSession(t, wevents)
	_, _, ch, err := watcher.ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}
	diedAt, err := clock.Now(t.Context(), db, root.Clock())
	if err != nil {
		t.Fatal(err)
	}
	dialer.Die()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %+v, want NodeDeleted", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the dead client's ephemeral was not deleted within 30 s")
	}
	goneAt, err := clock.Now(t.Context(), db, root.Clock())
	if err != nil {
		t.Fatal(err)
	}
	// 4 s at 1 s a tick: 4 ticks of timeout, and 2 more at most.
	if ticks := goneAt - diedAt; ticks > 4+2 {
		t.Errorf("the ephemeral went %d ticks after its client died, want at most 4 + 2", ticks)
	} else {
		t.Logf("the ephemeral went %d ticks after its client died", ticks)
	}

	fdb := db.(*fdbstore.DB)
	loc := newLocality(fdb, root, zaptest.NewLogger(t))
	lctx, lcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer lcancel()
	if err := loc.refresh(lctx); err != nil {
		t.Fatalf("locality: %v", err)
	}
	for _, shard := range []int{0, keys.Shards - 1} {
		if hosts := loc.preferred(shard); !slices.Contains(hosts, "127.0.0.1") {
			t.Errorf("storage hosts of shard %d = %q, want the test server's 127.0.0.1", shard, hosts)
		}
	}
}

func awaitSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session within 20 s")
		}
	}
}

// TestRunLeavesNothingRunning: once run has returned, no goroutine it
// started runs (memberlist's, the clock's, the sweeper's, the metrics
// server's), and it stopped them before it closed the store.
func TestRunLeavesNothingRunning(t *testing.T) {
	engines.All()[1].Require(t)
	cf := os.Getenv(engines.ClusterFileEnv)
	// The FDB client's network runs for the life of the process, started
	// by the first open: open once before counting.
	db, err := engine.Open(t.Context(), engine.Config{Engine: engine.FDB, ClusterFile: cf})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := goleak.IgnoreCurrent()

	var b [6]byte
	rand.Read(b[:])
	prefix := "sweeperd-leak-" + hex.EncodeToString(b[:]) + "/"
	addr := freePort(t)
	cfg := config{bind: addr, advertise: addr, nodeName: "s1", clusterFile: cf, metricsListen: "127.0.0.1:0", prefix: prefix, logLevel: "info"}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zaptest.NewLogger(t), reg, nil) }()
	deadline := time.Now().Add(30 * time.Second)
	for owned(t, reg) != keys.Shards {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeperd owns %v shards after 30 s, want all %d", owned(t, reg), keys.Shards)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
	goleak.VerifyNone(t, before)
}
