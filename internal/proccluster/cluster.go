// Package proccluster runs the service as it is deployed, as separate OS
// processes on one machine: a FoundationDB cluster of several fdbserver
// processes, each on its own loopback address (127.0.0.1, 127.0.0.2, ...)
// with its own machine and zone locality, so that FDB sees that many hosts
// and keeps two replicas (configure double); one sweeperd per FDB host,
// bound on that host's address and gossiping with the others
// (memberlist); and several layerd processes, one per host address. Every
// process can be killed (SIGKILL), paused (SIGSTOP), resumed and started
// again; Stop stops them all.
//
// It needs FoundationDB 7.3's fdbserver and fdbcli, and layerd and
// sweeperd built with -tags fdb (Build). Tests use it through StartT;
// operators through tools/localcluster (scripts/local-cluster).
package proccluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options shape a cluster. A zero field means the default.
type Options struct {
	// Dir holds the cluster file, the servers' data and every process's
	// log. Required.
	Dir string
	// Bin is the directory with layerd and sweeperd built with -tags fdb.
	// Required.
	Bin string
	// Hosts is how many FDB hosts (fdbserver + sweeperd) to run; default
	// 3. With 3 or more the database keeps two replicas; with fewer, one.
	Hosts int
	// Layerds is how many layerd processes to run; default 3. Layerd i
	// binds host i modulo Hosts.
	Layerds int
	// TickTime is the layerds' ZooKeeper tickTime (session timeouts are 2
	// to 20 ticks); default 1 s.
	TickTime time.Duration
	// LayerdArgs are extra flags for every layerd.
	LayerdArgs []string
	// StartTimeout bounds how long Start waits for FDB and for every
	// process to be ready; default 2 minutes.
	StartTimeout time.Duration
}

// Cluster is the running service.
type Cluster struct {
	opts        Options
	clusterFile string
	fdbcli      string

	// FDB, Sweepers and Layerds are the processes, by host.
	FDB      []*Proc
	Sweepers []*Proc
	Layerds  []*Proc
}

// HostAddr returns the loopback address of host i (0-based).
func HostAddr(i int) string { return fmt.Sprintf("127.0.0.%d", i+1) }

// Start starts the cluster: FDB first (created with configure new, and
// available), then the sweeperds, then the layerds, and waits until each
// daemon says it is ready (/readyz). On failure it stops what it started.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" || opts.Bin == "" {
		return nil, errors.New("proccluster: Dir and Bin are required")
	}
	if opts.Hosts == 0 {
		opts.Hosts = 3
	}
	if opts.Layerds == 0 {
		opts.Layerds = 3
	}
	if opts.TickTime == 0 {
		opts.TickTime = time.Second
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	fdbserver, err := FindFDB("fdbserver")
	if err != nil {
		return nil, err
	}
	fdbcli, err := FindFDB("fdbcli")
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"layerd", "sweeperd"} {
		if _, err := os.Stat(filepath.Join(opts.Bin, name)); err != nil {
			return nil, fmt.Errorf("proccluster: %w (build with -tags fdb)", err)
		}
	}
	// A cluster's data is only good with its cluster file, which names
	// ports chosen afresh each start: a directory is for one cluster.
	if _, err := os.Stat(filepath.Join(opts.Dir, "fdb.cluster")); err == nil {
		return nil, fmt.Errorf("proccluster: %s holds a cluster already; give a new directory", opts.Dir)
	}
	logs := filepath.Join(opts.Dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, clusterFile: filepath.Join(opts.Dir, "fdb.cluster"), fdbcli: fdbcli}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.start(ctx, fdbserver, logs); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, fdbserver, logs string) error {
	opts := c.opts
	// The FDB servers, all of them coordinators, so that the cluster
	// keeps a quorum when one host is down.
	var coords []string
	for i := range opts.Hosts {
		host := HostAddr(i)
		port, err := freePort(host)
		if err != nil {
			return err
		}
		dir := filepath.Join(opts.Dir, fmt.Sprintf("fdb%d", i+1))
		for _, d := range []string{"data", "logs"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				return err
			}
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		coords = append(coords, addr)
		c.FDB = append(c.FDB, &Proc{
			Name: "fdbserver@" + host, Host: host, Addr: addr, path: fdbserver,
			args: []string{"-p", addr, "-C", c.clusterFile,
				"-d", filepath.Join(dir, "data"), "-L", filepath.Join(dir, "logs"),
				"--locality-machineid", fmt.Sprintf("host%d", i+1),
				"--locality-zoneid", fmt.Sprintf("zone%d", i+1)},
			logPath: filepath.Join(logs, fmt.Sprintf("fdbserver%d.log", i+1)),
		})
	}
	id := make([]byte, 4)
	rand.Read(id)
	cf := fmt.Sprintf("proccluster:%s@%s\n", hex.EncodeToString(id), strings.Join(coords, ","))
	if err := os.WriteFile(c.clusterFile, []byte(cf), 0o644); err != nil {
		return err
	}
	for _, p := range c.FDB {
		if err := p.Start(); err != nil {
			return err
		}
	}
	mode := "double"
	if opts.Hosts < 3 {
		mode = "single"
	}
	if err := c.configure(ctx, "configure new "+mode+" memory"); err != nil {
		return err
	}
	if err := c.AwaitFDB(ctx); err != nil {
		return err
	}

	// One sweeperd per FDB host, each joining every other.
	var gossip []string
	for i := range opts.Hosts {
		host := HostAddr(i)
		port, err := freePort(host)
		if err != nil {
			return err
		}
		gossip = append(gossip, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	for i := range opts.Hosts {
		host := HostAddr(i)
		metrics, err := freeAddr(host)
		if err != nil {
			return err
		}
		var join []string
		for j, g := range gossip {
			if j != i {
				join = append(join, g)
			}
		}
		c.Sweepers = append(c.Sweepers, &Proc{
			Name: "sweeperd@" + host, Host: host, Addr: gossip[i], MetricsAddr: metrics,
			path: filepath.Join(opts.Bin, "sweeperd"),
			args: []string{"--bind", gossip[i], "--join", strings.Join(join, ","),
				"--node-name", fmt.Sprintf("host%d", i+1), "--cluster-file", c.clusterFile,
				"--metrics-listen", metrics},
			logPath: filepath.Join(logs, fmt.Sprintf("sweeperd%d.log", i+1)),
		})
	}
	for i := range opts.Layerds {
		host := HostAddr(i % opts.Hosts)
		addr, err := freeAddr(host)
		if err != nil {
			return err
		}
		metrics, err := freeAddr(host)
		if err != nil {
			return err
		}
		args := []string{"--store", "fdb", "--cluster-file", c.clusterFile, "--listen", addr,
			"--metrics-listen", metrics, "--tick-time", opts.TickTime.String()}
		c.Layerds = append(c.Layerds, &Proc{
			Name: fmt.Sprintf("layerd%d@%s", i+1, host), Host: host, Addr: addr, MetricsAddr: metrics,
			path: filepath.Join(opts.Bin, "layerd"), args: append(args, opts.LayerdArgs...),
			logPath: filepath.Join(logs, fmt.Sprintf("layerd%d.log", i+1)),
		})
	}
	for _, p := range append(append([]*Proc{}, c.Sweepers...), c.Layerds...) {
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, p := range append(append([]*Proc{}, c.Sweepers...), c.Layerds...) {
		if err := AwaitReady(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// configure runs an fdbcli configure command until FDB accepts it (the
// servers take a moment to find each other).
func (c *Cluster) configure(ctx context.Context, command string) error {
	for {
		out, err := c.CLI(ctx, command)
		if err == nil && (strings.Contains(out, "Database created") || strings.Contains(out, "Configuration changed")) ||
			strings.Contains(out, "already exists") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fdbcli %s: %v: %s", command, ctx.Err(), out)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// AwaitFDB waits until the database is available (status minimal).
func (c *Cluster) AwaitFDB(ctx context.Context) error {
	for {
		out, _ := c.CLI(ctx, "status minimal")
		if strings.Contains(out, "The database is available") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("FoundationDB did not become available: %v: %s", ctx.Err(), out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// CLI runs one fdbcli command against the cluster.
func (c *Cluster) CLI(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.fdbcli, "-C", c.clusterFile, "--timeout", "10", "--exec", command).CombinedOutput()
	return string(out), err
}

// ClusterFile returns the path of the FDB cluster file.
func (c *Cluster) ClusterFile() string { return c.clusterFile }

// Dir returns the cluster's directory.
func (c *Cluster) Dir() string { return c.opts.Dir }

// TickTime returns the layerds' tickTime.
func (c *Cluster) TickTime() time.Duration { return c.opts.TickTime }

// Addrs returns the client addresses of every layerd, running or not, as
// a ZooKeeper connect string takes them.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, p := range c.Layerds {
		out = append(out, p.Addr)
	}
	return out
}

// ConnectString returns the layerds' addresses joined by commas.
func (c *Cluster) ConnectString() string { return strings.Join(c.Addrs(), ",") }

// Procs returns every process: FDB servers, sweeperds, layerds.
func (c *Cluster) Procs() []*Proc {
	return append(append(append([]*Proc{}, c.FDB...), c.Sweepers...), c.Layerds...)
}

// Stop stops every process: layerds and sweeperds with SIGTERM (a few
// seconds' grace), the FDB servers last.
func (c *Cluster) Stop() {
	for _, p := range append(append([]*Proc{}, c.Layerds...), c.Sweepers...) {
		p.Terminate(10 * time.Second)
	}
	for _, p := range c.FDB {
		p.Terminate(10 * time.Second)
	}
}

// AwaitReady waits until a layerd or sweeperd answers 200 on /readyz,
// failing early if the process exits.
func AwaitReady(ctx context.Context, p *Proc) error {
	url := "http://" + p.MetricsAddr + "/readyz"
	client := &http.Client{Timeout: 2 * time.Second}
	exited := p.Exited()
	if exited == nil {
		return fmt.Errorf("%s does not run; see %s", p.Name, p.LogPath())
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting; see %s", p.Name, p.LogPath())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", p.Name, ctx.Err(), p.LogPath())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FindFDB returns the path of a FoundationDB program (PATH, then where
// the packages and scripts/test install it).
func FindFDB(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/local/bin", "/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not installed (FoundationDB 7.3)", name)
}

// handedOut holds every host:port freePort returned in this process: the
// kernel may give a port it just gave again once its listener is closed,
// and two processes of one cluster then got the same one (a layerd whose
// client and metrics ports were equal exited at start, "address already
// in use", in CI).
var handedOut struct {
	sync.Mutex
	ports map[string]bool
}

// freePort returns a TCP port free on host now, never one it returned
// before in this process.
func freePort(host string) (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[string]bool{}
	}
	for range 1000 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, fmt.Errorf("no free port on %s: %w", host, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port on %s that was not handed out already", host)
}

func freeAddr(host string) (string, error) {
	port, err := freePort(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
