package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Holding many idle sessions (issue 10: what a session costs a server
// that holds 100,000). Hold opens the sessions over ZooKeeper's wire
// protocol directly (rawSession: a socket and a small buffer each, so
// that the load tool holds tens of thousands), keeps each alive as an
// idle client does, with a ping every third of its negotiated timeout,
// and closes them at the end. What the server spends on them (memory,
// commits per tick) is read from the server's side while they are held
// (scripts/bench-sessions).

// holdWorkers is how many goroutines open and close the sessions.
const holdWorkers = 64

// pingWorkers is how many goroutines ping them, each its share in turn, a
// ping waiting for its answer: while the sessions are still opening, a
// server busy with the opening answers a ping in tens of milliseconds,
// and 64 of them, with 280 sessions each, took longer than a 10 s timeout
// to go round, so that sessions expired in spite of them.
const pingWorkers = 1024

// HoldResult is what Hold saw.
type HoldResult struct {
	Target string
	// Asked is the number of sessions asked for; Held those open when the
	// hold ended; Lost those whose connection failed or whose ping was
	// refused after they opened.
	Asked, Held, Lost int
	// Opening is how long opening every session took.
	Opening time.Duration
	// OpenErrors counts the sessions that could not be opened, by error
	// code.
	OpenErrors map[string]int64
	// Pings counts the pings answered during the hold; PingLatency holds
	// their latencies.
	Pings       int64
	PingLatency *Histogram
}

// Hold opens n sessions on t's first server (cfg.SessionTimeout asked),
// keeps them for d with pings, then closes them. Each session is pinged
// from its open on, so that a slow opening of many sessions does not
// let the first ones expire before the hold begins; the pings counted
// (Pings, PingLatency) are those of the hold. It returns an error if ctx
// ends first; sessions that fail are counted, not returned. Opening stops
// at the first failure after holdWorkers of them (a server at its
// connection limit refuses every later one). held, if not nil, is called
// once every session is open, with how many are.
func Hold(ctx context.Context, log *zap.Logger, t Target, n int, cfg Config, d time.Duration, held func(int)) (*HoldResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(t.Servers) == 0 || n <= 0 {
		return nil, errors.New("hold: need a server and a positive number of sessions")
	}
	res := &HoldResult{Target: t.Name(), Asked: n, OpenErrors: map[string]int64{}, PingLatency: new(Histogram)}
	sessions := make([]atomic.Pointer[rawSession], n)
	defer func() {
		// Close what is open, also when ctx ended: the server should not
		// keep them for their timeout.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		forEach(cctx, n, func(i int) {
			if s := sessions[i].Load(); s != nil {
				s.close()
			}
		})
	}()

	// The pingers start with the opening: each pings its share of the
	// open sessions once per round, a round every third of the timeout,
	// as an idle client pings, its pings spread evenly over the round and
	// the workers' rounds over a round's time, so that the server sees a
	// steady rate rather than bursts. The pings made once all are open
	// (allOpen), until holdEnd, are the hold's.
	pctx, stopPings := context.WithCancel(ctx)
	var (
		mu      sync.Mutex
		lost    atomic.Int64
		holdEnd time.Time // written before allOpen is closed
		wg      sync.WaitGroup
	)
	allOpen := make(chan struct{})
	// sleepUntil waits for t; false if the pings are to stop.
	sleepUntil := func(t time.Time) bool {
		if d := time.Until(t); d > 0 {
			timer := time.NewTimer(d)
			defer timer.Stop()
			select {
			case <-pctx.Done():
			case <-timer.C:
			}
		}
		return pctx.Err() == nil
	}
	for w := range pingWorkers {
		wg.Go(func() {
			counting := false
			var end time.Time
			every := cfg.SessionTimeout / 3 // until a session tells the one it got
			next := time.Now().Add(every * time.Duration(w) / pingWorkers)
			var share []int
			// holding notes, once all are open, that the hold's pings
			// have begun; it says whether to go on.
			holding := func() bool {
				if !counting {
					select {
					case <-allOpen:
						counting, end = true, holdEnd
					default:
					}
				}
				return !counting || time.Now().Before(end)
			}
			// until bounds a wait by the hold's end.
			until := func(t time.Time) time.Time {
				if counting && end.Before(t) {
					return end
				}
				return t
			}
			for sleepUntil(until(next)) && holding() {
				round := time.Now()
				share = share[:0]
				for i := w; i < n; i += pingWorkers {
					if sessions[i].Load() != nil {
						share = append(share, i)
					}
				}
				if counting && len(share) == 0 {
					return // none left
				}
				for j, i := range share {
					if j > 0 && !sleepUntil(until(round.Add(every*time.Duration(j)/time.Duration(len(share))))) {
						return
					}
					if !holding() {
						return
					}
					s := sessions[i].Load()
					if s == nil {
						continue
					}
					every = s.timeout / 3
					t0 := time.Now()
					if err := s.ping(); err != nil {
						s.nc.Close()
						sessions[i].Store(nil)
						lost.Add(1)
						log.Debug("session lost", zap.Int64("session", s.id), zap.Error(err))
						continue
					}
					if counting {
						d := time.Since(t0)
						mu.Lock()
						res.PingLatency.Record(d)
						res.Pings++
						mu.Unlock()
					} else if h := holdTestHooks.openingPing; h != nil {
						h()
					}
				}
				next = round.Add(every)
			}
		})
	}
	// Stop the pingers before returning, and before the deferred close
	// of the sessions (deferred calls run last in, first out).
	defer wg.Wait()
	defer stopPings()

	var failures atomic.Int64
	begin := time.Now()
	forEach(ctx, n, func(i int) {
		if failures.Load() > holdWorkers {
			return
		}
		if h := holdTestHooks.beforeOpen; h != nil {
			h(i)
		}
		octx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
		s, err := openRaw(octx, t.Servers[i%len(t.Servers)], cfg.SessionTimeout)
		if err != nil {
			failures.Add(1)
			mu.Lock()
			res.OpenErrors[errorCode(err)]++
			mu.Unlock()
			return
		}
		sessions[i].Store(s)
	})
	res.Opening = time.Since(begin)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	open := 0
	for i := range sessions {
		if sessions[i].Load() != nil {
			open++
		}
	}
	log.Info("sessions open", zap.Int("open", open), zap.Int("asked", n), zap.Duration("took", res.Opening))
	if held != nil {
		held(open)
	}
	holdEnd = time.Now().Add(d)
	close(allOpen)
	wg.Wait()
	res.Lost = int(lost.Load())
	for i := range sessions {
		if sessions[i].Load() != nil {
			res.Held++
		}
	}
	return res, ctx.Err()
}

// holdTestHooks let a test slow the opening down: beforeOpen runs before
// session i opens, openingPing after each ping made while sessions are
// still opening.
var holdTestHooks struct {
	beforeOpen  func(i int)
	openingPing func()
}

// forEach calls fn(i) for i in [0, n) from holdWorkers goroutines, until
// ctx ends.
func forEach(ctx context.Context, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(holdWorkers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// WriteText prints the hold's result.
func (r *HoldResult) WriteText(out io.Writer) error {
	_, err := fmt.Fprintf(out, "held %d of %d sessions against %s (opened in %v, %d lost during the hold); %d pings, p50 %s ms, p99 %s ms, max %s ms; open errors: %s\n",
		r.Held, r.Asked, r.Target, r.Opening.Round(time.Millisecond), r.Lost, r.Pings,
		millis(r.PingLatency.Quantile(0.5)), millis(r.PingLatency.Quantile(0.99)), millis(r.PingLatency.Max()), errorList(r.OpenErrors))
	return err
}
