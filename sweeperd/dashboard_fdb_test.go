//go:build fdb

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/layerd/daemon"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/engine"
	"zkfdb/shared/telemetry"
)

// TestDashboardQueriesLiveMetrics: every metric a panel of the Grafana
// dashboard (deploy/grafana) queries is exported by a live sweeperd or a
// live layerd on FoundationDB, once a client has made a few requests.
func TestDashboardQueriesLiveMetrics(t *testing.T) {
	engines.All()[1].Require(t)
	cf := os.Getenv(engines.ClusterFileEnv)
	var b [6]byte
	rand.Read(b[:])
	prefix := "dashboard-" + hex.EncodeToString(b[:]) + "/"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sweeperMetrics := freePort(t)
	addr := freePort(t)
	sweeperDone := make(chan error, 1)
	go func() {
		sweeperDone <- run(ctx, config{bind: addr, advertise: addr, nodeName: "s1", clusterFile: cf, metricsListen: sweeperMetrics,
			prefix: prefix, logLevel: "info"}, zaptest.NewLogger(t).Named("sweeperd"), telemetry.NewRegistry(), nil)
	}()
	layerdMetrics, listen := freePort(t), freePort(t)
	layerdDone := make(chan error, 1)
	go func() {
		layerdDone <- daemon.Run(ctx, daemon.Config{Listen: listen, MetricsListen: layerdMetrics, Store: engine.FDB, ClusterFile: cf,
			Prefix: prefix, TickTime: time.Second, ShutdownTimeout: 10 * time.Second}, zaptest.NewLogger(t).Named("layerd"), telemetry.NewRegistry(), nil)
	}()
	defer func() {
		cancel()
		for _, d := range []chan error{sweeperDone, layerdDone} {
			if err := <-d; err != nil {
				t.Errorf("daemon: %v", err)
			}
		}
	}()

	// Traffic: a session, writes and reads.
	var c *zk.Conn
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, events, err := zk.Connect([]string{listen}, 10*time.Second, zk.WithLogger(quiet{}))
		if err == nil {
			c = conn
			awaitSession(t, events)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer c.Close()
	if _, err := c.Create("/d", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/d"); err != nil {
		t.Fatal(err)
	}

	// Both daemons' metrics, once the sweeperd owns its shards (its
	// sweeper metrics are set by its first sweep).
	var live string
	deadline = time.Now().Add(60 * time.Second)
	for {
		live = scrape(t, sweeperMetrics) + scrape(t, layerdMetrics)
		if strings.Contains(live, "sweeper_shards_owned "+strconv.Itoa(keys.Shards)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweeperd owns no shards after 60 s:\n%s", live)
		}
		time.Sleep(100 * time.Millisecond)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(live, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		exported[name] = true
	}

	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "zkfdb-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			names := metricNames(tg.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: no metric in %q", p.Title, tg.Expr)
			}
			for _, n := range names {
				if !exported[n] {
					t.Errorf("panel %q queries %s, which neither daemon exports", p.Title, n)
				}
			}
		}
	}
}

var (
	// PromQL parts that are not metric names: label matchers, ranges,
	// grouping clauses, function calls, numbers.
	matchers  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)`)
	functions = regexp.MustCompile(`\b[a-z_]+\s*\(`)
	idents    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// metricNames returns the metric names of a PromQL expression.
func metricNames(expr string) []string {
	expr = matchers.ReplaceAllString(expr, " ")
	expr = functions.ReplaceAllString(expr, " ")
	return idents.FindAllString(expr, -1)
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
