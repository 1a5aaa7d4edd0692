package sweep_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap/zaptest"

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/members"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

const tick = 100 * time.Millisecond

func fastGossip(c *memberlist.Config) {
	c.ProbeInterval = 50 * time.Millisecond
	c.ProbeTimeout = 25 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	c.SuspicionMult = 2
	c.DeadNodeReclaimTime = 100 * time.Millisecond
}

// sweeperd is one sweeper process of the test: a member and its sweeper.
type sweeperd struct {
	member *members.Member
	stop   func()
}

func startSweeperd(t *testing.T, db store.DB, name string, join ...string) *sweeperd {
	t.Helper()
	m, err := members.Start(members.Config{Name: name, Bind: "127.0.0.1:0", Join: join, Logger: zaptest.NewLogger(t), Tune: fastGossip})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	sw := sweep.New(db, sweep.Options{Root: keys.Root{}, Owns: m.Owns, Tick: tick})
	wg.Go(func() { sw.Run(ctx) })
	var once sync.Once
	s := &sweeperd{member: m, stop: func() {
		once.Do(func() { m.Stop(); cancel(); wg.Wait() }) // a crash: no leave
	}}
	t.Cleanup(s.stop)
	return s
}

// A sweeper that dies leaves no session unexpired: the others take its
// shards once memberlist finds it dead.
func TestKilledSweepersShardsAreSwept(t *testing.T) {
	db, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	clockCtx, stopClock := context.WithCancel(ctx)
	var clockDone sync.WaitGroup
	ticker := clock.NewTicker(db, clock.Options{Key: keys.Root{}.Clock(), Interval: tick})
	clockDone.Go(func() { ticker.Run(clockCtx) })
	defer func() { stopClock(); clockDone.Wait() }()

	a := startSweeperd(t, db, "a")
	b := startSweeperd(t, db, "b", a.member.Addr())
	c := startSweeperd(t, db, "c", a.member.Addr())
	for _, s := range []*sweeperd{a, b, c} {
		for deadline := time.Now().Add(20 * time.Second); len(s.member.Live()) != 3; {
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %d members", s.member.Name(), len(s.member.Live()))
			}
			select {
			case <-s.member.Changed():
			case <-time.After(time.Second):
			}
		}
	}

	tree := znode.New(db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{Tick: tick})
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	inC := 0
	for range 60 {
		s, err := tree.CreateSession(ctx, 300) // 4 ticks
		if err != nil {
			t.Fatal(err)
		}
		if c.member.Owns(keys.Shard(s.ID)) {
			inC++
		}
	}
	if inC == 0 {
		t.Fatal("no session in the shards of the sweeper to kill: the test proves nothing")
	}
	c.stop()

	now, err := clock.Now(ctx, db, keys.Root{}.Clock())
	if err != nil {
		t.Fatal(err)
	}
	for left := -1; left != 0; {
		if now, err = clock.WaitAfter(ctx, db, keys.Root{}.Clock(), now); err != nil {
			t.Fatal(err)
		}
		rows, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]store.KeyValue, error) {
			return r.GetRange(keys.Root{}.Tenant(keys.DefaultTenant).Sessions(), store.RangeOptions{}).GetSlice()
		})
		if err != nil {
			t.Fatal(err)
		}
		left = len(rows)
		if now > 300 {
			t.Fatalf("%d of 60 sessions (%d in the dead sweeper's shards) left after %d ticks", left, inC, now)
		}
	}
}
