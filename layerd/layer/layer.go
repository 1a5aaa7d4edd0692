// Package layer wires one layerd over a store, the one way the daemon, the
// tests' in-process layerd (zkserver/zkservertest) and the in-process
// cluster (internal/cluster) start one: it checks the store's key layout,
// initialises the default tenant's znode tree, serves ZooKeeper clients
// from it (zkserver), refreshes its sessions once per tick of the cluster's
// clock and, when asked, takes part in that clock and sweeps every expiry
// shard (what sweeperd does on FoundationDB; with the embedded engine the
// layerd is the whole service and must).
package layer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/layerd/zkserver"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

// Config configures a Layer. A zero field means the default.
type Config struct {
	// Root is the installation's keyspace (keys.Root{} in production,
	// or the one --fdb-prefix names).
	Root keys.Root
	// Server configures the ZooKeeper protocol server.
	Server zkserver.Config
	// SuperDigest is ZooKeeper's superDigest (znode.Options).
	SuperDigest string
	// Tick is the length of a tick of the cluster's clock; default 1 s.
	// Tests shorten it.
	Tick time.Duration
	// Sweep makes this layerd take part in the cluster's clock and sweep
	// every expiry shard. Without it, sweeperd processes must.
	Sweep bool
	// Logger receives the logs; nil means none.
	Logger *zap.Logger
	// Registerer registers the metrics; nil leaves them unregistered.
	// With one, what each operation costs the store is counted too
	// (shared/store/metered: layerd_store_*_total{op}).
	Registerer prometheus.Registerer
}

// Layer is one layerd's service: Serve it on listeners, then Shutdown or
// Kill it. Its methods are safe for concurrent use.
type Layer struct {
	srv  *zkserver.Server
	tree *znode.Tree
	stop context.CancelFunc
	bg   sync.WaitGroup // heartbeats, clock, sweeper
	// failed receives the error of a clock or sweeper that stopped by
	// itself.
	failed chan error
}

// Start checks the layout of cfg.Root in db, initialises the tree and
// starts the background work (session refreshes; the clock and the
// sweeper with cfg.Sweep). It serves no client until Serve. The
// background work runs until Shutdown or Kill, not until ctx ends: ctx
// bounds only the start.
func Start(ctx context.Context, db store.DB, cfg Config) (*Layer, error) {
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = clock.DefaultInterval
	}
	if cfg.Registerer != nil {
		db = metered.New(db, "layerd", cfg.Registerer)
	}
	ctx = metered.WithOp(ctx, "start")
	if err := cfg.Root.EnsureLayout(ctx, db); err != nil {
		return nil, err
	}
	tree := znode.New(db, cfg.Root.Tenant(keys.DefaultTenant), znode.Options{SuperDigest: cfg.SuperDigest, Tick: cfg.Tick})
	if err := tree.Init(ctx); err != nil {
		return nil, fmt.Errorf("init the tree: %w", err)
	}
	l := &Layer{
		srv:    zkserver.New(log, cfg.Registerer, tree, cfg.Server),
		tree:   tree,
		failed: make(chan error, 2),
	}
	bg, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.bg.Go(func() { l.srv.RunHeartbeats(bg) })
	if cfg.Sweep {
		ticker := clock.NewTicker(db, clock.Options{Key: cfg.Root.Clock(), StampKey: cfg.Root.ClockStamp(), Interval: cfg.Tick, Logger: log, Registerer: cfg.Registerer})
		sweeper := sweep.New(db, sweep.Options{Root: cfg.Root, Tick: cfg.Tick, Logger: log, Registerer: cfg.Registerer})
		for _, w := range []struct {
			name, op string // op labels its store cost (metered)
			run      func(context.Context) error
		}{{"clock", "clock", ticker.Run}, {"sweeper", "sweep", sweeper.Run}} {
			l.bg.Go(func() {
				if err := w.run(metered.WithOp(bg, w.op)); err != nil {
					l.failed <- fmt.Errorf("%s: %w", w.name, err)
				}
			})
		}
	}
	return l, nil
}

// Server returns the protocol server, which the AdminServer reports on.
func (l *Layer) Server() *zkserver.Server { return l.srv }

// Tree returns the tree the layer serves.
func (l *Layer) Tree() *znode.Tree { return l.tree }

// Serve serves ZooKeeper clients on ln until Shutdown or Kill; it then
// returns zkserver.ErrServerClosed.
func (l *Layer) Serve(ln net.Listener) error { return l.srv.Serve(ln) }

// Failed is sent the error of a clock or sweeper that stopped by itself.
func (l *Layer) Failed() <-chan error { return l.failed }

// Shutdown stops serving (closing every client connection, whose clients
// then reconnect elsewhere with their sessions) and the background work,
// and waits for both until ctx ends.
func (l *Layer) Shutdown(ctx context.Context) error {
	return l.halt(ctx, l.srv.Shutdown)
}

// Kill stops the layer as a crash of its process would: connections
// dropped, session refreshes stopped, nothing cleaned up in the store.
func (l *Layer) Kill(ctx context.Context) error {
	return l.halt(ctx, l.srv.Kill)
}

func (l *Layer) halt(ctx context.Context, stopServer func(context.Context) error) error {
	err := stopServer(ctx)
	l.stop()
	done := make(chan struct{})
	go func() { l.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("background work: %w", ctx.Err()))
	}
	return err
}
