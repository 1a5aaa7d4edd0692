package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		level, format string
		wantErr       bool
	}{
		{"debug", FormatAuto, false},
		{"info", FormatJSON, false},
		{"warn", FormatConsole, false},
		{"error", "", false},
		{"", FormatAuto, false}, // zap reads "" as info
		{"loud", FormatAuto, true},
		{"info", "xml", true},
	} {
		log, _, err := NewLogger(tc.level, tc.format)
		if (err != nil) != tc.wantErr {
			t.Errorf("NewLogger(%q, %q) error = %v, want error %v", tc.level, tc.format, err, tc.wantErr)
			continue
		}
		if log != nil {
			log.Debug("telemetry test")
		}
	}
	log, level, err := NewLogger("warn", FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if log.Core().Enabled(-1) || !log.Core().Enabled(1) {
		t.Error("NewLogger(\"warn\"): want debug off and warn on")
	}
	level.SetLevel(zap.DebugLevel)
	if !log.Core().Enabled(-1) {
		t.Error("the returned level does not change the logger's")
	}
}

// TestLogLevelAtRunTime: PUT /log/level changes the level of the
// daemon's logger at once; GET reads it.
func TestLogLevelAtRunTime(t *testing.T) {
	log, level, err := NewLogger("info", FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(prometheus.NewRegistry(), nil, zaptest.NewLogger(t))
	srv.HandleLogLevel(level)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/log/level"
	if code, body := get(t, url); code != http.StatusOK || !strings.Contains(body, `"level":"info"`) {
		t.Errorf("GET /log/level = %d %q, want info", code, body)
	}
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(`{"level":"debug"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !log.Core().Enabled(zap.DebugLevel) {
		t.Errorf("PUT /log/level debug = %d; debug enabled %v", resp.StatusCode, log.Core().Enabled(zap.DebugLevel))
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-served
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "telemetry_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)

	var notReady atomic.Pointer[error]
	reason := errors.New("store not answering")
	notReady.Store(&reason)
	srv := NewServer(reg, func() error {
		if p := notReady.Load(); p != nil {
			return *p
		}
		return nil
	}, zaptest.NewLogger(t))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()

	if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "telemetry_test_total 3") {
		t.Errorf("/metrics = %d %q, want 200 with telemetry_test_total 3", code, body)
	}
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, reason.Error()) {
		t.Errorf("/readyz while not ready = %d %q, want 503 with the reason", code, body)
	}
	notReady.Store(nil)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz when ready = %d %q, want 200 ok", code, body)
	}
	if code, _ := get(t, base+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing = %d, want 404", code)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without EnableProfiling = %d, want 404", code)
	}
	// The scrapes above count themselves.
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, `promhttp_metric_handler_requests_total{code="200"} 1`) {
		t.Errorf("second scrape lacks promhttp_metric_handler_requests_total: %q", body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestServerAlwaysReady(t *testing.T) {
	srv := NewServer(prometheus.NewRegistry(), nil, zaptest.NewLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if code, _ := get(t, "http://"+ln.Addr().String()+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with nil ready = %d, want 200", code)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-served
}

func TestServerProfiling(t *testing.T) {
	srv := NewServer(prometheus.NewRegistry(), nil, zaptest.NewLogger(t))
	srv.EnableProfiling()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	if code, body := get(t, base+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("/debug/pprof/goroutine = %d %.80q, want 200 with a goroutine profile", code, body)
	}
	// The command line may carry --super-digest: never served.
	if code, body := get(t, base+"/debug/pprof/cmdline"); code == http.StatusOK && strings.Contains(body, os.Args[0]) {
		t.Errorf("/debug/pprof/cmdline served the command line: %.80q", body)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-served
}
