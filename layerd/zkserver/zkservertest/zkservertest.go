// Package zkservertest starts an in-process layerd for tests of real
// clients against it, wired as layerd wires one (layerd/layer): the
// protocol server on a fresh znode tree, on a loopback port, with the
// cluster's clock, the sweeper and session refreshes running.
package zkservertest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/layerd/layer"
	"zkfdb/layerd/zkserver"
	"zkfdb/shared/store"
)

// Start serves a fresh tree on engine e (the embedded engine on disk in
// t.TempDir(), fsync on; FoundationDB under a key prefix of the test's
// own), as layerd does, and returns its address. Extended types (TTL
// nodes) are on, as in the reference ZooKeeper (internal/zkref) that the
// differential and client tests compare it with. The server and the store
// stop with the test.
func Start(t testing.TB, e engines.Engine) string {
	t.Helper()
	return StartConfig(t, e, zkserver.Config{ExtendedTypes: true})
}

// StartConfig is Start with the protocol server configured by cfg.
func StartConfig(t testing.TB, e engines.Engine, cfg zkserver.Config) string {
	t.Helper()
	addr, _ := StartLayer(t, e, cfg)
	return addr
}

// StartLayer is StartConfig that also returns the layer, for tests of
// what is served beside it (the AdminServer).
func StartLayer(t testing.TB, e engines.Engine, cfg zkserver.Config) (string, *layer.Layer) {
	t.Helper()
	st := e.Open(t, engines.Options{Disk: true})
	return Serve(t, st.DB, layer.Config{Root: st.Root, Sweep: true, Logger: zaptest.NewLogger(t), Server: cfg})
}

// Serve starts a layer configured by cfg on db, serves it on a loopback
// port and returns the address and the layer; both stop with the test
// (before the store closes).
func Serve(t testing.TB, db store.DB, cfg layer.Config) (string, *layer.Layer) {
	t.Helper()
	l, err := layer.Start(t.Context(), db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, zkserver.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return ln.Addr().String(), l
}
