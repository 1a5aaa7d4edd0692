// Package daemon runs layerd: it opens its store (the embedded engine in a
// local directory, or a FoundationDB cluster: shared/store/engine), serves
// ZooKeeper clients from it (layerd/layer) and the metrics and health
// endpoints (shared/telemetry), tells systemd when it is ready, pings its
// watchdog, keeps /readyz following the store's availability, and shuts
// everything down in order when its context ends.
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

	"zkfdb/layerd/adminserver"
	"zkfdb/layerd/layer"
	"zkfdb/layerd/zkserver"
	"zkfdb/shared/keys"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/store"
	"zkfdb/shared/store/delayed"
	"zkfdb/shared/store/engine"
	"zkfdb/shared/telemetry"
)

// Defaults of Config's zero fields (and of layerd's flags).
const (
	DefaultListen          = ":2181" // ZooKeeper's client port
	DefaultDataDir         = "./layerd-data"
	DefaultMetricsListen   = ":7000" // ZooKeeper's Prometheus provider's port
	DefaultMaxWatches      = 100_000
	DefaultShutdownTimeout = 10 * time.Second
)

// WatchReserve is how many of MaxWatches the daemon keeps for its own
// store watches (the clock, the sweeper, the session refreshes): client
// connections may hold the rest.
const WatchReserve = 16

// Readiness probes: how often /readyz asks the store, and how long an
// answer may take.
const (
	probeInterval = time.Second
	probeTimeout  = 2 * time.Second
)

// Config configures Run. A zero field means the default.
type Config struct {
	// Listen is the ZooKeeper client address, host:port.
	Listen string
	// Store is the engine: engine.Embedded (the default) or engine.FDB.
	Store string
	// DataDir is the embedded engine's data directory.
	DataDir string
	// ClusterFile is FoundationDB's cluster file (Store FDB); empty:
	// FDB's default.
	ClusterFile string
	// Prefix is the key prefix of this installation in the store, so
	// that several share one FoundationDB cluster; empty in a cluster of
	// its own.
	Prefix string
	// Sweep makes layerd also run the cluster's clock and the expiry
	// sweeper; always on with the embedded engine, where layerd is the
	// whole service (sweeperd does both on FoundationDB).
	Sweep bool
	// StartTimeout bounds the wait for the store at start; default
	// engine.DefaultStartTimeout.
	StartTimeout time.Duration
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
	// max_watches): one per client connection and WatchReserve of its
	// own, so it bounds connections. Default 100,000; more than
	// WatchReserve.
	MaxWatches int
	// MaxClientCnxns is ZooKeeper's maxClientCnxns: connections one
	// client IP address may hold open; 0 means no limit.
	MaxClientCnxns int
	// ExtendedTypes is ZooKeeper's zookeeper.extendedTypesEnabled: TTL
	// nodes are refused (UNIMPLEMENTED) unless it is set.
	ExtendedTypes bool
	// FourLetterWords is ZooKeeper's 4lw.commands.whitelist; default
	// fourletter.DefaultWhitelist.
	FourLetterWords string
	// AdminListen is the address of ZooKeeper's AdminServer interface
	// (/commands, and /metrics, /healthz, /readyz); "" means none.
	AdminListen string
	// LogLevel, if set, is served on MetricsListen's /log/level, so that
	// the level of log can be changed at run time.
	LogLevel zap.AtomicLevel
	// StoreDelays, for benchmarks only, hold back every store result by
	// a round trip, to show how layerd behaves when FoundationDB is
	// further away than the cluster at hand (package delayed). Zero in
	// production.
	StoreDelays delayed.Delays
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Store == "" {
		c.Store = engine.Embedded
	}
	if c.Store == engine.Embedded {
		c.Sweep = true
		if c.DataDir == "" {
			c.DataDir = DefaultDataDir
		}
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

// localDataDir is the directory layerd keeps data in: the embedded
// engine's; none on FoundationDB.
func (c Config) localDataDir() string {
	if c.Store == engine.FDB {
		return ""
	}
	return c.DataDir
}

func (c Config) engine() engine.Config {
	return engine.Config{Engine: c.Store, DataDir: c.DataDir, ClusterFile: c.ClusterFile, MaxWatches: c.MaxWatches, StartTimeout: c.StartTimeout}
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
	wg       sync.WaitGroup        // the Serve goroutines, the probe
	failed   chan error            // a server that stopped by itself

	stopProbe context.CancelFunc

	metrics *telemetry.Server
	admin   *telemetry.Server // the AdminServer, with --admin-listen
	db      store.DB
	layer   *layer.Layer
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
		failed: make(chan error, 3), // one per server
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
	if d.cfg.LogLevel != (zap.AtomicLevel{}) {
		d.metrics.HandleLogLevel(d.cfg.LogLevel)
	}
	d.serve("metrics", mln, d.metrics.Serve, telemetry.ErrServerClosed)

	ec := d.cfg.engine()
	ec.Logger, ec.Registerer = d.log.Named("store"), d.reg
	place := ec.Place()
	d.db, err = engine.Open(ctx, ec)
	if err != nil {
		return err
	}
	if dl := d.cfg.StoreDelays; dl != (delayed.Delays{}) {
		d.log.Warn("store delays injected: for benchmarks only", zap.Duration("commit", dl.Commit), zap.Duration("read", dl.Read))
		d.db = delayed.Wrap(d.db, dl)
	}
	root, err := keys.NewRoot([]byte(d.cfg.Prefix))
	if err != nil {
		return fmt.Errorf("--fdb-prefix: %w", err)
	}
	d.layer, err = layer.Start(ctx, d.db, layer.Config{
		Root: root,
		Server: zkserver.Config{
			TickTime:          d.cfg.TickTime,
			MinSessionTimeout: d.cfg.MinSessionTimeout,
			MaxSessionTimeout: d.cfg.MaxSessionTimeout,
			MaxBuffer:         d.cfg.MaxBuffer,
			MaxConnections:    d.cfg.MaxWatches - WatchReserve,
			MaxClientCnxns:    d.cfg.MaxClientCnxns,
			ExtendedTypes:     d.cfg.ExtendedTypes,
			FourLetterWords:   d.cfg.FourLetterWords,
			DataDir:           d.cfg.localDataDir(),
		},
		SuperDigest: d.cfg.SuperDigest,
		Sweep:       d.cfg.Sweep,
		Logger:      d.log,
		Registerer:  d.reg,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", place, err)
	}
	d.log.Info("store opened", zap.String("store", place), zap.Bool("sweep", d.cfg.Sweep))

	if d.cfg.AdminListen != "" {
		aln, err := net.Listen("tcp", d.cfg.AdminListen)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		d.admin = telemetry.NewServer(d.reg, d.ready, d.log.Named("admin"))
		adminserver.Register(d.admin, d.layer.Server())
		d.serve("admin", aln, d.admin.Serve, telemetry.ErrServerClosed)
		d.log.Info("admin server listening", zap.Stringer("admin_listen", aln.Addr()))
	}
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("client listener: %w", err)
	}
	d.serve("client", ln, d.layer.Serve, zkserver.ErrServerClosed)
	probeCtx, stopProbe := context.WithCancel(context.WithoutCancel(ctx))
	d.stopProbe = stopProbe
	d.wg.Go(func() { d.probe(probeCtx) })

	d.log.Info("layerd ready",
		zap.Stringer("listen", ln.Addr()),
		zap.Stringer("metrics_listen", mln.Addr()),
		zap.String("store", place))
	d.notReady.Store(nil)
	d.sendNotify(sdnotify.Ready)
	return nil
}

// probe keeps /readyz following the store: not ready while it does not
// answer, so that load balancers and rollouts route around this layerd
// (its clients' requests fail meanwhile and they reconnect elsewhere).
func (d *daemon) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	var was error
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := engine.Answers(ctx, d.db, probeTimeout)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && was == nil:
			d.log.Warn("store unavailable; not ready", zap.Error(err))
		case err == nil && was != nil:
			d.log.Info("store available again; ready")
		}
		if err != nil {
			err = fmt.Errorf("store unavailable: %w", err)
			d.setNotReady(err)
		} else {
			d.notReady.Store(nil)
		}
		was = err
	}
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

// loop is the main loop: it pings the watchdog until ctx ends or a server,
// the clock or the sweeper fails. Pinging from here, not from a goroutine
// of its own, means a wedged main loop gets layerd restarted.
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
		case err := <-d.layer.Failed():
			return err
		case <-tick:
			d.sendNotify(sdnotify.Watchdog)
		}
	}
}

// stop shuts down, in the reverse order of start, whatever start started.
func (d *daemon) stop(ctx context.Context) error {
	var errs []error
	if d.stopProbe != nil {
		d.stopProbe()
	}
	if d.layer != nil {
		if err := d.layer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop client server: %w", err))
		}
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if d.admin != nil {
		if err := d.admin.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop admin server: %w", err))
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
