// Package fdbserver runs real FoundationDB server processes for tests:
// a one-process cluster on a loopback port with its data in a directory
// of the test's, which a test can stop, kill and start again (an outage),
// lock, or leave unconfigured. Every server it starts is stopped when the
// test ends. Tests that need one skip without FoundationDB installed, and
// fail instead under ZKFDB_REQUIRE_FDB=1 (internal/engines).
package fdbserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"zkfdb/internal/engines"
)

// Options shape a server. A zero field means the default.
type Options struct {
	// Unconfigured leaves the database uncreated (no "configure new"),
	// as a cluster is before its operator creates it.
	Unconfigured bool
}

// Server is one fdbserver process and its cluster file. Its methods are
// for the test's goroutine.
type Server struct {
	t           testing.TB
	dir         string
	port        int
	clusterFile string
	cmd         *exec.Cmd
	done        chan struct{}
}

// Start starts a server in a fresh directory and, unless
// opts.Unconfigured, creates its database (single replica, memory engine)
// and waits until it is available.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := find(t, "fdbserver")
	find(t, "fdbcli")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, dir: t.TempDir(), port: port}
	s.clusterFile = filepath.Join(s.dir, "fdb.cluster")
	if err := os.WriteFile(s.clusterFile, fmt.Appendf(nil, "test%d:test@127.0.0.1:%d\n", port, port), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data", "logs"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s.start(bin)
	t.Cleanup(s.Stop)
	if !opts.Unconfigured {
		out, err := s.CLI("configure new single memory")
		if err != nil && !strings.Contains(out, "already exists") {
			t.Fatalf("configure new single memory: %v: %s", err, out)
		}
		s.AwaitAvailable()
	}
	return s
}

// find returns the path of a FoundationDB program, or skips t (fails it
// under ZKFDB_REQUIRE_FDB=1) when it is not installed.
func find(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/local/bin", "/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv(engines.RequireEnv) == "1" {
		t.Fatalf("%s not installed, and FoundationDB is required (%s=1)", name, engines.RequireEnv)
	}
	t.Skipf("%s not installed (FoundationDB 7.3)", name)
	return ""
}

func (s *Server) start(bin string) {
	s.t.Helper()
	cmd := exec.Command(bin, "-p", fmt.Sprintf("127.0.0.1:%d", s.port), "-C", s.clusterFile,
		"-d", filepath.Join(s.dir, "data"), "-L", filepath.Join(s.dir, "logs"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
}

// ClusterFile returns the path of the server's cluster file.
func (s *Server) ClusterFile() string { return s.clusterFile }

// Running reports whether the process runs.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and waits for
// it; its data stays for Restart.
func (s *Server) Stop() {
	if !s.Running() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart starts the stopped server again on its port and data, and
// waits until the database is available.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(find(s.t, "fdbserver"))
	s.AwaitAvailable()
}

// AwaitAvailable waits, up to a minute, until the database is available.
func (s *Server) AwaitAvailable() {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, _ := s.CLI("status minimal")
		if strings.Contains(out, "The database is available") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the database did not become available: %s", out)
		}
		if !s.Running() {
			s.t.Fatalf("fdbserver exited; logs in %s", filepath.Join(s.dir, "logs"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// CLI runs one fdbcli command against the server.
func (s *Server) CLI(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, find(s.t, "fdbcli"), "-C", s.clusterFile, "--timeout", "20", "--exec", command).CombinedOutput()
	return string(out), err
}

var lockUID = regexp.MustCompile(`lockUID: ([0-9a-f]{32})`)

// Lock locks the database (fdbcli lock) and returns the lock's UID.
func (s *Server) Lock() string {
	s.t.Helper()
	out, err := s.CLI("lock")
	m := lockUID.FindStringSubmatch(out)
	if err != nil || m == nil {
		s.t.Fatalf("fdbcli lock: %v: %s", err, out)
	}
	return m[1]
}

// Unlock unlocks a database that Lock locked. fdbcli asks to type back a
// random passphrase it prints; this does.
func (s *Server) Unlock(uid string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, find(s.t, "fdbcli"), "-C", s.clusterFile, "--timeout", "20", "--exec", "unlock "+uid)
	in, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "\n") || strings.Count(out.String(), "\n") < 2 {
		n, err := outPipe.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	io.WriteString(in, strings.TrimSpace(lines[len(lines)-1])+"\n")
	in.Close()
	rest, _ := io.ReadAll(outPipe)
	if err := cmd.Wait(); err != nil || !strings.Contains(string(rest), "Database unlocked") {
		s.t.Fatalf("fdbcli unlock: %v: %s%s", err, out.String(), rest)
	}
}

// Port returns the server's port.
func (s *Server) Port() string { return strconv.Itoa(s.port) }
