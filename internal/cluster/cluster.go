// Package cluster runs, inside one test process, the whole service as it
// runs on FoundationDB: several layerds and several sweepers over one
// store (either engine: internal/engines), each layerd wired as layerd
// wires one (layerd/layer) with its own listener on loopback, each sweeper
// a member of a real memberlist cluster gossiping on loopback and taking
// part in the clock. A test can kill any of them abruptly (listeners and
// connections dropped, goroutines gone, nothing cleaned up in the store)
// and start it again.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/layerd/layer"
	"zkfdb/layerd/zkserver"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/members"
	"zkfdb/shared/store"
	"zkfdb/shared/sweep"
)

// Options configure a cluster. A zero field means the default.
type Options struct {
	// Layerds and Sweepers are how many of each start; default 2 and 2.
	Layerds, Sweepers int
	// Tick is the clock's tick; default 100 ms (1 s in production). The
	// layerds' tickTime is the same, so session timeouts are clamped to
	// [2, 20] ticks.
	Tick time.Duration
	// Disk keeps the embedded engine's data on disk with fsync (for
	// benchmarks against ZooKeeper, which fsyncs); by default it is in
	// memory.
	Disk bool
}

// Cluster is the running service. Its methods are for the test's
// goroutine.
type Cluster struct {
	t        testing.TB
	db       store.DB
	root     keys.Root
	tick     time.Duration
	layerds  []*Layerd
	sweepers []*Sweeper
}

// Layerd is one layerd of the cluster.
type Layerd struct {
	c     *Cluster
	addr  string
	layer *layer.Layer
	wg    sync.WaitGroup
}

// Sweeper is one sweeperd of the cluster: a memberlist member, its share
// of the expiry sweep, and a clock participant.
type Sweeper struct {
	c      *Cluster
	name   string
	Member *members.Member
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts a cluster on a fresh store of engine e; it stops with the
// test.
func Start(t testing.TB, e engines.Engine, opts Options) *Cluster {
	t.Helper()
	if opts.Layerds == 0 {
		opts.Layerds = 2
	}
	if opts.Sweepers == 0 {
		opts.Sweepers = 2
	}
	if opts.Tick == 0 {
		opts.Tick = 100 * time.Millisecond
	}
	st := e.Open(t, engines.Options{Disk: opts.Disk})
	c := &Cluster{t: t, db: st.DB, root: st.Root, tick: opts.Tick}
	t.Cleanup(func() {
		for _, l := range c.layerds {
			l.Kill()
		}
		for _, s := range c.sweepers {
			s.Kill()
		}
	})
	for i := range opts.Sweepers {
		c.sweepers = append(c.sweepers, &Sweeper{c: c, name: fmt.Sprintf("sweeper%d", i)})
		c.sweepers[i].Start()
	}
	for range opts.Layerds {
		l := &Layerd{c: c, addr: "127.0.0.1:0"}
		l.Start()
		c.layerds = append(c.layerds, l)
	}
	return c
}

// DB returns the store.
func (c *Cluster) DB() store.DB { return c.db }

// Root returns the cluster's keyspace in the store.
func (c *Cluster) Root() keys.Root { return c.root }

// Tick returns the clock's tick.
func (c *Cluster) Tick() time.Duration { return c.tick }

// Layerd returns layerd i.
func (c *Cluster) Layerd(i int) *Layerd { return c.layerds[i] }

// Sweeper returns sweeper i.
func (c *Cluster) Sweeper(i int) *Sweeper { return c.sweepers[i] }

// Addrs returns every layerd's client address.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, l := range c.layerds {
		out = append(out, l.addr)
	}
	return out
}

// Now returns the clock's tick.
func (c *Cluster) Now() int64 {
	c.t.Helper()
	n, err := clock.Now(c.t.Context(), c.db, c.root.Clock())
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// WaitTicks waits until the clock is n ticks past from.
func (c *Cluster) WaitTicks(from, n int64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Duration(n+50)*c.tick+30*time.Second)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, c.db, c.root.Clock(), from+n-1); err != nil {
		c.t.Fatalf("the clock did not reach %d: %v", from+n, err)
	}
}

// Addr returns the layerd's client address.
func (l *Layerd) Addr() string { return l.addr }

// Start starts the layerd, on the address it had if it ran before.
func (l *Layerd) Start() {
	t := l.c.t
	t.Helper()
	ly, err := layer.Start(t.Context(), l.c.db, layer.Config{
		Root:   l.c.root,
		Server: zkserver.Config{TickTime: l.c.tick},
		Tick:   l.c.tick,
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	l.layer = ly
	l.wg.Go(func() {
		if err := ly.Serve(ln); !errors.Is(err, zkserver.ErrServerClosed) {
			t.Errorf("layerd %s: Serve = %v", l.addr, err)
		}
	})
}

// Kill stops the layerd as a crash would: its connections drop, its
// session refreshes stop, and it cleans nothing up in the store.
func (l *Layerd) Kill() {
	if l.layer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.layer.Kill(ctx)
	l.wg.Wait()
	l.layer = nil
}

// Start starts the sweeper: it joins the other live sweepers' cluster,
// ticks the clock and sweeps the shards it owns.
func (s *Sweeper) Start() {
	t := s.c.t
	t.Helper()
	var join []string
	for _, o := range s.c.sweepers {
		if o != s && o.stop != nil {
			join = append(join, o.Member.Addr())
		}
	}
	// memberlist logs for a moment after Shutdown returns: a test logger
	// would fail a test that has ended.
	m, err := members.Start(members.Config{Name: s.name, Bind: "127.0.0.1:0", Join: join, Logger: zap.NewNop(), Tune: members.Loopback})
	if err != nil {
		t.Fatal(err)
	}
	s.Member = m
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	ticker := clock.NewTicker(s.c.db, clock.Options{Key: s.c.root.Clock(), StampKey: s.c.root.ClockStamp(), Interval: s.c.tick})
	sw := sweep.New(s.c.db, sweep.Options{Root: s.c.root, Owns: m.Owns, Tick: s.c.tick})
	s.wg.Go(func() { ticker.Run(ctx) })
	s.wg.Go(func() { sw.Run(ctx) })
}

// Kill stops the sweeper as a crash would: no leave message, the others
// find it dead by failure detection.
func (s *Sweeper) Kill() {
	if s.stop == nil {
		return
	}
	s.Member.Stop()
	s.stop()
	s.wg.Wait()
	s.stop = nil
}

// AwaitMembers waits until every running sweeper sees exactly the running
// ones.
func (c *Cluster) AwaitMembers() {
	c.t.Helper()
	var running []*Sweeper
	for _, s := range c.sweepers {
		if s.stop != nil {
			running = append(running, s)
		}
	}
	deadline := time.After(30 * time.Second)
	for _, s := range running {
		for len(s.Member.Live()) != len(running) {
			select {
			case <-s.Member.Changed():
			case <-deadline:
				c.t.Fatalf("%s sees %d members, want %d", s.name, len(s.Member.Live()), len(running))
			}
		}
	}
}
