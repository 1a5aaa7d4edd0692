package sweep_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"zkfdb/internal/engines"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

// TestSweepReadsWhatIsDue: a sweeper reads only the shards the due
// summary marks: none while nothing is due (but for the full sweep of
// every owned shard once every FullSweepEvery ticks), one when a session
// of it expires; and it clears the marks it emptied, so the summary ends
// empty. The reads of shards local to its host are counted apart.
func TestSweepReadsWhatIsDue(t *testing.T) { engines.Each(t, testSweepReadsWhatIsDue) }

func testSweepReadsWhatIsDue(t *testing.T, e engines.Engine) {
	db, root, tree := newTree(t, e)
	ctx := t.Context()
	setClock := func(tick int64) {
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
			tx.Set(root.Clock(), clock.Encode(tick))
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setClock(100)
	s, err := tree.CreateSession(ctx, 3000) // expiry tick 103: due at 104
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// The even shards have a replica on this sweeper's host.
	sw := sweep.New(db, sweep.Options{Root: root, Registerer: reg, Local: func(shard int) bool { return shard%2 == 0 }})
	read := func() float64 { return gauge(t, reg, "sweeper_shards_read_total") }

	// The first sweep reads every shard; the next ones nothing, until
	// the session is due.
	if err := sw.Sweep(ctx, 100); err != nil {
		t.Fatal(err)
	}
	full := read()
	if local, owned := gauge(t, reg, "sweeper_shards_read_local_total"), gauge(t, reg, "sweeper_shards_owned_local"); local != full/2 || owned != keys.Shards/2 {
		t.Fatalf("the full sweep read %v shards, %v local, and owns %v local; want half of them local", full, local, owned)
	}
	for tick := int64(101); tick <= 103; tick++ {
		if err := sw.Sweep(ctx, tick); err != nil {
			t.Fatal(err)
		}
	}
	if got := read() - full; got != 0 {
		t.Fatalf("sweeps at ticks 101-103, with nothing due, read %v shards", got)
	}
	if marked, err := znode.MarkedShards(ctx, db, root, 104); err != nil || len(marked) != 1 {
		t.Fatalf("shards marked due up to tick 104: %v, %v; want the session's one", marked, err)
	}
	if err := sw.Sweep(ctx, 104); err != nil {
		t.Fatal(err)
	}
	if got := read() - full; got != 1 {
		t.Fatalf("the sweep at 104 read %v shards, want 1 (the expired session's)", got)
	}
	if _, err := tree.ResumeSession(ctx, s.ID, s.Password[:], 3000); err != znode.ErrSessionExpired {
		t.Fatalf("the session after its sweep: %v, want expired", err)
	}
	if marked, err := znode.MarkedShards(ctx, db, root, 1000); err != nil || len(marked) != 0 {
		t.Fatalf("shards still marked after the sweep: %v, %v", marked, err)
	}
	if err := sw.Sweep(ctx, 105); err != nil {
		t.Fatal(err)
	}
	if got := read() - full; got != 1 {
		t.Fatalf("the sweep at 105 read %v more shards, want none", got-1)
	}
	if err := sw.Sweep(ctx, 100+sweep.FullSweepEvery); err != nil {
		t.Fatal(err)
	}
	if got := read() - full; got != 1+full {
		t.Fatalf("the sweep %d ticks after the last full one read %v shards, want every one (%v)", sweep.FullSweepEvery, got-1, full)
	}
}

// TestClearDueKeepsPendingMarks: a mark whose shard still has an entry
// due stays (the entry was written after the sweep read the shard).
func TestClearDueKeepsPendingMarks(t *testing.T) { engines.Each(t, testClearDueKeepsPendingMarks) }

func testClearDueKeepsPendingMarks(t *testing.T, e engines.Engine) {
	db, root, tree := newTree(t, e)
	ctx := t.Context()
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		tx.Set(root.Clock(), clock.Encode(10))
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tree.CreateSession(ctx, 1000); err != nil { // due at tick 12
		t.Fatal(err)
	}
	marked, err := znode.MarkedShards(ctx, db, root, 20)
	if err != nil || len(marked) != 1 {
		t.Fatalf("marked %v, %v", marked, err)
	}
	if err := znode.ClearDue(ctx, db, root, marked, 20); err != nil {
		t.Fatal(err)
	}
	if again, err := znode.MarkedShards(ctx, db, root, 20); err != nil || len(again) != 1 {
		t.Fatalf("after ClearDue of a shard with an entry due: marked %v, %v; want it kept", again, err)
	}
}
