package zkserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// serveWith serves a fresh tree of st, made with opts, by a server with
// cfg, on a loopback port; it stops with the test.
func serveWith(t *testing.T, st engines.Store, cfg Config, opts znode.Options) (string, *znode.Tree) {
	t.Helper()
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), opts)
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := New(zaptest.NewLogger(t), nil, tree, cfg)
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
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return ln.Addr().String(), tree
}

// TestWritesExactlyOnceUnderFaults: a client's create, sequential
// create, setData, delete and multi, each with one commit or one read of
// its transaction failing with a code FoundationDB returns
// (commit_unknown_result applied or not, not_committed,
// transaction_too_old, future_version, process_behind), is applied
// exactly once and answered as if nothing had failed.
func TestWritesExactlyOnceUnderFaults(t *testing.T) {
	engines.Each(t, testWritesExactlyOnceUnderFaults)
}

func testWritesExactlyOnceUnderFaults(t *testing.T, e engines.Engine) {
	var commitFault, readFault atomic.Int32
	st := e.Open(t, engines.Options{Faults: embedded.Faults{
		Decide:     func(uint64) embedded.Fault { return embedded.Fault(commitFault.Swap(0)) },
		DecideRead: func(uint64) embedded.Fault { return embedded.Fault(readFault.Swap(0)) },
	}})
	addr, _ := serveWith(t, st, Config{}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	for i, tc := range []struct {
		name  string
		fault embedded.Fault
		read  bool
	}{
		{"commit_unknown_result applied", embedded.FaultUnknownApplied, false},
		{"commit_unknown_result dropped", embedded.FaultUnknownDropped, false},
		{"not_committed", embedded.FaultNotCommitted, false},
		{"transaction_too_old at commit", embedded.FaultTooOld, false},
		{"future_version at commit", embedded.FaultFutureVersion, false},
		{"process_behind at commit", embedded.FaultProcessBehind, false},
		{"transaction_too_old at a read", embedded.FaultTooOld, true},
		{"future_version at a read", embedded.FaultFutureVersion, true},
		{"process_behind at a read", embedded.FaultProcessBehind, true},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			arm := func() {
				if tc.read {
					readFault.Store(int32(tc.fault))
				} else {
					commitFault.Store(int32(tc.fault))
				}
			}
			fired := func(op string) {
				t.Helper()
				if commitFault.Load() != 0 || readFault.Load() != 0 {
					t.Fatalf("%s: the fault was not injected", op)
				}
			}
			dir := fmt.Sprintf("/f%d", i)
			arm()
			if p, err := c.Create(dir, []byte("0"), 0, acl); err != nil || p != dir {
				t.Fatalf("create: %q, %v", p, err)
			}
			fired("create")
			arm()
			p, err := c.Create(dir+"/s-", nil, zk.FlagSequence, acl)
			if err != nil || p != dir+"/s-0000000000" {
				t.Fatalf("sequential create: %q, %v", p, err)
			}
			fired("sequential create")
			arm()
			if st, err := c.Set(dir, []byte("1"), 0); err != nil || st.Version != 1 {
				t.Fatalf("setData: %+v, %v", st, err)
			}
			fired("setData")
			arm()
			if err := c.Delete(p, 0); err != nil {
				t.Fatalf("delete: %v", err)
			}
			fired("delete")
			arm()
			res, err := c.Multi(
				&zk.CreateRequest{Path: dir + "/m", Acl: acl},
				&zk.SetDataRequest{Path: dir, Data: []byte("2"), Version: 1},
				&zk.CreateRequest{Path: dir + "/q-", Acl: acl, Flags: zk.FlagSequence},
			)
			if err != nil || len(res) != 3 || res[0].Error != nil || res[1].Error != nil || res[1].Stat.Version != 2 || res[2].String != dir+"/q-0000000002" {
				t.Fatalf("multi: %+v, %v", res, err)
			}
			fired("multi")

			// Each write once: version 2, two children left of the three
			// created (s- deleted), cversion: 3 creates and 1 delete.
			data, st, err := c.Get(dir)
			if err != nil || string(data) != "2" || st.Version != 2 || st.NumChildren != 2 || st.Cversion != 4 {
				t.Fatalf("%s after the writes: %q %+v %v; want data 2, version 2, 2 children, cversion 4", dir, data, st, err)
			}
			kids, _, err := c.Children(dir)
			if err != nil || len(kids) != 2 {
				t.Fatalf("children of %s: %v, %v", dir, kids, err)
			}
		})
	}
}

// TestTooSlowRefused: a write whose transaction keeps failing with
// transaction_too_old (on FoundationDB: one that needs more than its 5
// seconds) is not retried for ever: after three it is refused with
// BADARGUMENTS, nothing applied, and the connection goes on.
func TestTooSlowRefused(t *testing.T) { engines.Each(t, testTooSlowRefused) }

func testTooSlowRefused(t *testing.T, e engines.Engine) {
	var slow atomic.Bool
	var tooOld atomic.Int64
	st := e.Open(t, engines.Options{Faults: embedded.Faults{Decide: func(uint64) embedded.Fault {
		if slow.Load() {
			tooOld.Add(1)
			return embedded.FaultTooOld
		}
		return embedded.NoFault
	}}})
	addr, _ := serveWith(t, st, Config{}, znode.Options{})
	c := connect(t, addr)
	slow.Store(true)
	start := time.Now()
	_, err := c.Create("/slow", nil, 0, zk.WorldACL(zk.PermAll))
	slow.Store(false)
	if !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("create whose every commit is too old: %v, want BADARGUMENTS", err)
	}
	t.Logf("refused after %d transaction_too_old in %v", tooOld.Load(), time.Since(start))
	if ok, _, err := c.Exists("/slow"); err != nil || ok {
		t.Fatalf("after the refusal: exists %v, %v", ok, err)
	}
	if _, err := c.Create("/slow", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("the same create once the store is fast: %v", err)
	}
}
