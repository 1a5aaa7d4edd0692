package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"zkfdb/layerd/daemon"
	"zkfdb/shared/buildinfo"
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
