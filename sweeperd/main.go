// Command sweeperd runs next to each FoundationDB server: sweeperd processes
// form a memberlist cluster, share the session-expiry index among
// themselves, clear expired sessions, and run the cooperative clock.
//
// It needs the FoundationDB engine, so it only runs when built with
// -tags fdb; the memberlist cluster and the sweep loop come with the
// sweeper issue. See docs/operations.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"zkfdb/shared/buildinfo"
	"zkfdb/shared/flagconfig"
	"zkfdb/shared/keys"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/signals"
	"zkfdb/shared/telemetry"
)

// config is sweeperd's command line.
type config struct {
	bind          string   // memberlist bind host:port
	advertise     string   // memberlist advertise host:port; "" lets memberlist pick
	join          []string // members to join, host:port each
	nodeName      string   // memberlist node name
	clusterFile   string   // FoundationDB cluster file
	prefix        string   // the installation's key prefix (layerd's --fdb-prefix)
	metricsListen string   // /metrics, /healthz, /readyz
	logLevel      string
	logFormat     string
	version       bool            // print the version and exit
	level         zap.AtomicLevel // the logger's, served on /log/level
	configFile    string          // the configuration file (flagconfig)
	printConfig   bool            // print the effective settings and exit
	loaded        *loaded
}

// loaded is what loading the configuration found besides the values.
type loaded struct {
	fs      *flag.FlagSet
	sources flagconfig.Sources
}

const (
	defaultBind          = "0.0.0.0:7946" // memberlist's default port
	defaultClusterFile   = "/etc/foundationdb/fdb.cluster"
	defaultMetricsListen = ":7001" // layerd has :7000
)

// parseFlags parses sweeperd's command line; usage and errors go to out.
// hostname is the default node name. Operators' scripts depend on the
// flag names: keep them stable.
func parseFlags(args []string, hostname string, out io.Writer) (config, error) {
	var c config
	var join string
	fs := flag.NewFlagSet("sweeperd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: sweeperd [flags]

sweeperd shares the session-expiry index with the other sweeperd processes
(a memberlist cluster on --bind), clears expired sessions in the
FoundationDB cluster named by --cluster-file, and runs the cooperative
clock. /metrics, /healthz and /readyz are served on --metrics-listen.
It needs a build with -tags fdb. Flags take one dash or two.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.bind, "bind", defaultBind, "memberlist bind `host:port`")
	fs.StringVar(&c.advertise, "advertise", "", "memberlist `host:port` advertised to other members (default: the bind address, or a private address of this host)")
	fs.StringVar(&join, "join", "", "members to join, a comma-separated `host:port,...` list")
	fs.StringVar(&c.nodeName, "node-name", hostname, "memberlist node `name`, unique in the cluster; defaults to the hostname")
	fs.StringVar(&c.clusterFile, "cluster-file", defaultClusterFile, "FoundationDB cluster `file`")
	fs.StringVar(&c.prefix, "fdb-prefix", "", "key `prefix` of the installation whose sessions this sweeps (the layerds' --fdb-prefix)")
	fs.StringVar(&c.metricsListen, "metrics-listen", defaultMetricsListen, "`host:port` of /metrics, /healthz and /readyz")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level`: debug, info, warn or error (changeable at run time: PUT /log/level on --metrics-listen)")
	fs.StringVar(&c.logFormat, "log-format", telemetry.FormatAuto, "log `format`: json (one object a line, for journald), console, or auto (console on a terminal, else json)")
	fs.BoolVar(&c.version, "version", false, "print the version, the commit and whether FoundationDB is compiled in, then exit")
	fs.StringVar(&c.configFile, "config", "", "configuration `file`: key=value lines, each key a flag's name (join = fdb1:7946,fdb2:7946); flags and SWEEPERD_* environment variables override it")
	fs.BoolVar(&c.printConfig, "print-config", false, "print every setting's effective value and where it came from, then exit")
	src, err := flagconfig.Load(fs, args, flagconfig.Options{EnvPrefix: "SWEEPERD_", CommandLineOnly: []string{"version", "print-config"}, Files: []flagconfig.File{{Flag: "config", FlagNames: true}}})
	if err != nil {
		return c, err
	}
	c.loaded = &loaded{fs: fs, sources: src}
	if c.version {
		return c, nil
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, m := range strings.Split(join, ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.join = append(c.join, m)
		}
	}
	addrs := [][2]string{{"bind", c.bind}, {"metrics-listen", c.metricsListen}}
	if c.advertise != "" {
		addrs = append(addrs, [2]string{"advertise", c.advertise})
	}
	for _, m := range c.join {
		addrs = append(addrs, [2]string{"join", m})
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a[1]); err != nil {
			return c, fmt.Errorf("--%s: %w", a[0], err)
		}
	}
	if c.nodeName == "" {
		return c, errors.New("--node-name is empty")
	}
	if c.clusterFile == "" {
		return c, errors.New("--cluster-file is empty")
	}
	if _, err := keys.NewRoot([]byte(c.prefix)); err != nil {
		return c, fmt.Errorf("--fdb-prefix: %w", err)
	}
	if err := telemetry.CheckLogFormat(c.logFormat); err != nil {
		return c, fmt.Errorf("--log-format: %w", err)
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	return c, nil
}

func main() {
	hostname, _ := os.Hostname() // "" fails --node-name's check
	cfg, err := parseFlags(os.Args[1:], hostname, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweeperd:", err)
		os.Exit(2)
	}
	if cfg.version {
		fmt.Print(buildinfo.String("sweeperd"))
		os.Exit(0)
	}
	if cfg.printConfig {
		flagconfig.Print(os.Stdout, cfg.loaded.fs, cfg.loaded.sources)
		os.Exit(0)
	}
	base, level, err := telemetry.NewLogger(cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sweeperd:", err)
		os.Exit(2)
	}
	log := base.Named("sweeperd")
	defer log.Sync() //nolint:errcheck // stderr may not sync
	cfg.level = level

	reg := telemetry.NewRegistry()

	// SIGTERM or SIGINT: a graceful shutdown; a second one exits at once.
	ctx, stop := signals.Context(context.Background())
	defer stop()
	defer signals.OnHangup(func() {
		log.Warn("SIGHUP ignored: sweeperd reads its configuration only at start; restart it to change it")
	})()
	if err := run(ctx, cfg, log, reg, sdnotify.FromEnv()); err != nil {
		log.Fatal("sweeperd failed", zap.Error(err))
	}
	log.Info("sweeperd stopped")
}
