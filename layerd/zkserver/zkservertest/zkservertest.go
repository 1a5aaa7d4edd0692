// Package zkservertest starts an in-process layerd for tests of real
// clients against it: the protocol server on a fresh znode tree on the
// embedded engine, on a loopback port, with the cluster's clock, the
// sweeper and session refreshes running, as layerd runs them.
package zkservertest

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"zkfdb/layerd/zkserver"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/sweep"
	"zkfdb/shared/znode"
)

// Start serves a fresh tree on the embedded engine (on disk in
// t.TempDir(), fsync on), as layerd does, and returns its address. The
// server and the engine stop with the test.
func Start(t testing.TB) string {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tree := znode.New(db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		db.Close()
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	srv := zkserver.New(log, nil, tree, zkserver.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	bg, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	ticker := clock.NewTicker(db, clock.Options{Key: keys.Root{}.Clock(), Logger: log})
	sweeper := sweep.New(db, sweep.Options{Root: keys.Root{}, Logger: log})
	for _, run := range []func(context.Context) error{ticker.Run, sweeper.Run, srv.RunHeartbeats} {
		background.Go(func() { run(bg) })
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, zkserver.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
		stopBackground()
		background.Wait()
		db.Close()
	})
	return ln.Addr().String()
}
