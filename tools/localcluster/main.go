// Command localcluster runs the service as it is deployed, on this one
// machine: three fdbservers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (each
// its own machine and zone to FoundationDB, two replicas kept), a
// sweeperd beside each, and three layerds, all real processes
// (internal/proccluster). It prints the connect string, the cluster file
// and each process's pid and log, and runs until interrupted, then stops
// them all. Kill, stop (SIGSTOP) and restart processes by their pids to
// see what clients see.
//
//	go run ./tools/localcluster -dir /tmp/zkfdb-cluster
//
// It builds layerd and sweeperd with -tags fdb into DIR/bin, so it needs
// Go and FoundationDB 7.3 (client library, fdbserver, fdbcli); or give
// -bin a directory that holds them.
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
	"strings"
	"syscall"
	"time"

	"zkfdb/internal/proccluster"
)

type config struct {
	dir, bin       string
	hosts, layerds int
	tickTime       time.Duration
	layerdArgs     []string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("localcluster", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.dir, "dir", "", "`directory` for the cluster file, the servers' data and every log (required; created if missing)")
	fs.StringVar(&c.bin, "bin", "", "`directory` holding layerd and sweeperd built with -tags fdb (default: build them into DIR/bin)")
	fs.IntVar(&c.hosts, "hosts", 3, "FoundationDB hosts (fdbserver + sweeperd each), on 127.0.0.1 upwards; 3 or more keep two replicas")
	fs.IntVar(&c.layerds, "layerds", 3, "layerd processes")
	fs.DurationVar(&c.tickTime, "tick-time", 2*time.Second, "the layerds' ZooKeeper tickTime")
	fs.Func("layerd-args", "extra `flags` for every layerd, separated by spaces (\"--inject-commit-delay 2ms\")", func(v string) error {
		c.layerdArgs = append(c.layerdArgs, strings.Fields(v)...)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.dir == "":
		return c, errors.New("-dir is required")
	case c.hosts < 1 || c.hosts > 254:
		return c, fmt.Errorf("-hosts %d: want 1 to 254", c.hosts)
	case c.layerds < 1:
		return c, fmt.Errorf("-layerds %d: want at least 1", c.layerds)
	case c.tickTime <= 0:
		return c, fmt.Errorf("-tick-time %v: want a positive duration", c.tickTime)
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := filepath.Abs(cfg.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bin := cfg.bin
	if bin == "" {
		bin = filepath.Join(dir, "bin")
		fmt.Printf("building layerd and sweeperd (-tags fdb) into %s\n", bin)
		if err := proccluster.Build(ctx, bin); err != nil {
			return err
		}
	}
	c, err := proccluster.Start(ctx, proccluster.Options{
		Dir: dir, Bin: bin, Hosts: cfg.hosts, Layerds: cfg.layerds, TickTime: cfg.tickTime,
		LayerdArgs: cfg.layerdArgs,
	})
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	defer c.Stop()
	fmt.Printf("cluster file: %s\n", c.ClusterFile())
	for _, p := range c.Procs() {
		metrics := ""
		if p.MetricsAddr != "" {
			metrics = " metrics http://" + p.MetricsAddr + "/metrics"
		}
		fmt.Printf("%-22s pid %-7d %s%s log %s\n", p.Name, p.Pid(), p.Addr, metrics, p.LogPath())
	}
	fmt.Printf("connect string: %s\n", c.ConnectString())
	fmt.Println("running; interrupt (Ctrl-C) to stop every process")
	<-ctx.Done()
	fmt.Println("stopping")
	return nil
}
