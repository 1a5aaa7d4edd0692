package clienttest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"zkfdb/internal/zkref"
	"zkfdb/layerd/zkserver"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// startLayerd serves a fresh tree on the embedded engine (on disk, fsync
// on) on a loopback port, as layerd does; it stops with the test. It is
// layerd/difftest's function of the same name: test files are not shared
// across packages.
func startLayerd(t *testing.T) string {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tree := znode.New(db, keys.Root{}.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := zkserver.New(zaptest.NewLogger(t), nil, tree, zkserver.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, zkserver.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
		db.Close()
	})
	return ln.Addr().String()
}

// refOptions configure the reference ZooKeeper as layerd behaves: TTL
// nodes on.
var refOptions = zkref.Options{Properties: map[string]string{"zookeeper.extendedTypesEnabled": "true"}}

// servers are the two servers every test here runs its clients against,
// the reference first; start starts a fresh one that stops with the test.
var servers = []struct {
	name  string
	start func(*testing.T) string
}{
	{"ZooKeeper", func(t *testing.T) string { return zkref.StartT(t, refOptions).Addr() }},
	{"layerd", startLayerd},
}
