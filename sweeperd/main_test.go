package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, "fdb-1", io.Discard)
	if err != nil {
		t.Fatalf("parseFlags() = %v", err)
	}
	want := config{
		bind:          "0.0.0.0:7946",
		nodeName:      "fdb-1",
		clusterFile:   "/etc/foundationdb/fdb.cluster",
		metricsListen: ":7001",
		logLevel:      "info",
		logFormat:     "auto",
	}
	c.loaded = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}

	c, err = parseFlags([]string{
		"--bind", "10.0.0.1:7946", "--advertise=10.0.0.1:7946",
		"--join", "10.0.0.2:7946, 10.0.0.3:7946,", "--node-name", "n1",
		"--cluster-file", "/var/lib/sweeperd/fdb.cluster", "--metrics-listen", "127.0.0.1:17001",
		"--log-level", "warn", "--fdb-prefix", "tenant-a/", "--log-format", "json",
	}, "fdb-1", io.Discard)
	if err != nil {
		t.Fatalf("parseFlags = %v", err)
	}
	want = config{
		bind:          "10.0.0.1:7946",
		advertise:     "10.0.0.1:7946",
		join:          []string{"10.0.0.2:7946", "10.0.0.3:7946"},
		nodeName:      "n1",
		clusterFile:   "/var/lib/sweeperd/fdb.cluster",
		metricsListen: "127.0.0.1:17001",
		prefix:        "tenant-a/",
		logLevel:      "warn",
		logFormat:     "json",
	}
	c.loaded = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		hostname string
		want     string
	}{
		{"bind without port", []string{"--bind", "0.0.0.0"}, "h", "--bind"},
		{"advertise without port", []string{"--advertise", "10.0.0.1"}, "h", "--advertise"},
		{"join member without port", []string{"--join", "a:7946,b"}, "h", "--join"},
		{"metrics without port", []string{"--metrics-listen", "7001"}, "h", "--metrics-listen"},
		{"no hostname", nil, "", "--node-name"},
		{"empty cluster file", []string{"--cluster-file="}, "h", "--cluster-file"},
		{"log level", []string{"--log-level", "loud"}, "h", "--log-level"},
		{"log format", []string{"--log-format", "xml"}, "h", "--log-format"},
		{"stray argument", []string{"sweep"}, "h", "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseFlags(tc.args, tc.hostname, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseFlags(%q) = %v, want an error mentioning %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseFlags([]string{"--help"}, "h", &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"-bind", `default "0.0.0.0:7946"`, "-advertise", "-join", "-node-name", "-cluster-file",
		`default "/etc/foundationdb/fdb.cluster"`, "-metrics-listen", `default ":7001"`, "-log-level", "-tags fdb",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestVersion: --version needs no other flag valid (not even a hostname)
// and stops parsing there.
func TestVersion(t *testing.T) {
	c, err := parseFlags([]string{"--version", "--bind", "nonsense"}, "", io.Discard)
	if err != nil || !c.version {
		t.Fatalf("--version = %+v, %v", c, err)
	}
}

// TestConfigFile: a --config file sets flags by name, SWEEPERD_*
// variables override it and the command line both; a bad key is named
// with its line.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sweeperd.cfg")
	os.WriteFile(file, []byte("join = 10.0.0.2:7946,10.0.0.3:7946\nnode-name=fdb-9\nlog-level=debug\nmetrics-listen=127.0.0.1:17001\n"), 0o644)
	t.Setenv("SWEEPERD_LOG_LEVEL", "error")
	c, err := parseFlags([]string{"--config", file, "--node-name", "n1"}, "h", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.join, []string{"10.0.0.2:7946", "10.0.0.3:7946"}) || c.nodeName != "n1" || c.logLevel != "error" || c.metricsListen != "127.0.0.1:17001" {
		t.Errorf("loaded %+v", c)
	}
	os.WriteFile(file, []byte("bind=0.0.0.0:7946\nquorum=3\n"), 0o644)
	if _, err := parseFlags([]string{"--config", file}, "h", io.Discard); err == nil || !strings.Contains(err.Error(), ":2: quorum: unknown key") {
		t.Errorf("an unknown key: %v", err)
	}
}
