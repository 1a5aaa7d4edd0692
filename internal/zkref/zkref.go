// Package zkref starts and stops a real Apache ZooKeeper standalone server,
// the one of Debian's zookeeper package, for tests and benchmarks. It is the
// reference the differential tests compare layerd with.
//
// A Server listens on a free loopback port, keeps its data in a temporary
// directory (fsync on, as ZooKeeper's default), runs with the admin server
// off and every four-letter word allowed, and writes its log to a buffer
// that Start's errors and Server.Log show. Stop kills the JVM, waits for it
// and removes the temporary directories.
//
// If the package is missing, Start returns an error matching ErrNotInstalled
// that tells to run ./scripts/test, which installs it.
package zkref

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ErrNotInstalled means Debian's zookeeper package (or java) is missing.
var ErrNotInstalled = errors.New("zkref: Debian's zookeeper package is not installed: run ./scripts/test, which installs it")

// Where Debian's package puts things. The start scripts source zkEnv.sh for
// the classpath; zookeeper.jar's manifest lists its dependencies.
const (
	debianBin       = "/usr/share/zookeeper/bin"
	debianJar       = "/usr/share/java/zookeeper.jar"
	javaDir         = "/usr/share/java"
	standaloneClass = "org.apache.zookeeper.server.ZooKeeperServerMain"
	quorumClass     = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
)

// Options configure a Server. The zero value is Debian's configuration on a
// fresh temporary data directory.
type Options struct {
	// DataDir holds the snapshots and the transaction log. Empty means a
	// temporary directory that Stop removes; a given directory is kept.
	DataDir string
	// TickTime is ZooKeeper's tick; zero means 2s, as in Debian's zoo.cfg.
	// Session timeouts are clamped to [2, 20] ticks.
	TickTime time.Duration
	// Properties are Java system properties (-Dkey=value), for example
	// "zookeeper.extendedTypesEnabled": "true" for TTL nodes.
	Properties map[string]string
	// Config holds extra zoo.cfg lines ("key=value"), written after the
	// defaults so that they override them.
	Config []string
	// JVMFlags are passed to java before the class name (e.g. "-Xmx256m").
	JVMFlags []string
	// StartTimeout bounds the wait for the first "imok"; zero means 60s.
	StartTimeout time.Duration
	// AdminServer runs ZooKeeper's AdminServer (HTTP, /commands) on a
	// loopback port of its own (Server.AdminAddr), with the Jetty and
	// Jackson jars Debian's libzookeeper-java depends on.
	AdminServer bool
}

// Server is a running ZooKeeper. Its methods are safe for concurrent use.
type Server struct {
	addr    string
	admin   string // the AdminServer's host:port; "" when off
	dir     string // temporary directory: conf, log and (by default) data
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd.Wait returned
	waitErr error         // valid once exited is closed
	log     *syncBuffer

	stopOnce sync.Once
	stopErr  error
}

// Start starts a ZooKeeper standalone server and returns once it answers
// "ruok" with "imok" and serves requests. ctx bounds the start only; the server runs until Stop.
// A port taken between choosing and binding it is retried with another.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return retryPorts(ctx, opts, func(ctx context.Context, java, classpath string) (*Server, error) {
		return start(ctx, java, classpath, opts)
	})
}

// retryPorts finds java and ZooKeeper's classpath and runs start within
// opts.StartTimeout (default 60 s), again with other ports, up to five
// times, while it fails because a port it chose was taken meanwhile.
func retryPorts[T any](ctx context.Context, opts Options, start func(ctx context.Context, java, classpath string) (T, error)) (T, error) {
	var zero T
	java, classpath, err := locate()
	if err != nil {
		return zero, err
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	const attempts = 5
	for attempt := 1; ; attempt++ {
		v, err := start(ctx, java, classpath)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == attempts {
			return zero, err
		}
	}
}

// StartT starts a server for a test or benchmark and stops it in t.Cleanup.
// It fails the test if the server does not start.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop ZooKeeper: %v", err)
		}
	})
	return s
}

// StartEnsembleT starts an ensemble of n for a test or benchmark and stops
// its servers in t.Cleanup. It fails the test if the ensemble does not
// start.
func StartEnsembleT(t testing.TB, n int, opts Options) []*Server {
	t.Helper()
	servers, err := StartEnsemble(context.Background(), n, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			if err := s.Stop(); err != nil {
				t.Errorf("stop ZooKeeper: %v", err)
			}
		}
	})
	return servers
}

// Addr returns the client address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// AdminAddr returns the AdminServer's host:port ("" without
// Options.AdminServer).
func (s *Server) AdminAddr() string { return s.admin }

// Log returns what the server has printed so far (its log goes to stdout).
func (s *Server) Log() string { return s.log.String() }

// Stop kills the JVM, waits for it to exit and removes the server's
// temporary directories. It is idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				s.stopErr = fmt.Errorf("zkref: kill: %w", err)
			}
		}
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.stopErr = errors.Join(s.stopErr, errors.New("zkref: the JVM did not exit within 30s of SIGKILL"))
			return
		}
		if err := os.RemoveAll(s.dir); err != nil {
			s.stopErr = errors.Join(s.stopErr, fmt.Errorf("zkref: %w", err))
		}
	})
	return s.stopErr
}

var errPortTaken = errors.New("zkref: port taken")

func start(ctx context.Context, java, classpath string, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s, err := launch(java, classpath, opts, port, standaloneClass, nil, "")
	if err != nil {
		return nil, err
	}
	if err := s.awaitReady(ctx); err != nil {
		return nil, s.failed(err, port)
	}
	return s, nil
}

// failed stops a server that did not become ready and says why: the port
// was taken (for a retry), or what the JVM printed.
func (s *Server) failed(err error, port int) error {
	stopErr := s.Stop()
	if strings.Contains(s.Log(), "Address already in use") {
		return fmt.Errorf("%w: %d", errPortTaken, port)
	}
	return errors.Join(fmt.Errorf("%w\n--- ZooKeeper output ---\n%s", err, s.Log()), stopErr)
}

// launch writes a server's configuration (extra zoo.cfg lines, and myid
// in its data directory for an ensemble member) and starts its JVM
// running mainClass.
func launch(java, classpath string, opts Options, port int, mainClass string, extra []string, myid string) (*Server, error) {
	dir, err := os.MkdirTemp("", "zkref-")
	if err != nil {
		return nil, fmt.Errorf("zkref: %w", err)
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	confDir := filepath.Join(dir, "conf")
	for _, d := range []string{dataDir, confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("zkref: %w", err)
		}
	}
	cfg := zooCfg(opts, dataDir, port) + strings.Join(extra, "")
	adminAddr := ""
	if opts.AdminServer {
		adminPort, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		adminAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(adminPort))
		cfg += fmt.Sprintf("admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=%d\n", adminPort)
		for _, j := range adminJars {
			if p := filepath.Join(javaDir, j); fileExists(p) {
				classpath += ":" + p
			}
		}
	}
	files := map[string]string{
		filepath.Join(confDir, "zoo.cfg"):          cfg,
		filepath.Join(confDir, "log4j.properties"): log4jProperties,
	}
	if myid != "" {
		files[filepath.Join(dataDir, "myid")] = myid + "\n"
	}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("zkref: %w", err)
		}
	}

	args := append([]string(nil), opts.JVMFlags...)
	args = append(args,
		"-Dlog4j.configuration=file:"+filepath.Join(confDir, "log4j.properties"),
		"-Dzookeeper.log.dir="+dir,
		"-Dzookeeper.admin.enableServer="+strconv.FormatBool(opts.AdminServer),
		"-Dzookeeper.jmx.log4j.disable=true",
	)
	keys := make([]string, 0, len(opts.Properties))
	for k := range opts.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-D"+k+"="+opts.Properties[k])
	}
	args = append(args, "-cp", confDir+":"+classpath, mainClass, filepath.Join(confDir, "zoo.cfg"))

	s := &Server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		admin:  adminAddr,
		dir:    dir,
		exited: make(chan struct{}),
		log:    &syncBuffer{},
	}
	s.cmd = exec.Command(java, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("zkref: start java: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// StartEnsemble starts n ZooKeeper servers on loopback as one quorum
// (QuorumPeerMain, ids 1 … n) and returns once every one of them answers
// "imok" and serves as leader or follower. opts apply to each; DataDir
// must be empty. ctx bounds the start only; stop each server with Stop.
// Ports taken between choosing and binding them are retried with others.
func StartEnsemble(ctx context.Context, n int, opts Options) ([]*Server, error) {
	if opts.DataDir != "" {
		return nil, errors.New("zkref: an ensemble's servers need data directories of their own")
	}
	return retryPorts(ctx, opts, func(ctx context.Context, java, classpath string) ([]*Server, error) {
		return startEnsemble(ctx, java, classpath, n, opts)
	})
}

func startEnsemble(ctx context.Context, java, classpath string, n int, opts Options) ([]*Server, error) {
	ports := make([]int, 3*n) // client, quorum and election port of each
	held := make([]net.Listener, 0, len(ports))
	for i := range ports {
		// Held open until all are chosen, so that they differ.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, ln := range held {
				ln.Close()
			}
			return nil, fmt.Errorf("zkref: %w", err)
		}
		held = append(held, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range held {
		ln.Close()
	}
	quorum := []string{"initLimit=10\n", "syncLimit=5\n"}
	for i := range n {
		quorum = append(quorum, fmt.Sprintf("server.%d=127.0.0.1:%d:%d\n", i+1, ports[3*i+1], ports[3*i+2]))
	}
	servers := make([]*Server, 0, n)
	stopAll := func() {
		for _, s := range servers {
			s.Stop()
		}
	}
	for i := range n {
		s, err := launch(java, classpath, opts, ports[3*i], quorumClass, quorum, strconv.Itoa(i+1))
		if err != nil {
			stopAll()
			return nil, err
		}
		servers = append(servers, s)
	}
	for i, s := range servers {
		if err := s.awaitReady(ctx); err != nil {
			err = s.failed(err, ports[3*i])
			stopAll()
			return nil, err
		}
	}
	return servers, nil
}

// awaitReady polls until the server answers "ruok" with "imok" and serves
// requests ("imok" comes a moment before the database is loaded, while
// "srvr" still says "not currently serving requests"), or the JVM exits, or
// ctx ends. There is no event to wait for: the JVM says nothing we could
// read reliably once it serves.
func (s *Server) awaitReady(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if s.probe(ctx) {
			return nil
		}
		if strings.Contains(s.Log(), "Address already in use") {
			return errPortTaken
		}
		select {
		case <-s.exited:
			return fmt.Errorf("zkref: ZooKeeper exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("zkref: ZooKeeper not ready on %s: %w", s.addr, ctx.Err())
		case <-t.C:
		}
	}
}

// probe tells whether the server is ready. Each word gets a second: a
// connection accepted while the JVM starts may never be answered.
func (s *Server) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if ok, _ := FourLetterWord(ctx, s.addr, "ruok"); ok != "imok" {
		return false
	}
	srvr, _ := FourLetterWord(ctx, s.addr, "srvr")
	for _, mode := range []string{"standalone", "leader", "follower"} {
		if strings.Contains(srvr, "Mode: "+mode) {
			return true
		}
	}
	return false
}

// FourLetterWord sends a four-letter word ("ruok", "srvr", "mntr", …) to
// addr and returns the whole answer. The exchange is bounded by ctx and by
// 10 seconds.
func FourLetterWord(ctx context.Context, addr, word string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// ZkCli runs Debian's zkCli.sh against addr with args as one command (for
// example "ls", "/"), and returns its standard output. Its standard error
// (the JVM's and SLF4J's chatter) is part of the error if it fails.
func ZkCli(ctx context.Context, addr string, args ...string) (string, error) {
	script := filepath.Join(debianBin, "zkCli.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, append([]string{"-server", addr}, args...)...)
	// The client's log would go to /var/log/zookeeper; keep it out of there.
	cmd.Env = append(os.Environ(), "ZOO_LOG_DIR="+os.TempDir(), "CLIENT_JVMFLAGS=-Dzookeeper.log.dir="+os.TempDir())
	cmd.Stdin = nil
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("zkref: zkCli %s: %w\n--- stderr ---\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func zooCfg(opts Options, dataDir string, port int) string {
	tick := opts.TickTime
	if tick == 0 {
		tick = 2 * time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=%d\n", tick.Milliseconds())
	fmt.Fprintf(&b, "dataDir=%s\n", dataDir)
	fmt.Fprintf(&b, "clientPort=%d\n", port)
	b.WriteString("clientPortAddress=127.0.0.1\n")
	b.WriteString("admin.enableServer=false\n")
	b.WriteString("4lw.commands.whitelist=*\n")
	for _, l := range opts.Config {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// adminJars are what ZooKeeper's AdminServer needs beside zookeeper.jar,
// as Debian installs them (libjetty9-java, libjackson2-*-java,
// libservlet-api-java: dependencies of libzookeeper-java).
var adminJars = []string{"jetty9-server.jar", "jetty9-servlet.jar", "jetty9-util.jar", "jetty9-http.jar", "jetty9-io.jar",
	"jetty9-security.jar", "servlet-api.jar", "jackson-databind.jar", "jackson-core.jar", "jackson-annotations.jar"}

// log4jProperties sends the server's log to stdout, which Server captures.
const log4jProperties = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
`

// locate finds java and the classpath of Debian's ZooKeeper: the jars the
// package's own zkEnv.sh puts on CLASSPATH (zookeeper.jar, whose manifest
// names its dependencies), plus the log4j 1.2 binding of SLF4J that the
// package depends on, so that the server's log is not silently dropped.
func locate() (java, classpath string, err error) {
	java, err = exec.LookPath("java")
	if err != nil {
		if _, statErr := os.Stat("/usr/bin/java"); statErr != nil {
			return "", "", fmt.Errorf("%w (java: %v)", ErrNotInstalled, err)
		}
		java = "/usr/bin/java"
	}
	var jars []string
	if b, err := os.ReadFile(filepath.Join(debianBin, "zkEnv.sh")); err == nil {
		jars = envClasspath(string(b))
	}
	if len(jars) == 0 {
		if _, err := os.Stat(debianJar); err != nil {
			return "", "", fmt.Errorf("%w (%v)", ErrNotInstalled, err)
		}
		jars = []string{debianJar}
	}
	for _, j := range []string{"slf4j-log4j12.jar", "log4j-1.2.jar"} {
		if p := filepath.Join(javaDir, j); fileExists(p) {
			jars = append(jars, p)
		}
	}
	return java, strings.Join(jars, ":"), nil
}

// envClasspath returns the existing jar files named by CLASSPATH= lines of
// a zkEnv.sh; directories (the config dir) are replaced by the server's own.
func envClasspath(script string) []string {
	var jars []string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		v, ok := strings.CutPrefix(line, "CLASSPATH=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		for _, p := range strings.Split(v, ":") {
			if strings.HasSuffix(p, ".jar") && fileExists(p) {
				jars = append(jars, p)
			}
		}
	}
	return jars
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("zkref: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of os/exec
// and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
