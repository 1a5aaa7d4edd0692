// Command layerd serves ZooKeeper clients from a store with FoundationDB's
// semantics: a FoundationDB cluster (--store fdb, in a build with -tags
// fdb), where any number of layerds serve one tree, or the embedded engine
// in a local data directory (the default), where one layerd is the whole
// service. See docs/operations.md for flags, metrics, systemd and Ansible.
package main

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"zkfdb/layerd/daemon"
	"zkfdb/layerd/fourletter"
	"zkfdb/shared/buildinfo"
	"zkfdb/shared/flagconfig"
	"zkfdb/shared/gcfloor"
	"zkfdb/shared/keys"
	"zkfdb/shared/sdnotify"
	"zkfdb/shared/signals"
	"zkfdb/shared/store/engine"
	"zkfdb/shared/telemetry"
)

type config struct {
	daemon    daemon.Config
	logLevel  string
	logFormat string
	version   bool
	// configFile and zooCfg are the files read (flagconfig); printConfig
	// prints the effective settings and exits.
	configFile, zooCfg string
	printConfig        bool
	loaded             *loaded
}

// loaded is what loading the configuration found besides the values.
type loaded struct {
	fs      *flag.FlagSet
	sources flagconfig.Sources
	// warnings are settings of --zoo-cfg that mean nothing to layerd,
	// logged at start.
	warnings []string
}

// parseFlags parses layerd's command line; usage and errors go to out.
// Operators' scripts depend on the flag names: keep them stable.
func parseFlags(args []string, out io.Writer) (config, error) {
	c := config{loaded: &loaded{}}
	fs := flag.NewFlagSet("layerd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: layerd [flags]

layerd serves ZooKeeper clients on --listen and keeps all state in its
store: with --store fdb the FoundationDB cluster of --cluster-file, which
any number of layerds share (sweeperd runs the clock and expires sessions
there, unless --sweeper); with --store embedded (the default) the embedded
engine in --data-dir, one layerd being the whole service. /metrics,
/healthz and /readyz are served on --metrics-listen. Flags take one dash
or two.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.daemon.Listen, "listen", daemon.DefaultListen, "ZooKeeper client `host:port`")
	fs.StringVar(&c.daemon.Store, "store", engine.Embedded, "storage `engine`: embedded or fdb (needs a build with -tags fdb)")
	fs.StringVar(&c.daemon.DataDir, "data-dir", daemon.DefaultDataDir, "embedded engine data `directory` (created if missing)")
	fs.StringVar(&c.daemon.ClusterFile, "cluster-file", defaultClusterFile, "FoundationDB cluster `file` (--store fdb); the FDB client rewrites it when coordinators change")
	fs.StringVar(&c.daemon.Prefix, "fdb-prefix", "", "key `prefix` of this installation in the store, so that several share one FoundationDB cluster without seeing each other")
	fs.BoolVar(&c.daemon.Sweep, "sweeper", false, "also run the cluster clock and expire sessions (always on with --store embedded; sweeperd does it on FDB)")
	fs.DurationVar(&c.daemon.StartTimeout, "store-timeout", engine.DefaultStartTimeout, "how long start-up waits for the store to answer before it fails with the cause")
	fs.StringVar(&c.daemon.MetricsListen, "metrics-listen", daemon.DefaultMetricsListen, "`host:port` of /metrics, /healthz and /readyz")
	fs.DurationVar(&c.daemon.ShutdownTimeout, "shutdown-timeout", daemon.DefaultShutdownTimeout, "how long a shutdown on SIGINT or SIGTERM may take")
	fs.DurationVar(&c.daemon.TickTime, "tick-time", 2*time.Second, "ZooKeeper's tickTime: session timeouts are clamped to 2 to 20 ticks")
	fs.DurationVar(&c.daemon.MinSessionTimeout, "min-session-timeout", 0, "shortest session timeout granted (default 2 ticks)")
	fs.DurationVar(&c.daemon.MaxSessionTimeout, "max-session-timeout", 0, "longest session timeout granted (default 20 ticks)")
	fs.IntVar(&c.daemon.MaxBuffer, "jute-maxbuffer", 0xfffff, "largest request frame in `bytes` (ZooKeeper's jute.maxbuffer); a larger one closes its connection")
	fs.StringVar(&c.daemon.SuperDigest, "super-digest", "", "`user:base64sha1` digest whose addauth makes a super user (ZooKeeper's superDigest); empty: none")
	fs.IntVar(&c.daemon.MaxWatches, "max-watches", daemon.DefaultMaxWatches, "store watches the process may hold (FDB's max_watches): one per client connection and 16 of its own; a connection beyond is closed at once")
	fs.IntVar(&c.daemon.MaxClientCnxns, "max-client-cnxns", 60, "connections one client IP address may hold open (ZooKeeper's maxClientCnxns); one more is closed at once; 0: no limit")
	fs.StringVar(&c.daemon.FourLetterWords, "4lw-whitelist", fourletter.DefaultWhitelist, "four-letter words answered on the client port, comma-separated, * for all (ZooKeeper's 4lw.commands.whitelist; srvr is always answered)")
	fs.StringVar(&c.daemon.AdminListen, "admin-listen", "", "`host:port` of ZooKeeper's AdminServer interface (/commands/<name> as JSON; ZooKeeper's admin.serverPort); empty: off")
	fs.BoolVar(&c.daemon.ExtendedTypes, "extended-types", false, "accept TTL nodes (ZooKeeper's zookeeper.extendedTypesEnabled); off, createTTL is refused with UNIMPLEMENTED as ZooKeeper refuses it")
	fs.DurationVar(&c.daemon.StoreDelays.Commit, "inject-commit-delay", 0, "benchmarks only: added to every store commit that writes, to model a FoundationDB further away (docs/benchmarks.md)")
	fs.DurationVar(&c.daemon.StoreDelays.Read, "inject-read-delay", 0, "benchmarks only: the round trip added to every store read and read version, to model a FoundationDB further away")
	fs.BoolVar(&c.daemon.Profiling, "pprof", false, "serve Go's profiler under /debug/pprof/ on --metrics-listen")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level`: debug, info, warn or error (changeable at run time: PUT /log/level on --metrics-listen)")
	fs.StringVar(&c.logFormat, "log-format", telemetry.FormatAuto, "log `format`: json (one object a line, for journald), console, or auto (console on a terminal, else json)")
	fs.BoolVar(&c.version, "version", false, "print the version and whether FoundationDB is compiled in, then exit")
	fs.StringVar(&c.configFile, "config", "", "configuration `file`: key=value lines, each key a flag's name or a ZooKeeper setting (tickTime=2000); flags and LAYERD_* environment variables override it (docs/operations.md)")
	fs.StringVar(&c.zooCfg, "zoo-cfg", "", "a ZooKeeper zoo.cfg `file` to take the settings that apply from (tickTime, clientPort, maxClientCnxns, …); each setting that means nothing to layerd is named in a warning; --config overrides it")
	fs.BoolVar(&c.printConfig, "print-config", false, "print every setting's effective value and where it came from (default, file:line, environment, command line), then exit")
	src, err := flagconfig.Load(fs, args, flagconfig.Options{EnvPrefix: "LAYERD_", CommandLineOnly: []string{"version", "print-config"}, Files: []flagconfig.File{
		{Flag: "zoo-cfg", Settings: zooKeeperSettings(fs), Foreign: func(key string, line int) {
			c.loaded.warnings = append(c.loaded.warnings, fmt.Sprintf("%s:%d: %s %s", c.zooCfg, line, key, noMeaning(key)))
		}},
		{Flag: "config", Settings: zooKeeperSettings(fs), FlagNames: true},
	}})
	if err != nil {
		return c, err
	}
	c.loaded.sources, c.loaded.fs = src, fs
	if c.version {
		return c, nil
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	addrs := map[string]string{"listen": c.daemon.Listen, "metrics-listen": c.daemon.MetricsListen}
	if c.daemon.AdminListen != "" {
		addrs["admin-listen"] = c.daemon.AdminListen
	}
	for name, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return c, fmt.Errorf("--%s: %w", name, err)
		}
	}
	switch c.daemon.Store {
	case engine.Embedded:
		if c.daemon.DataDir == "" {
			return c, errors.New("--data-dir is empty")
		}
	case engine.FDB:
		if c.daemon.ClusterFile == "" {
			return c, errors.New("--cluster-file is empty")
		}
		if !engine.FDBCompiledIn {
			return c, fmt.Errorf("--store fdb: %w", engine.ErrNotCompiledIn)
		}
	default:
		return c, fmt.Errorf("--store %q: want %s or %s", c.daemon.Store, engine.Embedded, engine.FDB)
	}
	if _, err := keys.NewRoot([]byte(c.daemon.Prefix)); err != nil {
		return c, fmt.Errorf("--fdb-prefix: %w", err)
	}
	if c.daemon.StartTimeout <= 0 {
		return c, errors.New("--store-timeout must be positive")
	}
	if d := c.daemon.SuperDigest; d != "" {
		if err := checkSuperDigest(d); err != nil {
			return c, fmt.Errorf("--super-digest: %w", err)
		}
	}
	if _, err := fourletter.ParseWhitelist(c.daemon.FourLetterWords); err != nil {
		return c, fmt.Errorf("--4lw-whitelist: %w", err)
	}
	if c.daemon.MaxClientCnxns < 0 {
		return c, errors.New("--max-client-cnxns must not be negative (0: no limit)")
	}
	if c.daemon.StoreDelays.Commit < 0 || c.daemon.StoreDelays.Read < 0 {
		return c, errors.New("--inject-commit-delay and --inject-read-delay must not be negative")
	}
	if c.daemon.MaxWatches <= daemon.WatchReserve {
		return c, fmt.Errorf("--max-watches must be more than %d (layerd's own watches)", daemon.WatchReserve)
	}
	if c.daemon.MaxBuffer <= 0 {
		return c, errors.New("--jute-maxbuffer must be positive")
	}
	if c.daemon.MinSessionTimeout < 0 || c.daemon.MaxSessionTimeout < 0 ||
		(c.daemon.MaxSessionTimeout > 0 && c.daemon.MinSessionTimeout > c.daemon.MaxSessionTimeout) {
		return c, errors.New("--min-session-timeout and --max-session-timeout must be positive, min ≤ max")
	}
	if c.daemon.TickTime <= 0 {
		return c, errors.New("--tick-time must be positive")
	}
	if c.daemon.ShutdownTimeout <= 0 {
		return c, errors.New("--shutdown-timeout must be positive")
	}
	if err := telemetry.CheckLogFormat(c.logFormat); err != nil {
		return c, fmt.Errorf("--log-format: %w", err)
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	return c, nil
}

// zooKeeperSettings maps ZooKeeper's settings, with their ZooKeeper
// meaning, onto layerd's flags: in a zoo.cfg (--zoo-cfg) and in layerd's
// own file (--config).
func zooKeeperSettings(fs *flag.FlagSet) map[string]flagconfig.Setting {
	same := func(name string) flagconfig.Setting {
		return flagconfig.Setting{Apply: func(v string, set func(string, string) error) error { return set(name, v) }}
	}
	millis := func(name string) flagconfig.Setting {
		return flagconfig.Setting{Apply: func(v string, set func(string, string) error) error {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms < 0 {
				return fmt.Errorf("%q is not a number of milliseconds", v)
			}
			return set(name, (time.Duration(ms) * time.Millisecond).String())
		}}
	}
	// hostPort sets one half of an address flag, keeping the other.
	hostPort := func(name string, port bool, defaultPort string) flagconfig.Setting {
		return flagconfig.Setting{Apply: func(v string, set func(string, string) error) error {
			host, p, _ := net.SplitHostPort(fs.Lookup(name).Value.String())
			if p == "" {
				p = defaultPort
			}
			if port {
				if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
					return fmt.Errorf("%q is not a port", v)
				}
				p = v
			} else {
				host = v
			}
			return set(name, net.JoinHostPort(host, p))
		}}
	}
	adminOff := false
	admin := func(port bool) flagconfig.Setting {
		hp := hostPort("admin-listen", port, "8080")
		return flagconfig.Setting{Apply: func(v string, set func(string, string) error) error {
			if adminOff {
				return nil
			}
			return hp.Apply(v, set)
		}}
	}
	return map[string]flagconfig.Setting{
		"tickTime":               millis("tick-time"),
		"minSessionTimeout":      millis("min-session-timeout"),
		"maxSessionTimeout":      millis("max-session-timeout"),
		"maxClientCnxns":         same("max-client-cnxns"),
		"jute.maxbuffer":         same("jute-maxbuffer"),
		"4lw.commands.whitelist": same("4lw-whitelist"),
		"clientPort":             hostPort("listen", true, "2181"),
		"clientPortAddress":      hostPort("listen", false, "2181"),
		"admin.serverPort":       admin(true),
		"admin.serverAddress":    admin(false),
		"admin.enableServer": {Apply: func(v string, set func(string, string) error) error {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			if !on {
				adminOff = true
				return set("admin-listen", "")
			}
			if fs.Lookup("admin-listen").Value.String() == "" {
				return set("admin-listen", ":8080") // ZooKeeper's default port
			}
			return nil
		}},
		"extendedTypesEnabled":                               same("extended-types"),
		"zookeeper.extendedTypesEnabled":                     same("extended-types"),
		"zookeeper.DigestAuthenticationProvider.superDigest": same("super-digest"),
	}
}

// noMeaning says why a zoo.cfg setting means nothing to layerd.
func noMeaning(key string) string {
	switch {
	case key == "dataDir", key == "dataLogDir", key == "snapCount", key == "preAllocSize", strings.HasPrefix(key, "autopurge."),
		key == "forceSync", key == "fsync.warningthresholdms", key == "snapSizeLimitInKb", key == "txnLogSizeLimitInKb":
		return "has no meaning for layerd: its data lives in FoundationDB (or, on the embedded engine, in --data-dir), with no snapshots or transaction log of its own"
	case strings.HasPrefix(key, "server."), key == "initLimit", key == "syncLimit", key == "electionAlg", key == "peerType",
		key == "leaderServes", key == "cnxTimeout", key == "standaloneEnabled", key == "reconfigEnabled", key == "dynamicConfigFile",
		key == "quorumListenOnAllIPs", strings.HasPrefix(key, "quorum."), key == "syncEnabled", strings.HasPrefix(key, "group."), strings.HasPrefix(key, "weight."):
		return "has no meaning for layerd: layerds form no ensemble; any number of them share FoundationDB"
	case strings.HasPrefix(key, "secureClientPort"), strings.HasPrefix(key, "ssl."), strings.HasPrefix(key, "authProvider"):
		return "has no meaning for layerd yet: TLS and SASL are not implemented"
	case strings.HasPrefix(key, "metricsProvider."):
		return "has no meaning for layerd: it serves Prometheus metrics on --metrics-listen"
	}
	return "is not a setting layerd knows; ignored"
}

// checkSuperDigest checks ZooKeeper's superDigest form, user:digest,
// where digest is the base64 of the SHA-1 of "user:password" (what
// `zkCli` and DigestAuthenticationProvider.generateDigest print), so that a
// typo is refused at start instead of making addauth never match.
func checkSuperDigest(d string) error {
	user, digest, ok := strings.Cut(d, ":")
	if !ok || user == "" {
		return fmt.Errorf("%q is not user:base64(sha1(user:password))", d)
	}
	raw, err := base64.StdEncoding.DecodeString(digest)
	if err != nil || len(raw) != sha1.Size {
		return fmt.Errorf("the digest of %q is not the base64 of a 20-byte SHA-1 (generate it with: echo -n %s:PASSWORD | openssl dgst -binary -sha1 | base64)", user, user)
	}
	return nil
}

// defaultClusterFile is where FoundationDB's packages put the cluster file.
const defaultClusterFile = "/etc/foundationdb/fdb.cluster"

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "layerd:", err)
		os.Exit(2)
	}
	if cfg.version {
		fmt.Print(buildinfo.String("layerd"))
		os.Exit(0)
	}
	if cfg.printConfig {
		flagconfig.Print(os.Stdout, cfg.loaded.fs, cfg.loaded.sources, "super-digest")
		os.Exit(0)
	}
	base, level, err := telemetry.NewLogger(cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "layerd:", err)
		os.Exit(2)
	}
	log := base.Named("layerd")
	defer log.Sync() //nolint:errcheck // stderr may not sync
	for _, w := range cfg.loaded.warnings {
		log.Warn("zoo.cfg setting not applied", zap.String("setting", w))
	}

	reg := telemetry.NewRegistry()

	// SIGTERM or SIGINT: a graceful shutdown; a second one exits at once.
	ctx, stop := signals.Context(context.Background())
	defer stop()
	// layerd's heap is mostly short-lived request garbage around a small
	// live set: the collector's heap goal is kept at 128 MiB at least
	// (shared/gcfloor), GOGC's default above that. GOGC in the
	// environment still wins.
	go gcfloor.Run(ctx, gcfloor.DefaultFloor)
	defer signals.OnHangup(func() {
		log.Warn("SIGHUP ignored: layerd reads its configuration only at start; restart it to change it")
	})()
	cfg.daemon.LogLevel = level
	if err := daemon.Run(ctx, cfg.daemon, log, reg, sdnotify.FromEnv()); err != nil {
		log.Fatal("layerd failed", zap.Error(err))
	}
	log.Info("layerd stopped")
}
