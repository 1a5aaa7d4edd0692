// Package telemetry is what both daemons show operators: the zap logger
// they log through, and the HTTP server that exposes their Prometheus
// registry on /metrics with /healthz and /readyz for health checks
// (systemd's and Ansible's).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log formats: Auto picks Console when stderr is a terminal and JSON
// otherwise (under systemd, where journald keeps one JSON object a line).
const (
	FormatAuto    = "auto"
	FormatJSON    = "json"
	FormatConsole = "console"
)

// NewLogger returns a zap logger on stderr at level (debug, info, warn or
// error), in format (FormatAuto, FormatJSON or FormatConsole), with ISO
// 8601 timestamps and no stack traces (errors carry their context in
// their text), and the level, which the metrics server can change at run
// time (Server.HandleLogLevel). JSON logs are sampled as zap's production
// config samples them.
func NewLogger(level, format string) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("log level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	switch format {
	case FormatAuto, "":
		if stderrIsTerminal() {
			cfg = zap.NewDevelopmentConfig()
		}
	case FormatJSON:
	case FormatConsole:
		cfg = zap.NewDevelopmentConfig()
	default:
		return nil, zap.AtomicLevel{}, fmt.Errorf("log format %q: want %s, %s or %s", format, FormatAuto, FormatJSON, FormatConsole)
	}
	cfg.Development = false
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.DisableStacktrace = true
	log, err := cfg.Build()
	return log, cfg.Level, err
}

// stderrIsTerminal reports whether stderr is a terminal, and not a
// journald stream (systemd sets JOURNAL_STREAM for those).
func stderrIsTerminal() bool {
	if os.Getenv("JOURNAL_STREAM") != "" {
		return false
	}
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// CheckLogFormat reports whether format is one NewLogger takes.
func CheckLogFormat(format string) error {
	switch format {
	case FormatAuto, FormatJSON, FormatConsole:
		return nil
	}
	return fmt.Errorf("%q: want %s, %s or %s", format, FormatAuto, FormatJSON, FormatConsole)
}

// NewRegistry returns a daemon's own registry (never the global one), with
// the Go runtime and process collectors every daemon exports.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = http.ErrServerClosed

// Server serves a Prometheus registry on /metrics, liveness on /healthz
// (200 while the process serves HTTP) and readiness on /readyz (200 when
// ready, else 503 with the reason). Its methods are safe for concurrent
// use.
type Server struct {
	mux  *http.ServeMux
	http *http.Server
}

// EnableProfiling adds Go's profiler under /debug/pprof/, for finding where
// a daemon's time goes under load (docs/benchmarks.md). It is off unless
// asked for: a profile costs CPU, and the metrics port may be reachable by
// more than the operator. /debug/pprof/cmdline is left out, as the command
// line may hold a secret (--super-digest). Call it before Serve.
func (s *Server) EnableProfiling() {
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// HandleFunc adds a route (a net/http ServeMux pattern) to the server,
// for an interface served beside the metrics (the AdminServer). Call it
// before Serve.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// HandleLogLevel serves level on /log/level: GET answers
// {"level":"info"}, PUT with {"level":"debug"} (or level=debug as a
// form) changes it at once, for every logger of the daemon. Call it
// before Serve.
func (s *Server) HandleLogLevel(level zap.AtomicLevel) {
	s.mux.Handle("GET /log/level", level)
	s.mux.Handle("PUT /log/level", level)
}

// NewServer returns a Server for reg. ready reports whether the daemon is
// ready for traffic: nil means ready, an error is why not. A nil ready
// means always ready.
func NewServer(reg *prometheus.Registry, ready func() error, log *zap.Logger) *Server {
	log = log.Named("telemetry")
	errLog := zap.NewStdLog(log)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errLog, Registry: reg})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	return &Server{mux: mux, http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errLog,
	}}
}

// Serve answers requests on ln until Shutdown. It always returns a non-nil
// error: ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// Shutdown stops accepting requests and waits, until ctx is done, for the
// ones in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}
