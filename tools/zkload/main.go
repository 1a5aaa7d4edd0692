// Command zkload drives a ZooKeeper-protocol server (Apache ZooKeeper,
// layerd, an ensemble) with one or more workloads from many sessions and
// prints throughput, latency percentiles and errors by code; with -compare
// it runs the same workloads against a second server and prints the
// ratios. See docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"zkfdb/tools/zkload/chart"
	"zkfdb/tools/zkload/load"
)

type config struct {
	targets   []load.Target
	workloads []load.Workload
	load      load.Config
	// sessions are the session counts to run at, one run of every
	// workload each (load.Sessions is the first).
	sessions []int
	json     bool
	chart    string
	cleanup  string
	logLevel string
	// hold, if positive, holds that many idle sessions on -addr for
	// -duration instead of running workloads.
	hold int
}

// parseFlags parses zkload's command line; usage and errors go to out.
func parseFlags(args []string, out io.Writer) (config, error) {
	var (
		c                                config
		addr, label, compare, compareLbl string
		workloads, sessions              string
		noWarmup, progress               bool
	)
	fs := flag.NewFlagSet("zkload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: zkload [flags]

zkload runs each workload (create, delete, setData, getData, multiRead, getChildren, mixed, watch, lock; expiry, exists and session only when named)
against -addr, and with -compare against a second server right after it,
with the same parameters, and prints ops/s, p50/p99/max latency and errors
by code, then the ratios of -compare to -addr. With a list of session
counts it runs every workload at each, then prints the ratios at every
concurrency; -chart draws them. Every run works under its own root
(-prefix plus a random suffix) and deletes it at the end.
Flags take one dash or two.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&addr, "addr", "127.0.0.1:2181", "`host:port` of the server, comma-separated for an ensemble; the baseline of ratios")
	fs.StringVar(&label, "label", "", "name of -addr in reports (default: the address)")
	fs.StringVar(&compare, "compare", "", "`host:port` of a second server to run the same workloads against")
	fs.StringVar(&compareLbl, "compare-label", "", "name of -compare in reports (default: the address)")
	fs.StringVar(&workloads, "workload", "all", "comma-separated `workloads`: create, delete, setData, getData, multiRead, getChildren, mixed, watch, lock, expiry, exists, session, or all (all but expiry, exists and session)")
	fs.StringVar(&sessions, "sessions", strconv.Itoa(load.DefaultSessions), "concurrent sessions, each its own connection; a comma-separated `list` runs every workload at each")
	fs.IntVar(&c.load.Depth, "depth", load.DefaultDepth, "requests in flight per session (goroutines issuing synchronous requests)")
	fs.IntVar(&c.load.ValueSize, "value", load.DefaultValueSize, "value size in `bytes`")
	fs.DurationVar(&c.load.Duration, "duration", load.DefaultDuration, "measured time per workload and server")
	fs.Int64Var(&c.load.Ops, "ops", 0, "if positive, measure exactly this many requests per workload and server instead of -duration")
	fs.DurationVar(&c.load.Warmup, "warmup", load.DefaultWarmup, "unmeasured run before each measurement")
	fs.BoolVar(&noWarmup, "no-warmup", false, "skip the warm-up")
	fs.IntVar(&c.load.Children, "children", load.DefaultChildren, "children of the node getChildren lists")
	fs.IntVar(&c.load.ReadPercent, "read", load.DefaultReadPercent, "`percent` of getData in mixed (the rest is setData), 1 to 100")
	fs.StringVar(&c.load.Prefix, "prefix", load.DefaultPrefix, "`path` the run roots are named after; its parent must exist")
	fs.DurationVar(&c.load.SessionTimeout, "session-timeout", load.DefaultSessionTimeout, "session timeout asked of the server")
	fs.DurationVar(&c.load.ConnectTimeout, "connect-timeout", load.DefaultConnectTimeout, "how long opening all sessions may take")
	fs.BoolVar(&c.load.Keep, "keep", false, "leave each run's root in place (delete later with -cleanup)")
	fs.IntVar(&c.hold, "hold", 0, "instead of workloads: open `n` sessions on -addr, keep them alive with a ping each every third of their timeout for -duration, close them, and print what it saw (scripts/bench-sessions reads the server's side)")
	fs.StringVar(&c.cleanup, "cleanup", "", "delete this `root` (left by -keep or an interrupted run) on -addr and exit")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON instead of tables (one document per session count)")
	fs.StringVar(&c.chart, "chart", "", "write to `dir` a PNG per workload: ops/s and p99 against concurrency, a line per server")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level` on stderr: debug, info, warn or error")
	fs.BoolVar(&progress, "progress", stderrIsTerminal(), "redraw a progress line on stderr while each workload runs (default: when stderr is a terminal)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.targets = []load.Target{{Label: label, Servers: servers(addr)}}
	if compare != "" {
		c.targets = append(c.targets, load.Target{Label: compareLbl, Servers: servers(compare)})
	}
	for _, t := range c.targets {
		if len(t.Servers) == 0 {
			return c, errors.New("-addr and -compare need at least one host:port")
		}
	}
	if len(c.targets) == 2 && c.targets[0].Name() == c.targets[1].Name() {
		return c, fmt.Errorf("-addr and -compare are both named %q: set -label and -compare-label", c.targets[0].Name())
	}
	var err error
	if c.sessions, err = sessionCounts(sessions); err != nil {
		return c, fmt.Errorf("-sessions: %w", err)
	}
	c.load.Sessions = c.sessions[0]
	if progress {
		c.load.Progress = os.Stderr
	}
	if c.workloads, err = load.ParseWorkloads(workloads); err != nil {
		return c, fmt.Errorf("-workload: %w", err)
	}
	positive := map[string]int64{
		"depth": int64(c.load.Depth), "duration": int64(c.load.Duration),
		"session-timeout": int64(c.load.SessionTimeout), "connect-timeout": int64(c.load.ConnectTimeout),
	}
	for name, v := range positive {
		if v <= 0 {
			return c, fmt.Errorf("-%s must be positive", name)
		}
	}
	if c.load.ValueSize < 0 || c.load.Children < 0 || c.load.Ops < 0 || c.load.Warmup < 0 || c.hold < 0 {
		return c, errors.New("-value, -children, -ops, -warmup and -hold must not be negative")
	}
	if c.load.ReadPercent < 1 || c.load.ReadPercent > 100 {
		return c, errors.New("-read must be in 1..100 (for only writes run setData)")
	}
	if noWarmup || c.load.Warmup == 0 {
		c.load.Warmup = -1 // load.Config: negative is none, zero the default
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return c, fmt.Errorf("-log-level: %w", err)
	}
	return c, nil
}

func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// sessionCounts parses -sessions: positive counts, in the order given.
func sessionCounts(list string) ([]int, error) {
	var out []int
	for s := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		if n <= 0 {
			return nil, errors.New("must be positive")
		}
		out = append(out, n)
	}
	return out, nil
}

func servers(list string) []string {
	var out []string
	for s := range strings.SplitSeq(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// newLogger returns a console logger on stderr: zkload is run by hand, and
// its report goes to stdout.
func newLogger(level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	cfg := zap.NewProductionConfig()
	cfg.Encoding = "console"
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.DisableStacktrace = true
	return cfg.Build()
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkload:", err)
		os.Exit(2)
	}
	base, err := newLogger(cfg.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkload:", err)
		os.Exit(2)
	}
	log := base.Named("zkload")
	defer log.Sync() //nolint:errcheck // stderr may not sync

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.cleanup != "" {
		if err := load.Cleanup(ctx, log, cfg.targets[0], cfg.cleanup); err != nil {
			log.Fatal("cleanup failed", zap.Error(err))
		}
		return
	}
	if cfg.hold > 0 {
		res, err := load.Hold(ctx, log, cfg.targets[0], cfg.hold, cfg.load, cfg.load.Duration, nil)
		if res != nil {
			if werr := res.WriteText(os.Stdout); werr != nil {
				log.Fatal("writing the result failed", zap.Error(werr))
			}
		}
		if err != nil {
			log.Fatal("hold failed", zap.Error(err))
		}
		return
	}

	var (
		reports []*load.Report
		runErr  error
	)
	for i, n := range cfg.sessions {
		lc := cfg.load
		lc.Sessions = n
		rep, err := load.RunAll(ctx, log, cfg.targets, cfg.workloads, lc)
		if rep != nil && len(rep.Results) > 0 {
			reports = append(reports, rep)
			write := rep.WriteText
			if cfg.json {
				write = rep.WriteJSON
			} else if i > 0 {
				fmt.Println()
			}
			if err := write(os.Stdout); err != nil {
				log.Fatal("writing the report failed", zap.Error(err))
			}
		}
		if err != nil {
			runErr = err
			break
		}
	}
	if !cfg.json {
		if err := load.WriteSweepText(os.Stdout, reports); err != nil {
			log.Fatal("writing the report failed", zap.Error(err))
		}
	}
	if cfg.chart != "" && len(reports) > 0 {
		paths, err := writeCharts(cfg.chart, reports)
		if err != nil {
			log.Fatal("writing the charts failed", zap.Error(err))
		}
		log.Info("charts written", zap.Strings("files", paths))
	}
	if runErr != nil {
		log.Fatal("run failed", zap.Error(runErr))
	}
}

// writeCharts writes dir/<workload>.png for every workload of reports (one
// report per session count): ops/s and p99 against concurrency, a line per
// target.
func writeCharts(dir string, reports []*load.Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var (
		workloads []load.Workload
		series    = map[load.Workload]map[string]*chart.Series{}
		targets   []string
	)
	for _, rep := range reports {
		for _, t := range rep.Targets {
			if !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
		for _, res := range rep.Results {
			byTarget := series[res.Workload]
			if byTarget == nil {
				workloads = append(workloads, res.Workload)
				byTarget = map[string]*chart.Series{}
				series[res.Workload] = byTarget
			}
			s := byTarget[res.Target]
			if s == nil {
				s = &chart.Series{Target: res.Target}
				byTarget[res.Target] = s
			}
			s.Points = append(s.Points, chart.Point{
				Concurrency: rep.Config.Sessions * rep.Config.Depth,
				OpsPerSec:   res.OpsPerSec(),
				P99Ms:       float64(res.Latency.Quantile(0.99)) / float64(time.Millisecond),
			})
		}
	}
	var paths []string
	for _, w := range workloads {
		var ss []chart.Series
		for _, t := range targets {
			if s := series[w][t]; s != nil {
				ss = append(ss, *s)
			}
		}
		path := filepath.Join(dir, string(w)+".png")
		if err := chart.WritePNG(path, string(w), ss); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
