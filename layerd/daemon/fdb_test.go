//go:build fdb

package daemon

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/internal/fdbserver"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/engine"
)

// fdbConfig is a layerd on the FoundationDB cluster of clusterFile under
// a prefix of the test's own, with a data directory that must stay unused.
func fdbConfig(t *testing.T, clusterFile string) Config {
	c := loopbackConfig(filepath.Join(t.TempDir(), "unused"))
	c.Store, c.ClusterFile = engine.FDB, clusterFile
	var b [6]byte
	rand.Read(b[:])
	c.Prefix = "daemon-test-" + hex.EncodeToString(b[:]) + "/"
	return c
}

// sharedCluster returns the test cluster's file (FDB_CLUSTER_FILE),
// skipping or failing as internal/engines does where there is none.
func sharedCluster(t *testing.T) string {
	t.Helper()
	engines.All()[1].Require(t)
	return os.Getenv(engines.ClusterFileEnv)
}

// running is a layerd started by startDaemon.
type running struct {
	addr, metrics string
	reg           *prometheus.Registry
	stop          func() error
}

func startDaemon(t *testing.T, cfg Config) *running {
	t.Helper()
	log, logs := testLogger(t)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log, reg, nil) }()
	deadline := time.After(time.Minute)
	for logs.FilterMessage("layerd ready").Len() == 0 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("layerd stopped while starting: %v", err)
		case <-deadline:
			cancel()
			t.Fatal("layerd not ready within a minute")
		case <-time.After(10 * time.Millisecond):
		}
	}
	r := &running{addr: field(t, logs, "layerd ready", "listen"), metrics: field(t, logs, "layerd ready", "metrics_listen"), reg: reg}
	var once sync.Once
	var err error
	r.stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func connectZK(t *testing.T, addrs []string, timeout time.Duration) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	conn, events, err := zk.Connect(addrs, timeout, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	waitSession(t, events)
	return conn, events
}

// TestRunOnFDB: two layerds on one FoundationDB cluster serve one tree;
// neither touches its data directory, and neither runs the cluster's
// clock or sweeper unless told to (--sweeper).
func TestRunOnFDB(t *testing.T) {
	cf := sharedCluster(t)
	cfg := fdbConfig(t, cf)
	a := startDaemon(t, cfg)
	b := startDaemon(t, cfg)
	ca, _ := connectZK(t, []string{a.addr}, 4*time.Second)
	cb, _ := connectZK(t, []string{b.addr}, 4*time.Second)
	if _, err := ca.Create("/shared", []byte("one tree"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if data, _, err := cb.Get("/shared"); err != nil || string(data) != "one tree" {
		t.Fatalf("read through the other layerd: %q, %v", data, err)
	}
	if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a layerd on FDB made its data directory: %v", err)
	}
	for _, r := range []*running{a, b} {
		if n := families(t, r.reg, "clock_", "sweeper_"); n != 0 {
			t.Errorf("a layerd without --sweeper registered %d clock or sweeper metrics", n)
		}
	}
	if code, body := httpGet(t, "http://"+a.metrics+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}

	// With --sweeper it keeps the clock of its installation ticking.
	cfg.Sweep = true
	c := startDaemon(t, cfg)
	if n := families(t, c.reg, "clock_", "sweeper_"); n == 0 {
		t.Error("a layerd with --sweeper registered no clock or sweeper metric")
	}
	st := openShared(t, cf)
	root, _ := keys.NewRoot([]byte(cfg.Prefix))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := clockAfter(ctx, st, root, 2); err != nil {
		t.Fatalf("the clock did not tick twice with --sweeper: %v", err)
	}
}

// families counts the metric families of reg whose names start with one
// of the prefixes.
func families(t *testing.T, reg *prometheus.Registry, prefixes ...string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, p := range prefixes {
			if strings.HasPrefix(mf.GetName(), p) {
				n++
			}
		}
	}
	return n
}

func openShared(t *testing.T, clusterFile string) store.DB {
	t.Helper()
	db, err := engine.Open(t.Context(), engine.Config{Engine: engine.FDB, ClusterFile: clusterFile, StartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clockAfter waits until the clock of root reads at least n.
func clockAfter(ctx context.Context, db store.DB, root keys.Root, n int64) (int64, error) {
	for {
		v, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]byte, error) { return r.Get(root.Clock()).Get() })
		if err != nil {
			return 0, err
		}
		if v != nil {
			if tick, err := keys.DecodeInt64(v); err == nil && tick >= n {
				return tick, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestStartFailsClearly: against a cluster file that names no cluster, an
// unreachable cluster, one never configured, a locked one, or one holding
// another key layout, layerd gives up within its --store-timeout with one
// error that names the cluster file and the cause.
func TestStartFailsClearly(t *testing.T) {
	sharedCluster(t)
	dead := filepath.Join(t.TempDir(), "dead.cluster")
	if err := os.WriteFile(dead, []byte("dead:dead@127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		setup   func(t *testing.T) (clusterFile string, prefix string)
		want    string
	}{
		{"no cluster file", 6 * time.Second, func(t *testing.T) (string, string) {
			return filepath.Join(t.TempDir(), "missing.cluster"), ""
		}, "no_cluster_file_found"},
		{"unreachable", 6 * time.Second, func(t *testing.T) (string, string) { return dead, "" }, "no quorum of its coordinators is reachable"},
		// An unconfigured cluster's status takes about 15 s to come.
		{"never configured", 30 * time.Second, func(t *testing.T) (string, string) {
			return fdbserver.Start(t, fdbserver.Options{Unconfigured: true}).ClusterFile(), ""
		}, "never created"},
		{"locked", 6 * time.Second, func(t *testing.T) (string, string) {
			s := fdbserver.Start(t, fdbserver.Options{})
			uid := s.Lock()
			t.Cleanup(func() { s.Unlock(uid) })
			return s.ClusterFile(), ""
		}, "locked"},
		{"another layout", 6 * time.Second, func(t *testing.T) (string, string) {
			cf := os.Getenv(engines.ClusterFileEnv)
			cfg := fdbConfig(t, cf)
			root, _ := keys.NewRoot([]byte(cfg.Prefix))
			db := openShared(t, cf)
			_, err := store.Transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
				tx.Set(root.Layout(), keys.EncodeInt64(keys.LayoutVersion+1))
				return struct{}{}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				store.Transact(context.Background(), db, func(tx store.Tx) (struct{}, error) {
					tx.ClearRange(root.Range())
					return struct{}{}, nil
				})
			})
			return cf, cfg.Prefix
		}, "layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cf, prefix := tc.setup(t)
			cfg := fdbConfig(t, cf)
			if prefix != "" {
				cfg.Prefix = prefix
			}
			cfg.StartTimeout = tc.timeout
			start := time.Now()
			err := Run(context.Background(), cfg, zaptest.NewLogger(t), prometheus.NewRegistry(), nil)
			took := time.Since(start)
			if err == nil {
				t.Fatal("layerd started")
			}
			if !strings.Contains(err.Error(), cf) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q names neither %s nor %q", err, cf, tc.want)
			}
			if took > tc.timeout+5*time.Second {
				t.Errorf("gave up after %v, with --store-timeout %v", took, tc.timeout)
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// TestOutage stops the FoundationDB server under load for longer than
// the clients' session timeout and starts it again: /readyz follows it,
// requests in the outage fail (connection loss) within the session
// timeout instead of hanging, and afterwards the clients carry on with
// the same sessions and ephemerals: the outage stopped the clock too, so
// nothing expired because of it.
func TestOutage(t *testing.T) {
	sharedCluster(t)
	srv := fdbserver.Start(t, fdbserver.Options{})
	cfg := fdbConfig(t, srv.ClusterFile())
	cfg.Sweep = true // the only clock of this installation
	d := startDaemon(t, cfg)
	const timeout = 4 * time.Second
	type client struct {
		conn *zk.Conn
		id   int64
		path string
	}
	var clients []client
	for i := range 4 {
		c, _ := connectZK(t, []string{d.addr}, timeout)
		p := "/eph" + string(rune('a'+i))
		if _, err := c.Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{c, c.SessionID(), p})
	}
	// Load: each client writes its node in a loop; the outage is when the
	// writes fail, and each failing write must fail within the timeout.
	var stopLoad atomic.Bool
	var failedSlow, failed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for !stopLoad.Load() {
				start := time.Now()
				_, err := c.conn.Set(c.path, []byte("x"), -1)
				if err != nil {
					failed.Add(1)
					if time.Since(start) > timeout+time.Second {
						failedSlow.Add(1)
					}
					time.Sleep(50 * time.Millisecond) // go-zookeeper reconnects meanwhile
				}
			}
		})
	}
	defer func() { stopLoad.Store(true); wg.Wait() }()

	srv.Stop()
	stoppedAt := time.Now()
	awaitReady(t, d.metrics, 503)
	t.Logf("/readyz failed %v after the server stopped", time.Since(stoppedAt).Round(time.Millisecond))
	for time.Since(stoppedAt) < 10*time.Second {
		time.Sleep(100 * time.Millisecond) // the outage lasts 10 s, longer than the session timeout
	}
	srv.Restart()
	awaitReady(t, d.metrics, 200)
	// Every client gets its session back, with its ephemeral.
	for _, c := range clients {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, _, err := c.conn.Exists(c.path)
			if err == nil && ok && c.conn.SessionID() == c.id {
				break
			}
			if errors.Is(err, zk.ErrSessionExpired) || c.conn.State() == zk.StateExpired {
				t.Fatalf("session %x expired because of the outage", c.id)
			}
			if time.Now().After(deadline) {
				t.Fatalf("session %x: %s not back within 30 s: %v, %v", c.id, c.path, ok, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	stopLoad.Store(true)
	wg.Wait()
	if failed.Load() == 0 {
		t.Error("no write failed during the outage")
	}
	if n := failedSlow.Load(); n > 0 {
		t.Errorf("%d writes took more than the session timeout to fail", n)
	}
	t.Logf("%d writes failed during the outage, none later than the session timeout", failed.Load())
}

// awaitReady waits until /readyz answers code.
func awaitReady(t *testing.T, metrics string, code int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := httpGet(t, "http://"+metrics+"/readyz")
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d for 30 s, want %d", got, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// manyConnections is how many client connections TestManyConnectionsOnFDB
// holds on one layerd: more than FoundationDB's default max_watches
// (10,000), each holding a watch. (20,000 would need more file
// descriptors than this machine lets a process have: 20,000.)
const manyConnections = 12_000

// TestManyConnectionsOnFDB: a layerd on FoundationDB holds more client
// connections than FDB's default max_watches, each with its session's
// store watch, because it sets FDB's max_watches from --max-watches; all
// of them answer, and a new client still works.
func TestManyConnectionsOnFDB(t *testing.T) {
	cf := sharedCluster(t)
	if testing.Short() {
		t.Skip("-short: 12,000 connections")
	}
	cfg := fdbConfig(t, cf)
	cfg.TickTime = 15 * time.Second // sessions up to 300 s: the driver's (driverSessionTimeout) are silent until the ping
	cfg.ShutdownTimeout = time.Minute
	d := startDaemon(t, cfg)

	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), connDriverEnv+"="+d.addr+","+strconv.Itoa(manyConnections))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	expect := func(word string) int {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the connection driver stopped before %q", word)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(lines.Text(), word+" "))
		if err != nil {
			t.Fatalf("the connection driver said %q", lines.Text())
		}
		return n
	}
	start := time.Now()
	if n := expect("connected"); n != manyConnections {
		t.Fatalf("%d of %d connections got a session", n, manyConnections)
	}
	t.Logf("%d sessions in %v", manyConnections, time.Since(start).Round(time.Millisecond))
	if _, body := httpGet(t, "http://"+d.metrics+"/metrics"); !strings.Contains(body, "num_alive_connections "+strconv.Itoa(manyConnections)) {
		t.Errorf("num_alive_connections is not %d", manyConnections)
	}
	c, _ := connectZK(t, []string{d.addr}, 30*time.Second)
	if _, err := c.Create("/after", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("a new client beside %d connections: %v", manyConnections, err)
	}
	if _, _, ch, err := c.GetW("/after"); err != nil {
		t.Fatal(err)
	} else {
		if _, err := c.Set("/after", []byte("y"), -1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("no watch event beside the other connections")
		}
	}
	fmt.Fprintln(stdin, "ping")
	if n := expect("pinged"); n != manyConnections {
		t.Errorf("%d of %d connections answered a ping", n, manyConnections)
	}
}
