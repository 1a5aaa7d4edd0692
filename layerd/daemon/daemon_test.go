package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"zkfdb/layerd/zkwire"
	"zkfdb/shared/sdnotify"
)

// systemd stands in for the service manager: it binds the notify socket
// that $NOTIFY_SOCKET names and hands over what layerd sends.
type systemd struct {
	msgs chan string
}

func newSystemd(t *testing.T, watchdog time.Duration) *systemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "")
	if watchdog > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
	}
	s := &systemd{msgs: make(chan string, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// next returns the next notification, or "" if none comes within 10s.
func (s *systemd) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		return ""
	}
}

// testLogger logs to the test and records entries, so that tests can read
// the addresses layerd bound.
func testLogger(t *testing.T) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	tl := zaptest.NewLogger(t)
	return zap.New(zapcore.NewTee(tl.Core(), core)), logs
}

func field(t *testing.T, logs *observer.ObservedLogs, msg, key string) string {
	t.Helper()
	entries := logs.FilterMessage(msg).All()
	if len(entries) == 0 {
		t.Fatalf("no %q log entry", msg)
	}
	v, ok := entries[0].ContextMap()[key]
	if !ok {
		t.Fatalf("log entry %q has no field %s", msg, key)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return v.(interface{ String() string }).String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func loopbackConfig(dir string) Config {
	return Config{
		Listen:          "127.0.0.1:0",
		MetricsListen:   "127.0.0.1:0",
		DataDir:         dir,
		ShutdownTimeout: 5 * time.Second,
	}
}

// TestRun runs layerd on the embedded engine in a temporary directory, as
// systemd would: READY=1, a live /readyz, a client port that accepts,
// watchdog pings, then STOPPING=1 and a clean exit on cancellation; then
// once more on the same data directory, where a client reads what a client
// wrote in the first run.
func TestRun(t *testing.T) {
	sd := newSystemd(t, 200*time.Millisecond)
	dir := t.TempDir()
	var kept zkwire.ConnectRequest // the session to resume after the restart
	for run := range 2 {
		log, logs := testLogger(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- Run(ctx, loopbackConfig(dir), log, prometheus.NewRegistry(), sdnotify.FromEnv()) }()

		if m := sd.next(t); m != sdnotify.Ready {
			t.Fatalf("run %d: first notification = %q, want %q (Run: %v)", run, m, sdnotify.Ready, errOf(done))
		}
		metrics := "http://" + field(t, logs, "layerd ready", "metrics_listen")
		if code, body := httpGet(t, metrics+"/readyz"); code != http.StatusOK {
			t.Errorf("/readyz after READY=1 = %d %q, want 200", code, body)
		}
		if code, _ := httpGet(t, metrics+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz = %d, want 200", code)
		}
		// A real client gets a session and writes through layerd; the
		// second run reads what the first wrote.
		zc, events, err := zk.Connect([]string{field(t, logs, "layerd ready", "listen")}, 5*time.Second, zk.WithLogger(quiet{}))
		if err != nil {
			t.Fatal(err)
		}
		waitSession(t, events)
		if run == 0 {
			if _, err := zc.Create("/kept", []byte("across restarts"), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatalf("create: %v", err)
			}
		} else if data, _, err := zc.Get("/kept"); err != nil || string(data) != "across restarts" {
			t.Fatalf("after a restart on the same data dir: %q, %v", data, err)
		}
		zc.Close()
		// A session made before the restart resumes after it, with its
		// ephemeral: sessions live in the store.
		if run == 0 {
			kept = rawSession(t, field(t, logs, "layerd ready", "listen"), zkwire.ConnectRequest{TimeOut: 30_000, Passwd: make([]byte, 16)}, "/mine")
		} else if got := rawSession(t, field(t, logs, "layerd ready", "listen"), kept, ""); got.SessionID != kept.SessionID {
			t.Fatalf("session %#x after a restart: got %#x", kept.SessionID, got.SessionID)
		}
		if _, body := httpGet(t, metrics+"/metrics"); !strings.Contains(body, "connection_request_count 2") {
			t.Errorf("/metrics lacks connection_request_count 2:\n%s", body)
		}

		for range 2 {
			if m := sd.next(t); m != sdnotify.Watchdog {
				t.Fatalf("notification while running = %q, want %q", m, sdnotify.Watchdog)
			}
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after cancel = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancel")
		}
		for m := sd.next(t); m != sdnotify.Stopping; m = sd.next(t) {
			if m != sdnotify.Watchdog {
				t.Fatalf("notification while stopping = %q, want %q", m, sdnotify.Stopping)
			}
		}
		if _, err := net.Dial("tcp", strings.TrimPrefix(metrics, "http://")); err == nil {
			t.Error("metrics port still open after Run returned")
		}
	}
}

// rawSession connects with req (a new session, or one to resume); with
// ephemeral set it creates that ephemeral node, else it checks that the
// session has one. It drops the connection, not the session, and returns
// the request that resumes the session.
func rawSession(t *testing.T, addr string, req zkwire.ConnectRequest, ephemeral string) zkwire.ConnectRequest {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(zkwire.AppendFramed(nil, &req)); err != nil {
		t.Fatal(err)
	}
	frame, err := zkwire.ReadFrame(nc, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := zkwire.DecodeConnectResponse(frame)
	if err != nil || resp.SessionID == 0 {
		t.Fatalf("connect: %+v, %v", resp, err)
	}
	var body zkwire.Request = &zkwire.GetEphemerals{PrefixPath: "/"}
	if ephemeral != "" {
		body = &zkwire.Create{Path: ephemeral, Flags: zkwire.FlagEphemeral, ACL: []zkwire.ACL{{Perms: zkwire.PermAll, Scheme: "world", ID: "anyone"}}}
	}
	if _, err := nc.Write(zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: 1, Type: body.Opcode()}, body)); err != nil {
		t.Fatal(err)
	}
	frame, err = zkwire.ReadFrame(nc, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, rest, err := zkwire.DecodeReplyHeader(frame)
	if err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("request: %+v, %v", h, err)
	}
	if ephemeral == "" {
		var eph zkwire.GetEphemeralsResponse
		if err := zkwire.Decode(rest, &eph); err != nil || len(eph.Ephemerals) != 1 {
			t.Fatalf("ephemerals of the resumed session: %v, %v", eph.Ephemerals, err)
		}
	}
	return zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd, TimeOut: req.TimeOut}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func waitSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no ZooKeeper session within 10s")
		}
	}
}

// errOf returns what Run returned, if it did.
func errOf(done <-chan error) error {
	select {
	case err := <-done:
		return err
	default:
		return errors.New("still running")
	}
}

func TestRunDataDirIsAFile(t *testing.T) {
	sd := newSystemd(t, 0)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	log, logs := testLogger(t)
	err := Run(context.Background(), loopbackConfig(file), log, prometheus.NewRegistry(), sdnotify.FromEnv())
	if err == nil || !strings.Contains(err.Error(), "embedded store in "+file+": ") {
		t.Fatalf("Run with a file as data dir = %v, want an open store error", err)
	}
	if m := sd.next(t); m != sdnotify.Stopping {
		t.Errorf("notification = %q, want only %q", m, sdnotify.Stopping)
	}
	if n := logs.FilterMessage("layerd ready").Len(); n != 0 {
		t.Errorf("logged layerd ready %d times after a failed start", n)
	}
}

func TestRunCancelledWhileStarting(t *testing.T) {
	sd := newSystemd(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	log, logs := testLogger(t)
	if err := Run(ctx, loopbackConfig(t.TempDir()), log, prometheus.NewRegistry(), sdnotify.FromEnv()); err != nil {
		t.Fatalf("Run cancelled while starting = %v, want nil", err)
	}
	if m := sd.next(t); m != sdnotify.Stopping {
		t.Errorf("notification = %q, want only %q", m, sdnotify.Stopping)
	}
	if n := logs.FilterMessage("layerd ready").Len(); n != 0 {
		t.Errorf("logged layerd ready %d times although cancelled before", n)
	}
}

func TestRunMetricsPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := loopbackConfig(t.TempDir())
	cfg.MetricsListen = busy.Addr().String()
	err = Run(context.Background(), cfg, zaptest.NewLogger(t), prometheus.NewRegistry(), nil)
	if err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Fatalf("Run with the metrics port taken = %v, want a metrics listener error", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := Config{Listen: ":2181", Store: "embedded", DataDir: "./layerd-data", Sweep: true, MetricsListen: ":7000", ShutdownTimeout: 10 * time.Second, MaxWatches: 100_000}
	if got != want {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
}

// TestRunTicksTheClock: in embedded mode layerd is the whole service, so
// it keeps the cluster clock ticking.
func TestRunTicksTheClock(t *testing.T) {
	sd := newSystemd(t, 0)
	log, logs := testLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, loopbackConfig(t.TempDir()), log, prometheus.NewRegistry(), sdnotify.FromEnv())
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	if m := sd.next(t); m != sdnotify.Ready {
		t.Fatalf("first notification = %q, want %q", m, sdnotify.Ready)
	}
	metrics := "http://" + field(t, logs, "layerd ready", "metrics_listen")
	// A tick takes the clock's one-second interval; allow ten.
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		_, body := httpGet(t, metrics+"/metrics")
		if strings.Contains(body, "clock_ticks_won_total 1") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no clock tick won within 10s:\n%s", body)
		}
		<-poll.C
	}
}

// TestRunStoreDelays: with StoreDelays (a benchmark's model of a distant
// FoundationDB) layerd says so in its log, and every write waits the
// injected commit round trip. The AdminServer and the log level are
// served where configured.
func TestRunStoreDelays(t *testing.T) {
	const commit = 300 * time.Millisecond
	sd := newSystemd(t, 0)
	log, logs := testLogger(t)
	cfg := loopbackConfig(t.TempDir())
	cfg.StoreDelays.Commit = commit
	cfg.LogLevel = zap.NewAtomicLevelAt(zap.InfoLevel)
	cfg.AdminListen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log, prometheus.NewRegistry(), sdnotify.FromEnv()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	if m := sd.next(t); m != sdnotify.Ready {
		t.Fatalf("first notification = %q, want %q (Run: %v)", m, sdnotify.Ready, errOf(done))
	}
	if got := field(t, logs, "store delays injected: for benchmarks only", "commit"); got != commit.String() {
		t.Errorf("logged commit delay %q, want %s", got, commit)
	}
	// The AdminServer answers on its own address.
	if code, body := httpGet(t, "http://"+field(t, logs, "admin server listening", "admin_listen")+"/commands/ruok"); code != http.StatusOK || !strings.Contains(body, `"command": "ruok"`) {
		t.Errorf("GET /commands/ruok = %d %q", code, body)
	}
	// The level is served for changes at run time.
	if code, body := httpGet(t, "http://"+field(t, logs, "layerd ready", "metrics_listen")+"/log/level"); code != http.StatusOK || !strings.Contains(body, `"info"`) {
		t.Errorf("GET /log/level = %d %q, want the level", code, body)
	}
	zc, events, err := zk.Connect([]string{field(t, logs, "layerd ready", "listen")}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	waitSession(t, events)
	began := time.Now()
	if _, err := zc.Create("/slow", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < commit {
		t.Errorf("a create took %v with a %v commit delay", took, commit)
	}
}

// TestRunLeavesNothingRunning: once Run has returned, no goroutine it
// started runs: not a connection's, not the store's, not the metrics
// server's. A client is connected with a watch when layerd stops.
func TestRunLeavesNothingRunning(t *testing.T) {
	sd := newSystemd(t, 0) // its reader goroutine is the test's
	log, logs := testLogger(t)
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, loopbackConfig(t.TempDir()), log, prometheus.NewRegistry(), sdnotify.FromEnv())
	}()
	if m := sd.next(t); m != sdnotify.Ready {
		t.Fatalf("first notification = %q, want %q (Run: %v)", m, sdnotify.Ready, errOf(done))
	}
	zc, events, err := zk.Connect([]string{field(t, logs, "layerd ready", "listen")}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	waitSession(t, events)
	if _, _, _, err := zc.GetW("/"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	zc.Close()
	goleak.VerifyNone(t, before)
}
