package clock_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/shared/clock"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// The ticker is a timer-driven loop, but these tests run it on real
// engines (the embedded one and FoundationDB), whose goroutines live
// outside any testing/synctest bubble; so they use short real intervals
// (100 ms), and one test the real second.

const fast = 100 * time.Millisecond

// openDB returns a fresh store on e and the clock key in it.
func openDB(t *testing.T, e engines.Engine, faults embedded.Faults) (store.DB, []byte) {
	t.Helper()
	st := e.Open(t, engines.Options{Faults: faults})
	return st.DB, st.Root.Clock()
}

// participant is one running Ticker.
type participant struct {
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(t *testing.T, db store.DB, key []byte, interval time.Duration) *participant {
	t.Helper()
	p := &participant{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	tk := clock.NewTicker(db, clock.Options{
		Key:        key,
		Interval:   interval,
		Logger:     zaptest.NewLogger(t),
		Registerer: p.reg,
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- tk.Run(ctx) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the participant and waits for Run to return.
func (p *participant) stop(t *testing.T) {
	t.Helper()
	p.once.Do(func() {
		p.cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return 10 s after its context ended")
		}
	})
}

// metric reads one of the participant's metrics.
func (p *participant) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
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

// observer follows the clock through WaitAfter and fails the test if it
// sees the clock move by anything but +1.
type observer struct {
	cancel context.CancelFunc
	done   chan struct{}
	seen   int
}

func observe(t *testing.T, db store.DB, key []byte) *observer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	o := &observer{cancel: cancel, done: make(chan struct{})}
	prev, err := clock.Now(ctx, db, key)
	if err != nil {
		t.Fatalf("Now: %v", err)
	}
	go func() {
		defer close(o.done)
		for {
			n, err := clock.WaitAfter(ctx, db, key, prev)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				t.Errorf("WaitAfter(%d): %v", prev, err)
				return
			}
			if n != prev+1 {
				t.Errorf("clock moved from %d to %d, want %d", prev, n, prev+1)
			}
			prev = n
			o.seen++
		}
	}()
	t.Cleanup(o.stop)
	return o
}

func (o *observer) stop() {
	o.cancel()
	<-o.done
}

// now reads the clock.
func now(t *testing.T, db store.DB, key []byte) int64 {
	t.Helper()
	n, err := clock.Now(t.Context(), db, key)
	if err != nil {
		t.Fatalf("Now: %v", err)
	}
	return n
}

// measure waits for the next tick, then lets the clock run for window and
// returns how far it advanced and the time that took. No tick commits
// within one interval of another, so the advance over a time d is at most
// d/interval + 1, whatever the scheduling: measure checks that bound.
func measure(t *testing.T, db store.DB, key []byte, interval, window time.Duration) (int64, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), window+10*interval+5*time.Second)
	defer cancel()
	c0, err := clock.WaitAfter(ctx, db, key, now(t, db, key))
	if err != nil {
		t.Fatalf("waiting for a tick: %v", err)
	}
	began := time.Now()
	time.Sleep(window) // the measurement itself, not a synchronisation
	c1 := now(t, db, key)
	took := time.Since(began)
	advance := c1 - c0
	if bound := int64(math.Floor(float64(took)/float64(interval))) + 1; advance > bound {
		t.Errorf("clock advanced %d in %v with a %v interval: more than one tick per interval (bound %d)", advance, took, interval, bound)
	}
	return advance, took
}

func TestFiveParticipants(t *testing.T) { engines.Each(t, testFiveParticipants) }

func testFiveParticipants(t *testing.T, e engines.Engine) {
	db, key := openDB(t, e, embedded.Faults{})
	obs := observe(t, db, key)
	var ps []*participant
	for range 5 {
		ps = append(ps, start(t, db, key, fast))
	}
	advance, took := measure(t, db, key, fast, 10*fast)
	if advance < 9 || advance > 11 {
		t.Errorf("clock advanced %d in %v with five participants at %v, want 10 ± 1", advance, took, fast)
	}
	for _, p := range ps {
		p.stop(t)
	}
	obs.stop()

	final := now(t, db, key)
	var won, lost float64
	for _, p := range ps {
		won += p.metric(t, "clock_ticks_won_total")
		lost += p.metric(t, "clock_conflicts_lost_total")
	}
	if won != float64(final) {
		t.Errorf("participants won %v ticks, clock is at %d", won, final)
	}
	if lost == 0 {
		t.Errorf("no participant lost a tick race among five")
	}
	if obs.seen < int(final)-2 {
		t.Errorf("observer saw %d ticks of %d", obs.seen, final)
	}
}

func TestStopParticipants(t *testing.T) { engines.Each(t, testStopParticipants) }

func testStopParticipants(t *testing.T, e engines.Engine) {
	db, key := openDB(t, e, embedded.Faults{})
	obs := observe(t, db, key)
	ps := []*participant{start(t, db, key, fast), start(t, db, key, fast), start(t, db, key, fast)}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, db, key, 2); err != nil {
		t.Fatalf("waiting for tick 3: %v", err)
	}

	// Keep the participant that won least, so that another one (the
	// current winner, most likely) stops and it has to take over.
	keep := ps[0]
	for _, p := range ps[1:] {
		if p.metric(t, "clock_ticks_won_total") < keep.metric(t, "clock_ticks_won_total") {
			keep = p
		}
	}
	for _, p := range ps {
		if p != keep {
			p.stop(t)
		}
	}
	wonBefore := keep.metric(t, "clock_ticks_won_total")
	prev := now(t, db, key)
	// Four ticks: a participant counts a tick it won after the commit
	// that others already see, and before it tries the next one, so the
	// fourth tick proves the first three counted.
	for range 4 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*fast)
		n, err := clock.WaitAfter(ctx, db, key, prev)
		cancel()
		if err != nil {
			t.Fatalf("one participant left: no tick after %d within %v: %v", prev, 5*fast, err)
		}
		prev = n
	}
	if won := keep.metric(t, "clock_ticks_won_total"); won < wonBefore+3 {
		t.Errorf("remaining participant won %v ticks, want at least 3", won-wonBefore)
	}
	if lag := keep.metric(t, "clock_tick_lag_seconds"); lag > 5*fast.Seconds() {
		t.Errorf("tick lag %vs while ticking every %v", lag, fast)
	}

	keep.stop(t)
	obs.stop()
	last := now(t, db, key)
	ctx, cancel = context.WithTimeout(t.Context(), 5*fast)
	defer cancel()
	if n, err := clock.WaitAfter(ctx, db, key, last); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("all participants stopped, yet WaitAfter(%d) = %d, %v; want the clock to stay still", last, n, err)
	}
}

// TestRealSecond runs the default one-second interval.
func TestRealSecond(t *testing.T) { engines.Each(t, testRealSecond) }

func testRealSecond(t *testing.T, e engines.Engine) {
	if testing.Short() {
		t.Skip("ten real seconds")
	}
	db, key := openDB(t, e, embedded.Faults{})
	observe(t, db, key)
	for range 5 {
		start(t, db, key, 0) // the default interval
	}
	advance, took := measure(t, db, key, time.Second, 10*time.Second)
	if advance < 9 || advance > 11 {
		t.Errorf("clock advanced %d in %v with five participants, want 10 ± 1", advance, took)
	}
}

// TestFaults runs the tick under commit_unknown_result (applied and
// dropped) and spurious not_committed: the clock never advances twice in
// one interval, never goes back, and keeps going.
func TestFaults(t *testing.T) { engines.Each(t, testFaults) }

func testFaults(t *testing.T, e engines.Engine) {
	for _, tc := range []struct {
		name   string
		faults embedded.Faults
	}{
		{"random", embedded.Faults{UnknownResultApplied: 0.2, UnknownResultDropped: 0.1, NotCommitted: 0.1, Seed: 7}},
		// Every tick commits and is reported as unknown: a retry that
		// wrote c+1 again without re-reading, or added 1, would show.
		{"every commit applied but unknown", embedded.Faults{Decide: func(uint64) embedded.Fault { return embedded.FaultUnknownApplied }}},
		{"unknown applied and dropped alternately", embedded.Faults{Decide: func(n uint64) embedded.Fault {
			return []embedded.Fault{embedded.FaultUnknownApplied, embedded.FaultUnknownDropped, embedded.FaultNotCommitted}[n%3]
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, key := openDB(t, e, tc.faults)
			observe(t, db, key) // fails the test if the clock moves by anything but +1
			for range 3 {
				start(t, db, key, fast)
			}
			advance, took := measure(t, db, key, fast, 20*fast)
			if advance < 5 {
				t.Errorf("clock advanced only %d in %v at %v under faults", advance, took, fast)
			}
		})
	}
}

func TestNowAndWaitAfter(t *testing.T) { engines.Each(t, testNowAndWaitAfter) }

func testNowAndWaitAfter(t *testing.T, e engines.Engine) {
	db, key := openDB(t, e, embedded.Faults{})
	if n := now(t, db, key); n != 0 {
		t.Errorf("Now of an absent clock = %d, want 0", n)
	}
	set := func(v []byte) {
		t.Helper()
		_, err := store.Transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
			tx.Set(key, v)
			return struct{}{}, nil
		})
		if err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	set(clock.Encode(41))
	if n, err := clock.WaitAfter(t.Context(), db, key, 40); n != 41 || err != nil {
		t.Errorf("WaitAfter(40) with the clock at 41 = %d, %v; want 41 at once", n, err)
	}

	done := make(chan int64, 1)
	go func() {
		n, err := clock.WaitAfter(t.Context(), db, key, 41)
		if err != nil {
			t.Errorf("WaitAfter(41): %v", err)
		}
		done <- n
	}()
	set(clock.Encode(42))
	select {
	case n := <-done:
		if n != 42 {
			t.Errorf("WaitAfter(41) = %d, want 42", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("WaitAfter(41) did not return after the clock reached 42")
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := clock.WaitAfter(ctx, db, key, 42); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitAfter with a cancelled context = %v", err)
	}

	set([]byte("bad"))
	if _, err := clock.Now(t.Context(), db, key); !errors.Is(err, clock.ErrMalformed) {
		t.Errorf("Now of a malformed tick = %v, want ErrMalformed", err)
	}
	if _, err := clock.WaitAfter(t.Context(), db, key, 0); !errors.Is(err, clock.ErrMalformed) {
		t.Errorf("WaitAfter of a malformed tick = %v, want ErrMalformed", err)
	}
}

func TestRunRejectsBadOptions(t *testing.T) { engines.Each(t, testRunRejectsBadOptions) }

func testRunRejectsBadOptions(t *testing.T, e engines.Engine) {
	db, key := openDB(t, e, embedded.Faults{})
	for _, opts := range []clock.Options{
		{},
		{Key: key, Interval: clock.MaxInterval + time.Second},
		{Key: key, Interval: -time.Second},
	} {
		if err := clock.NewTicker(db, opts).Run(t.Context()); err == nil {
			t.Errorf("Run with %+v = nil, want an error", opts)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	for _, n := range []int64{0, 1, 1 << 40, -1} {
		got, err := clock.Decode(clock.Encode(n))
		if err != nil || got != n {
			t.Errorf("Decode(Encode(%d)) = %d, %v", n, got, err)
		}
	}
	if got := clock.Encode(1); string(got) != "\x01\x00\x00\x00\x00\x00\x00\x00" {
		t.Errorf("Encode(1) = %x, want 8 bytes little-endian", got)
	}
}

func TestMissedTicks(t *testing.T) { engines.Each(t, testMissedTicks) }

// testMissedTicks: while every tick commit fails (here with
// commit_unknown_result, not applied), no participant advances the clock;
// once commits succeed again, the participant counts the intervals the
// clock stood still in clock_ticks_missed_total.
func testMissedTicks(t *testing.T, e engines.Engine) {
	var stalled atomic.Bool
	db, key := openDB(t, e, embedded.Faults{Decide: func(uint64) embedded.Fault {
		if stalled.Load() {
			return embedded.FaultUnknownDropped
		}
		return embedded.NoFault
	}})
	p := start(t, db, key, fast)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := clock.WaitAfter(ctx, db, key, 2); err != nil {
		t.Fatalf("waiting for tick 3: %v", err)
	}
	before := p.metric(t, "clock_ticks_missed_total")

	stalled.Store(true)
	began := time.Now()
	stalledAt := now(t, db, key)
	time.Sleep(5 * fast) // the stall itself, not a synchronisation
	stalled.Store(false)
	// The first advance after the stall, then one more, so that the
	// participant has counted the first (it counts before it tries the
	// next).
	first, err := clock.WaitAfter(ctx, db, key, stalledAt)
	if err != nil {
		t.Fatalf("no tick after the stall: %v", err)
	}
	until := time.Since(began)
	if _, err := clock.WaitAfter(ctx, db, key, first); err != nil {
		t.Fatalf("no second tick after the stall: %v", err)
	}
	missed := p.metric(t, "clock_ticks_missed_total") - before
	// The clock stood still from at most one interval before the stall
	// began until after it ended: at least 5 whole intervals, one of
	// them the tick that was due; at most until+1 intervals.
	if most := float64(until/fast) + 1; missed < 4 || missed > most {
		t.Errorf("clock_ticks_missed_total rose by %v over a stall of %v (clock moved again %v after it began), want 4 to %v",
			missed, 5*fast, until.Round(time.Millisecond), most)
	}
}

func TestMissedTicksFromStart(t *testing.T) { engines.Each(t, testMissedTicksFromStart) }

// testMissedTicksFromStart: on a fresh store the clock reads 0; when the
// first ticks cannot commit, the participant counts those intervals as
// missed too, from its first read of 0 (as after a FoundationDB outage
// that begins before the first tick).
func testMissedTicksFromStart(t *testing.T, e engines.Engine) {
	var stalled atomic.Bool
	stalled.Store(true)
	tried := make(chan struct{})
	var once sync.Once
	db, key := openDB(t, e, embedded.Faults{Decide: func(uint64) embedded.Fault {
		if stalled.Load() {
			once.Do(func() { close(tried) })
			return embedded.FaultUnknownDropped
		}
		return embedded.NoFault
	}})
	p := start(t, db, key, fast)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	select {
	case <-tried: // the participant read tick 0 and tried to commit tick 1
	case <-ctx.Done():
		t.Fatal("the participant never tried to tick")
	}
	began := time.Now()
	time.Sleep(5 * fast) // the stall itself, not a synchronisation
	stalled.Store(false)
	first, err := clock.WaitAfter(ctx, db, key, 0)
	if err != nil {
		t.Fatalf("no tick after the stall: %v", err)
	}
	until := time.Since(began)
	if _, err := clock.WaitAfter(ctx, db, key, first); err != nil {
		t.Fatalf("no second tick after the stall: %v", err)
	}
	missed := p.metric(t, "clock_ticks_missed_total")
	// Tick 0 was read at most one interval before the first attempt, and
	// stood until after the stall: at least 5 whole intervals, at most
	// until + 2.
	if most := float64(until/fast) + 2; missed < 4 || missed > most {
		t.Errorf("clock_ticks_missed_total is %v after a stall of %v from the start (clock moved %v after it began), want 4 to %v",
			missed, 5*fast, until.Round(time.Millisecond), most)
	}
}

// A ticker with a StampKey records, with each tick, the version it
// committed at: a read below that version sees the tick before, a read at
// it the tick. A tick written without a stamp leaves the stamp stale,
// which ReadStamp reports as not the current tick's.
func TestStamp(t *testing.T) { engines.Each(t, testStamp) }

func testStamp(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db, key, stampKey := st.DB, st.Root.Clock(), st.Root.ClockStamp()
	read := func(version int64) (int64, clock.Stamp, bool) {
		t.Helper()
		type out struct {
			tick  int64
			stamp clock.Stamp
			ok    bool
		}
		o, err := store.Transact(t.Context(), db, func(tx store.Tx) (out, error) {
			if version > 0 {
				tx.SetReadVersion(version)
			}
			tick, stamp, ok, err := clock.ReadStamp(tx.Snapshot(), key, stampKey)
			return out{tick, stamp, ok}, err
		})
		if err != nil {
			t.Fatalf("ReadStamp at %d: %v", version, err)
		}
		return o.tick, o.stamp, o.ok
	}
	if tick, _, ok := read(0); tick != 0 || ok {
		t.Fatalf("a fresh store: tick %d, stamp current %v; want 0, false", tick, ok)
	}

	tk := clock.NewTicker(db, clock.Options{Key: key, StampKey: stampKey, Interval: fast, Logger: zaptest.NewLogger(t)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tk.Run(ctx) }()
	if _, err := clock.WaitAfter(t.Context(), db, key, 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tick, stamp, ok := read(0)
	if !ok || stamp.Tick != tick || tick < 3 {
		t.Fatalf("after the ticker: tick %d, stamp %+v (current %v); want the stamp of tick ≥ 3", tick, stamp, ok)
	}
	if before, _, _ := read(stamp.Version - 1); before != tick-1 {
		t.Errorf("at the stamp's version - 1 the clock reads %d, want %d", before, tick-1)
	}
	if at, _, ok := read(stamp.Version); at != tick || !ok {
		t.Errorf("at the stamp's version the clock reads %d (stamp current %v), want %d", at, ok, tick)
	}

	// A participant that records no stamp (an older one) moves the clock.
	if _, err := store.Transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
		tx.Set(key, clock.Encode(tick+1))
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if now, stale, ok := read(0); now != tick+1 || ok || stale != stamp {
		t.Errorf("after a tick without a stamp: tick %d, stamp %+v current %v; want %d, the old stamp, not current", now, stale, ok, tick+1)
	}
}
