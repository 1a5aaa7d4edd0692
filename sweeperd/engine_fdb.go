//go:build fdb

package main

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

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
	"zkfdb/shared/telemetry"
)

// storeTimeout bounds the start-up check that FoundationDB answers.
const storeTimeout = 30 * time.Second

// shutdownTimeout bounds the metrics server's shutdown.
const shutdownTimeout = 10 * time.Second

// run serves metrics, opens the FoundationDB cluster, takes part in the
// cluster clock, and tells systemd it is ready, until ctx ends. The
// memberlist cluster and the expiry sweep come with the sweeper issue; the
// memberlist flags are parsed and checked already.
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

	if err := (keys.Root{}).EnsureLayout(ctx, db); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("FoundationDB (%s): %w", cfg.clusterFile, err)
	}

	ticker := clock.NewTicker(db, clock.Options{Key: keys.Root{}.Clock(), Logger: log, Registerer: reg})
	clockCtx, stopClock := context.WithCancel(ctx)
	defer stopClock()
	clockErr := make(chan error, 1)
	wg.Go(func() { clockErr <- ticker.Run(clockCtx) })

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
			return fmt.Errorf("clock: %w", err)
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
