package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// cleanupTimeout bounds the deletion of a run's root; it is not part of
// Config because nothing is measured then.
const cleanupTimeout = 5 * time.Minute

var acl = zk.WorldACL(zk.PermAll)

// Target is a server, or the servers of an ensemble, to run against.
type Target struct {
	// Label names the target in reports; empty means the servers.
	Label string
	// Servers are host:port addresses, as zk.Connect takes them.
	Servers []string
}

// Name returns the target's label, or its servers if it has none.
func (t Target) Name() string {
	if t.Label != "" {
		return t.Label
	}
	return strings.Join(t.Servers, ",")
}

// Result is what one workload did against one target.
type Result struct {
	Workload Workload
	Target   string // Target.Name()
	// Root is the run's root node, deleted at the end unless Config.Keep.
	Root string
	// Elapsed is the duration of the measured phase.
	Elapsed time.Duration
	// OK counts the measured phase's successful requests, Writes those of
	// them that were creates or setData.
	OK, Writes int64
	// Errors counts the measured phase's failed requests by ZooKeeper error
	// code ("NONODE", "CONNECTIONLOSS", …).
	Errors map[string]int64
	// Latency holds the latencies of the successful requests.
	Latency *Histogram
	// WarmupOK and WarmupWrites count the warm-up's successful requests
	// and writes (creates and setData change the tree there too).
	WarmupOK, WarmupWrites int64
}

// OpsPerSec returns the successful requests per second of the measured
// phase.
func (r *Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ErrorCount returns the number of failed requests of the measured phase.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Run runs workload w against t: it opens cfg.Sessions sessions, creates
// the workload's nodes under a new root, runs the warm-up and the measured
// phase, deletes the root (unless cfg.Keep) and closes the sessions. Failed
// requests of the two phases are counted, not returned; Run returns an
// error if the sessions cannot be opened, the setup or the cleanup fails,
// or ctx is done before the measured phase ends. It returns after every
// goroutine it started has exited.
func Run(ctx context.Context, log *zap.Logger, t Target, w Workload, cfg Config) (res *Result, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(known, w) {
		return nil, fmt.Errorf("unknown workload %q", w)
	}
	if len(t.Servers) == 0 {
		return nil, errors.New("target has no servers")
	}
	log = log.With(zap.String("workload", string(w)), zap.String("target", t.Name()))
	res = &Result{Workload: w, Target: t.Name(), Errors: map[string]int64{}, Latency: new(Histogram)}

	conns, err := connect(ctx, log, t.Servers, cfg)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)

	res.Root = fmt.Sprintf("%s-%016x", cfg.Prefix, rand.Uint64())
	if _, err := conns[0].Create(res.Root, nil, 0, acl); err != nil {
		return nil, fmt.Errorf("create %s: %w", res.Root, err)
	}
	var workers []*worker
	defer func() { closePipes(workers) }()
	if !cfg.Keep {
		defer func() {
			// The root goes even if ctx is done: a cancelled run must not
			// leave thousands of nodes behind.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			if cerr := deleteCreated(cctx, conns, cfg.Depth, workers); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
			} else if cerr := deleteTree(cctx, conns, cfg.Depth, res.Root); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
			}
		}()
	}

	workers, err = setup(ctx, conns, t.Servers, w, cfg, res.Root)
	for _, wk := range workers {
		wk.servers, wk.log = t.Servers, log
	}
	if err != nil {
		return res, fmt.Errorf("setup: %w", err)
	}
	log.Info("setup done", zap.String("root", res.Root), zap.Int("sessions", len(conns)))

	var pool *deletePool
	if len(workers) > 0 {
		pool = workers[0].pool
	}
	if cfg.Warmup > 0 {
		if pool != nil {
			pool.limit = pool.warmupLimit(cfg)
		}
		p := &phase{deadline: time.Now().Add(cfg.Warmup)}
		warm, _, err := runPhase(ctx, workers, p)
		if err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
		res.WarmupOK, res.WarmupWrites = warm.ok, warm.writes
	}

	if pool != nil {
		// The warm-up's workers each took a number past its limit and
		// deleted nothing with it.
		pool.next.Store(min(pool.next.Load(), pool.limit))
		pool.limit = pool.created
	}
	p := &phase{record: true}
	if cfg.Ops > 0 {
		p.tickets = new(atomic.Int64)
		p.tickets.Store(cfg.Ops)
	} else {
		p.deadline = time.Now().Add(cfg.Duration)
	}
	if cfg.Progress != nil {
		p.progress = startProgress(cfg.Progress, string(w)+" against "+t.Name(), cfg, progressEvery)
	}
	sum, elapsed, err := runPhase(ctx, workers, p)
	if p.progress != nil {
		p.progress.end()
	}
	if err != nil {
		return res, fmt.Errorf("measure: %w", err)
	}
	res.Elapsed, res.OK, res.Writes, res.Errors, res.Latency = elapsed, sum.ok, sum.writes, sum.errs, sum.lat
	log.Info("measured", zap.Int64("ok", res.OK), zap.Int64("errors", res.ErrorCount()),
		zap.Float64("ops_per_sec", res.OpsPerSec()), zap.Duration("p99", res.Latency.Quantile(0.99)))
	return res, nil
}

// connect opens cfg.Sessions sessions in parallel and waits until each has
// its session, for at most cfg.ConnectTimeout.
func connect(ctx context.Context, log *zap.Logger, servers []string, cfg Config) ([]*zk.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	conns := make([]*zk.Conn, cfg.Sessions)
	errs := make([]error, cfg.Sessions)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { conns[i], errs[i] = connectOne(ctx, log, servers, cfg.SessionTimeout, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

// connectOne opens a session; dial, if not nil, makes its connections.
func connectOne(ctx context.Context, log *zap.Logger, servers []string, timeout time.Duration, dial zk.Dialer) (*zk.Conn, error) {
	hasSession := make(chan struct{})
	var once sync.Once
	if dial == nil {
		dial = net.DialTimeout
	}
	c, _, err := zk.Connect(servers, timeout,
		zk.WithDialer(dial),
		zk.WithLogger(zkLogger{log}),
		zk.WithLogInfo(false),
		// The callback sees every event; the channel drops them when full.
		zk.WithEventCallback(func(ev zk.Event) {
			log.Debug("session event", zap.Stringer("state", ev.State), zap.String("server", ev.Server))
			if ev.State == zk.StateHasSession {
				once.Do(func() { close(hasSession) })
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("connect %v: %w", servers, err)
	}
	select {
	case <-hasSession:
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("connect %v: %w", servers, ctx.Err())
	}
}

// closeAll closes the sessions in parallel (each Close waits up to a
// second for the server's answer).
func closeAll(conns []*zk.Conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(c.Close)
		}
	}
	wg.Wait()
}

// zkLogger passes the client library's messages to zap at debug level.
type zkLogger struct{ log *zap.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zk client", zap.String("msg", fmt.Sprintf(format, args...)))
}
