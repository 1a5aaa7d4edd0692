// Package daemon runs layerd: it opens the embedded storage engine, serves
// ZooKeeper clients (layerd/zkserver) and the metrics and health endpoints
// (shared/telemetry), tells systemd when it is ready, pings its watchdog,
// and shuts everything down in order when its context ends.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/layerd/zkserver"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/sweep"
	"zkfdb/shared/telemetry"
	"zkfdb/shared/znode"
)

// Defaults of Config's zero fields (and of layerd's flags).
const (
	DefaultListen          = ":2181" // ZooKeeper's client port
	DefaultDataDir         = "./layerd-data"
	DefaultMetricsListen   = ":7000" // ZooKeeper's Prometheus provider's port
	DefaultMaxWatches      = 100_000
	DefaultShutdownTimeout = 10 * time.Second
)

// storeTimeout bounds the start-up check that the store answers.
const storeTimeout = 30 * time.Second

// Config configures Run. A zero field means the default.
type Config struct {
	// Listen is the ZooKeeper client address, host:port.
	Listen string
	// DataDir is the embedded engine's data directory.
	DataDir string
	// MetricsListen is the address of /metrics, /healthz and /readyz.
	MetricsListen string
	// ShutdownTimeout bounds the shutdown after ctx ends.
	ShutdownTimeout time.Duration
	// TickTime is ZooKeeper's tickTime (session timeouts are 2 to 20
	// ticks). Default 2 s.
	TickTime time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound negotiated session
	// timeouts; defaults 2 and 20 ticks.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// MaxBuffer is jute.maxbuffer: a larger request frame closes its
	// connection. Default 1,048,575 bytes.
	MaxBuffer int
	// SuperDigest, if set, makes addauth digest with this digest
	// (user:base64 SHA1 of "user:password") a super user.
	SuperDigest string
	// Profiling serves Go's profiler under /debug/pprof/ on MetricsListen.
	Profiling bool
	// MaxWatches bounds the store watches the process holds (FDB's
	// max_watches): one per client connection, so it bounds connections.
	// Default 100,000.
	MaxWatches int
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.MetricsListen == "" {
		c.MetricsListen = DefaultMetricsListen
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxWatches == 0 {
		c.MaxWatches = DefaultMaxWatches
	}
	return c
}

var (
	errStarting = errors.New("starting")
	errStopping = errors.New("shutting down")
)

// daemon is one run of layerd: what start started, stop stops.
type daemon struct {
	cfg    Config
	log    *zap.Logger
	reg    *prometheus.Registry
	notify *sdnotify.Notifier

	notReady atomic.Pointer[error] // nil when ready; read by /readyz
	wg       sync.WaitGroup        // the Serve goroutines
	failed   chan error            // a server that stopped by itself

	metrics    *telemetry.Server
	db         *embedded.DB
	stopClock  context.CancelFunc // stops background
	background sync.WaitGroup     // the clock, the sweeper, the heartbeats
	zk         *zkserver.Server
}

// Run runs layerd until ctx is done, then shuts down within
// cfg.ShutdownTimeout; it returns nil after a clean shutdown. It logs to
// log, registers its metrics on reg and serves reg on /metrics; notify
// (nil: none) hears READY=1 once the client listener is bound and the
// store answers, WATCHDOG=1 from the main loop, and STOPPING=1. Run
// returns after every goroutine it started has exited.
func Run(ctx context.Context, cfg Config, log *zap.Logger, reg *prometheus.Registry, notify *sdnotify.Notifier) error {
	d := &daemon{
		cfg:    cfg.withDefaults(),
		log:    log,
		reg:    reg,
		notify: notify,
		failed: make(chan error, 3), // one per server, one for the clock
	}
	d.setNotReady(errStarting)
	err := d.start(ctx)
	if err == nil {
		err = d.loop(ctx)
	} else if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = nil // told to stop while starting: a clean shutdown
	}
	d.log.Info("layerd stopping")
	d.setNotReady(errStopping)
	d.sendNotify(sdnotify.Stopping)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, d.stop(stopCtx))
}

func (d *daemon) setNotReady(reason error) { d.notReady.Store(&reason) }

func (d *daemon) ready() error {
	if p := d.notReady.Load(); p != nil {
		return *p
	}
	return nil
}

// start brings layerd up in order: the metrics endpoint first (so that a
// slow store recovery can be watched), then the store, then the client
// listener, so that ZooKeeper clients are refused, and try another server,
// until the store answers.
func (d *daemon) start(ctx context.Context) error {
	mln, err := net.Listen("tcp", d.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	d.metrics = telemetry.NewServer(d.reg, d.ready, d.log)
	if d.cfg.Profiling {
		d.metrics.EnableProfiling()
	}
	d.serve("metrics", mln, d.metrics.Serve, telemetry.ErrServerClosed)

	d.db, err = embedded.Open(embedded.Options{Dir: d.cfg.DataDir, Logger: d.log.Named("store"), Registerer: d.reg, MaxWatches: d.cfg.MaxWatches})
	if err != nil {
		return fmt.Errorf("open store in %s: %w", d.cfg.DataDir, err)
	}
	if err := storeAnswers(ctx, d.db); err != nil {
		return fmt.Errorf("store in %s: %w", d.cfg.DataDir, err)
	}
	if err := (keys.Root{}).EnsureLayout(ctx, d.db); err != nil {
		return fmt.Errorf("store in %s: %w", d.cfg.DataDir, err)
	}
	d.log.Info("store opened", zap.String("dir", d.cfg.DataDir))

	// With the embedded engine this process is the whole service, so it
	// also keeps the cluster's clock ticking and sweeps expired sessions
	// (sweeperd does both on FDB).
	ticker := clock.NewTicker(d.db, clock.Options{Key: keys.Root{}.Clock(), Logger: d.log, Registerer: d.reg})
	sweeper := sweep.New(d.db, sweep.Options{Root: keys.Root{}, Logger: d.log, Registerer: d.reg})
	clockCtx, stopClock := context.WithCancel(context.WithoutCancel(ctx))
	d.stopClock = stopClock
	for name, run := range map[string]func(context.Context) error{"clock": ticker.Run, "sweeper": sweeper.Run} {
		d.background.Go(func() {
			if err := run(clockCtx); err != nil {
				d.failed <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}

	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("client listener: %w", err)
	}
	tree := znode.New(d.db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{SuperDigest: d.cfg.SuperDigest})
	if err := tree.Init(ctx); err != nil {
		return fmt.Errorf("store in %s: %w", d.cfg.DataDir, err)
	}
	d.zk = zkserver.New(d.log, d.reg, tree, zkserver.Config{
		TickTime:          d.cfg.TickTime,
		MinSessionTimeout: d.cfg.MinSessionTimeout,
		MaxSessionTimeout: d.cfg.MaxSessionTimeout,
		MaxBuffer:         d.cfg.MaxBuffer,
	})
	d.serve("client", ln, d.zk.Serve, zkserver.ErrServerClosed)
	d.background.Go(func() { d.zk.RunHeartbeats(clockCtx) })

	d.log.Info("layerd ready",
		zap.Stringer("listen", ln.Addr()),
		zap.Stringer("metrics_listen", mln.Addr()),
		zap.String("data_dir", d.cfg.DataDir))
	d.notReady.Store(nil)
	d.sendNotify(sdnotify.Ready)
	return nil
}

// storeAnswers checks that the engine answers by fetching a read version.
func storeAnswers(ctx context.Context, db store.DB) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err := store.ReadTransact(ctx, db, func(r store.Reader) (int64, error) {
		return r.GetReadVersion().Get()
	})
	return err
}

// serve runs serve(ln) in a goroutine; an error other than closed (from
// Shutdown) ends the main loop.
func (d *daemon) serve(name string, ln net.Listener, serve func(net.Listener) error, closed error) {
	d.wg.Go(func() {
		if err := serve(ln); !errors.Is(err, closed) {
			d.failed <- fmt.Errorf("%s server: %w", name, err)
		}
	})
}

// loop is the main loop: it pings the watchdog until ctx ends or a server
// fails. Pinging from here, not from a goroutine of its own, means a
// wedged main loop gets layerd restarted.
func (d *daemon) loop(ctx context.Context) error {
	var tick <-chan time.Time
	if every := d.notify.WatchdogInterval(); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-d.failed:
			return err
		case <-tick:
			d.sendNotify(sdnotify.Watchdog)
		}
	}
}

// stop shuts down, in the reverse order of start, whatever start started.
func (d *daemon) stop(ctx context.Context) error {
	var errs []error
	if d.zk != nil {
		if err := d.zk.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop client server: %w", err))
		}
	}
	if d.stopClock != nil {
		d.stopClock()
		d.background.Wait()
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if d.metrics != nil {
		if err := d.metrics.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop metrics server: %w", err))
		}
	}
	d.wg.Wait()
	return errors.Join(errs...)
}

// sendNotify tells systemd; a failure is logged, not fatal: systemd, not
// layerd, acts on missing notifications.
func (d *daemon) sendNotify(state string) {
	if err := d.notify.Notify(state); err != nil {
		d.log.Warn("systemd notify failed", zap.String("state", state), zap.Error(err))
	}
}
