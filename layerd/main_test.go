package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zkfdb/layerd/daemon"
	"zkfdb/shared/buildinfo"
	"zkfdb/shared/flagconfig"
	"zkfdb/shared/store/delayed"
	"zkfdb/shared/store/engine"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags() = %v", err)
	}
	want := config{
		daemon: daemon.Config{Listen: ":2181", Store: "embedded", DataDir: "./layerd-data", ClusterFile: "/etc/foundationdb/fdb.cluster",
			StartTimeout: 30 * time.Second, MetricsListen: ":7000", ShutdownTimeout: 10 * time.Second, TickTime: 2 * time.Second, MaxBuffer: 0xfffff, MaxWatches: 100_000,
			MaxClientCnxns: 60, FourLetterWords: "srvr, ruok, isro"},
		logLevel: "info", logFormat: "auto",
	}
	c.loaded = nil
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}

	c, err = parseFlags([]string{
		"--listen", "127.0.0.1:12181", "--data-dir=/var/lib/layerd", "-metrics-listen", "[::1]:17000",
		"--log-level", "debug", "--log-format", "console", "--shutdown-timeout", "3s", "--tick-time", "500ms", "--super-digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
		"--min-session-timeout", "1s", "--max-session-timeout", "60s", "--jute-maxbuffer", "4194304", "--pprof", "--max-watches", "500",
		"--fdb-prefix", "tenant-a/", "--sweeper", "--store-timeout", "5s", "--cluster-file", "/etc/layerd/fdb.cluster",
		"--inject-commit-delay", "2ms", "--inject-read-delay", "500us", "--max-client-cnxns", "0", "--extended-types", "--4lw-whitelist", "*", "--admin-listen", "127.0.0.1:18080",
	}, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags = %v", err)
	}
	want = config{
		daemon: daemon.Config{Listen: "127.0.0.1:12181", Store: "embedded", DataDir: "/var/lib/layerd", ClusterFile: "/etc/layerd/fdb.cluster",
			Prefix: "tenant-a/", Sweep: true, StartTimeout: 5 * time.Second, MetricsListen: "[::1]:17000", ShutdownTimeout: 3 * time.Second,
			TickTime: 500 * time.Millisecond, SuperDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
			MinSessionTimeout: time.Second, MaxSessionTimeout: time.Minute, MaxBuffer: 4 << 20, Profiling: true, MaxWatches: 500,
			StoreDelays: delayed.Delays{Commit: 2 * time.Millisecond, Read: 500 * time.Microsecond}, ExtendedTypes: true, FourLetterWords: "*", AdminListen: "127.0.0.1:18080"},
		logLevel: "debug", logFormat: "console",
	}
	c.loaded = nil
	if c != want {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"listen without port", []string{"--listen", "localhost"}, "--listen"},
		{"metrics without port", []string{"--metrics-listen", "7000"}, "--metrics-listen"},
		{"admin without port", []string{"--admin-listen", "8080"}, "--admin-listen"},
		{"empty data dir", []string{"--data-dir="}, "--data-dir"},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"log format", []string{"--log-format", "xml"}, "--log-format"},
		{"shutdown timeout", []string{"--shutdown-timeout", "0s"}, "--shutdown-timeout"},
		{"stray argument", []string{"serve"}, "unexpected"},
		{"unknown flag", []string{"--config", "x.yaml"}, "config"},
		{"unknown store", []string{"--store", "etcd"}, "--store"},
		{"empty cluster file", []string{"--store", "fdb", "--cluster-file="}, "--cluster-file"},
		{"prefix in the system keys", []string{"--fdb-prefix", "\xff"}, "--fdb-prefix"},
		{"store timeout", []string{"--store-timeout", "0s"}, "--store-timeout"},
		{"unknown four-letter word", []string{"--4lw-whitelist", "ruok,bogs"}, "--4lw-whitelist"},
		{"negative max-client-cnxns", []string{"--max-client-cnxns", "-1"}, "--max-client-cnxns"},
		{"negative delay", []string{"--inject-read-delay", "-1ms"}, "--inject-read-delay"},
		{"super digest without colon", []string{"--super-digest", "nocolon"}, "--super-digest"},
		{"super digest not base64", []string{"--super-digest", "super:not-base64!"}, "--super-digest"},
		{"super digest not a SHA-1", []string{"--super-digest", "super:YWJj"}, "--super-digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseFlags(%q) = %v, want an error mentioning %s", tc.args, err, tc.want)
			}
		})
	}
}

// TestStoreFDB: --store fdb is accepted by a build with the FoundationDB
// engine, and refused, saying how to get one, by a build without; either
// way --version says which it is.
func TestStoreFDB(t *testing.T) {
	c, err := parseFlags([]string{"--store", "fdb", "--cluster-file", "/tmp/x.cluster"}, io.Discard)
	if engine.FDBCompiledIn {
		if err != nil || c.daemon.Store != "fdb" || c.daemon.ClusterFile != "/tmp/x.cluster" {
			t.Errorf("--store fdb in a build with FDB = %+v, %v", c, err)
		}
	} else if err == nil || !strings.Contains(err.Error(), "-tags fdb") {
		t.Errorf("--store fdb in a build without FDB = %v, want an error saying to build with -tags fdb", err)
	}
	c, err = parseFlags([]string{"--version"}, io.Discard)
	if err != nil || !c.version {
		t.Fatalf("--version = %+v, %v", c, err)
	}
	want := "FoundationDB engine: not compiled in"
	if engine.FDBCompiledIn {
		want = "FoundationDB engine: compiled in"
	}
	if v := buildinfo.String("layerd"); !strings.HasPrefix(v, "layerd ") || !strings.Contains(v, want) {
		t.Errorf("--version prints %q, want it to say %q", v, want)
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-listen", "-data-dir", `default "./layerd-data"`, "-metrics-listen", `default ":7000"`, "-log-level", "-shutdown-timeout",
		"-store", "-cluster-file", "-fdb-prefix", "-sweeper", "-version"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestConfigFile: a --config file sets flags by their names and
// ZooKeeper's settings with ZooKeeper's meaning; LAYERD_* variables
// override it, the command line overrides both, and --print-config says
// where each value came from.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "layerd.cfg")
	os.WriteFile(file, []byte(`# layerd's settings
tickTime=1000
maxSessionTimeout = 30000
clientPort=2281
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
metrics-listen = 127.0.0.1:7100
log-level=debug
jute.maxbuffer=4194304
`), 0o644)
	t.Setenv("LAYERD_LOG_LEVEL", "warn")
	c, err := parseFlags([]string{"--config", file, "--jute-maxbuffer", "1000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d := c.daemon
	if d.TickTime != time.Second || d.MaxSessionTimeout != 30*time.Second || d.Listen != "127.0.0.1:2281" ||
		d.FourLetterWords != "*" || d.MetricsListen != "127.0.0.1:7100" {
		t.Errorf("from the file: %+v", d)
	}
	if c.logLevel != "warn" {
		t.Errorf("log level %q: the environment must override the file", c.logLevel)
	}
	if d.MaxBuffer != 1000 {
		t.Errorf("jute-maxbuffer %d: the command line must override the file", d.MaxBuffer)
	}
	var out strings.Builder
	flagconfig.Print(&out, c.loaded.fs, c.loaded.sources, "super-digest")
	for _, want := range []string{
		"tick-time = 1s  # " + file + ":2\n",
		"listen = 127.0.0.1:2281  # " + file + ":5\n",
		"log-level = warn  # env LAYERD_LOG_LEVEL\n",
		"jute-maxbuffer = 1000  # command line\n",
		"store = embedded  # default\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out.String())
		}
	}
}

// TestConfigFileErrors: a bad file is refused with its name, the line
// and the key at fault.
func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"tickTime=2000\nbogus=1\n", ":2: bogus: unknown key"},
		{"tickTime=2s\n", ":1: tickTime: \"2s\" is not a number of milliseconds"},
		{"clientPort=99999\n", ":1: clientPort: \"99999\" is not a port"},
		{"max-watches=many\n", ":1: max-watches"},
		{"just a line\n", ":1: \"just a line\" is not key=value"},
		{"4lw.commands.whitelist=ruok,bogs\n", "--4lw-whitelist"},
	} {
		file := filepath.Join(dir, "bad.cfg")
		os.WriteFile(file, []byte(tc.content), 0o644)
		if _, err := parseFlags([]string{"--config", file}, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.content, err, tc.want)
		}
	}
	if _, err := parseFlags([]string{"--config", filepath.Join(dir, "missing.cfg")}, io.Discard); err == nil || !strings.Contains(err.Error(), "missing.cfg") {
		t.Errorf("a missing file: %v", err)
	}
	t.Setenv("LAYERD_MAX_WATCHES", "lots")
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "LAYERD_MAX_WATCHES") {
		t.Errorf("a bad environment variable: %v, want it named", err)
	}
}

// TestZooCfg: an existing zoo.cfg gives the settings that apply, and
// each one that means nothing to layerd is named, with why.
func TestZooCfg(t *testing.T) {
	file := filepath.Join(t.TempDir(), "zoo.cfg")
	os.WriteFile(file, []byte(`tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
maxClientCnxns=100
admin.serverPort=9090
server.1=zk1:2888:3888
autopurge.purgeInterval=1
`), 0o644)
	c, err := parseFlags([]string{"--zoo-cfg", file}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.daemon; d.TickTime != 2*time.Second || d.Listen != ":2181" || d.MaxClientCnxns != 100 || d.AdminListen != ":9090" {
		t.Errorf("from zoo.cfg: %+v", d)
	}
	w := strings.Join(c.loaded.warnings, "\n")
	for _, key := range []string{":2: initLimit", ":3: syncLimit", ":4: dataDir", ":8: server.1", ":9: autopurge.purgeInterval"} {
		if !strings.Contains(w, key) {
			t.Errorf("no warning for %s in:\n%s", key, w)
		}
	}
	if strings.Contains(w, "tickTime") || strings.Contains(w, "clientPort") {
		t.Errorf("warnings name settings that apply:\n%s", w)
	}
}
