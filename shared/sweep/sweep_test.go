package sweep_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"zkfdb/internal/engines"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

// newTree opens a store on e, closed with the test, and returns it, its
// root and its default tenant's tree.
func newTree(t *testing.T, e engines.Engine) (store.DB, keys.Root, *znode.Tree) {
	t.Helper()
	st := e.Open(t, engines.Options{})
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st.DB, st.Root, tree
}

// A sweeper expires only the sessions of the shards it owns, and counts
// them.
func TestSweepOwnedShards(t *testing.T) { engines.Each(t, testSweepOwnedShards) }

func testSweepOwnedShards(t *testing.T, e engines.Engine) {
	db, root, tree := newTree(t, e)
	ctx := t.Context()
	var sessions []znode.Session
	for range 20 {
		s, err := tree.CreateSession(ctx, 1000) // expired from tick 2
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		tx.Set(root.Clock(), clock.Encode(10))
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	mine := keys.Shard(sessions[0].ID)
	reg := prometheus.NewRegistry()
	sw := sweep.New(db, sweep.Options{Root: root, Owns: func(shard int) bool { return shard == mine }, Registerer: reg})
	if err := sw.Sweep(ctx, 10); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, s := range sessions {
		_, err := tree.ResumeSession(ctx, s.ID, s.Password[:], 1000)
		expired := err == znode.ErrSessionExpired
		if expired != (keys.Shard(s.ID) == mine) {
			t.Errorf("session %x in shard %d: expired %v (%v), but the sweeper owns only shard %d", s.ID, keys.Shard(s.ID), expired, err, mine)
		}
		if keys.Shard(s.ID) == mine {
			want++
		}
	}
	if got := gauge(t, reg, "sweeper_sessions_expired_total"); got != float64(want) {
		t.Errorf("sweeper_sessions_expired_total = %v, want %d", got, want)
	}
	if got := gauge(t, reg, "sweeper_shards_owned"); got != 1 {
		t.Errorf("sweeper_shards_owned = %v, want 1", got)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Two sweepers of the same shards at the same tick (ownership moving)
// expire each session once: every ephemeral is deleted once, and the
// parent's counters say so.
func TestTwoOwnersSweepOnce(t *testing.T) { engines.Each(t, testTwoOwnersSweepOnce) }

func testTwoOwnersSweepOnce(t *testing.T, e engines.Engine) {
	db, root, tree := newTree(t, e)
	ctx := t.Context()
	admin, err := tree.CreateSession(ctx, 60_000)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := tree.Write(ctx, znode.Caller{Session: admin.ID, Now: 1}, []znode.Op{znode.CreateOp{Path: "/p", ACL: znode.OpenACLUnsafe, TTL: -1}}); err != nil || w.Failed() != nil {
		t.Fatal(err, w.Failed())
	}
	const n = 30
	for i := range n {
		s, err := tree.CreateSession(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		op := znode.CreateOp{Path: fmt.Sprintf("/p/e%d", i), ACL: znode.OpenACLUnsafe, Flags: 1, TTL: -1}
		if w, err := tree.Write(ctx, znode.Caller{Session: s.ID, Now: 1}, []znode.Op{op}); err != nil || w.Failed() != nil {
			t.Fatal(err, w.Failed())
		}
	}
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var wg sync.WaitGroup
	for _, reg := range regs {
		sw := sweep.New(db, sweep.Options{Root: root, Registerer: reg})
		wg.Go(func() {
			if err := sw.Sweep(ctx, 10); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	expired := gauge(t, regs[0], "sweeper_sessions_expired_total") + gauge(t, regs[1], "sweeper_sessions_expired_total")
	deleted := gauge(t, regs[0], "sweeper_ephemerals_deleted_total") + gauge(t, regs[1], "sweeper_ephemerals_deleted_total")
	if expired != n || deleted != n {
		t.Errorf("two sweepers expired %v sessions and deleted %v ephemerals, want %d and %d", expired, deleted, n, n)
	}
	rd, err := tree.Exists(ctx, znode.Auth{}, "/p")
	if err != nil {
		t.Fatal(err)
	}
	if rd.Stat.NumChildren != 0 || rd.Stat.Cversion != 2*n {
		t.Errorf("/p after the sweeps: numChildren %d, cversion %d; want 0, %d", rd.Stat.NumChildren, rd.Stat.Cversion, 2*n)
	}
}

// A sweep logs each session it expires once, with its id, and one
// summary line for the tick, however many shards the sessions are in;
// past logEachExpired sessions only the summary counts them.
func TestSweepLogsEachExpiry(t *testing.T) { engines.Each(t, testSweepLogsEachExpiry) }

func testSweepLogsEachExpiry(t *testing.T, e engines.Engine) {
	db, root, tree := newTree(t, e)
	ctx := t.Context()
	const n = 70 // over logEachExpired (64), spread over many shards
	ids := map[string]bool{}
	for range n {
		s, err := tree.CreateSession(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		ids[fmt.Sprintf("0x%x", s.ID)] = true
	}
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		tx.Set(root.Clock(), clock.Encode(10))
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	sw := sweep.New(db, sweep.Options{Root: root, Logger: zap.New(core)})
	if err := sw.Sweep(ctx, 10); err != nil {
		t.Fatal(err)
	}
	each := logs.FilterMessage("session expired").All()
	if len(each) != 64 {
		t.Errorf("%d \"session expired\" lines for %d sessions, want 64 (logEachExpired)", len(each), n)
	}
	for _, l := range each {
		if id := l.ContextMap()["session"]; !ids[fmt.Sprint(id)] {
			t.Errorf("logged session %v, not one of those created", id)
		}
		delete(ids, fmt.Sprint(l.ContextMap()["session"]))
	}
	summary := logs.FilterMessage("sessions expired").All()
	if len(summary) != 1 {
		t.Fatalf("%d summary lines, want 1 for the tick", len(summary))
	}
	if got := summary[0].ContextMap(); got["sessions"] != int64(n) || got["not_logged_one_by_one"] != int64(n-64) {
		t.Errorf("summary %v, want sessions=%d not_logged_one_by_one=%d", got, n, n-64)
	}
}
