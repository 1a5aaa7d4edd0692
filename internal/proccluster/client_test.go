//go:build fdb

package proccluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/cutdial"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
)

var open = zk.WorldACL(zk.PermAll)

// client is a go-zookeeper session that records what it hears: its
// session states, and its watch events in the order they came. Its
// connection can be cut as a dying client's is.
type client struct {
	*zk.Conn
	states chan zk.State
	dialer cutdial.Dialer

	mu      sync.Mutex
	expired bool
	heard   []string // "type path" of each watch event, in order
}

func connect(t testing.TB, addrs []string, timeout time.Duration) *client {
	t.Helper()
	c := &client{states: make(chan zk.State, 1000)}
	conn, events, err := zk.Connect(addrs, timeout, zk.WithLogger(nopLogger{}), zk.WithDialer(c.dialer.Dial))
	if err != nil {
		t.Fatal(err)
	}
	c.Conn = conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			c.mu.Lock()
			if ev.Type == zk.EventSession {
				if ev.State == zk.StateExpired {
					c.expired = true
				}
				select {
				case c.states <- ev.State:
				default:
				}
			} else {
				c.heard = append(c.heard, eventName(ev.Type, ev.Path))
			}
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	c.awaitSession(t, 30*time.Second)
	return c
}

// awaitSession waits until the client has a session (again) and returns
// how long that took.
func (c *client) awaitSession(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	timeout := time.After(within)
	for {
		select {
		case s := <-c.states:
			if s == zk.StateHasSession {
				return time.Since(start)
			}
			if s == zk.StateExpired {
				t.Fatal("session expired")
			}
		case <-timeout:
			t.Fatalf("no session within %v", within)
		}
	}
}

// awaitDisconnect waits until the client has lost its connection.
func (c *client) awaitDisconnect(t testing.TB, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case s := <-c.states:
			if s == zk.StateDisconnected {
				return
			}
		case <-timeout:
			t.Fatalf("still connected after %v", within)
		}
	}
}

func eventName(typ zk.EventType, path string) string { return fmt.Sprintf("%v %s", typ, path) }

// watchEvents returns the watch events the client has heard, in order.
func (c *client) watchEvents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.heard...)
}

func (c *client) sawExpiry() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expired
}

// die cuts the client off as a dying process: no closeSession, no
// reconnection.
func (c *client) die() { c.dialer.Die() }

func awaitEvent(t testing.TB, ch <-chan zk.Event, within time.Duration) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(within):
		t.Fatalf("no watch event within %v", within)
		return zk.Event{}
	}
}

// retry calls f until it succeeds or 30 s pass: for an idempotent call
// through a client that may be between servers.
func retry(t testing.TB, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openStore opens the cluster's FoundationDB from the test process, to
// read the clock.
func openStore(t testing.TB, c *Cluster) (store.DB, keys.Root) {
	t.Helper()
	db, err := fdbstore.Open(fdbstore.Options{ClusterFile: c.ClusterFile()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	root, err := keys.NewRoot(nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, root
}

// now reads the cluster's clock.
func now(t testing.TB, db store.DB, root keys.Root) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n, err := clock.Now(ctx, db, root.Clock())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// metric returns the sum of a metric's samples on a daemon's /metrics,
// and false if the daemon does not answer.
func metric(p *Proc, name string) (float64, bool) { return metricWith(p, name, "") }

// metricWith is metric over the samples whose labels contain label
// (`code="1021"`); "" means all.
func metricWith(p *Proc, name, label string) (float64, bool) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + p.MetricsAddr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') || !strings.Contains(rest, label) {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			sum += v
		}
	}
	return sum, true
}

// layerdAt returns the layerd serving addr.
func layerdAt(t testing.TB, c *Cluster, addr string) *Proc {
	t.Helper()
	for _, p := range c.Layerds {
		if p.Addr == addr {
			return p
		}
	}
	t.Fatalf("no layerd at %q", addr)
	return nil
}

// load runs a Registers workload through every layerd until stop is
// called, which returns the checked counts.
func load(t *testing.T, c *Cluster, admin *client, base string) (reg *Registers, stop func() RegisterCounts) {
	t.Helper()
	if _, err := admin.Create(base, nil, 0, open); err != nil {
		t.Fatal(err)
	}
	reg = &Registers{Addrs: c.Addrs(), Base: base}
	if err := reg.Setup(admin.Conn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	stopped := false
	stop = func() RegisterCounts {
		t.Helper()
		if stopped {
			return RegisterCounts{}
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("load: %v", err)
		}
		counts, err := reg.Check(2 * time.Minute)
		if err != nil {
			t.Errorf("registers: %v", err)
		}
		retry(t, "reading the sequential nodes", func() error {
			err := reg.CheckSequentials(admin.Conn)
			if err != nil && !errors.Is(err, zk.ErrConnectionClosed) && !errors.Is(err, zk.ErrNoServer) {
				t.Errorf("sequential creates: %v", err)
				return nil
			}
			return err
		})
		t.Logf("registers and children: %d ops checked linearizable (%d writes, %d reads, %d BADVERSION, %d children-set ops, %d of unknown outcome, %d reads failed); "+
			"%d sequential creates all there once, %d of unknown outcome at most once",
			reg.Ops(), counts.Writes, counts.Reads, counts.BadVersions, counts.SetOps, counts.Unknown, counts.ReadErrors, counts.SeqCreates, counts.SeqUnknown)
		return counts
	}
	t.Cleanup(func() { stop() })
	return reg, stop
}

// awaitOps waits until the workload has recorded n more operations.
func awaitOps(t testing.TB, reg *Registers, n int) {
	t.Helper()
	target := reg.Ops() + n
	deadline := time.Now().Add(60 * time.Second)
	for reg.Ops() < target {
		if time.Now().After(deadline) {
			t.Fatalf("the workload made %d operations in 60 s, want %d", reg.Ops()-target+n, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ownedShards reads how many expiry shards each sweeperd of ps owns,
// their total, and whether every one answered.
func ownedShards(ps []*Proc) (owned []float64, total float64, answered bool) {
	answered = true
	for _, p := range ps {
		n, ok := metric(p, "sweeper_shards_owned")
		owned = append(owned, n)
		total += n
		answered = answered && ok
	}
	return owned, total, answered
}

// awaitShards waits up to 60 s until the sweeperds in live own every
// expiry shard between them, and returns how long that took. One may own
// none: each prefers the shards whose index has a replica on its own
// host, and on a small database one FDB shard, on two hosts, holds the
// whole index.
func awaitShards(t testing.TB, c *Cluster, live []*Proc) time.Duration {
	t.Helper()
	return awaitShardsWithin(t, c, live, 60*time.Second)
}

func awaitShardsWithin(t testing.TB, c *Cluster, live []*Proc, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		owned, total, answered := ownedShards(live)
		if answered && total == keys.Shards {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards owned by the live sweeperds after %v: %v, want %d in all", within, owned, keys.Shards)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restart starts a stopped daemon again and waits until it is ready.
func restart(t *testing.T, p *Proc) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := AwaitReady(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// running returns the processes of ps that run.
func running(ps []*Proc) []*Proc {
	var out []*Proc
	for _, p := range ps {
		if p.Running() {
			out = append(out, p)
		}
	}
	return out
}
