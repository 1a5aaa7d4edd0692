package sweep_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"zkfdb/internal/engines"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/members"
	"zkfdb/shared/store"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

const tick = 100 * time.Millisecond

// sweeperd is one sweeper process of the test: a member and its sweeper.
type sweeperd struct {
	member *members.Member
	stop   func()
}

func startSweeperd(t *testing.T, st engines.Store, name string, join ...string) *sweeperd {
	t.Helper()
	m, err := members.Start(members.Config{Name: name, Bind: "127.0.0.1:0", Join: join, Logger: zap.NewNop(), Tune: members.Loopback})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	sw := sweep.New(st.DB, sweep.Options{Root: st.Root, Owns: m.Owns, Tick: tick})
	wg.Go(func() { sw.Run(ctx) })
	var once sync.Once
	s := &sweeperd{member: m, stop: func() {
		once.Do(func() { m.Stop(); cancel(); wg.Wait() }) // a crash: no leave
	}}
	t.Cleanup(s.stop)
	return s
}

// tickingStore is a store on e whose clock ticks every tick until the
// test ends.
func tickingStore(t *testing.T, e engines.Engine) engines.Store {
	t.Helper()
	st := e.Open(t, engines.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ticker := clock.NewTicker(st.DB, clock.Options{Key: st.Root.Clock(), StampKey: st.Root.ClockStamp(), Interval: tick})
	wg.Go(func() { ticker.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() }) // before the store closes
	return st
}

// createSessions creates 60 sessions of 4 ticks and returns how many are
// in the shards lost owns: the test proves nothing unless some are.
func createSessions(t *testing.T, st engines.Store, lost *members.Member) int {
	t.Helper()
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), znode.Options{Tick: tick})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range 60 {
		s, err := tree.CreateSession(t.Context(), 300) // 4 ticks
		if err != nil {
			t.Fatal(err)
		}
		if lost.Owns(keys.Shard(s.ID)) {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no session in %s's shards", lost.Name())
	}
	return n
}

// A sweeper that dies leaves no session unexpired: the others take its
// shards once memberlist finds it dead.
func TestKilledSweepersShardsAreSwept(t *testing.T) {
	engines.Each(t, testKilledSweepersShardsAreSwept)
}

func testKilledSweepersShardsAreSwept(t *testing.T, e engines.Engine) {
	st := tickingStore(t, e)

	a := startSweeperd(t, st, "a")
	b := startSweeperd(t, st, "b", a.member.Addr())
	c := startSweeperd(t, st, "c", a.member.Addr())
	awaitMembers(t, []*members.Member{a.member, b.member, c.member}, 3)

	inC := createSessions(t, st, c.member)
	c.stop()
	awaitSessionsGone(t, st, inC)
}

// Members log to a no-op logger: memberlist's goroutines may still log
// for a moment after Shutdown returns, which a test logger does not allow
// once the test has ended.

// cutTransport is memberlist's network transport with a switch that cuts
// this member off: packets and streams in and out are dropped, as in a
// network partition.
type cutTransport struct {
	*memberlist.NetTransport
	mu      sync.Mutex
	cut     bool
	packets chan *memberlist.Packet
	streams chan net.Conn
}

func newCutTransport(t *testing.T) *cutTransport {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	ct := &cutTransport{NetTransport: nt, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn)}
	go func() {
		for p := range nt.PacketCh() {
			if !ct.isCut() {
				ct.packets <- p
			}
		}
	}()
	go func() {
		for c := range nt.StreamCh() {
			if ct.isCut() {
				c.Close()
				continue
			}
			ct.streams <- c
		}
	}()
	return ct
}

func (ct *cutTransport) isCut() bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.cut
}

func (ct *cutTransport) setCut(cut bool) {
	ct.mu.Lock()
	ct.cut = cut
	ct.mu.Unlock()
}

func (ct *cutTransport) PacketCh() <-chan *memberlist.Packet { return ct.packets }
func (ct *cutTransport) StreamCh() <-chan net.Conn           { return ct.streams }

func (ct *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if ct.isCut() {
		return time.Now(), nil // lost on the way
	}
	return ct.NetTransport.WriteTo(b, addr)
}

func (ct *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if ct.isCut() {
		return nil, errors.New("network unreachable")
	}
	return ct.NetTransport.DialTimeout(addr, timeout)
}

// A sweeper cut off from the others (and, by the same cut, from the
// store: its sweeper stops sweeping) does not stop expiry: the others find
// it dead and take its shards; when the cut heals it rejoins and takes
// them back.
func TestPartitionedSweeperDoesNotStopExpiry(t *testing.T) {
	engines.Each(t, testPartitionedSweeperDoesNotStopExpiry)
}

func testPartitionedSweeperDoesNotStopExpiry(t *testing.T, e engines.Engine) {
	st := tickingStore(t, e)
	ctx := t.Context()

	a := startSweeperd(t, st, "a")
	b := startSweeperd(t, st, "b", a.member.Addr())
	ct := newCutTransport(t)
	var isolated atomic.Bool
	cm, err := members.Start(members.Config{Name: "c", Bind: "127.0.0.1:0", Join: []string{a.member.Addr()}, Logger: zap.NewNop(),
		Tune: func(c *memberlist.Config) { members.Loopback(c); c.Transport = ct }})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Stop()
	swCtx, stopSweep := context.WithCancel(ctx)
	var swDone sync.WaitGroup
	sw := sweep.New(st.DB, sweep.Options{Root: st.Root, Tick: tick, Owns: func(shard int) bool {
		return !isolated.Load() && cm.Owns(shard)
	}})
	swDone.Go(func() { sw.Run(swCtx) })
	defer func() { stopSweep(); swDone.Wait() }()
	awaitMembers(t, []*members.Member{a.member, b.member, cm}, 3)

	inC := createSessions(t, st, cm)
	isolated.Store(true)
	ct.setCut(true)
	awaitSessionsGone(t, st, inC)

	// Healed: c is back among the members and owns shards again.
	isolated.Store(false)
	ct.setCut(false)
	awaitMembers(t, []*members.Member{a.member, b.member, cm}, 3)
	owners := map[string]int{}
	for shard := range keys.Shards {
		owners[a.member.Owner(shard)]++
	}
	if owners["c"] == 0 {
		t.Errorf("after the cut healed c owns no shard: %v", owners)
	}
}

func awaitMembers(t *testing.T, ms []*members.Member, want int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for _, m := range ms {
		for len(m.Live()) != want {
			select {
			case <-m.Changed():
			case <-deadline:
				t.Fatalf("%s sees %d members, want %d", m.Name(), len(m.Live()), want)
			}
		}
	}
}

// awaitSessionsGone follows the clock until the tenant has no session
// left, failing after 300 ticks.
func awaitSessionsGone(t *testing.T, st engines.Store, inC int) {
	t.Helper()
	ctx, db := t.Context(), st.DB
	now, err := clock.Now(ctx, db, st.Root.Clock())
	if err != nil {
		t.Fatal(err)
	}
	start := now
	for {
		rows, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]store.KeyValue, error) {
			return r.GetRange(st.Root.Tenant(keys.DefaultTenant).Sessions(), store.RangeOptions{}).GetSlice()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return
		}
		if now-start > 300 {
			t.Fatalf("%d sessions (%d in the lost sweeper's shards) left after %d ticks", len(rows), inC, now-start)
		}
		if now, err = clock.WaitAfter(ctx, db, st.Root.Clock(), now); err != nil {
			t.Fatal(err)
		}
	}
}
