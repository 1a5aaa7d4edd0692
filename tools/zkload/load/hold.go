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

// holdWorkers is how many goroutines open, ping and close the sessions.
const holdWorkers = 64

// HoldResult is what Hold saw.
type HoldResult struct {
	Target string
	// Asked is the number of sessions asked for; Held those open when the
	// hold ended; Lost those whose connection failed or whose ping was
	// refused during the hold.
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
// keeps them for d with pings, then closes them. It returns an error if
// ctx ends first; sessions that fail are counted, not returned. Opening
// stops at the first failure after holdWorkers of them (a server at its
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
	sessions := make([]*rawSession, n)
	defer func() {
		// Close what is open, also when ctx ended: the server should not
		// keep them for their timeout.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		forEach(cctx, n, func(i int) {
			if s := sessions[i]; s != nil {
				s.close()
			}
		})
	}()

	var (
		mu       sync.Mutex
		failures atomic.Int64
	)
	begin := time.Now()
	forEach(ctx, n, func(i int) {
		if failures.Load() > holdWorkers {
			return
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
		sessions[i] = s
	})
	res.Opening = time.Since(begin)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	open := 0
	for _, s := range sessions {
		if s != nil {
			open++
		}
	}
	log.Info("sessions open", zap.Int("open", open), zap.Int("asked", n), zap.Duration("took", res.Opening))
	if held != nil {
		held(open)
	}

	// Each worker pings its share of the sessions once per round, a round
	// every third of the timeout, as an idle client pings.
	end := time.Now().Add(d)
	lats := make([]*Histogram, holdWorkers)
	pings := make([]int64, holdWorkers)
	var wg sync.WaitGroup
	for w := range holdWorkers {
		lats[w] = new(Histogram)
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				round := time.Now()
				var every time.Duration
				for i := w; i < n; i += holdWorkers {
					s := sessions[i]
					if s == nil {
						continue
					}
					every = s.timeout / 3
					t0 := time.Now()
					if err := s.ping(); err != nil {
						s.nc.Close()
						mu.Lock()
						sessions[i] = nil
						res.Lost++
						mu.Unlock()
						log.Debug("session lost", zap.Int64("session", s.id), zap.Error(err))
						continue
					}
					lats[w].Record(time.Since(t0))
					pings[w]++
				}
				if every == 0 {
					return // none left
				}
				select {
				case <-ctx.Done():
				case <-time.After(min(time.Until(round.Add(every)), time.Until(end))):
				}
			}
		})
	}
	wg.Wait()
	for w := range holdWorkers {
		res.PingLatency.Merge(lats[w])
		res.Pings += pings[w]
	}
	for _, s := range sessions {
		if s != nil {
			res.Held++
		}
	}
	return res, ctx.Err()
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
