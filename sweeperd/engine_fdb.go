//go:build fdb

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/members"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
	"zkfdb/shared/sweep"
	"zkfdb/shared/telemetry"
)

// storeTimeout bounds the start-up check that FoundationDB answers.
const storeTimeout = 30 * time.Second

// shutdownTimeout bounds the metrics server's shutdown.
const shutdownTimeout = 10 * time.Second

// run serves metrics, opens the FoundationDB cluster, joins the sweeper
// cluster (memberlist), takes part in the cluster clock, sweeps the
// shards it owns, and tells systemd it is ready, until ctx ends.
func run(ctx context.Context, cfg config, log *zap.Logger, reg *prometheus.Registry, notify *sdnotify.Notifier) error {
	var ready atomic.Bool
	mln, err := net.Listen("tcp", cfg.metricsListen)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	metrics := telemetry.NewServer(reg, func() error {
		if !ready.Load() {
			return errors.New("starting")
		}
		return nil
	}, log)
	if cfg.level != (zap.AtomicLevel{}) {
		metrics.HandleLogLevel(cfg.level)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := metrics.Serve(mln); !errors.Is(err, telemetry.ErrServerClosed) {
			log.Error("metrics server failed", zap.Error(err))
		}
	})
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := metrics.Shutdown(sctx); err != nil {
			log.Warn("metrics server shutdown", zap.Error(err))
		}
	}()

	db, err := fdbstore.Open(fdbstore.Options{ClusterFile: cfg.clusterFile, Logger: log.Named("store")})
	if err != nil {
		return fmt.Errorf("open FoundationDB (%s): %w", cfg.clusterFile, err)
	}
	defer db.Close()
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	_, err = store.ReadTransact(sctx, db, func(r store.Reader) (int64, error) { return r.GetReadVersion().Get() })
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil // told to stop while starting
		}
		return fmt.Errorf("FoundationDB (%s) does not answer: %w", cfg.clusterFile, err)
	}

	root, err := keys.NewRoot([]byte(cfg.prefix))
	if err != nil {
		return err
	}
	if err := root.EnsureLayout(ctx, db); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("FoundationDB (%s): %w", cfg.clusterFile, err)
	}

	locality := newLocality(db, root, log)
	member, err := members.Start(members.Config{
		Name: cfg.nodeName, Bind: cfg.bind, Advertise: cfg.advertise, Join: cfg.join,
		Prefer: locality.preferred, Logger: log,
	})
	if err != nil {
		return err
	}
	member.Register(reg)
	defer func() {
		if err := member.Leave(); err != nil {
			log.Warn("leaving the sweeper cluster", zap.Error(err))
		}
	}()

	ticker := clock.NewTicker(db, clock.Options{Key: root.Clock(), StampKey: root.ClockStamp(), Logger: log, Registerer: reg})
	host, _, _ := net.SplitHostPort(member.Addr())
	sweeper := sweep.New(db, sweep.Options{
		Root: root, Owns: member.Owns, Local: func(shard int) bool { return slices.Contains(locality.preferred(shard), host) },
		Logger: log, Registerer: reg,
	})
	// The clock, the sweeper and the locality refresh use the store and
	// the membership: they are stopped and joined before either closes
	// (deferred calls run last first).
	var workers sync.WaitGroup
	defer workers.Wait()
	clockCtx, stopClock := context.WithCancel(ctx)
	defer stopClock()
	clockErr := make(chan error, 3)
	workers.Go(func() { clockErr <- ticker.Run(clockCtx) })
	workers.Go(func() { clockErr <- sweeper.Run(clockCtx) })
	workers.Go(func() { locality.run(clockCtx); clockErr <- nil })

	ready.Store(true)
	log.Info("sweeperd ready", zap.Stringer("metrics_listen", mln.Addr()), zap.String("cluster_file", cfg.clusterFile))
	send(log, notify, sdnotify.Ready)
	defer send(log, notify, sdnotify.Stopping)

	var tick <-chan time.Time
	if every := notify.WatchdogInterval(); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-clockErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("clock or sweeper stopped: %v", err)
		case <-tick:
			send(log, notify, sdnotify.Watchdog)
		}
	}
}

// send tells systemd; a failure is logged: systemd, not sweeperd, acts on
// missing notifications.
func send(log *zap.Logger, notify *sdnotify.Notifier, state string) {
	if err := notify.Notify(state); err != nil {
		log.Warn("systemd notify failed", zap.String("state", state), zap.Error(err))
	}
}

// locality keeps, per shard, the hosts of the storage servers that hold
// the start of its expiry-index range, refreshed every minute: data moves
// slowly, and a stale answer only costs locality, never correctness.
type locality struct {
	db   *fdbstore.DB
	root keys.Root
	log  *zap.Logger

	mu    sync.Mutex
	hosts map[int][]string
}

func newLocality(db *fdbstore.DB, root keys.Root, log *zap.Logger) *locality {
	return &locality{db: db, root: root, log: log, hosts: map[int][]string{}}
}

func (l *locality) preferred(shard int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts[shard]
}

func (l *locality) run(ctx context.Context) {
	for {
		if err := l.refresh(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("locality lookup failed; owners chosen without it", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

// refresh looks up, once, the storage hosts of every shard's range. A
// failed lookup keeps the hosts known before.
func (l *locality) refresh(ctx context.Context) error {
	fresh := map[int][]string{}
	for shard := range keys.Shards {
		hosts, err := l.db.StorageHosts(ctx, l.root.ExpiryDue(shard, 0).Begin)
		if err != nil {
			return err
		}
		fresh[shard] = hosts
	}
	l.mu.Lock()
	l.hosts = fresh
	l.mu.Unlock()
	return nil
}
