package systemtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// container is a Debian 12 root booted with systemd-nspawn: systemd is its
// PID 1, it shares the host's network and uses its own loopback address.
type container struct {
	name string
	addr string // its loopback address, 127.0.0.N
	dir  string
	log  string // systemd-nspawn's output (the boot's console)
	cmd  *exec.Cmd
	init int // the container's PID 1, as the host sees it
}

// bootContainer copies the fixture's root, prepares it (host name, sshd on
// addr only, the test's ssh key, FoundationDB's client package), boots
// it and waits for systemd to finish starting. The test's cleanup powers
// it off and removes it.
func bootContainer(t *testing.T, fx *fixture, name, addr string) *container {
	t.Helper()
	c := &container{name: name, addr: addr, dir: filepath.Join(fx.work, name), log: filepath.Join(fx.work, name+".console")}
	if out, err := run(context.Background(), "", nil, "cp", "-a", "--reflink=auto", fx.rootfs, c.dir); err != nil {
		t.Fatalf("copy the root for %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	files := map[string]string{
		"etc/hostname": name + "\n",
		// Containers share the host's network: sshd must not take
		// another container's port 22.
		"etc/ssh/sshd_config.d/zkfdb-systemtest.conf": "ListenAddress " + addr + "\nPermitRootLogin prohibit-password\n",
		"root/.ssh/authorized_keys":                   mustRead(t, fx.sshKey+".pub"),
	}
	for path, content := range files {
		full := filepath.Join(c.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(c.dir, "etc/hostname"), 0o644)
	os.Chmod(filepath.Join(c.dir, "etc/ssh/sshd_config.d/zkfdb-systemtest.conf"), 0o644)
	// FoundationDB's client package is on every host before zkfdb, as
	// on a FoundationDB host (or a layerd host prepared for it).
	copyFile(t, fx.fdbClients, filepath.Join(c.dir, "root", filepath.Base(fx.fdbClients)))
	if out, err := run(context.Background(), "", nil, "chroot", c.dir, "dpkg", "-i", "/root/"+filepath.Base(fx.fdbClients)); err != nil {
		t.Fatalf("install foundationdb-clients in %s: %v\n%s", name, err, out)
	}

	// systemd-nspawn keeps its state in /run/systemd/nspawn, which is
	// missing where the host's PID 1 is not systemd.
	if err := os.MkdirAll("/run/systemd/nspawn", 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := run(context.Background(), "", nil, "sh", "-c", "mountpoint -q /run/systemd/nspawn || mount -t tmpfs tmpfs /run/systemd/nspawn"); err != nil {
		t.Fatalf("tmpfs on /run/systemd/nspawn: %v\n%s", err, out)
	}
	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command("systemd-nspawn", "-D", c.dir, "--boot", "--register=no", "--keep-unit", "--machine="+name, "--console=read-only")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn %s: %v", name, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { c.cmd.Wait(); close(exited) }()
	t.Cleanup(func() { c.powerOff(t, exited) })

	deadline := time.Now().Add(90 * time.Second)
	for c.init == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no init process after 90s; console:\n%s", name, tail(mustRead(t, c.log), 2000))
		}
		select {
		case <-exited:
			t.Fatalf("%s: systemd-nspawn exited; console:\n%s", name, tail(mustRead(t, c.log), 2000))
		case <-time.After(100 * time.Millisecond):
		}
		c.init = childOf(c.cmd.Process.Pid)
	}
	// is-system-running --wait returns once start-up is over.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		out, _ := c.execCtx(ctx, "systemctl", "is-system-running", "--wait")
		state := strings.TrimSpace(out)
		if state == "running" {
			break
		}
		if ctx.Err() != nil {
			failed, _ := c.exec("systemctl", "--failed", "--no-legend")
			t.Fatalf("%s: systemd is %q, not running; failed units:\n%s", name, state, failed)
		}
		// Before D-Bus is up systemctl cannot ask yet.
		time.Sleep(200 * time.Millisecond)
	}
	return c
}

// powerOff asks the container's systemd to halt (systemd-nspawn forwards
// SIGTERM as a shutdown request) and kills it if it takes longer than a
// minute.
func (c *container) powerOff(t *testing.T, exited <-chan struct{}) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Errorf("%s did not power off within a minute: killed", c.name)
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// childOf returns the first child of pid, or 0.
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// exec runs a command inside the container (its namespaces, as root) and
// returns its combined output.
func (c *container) exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.execCtx(ctx, args...)
}

func (c *container) execCtx(ctx context.Context, args ...string) (string, error) {
	full := append([]string{"-t", strconv.Itoa(c.init), "-m", "-u", "-i", "-n", "-p", "--"}, args...)
	return run(ctx, "", []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}, "nsenter", full...)
}

// must runs a command in the container and fails the test if it fails.
func (c *container) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.exec(args...)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// sh runs a shell command line in the container.
func (c *container) sh(t *testing.T, script string) string {
	t.Helper()
	return c.must(t, "sh", "-c", script)
}

// writeFile writes a file inside the container's root.
func (c *container) writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(c.dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// unit reads systemctl show properties of a unit.
func (c *container) unit(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out := c.must(t, "systemctl", "show", unit, "--property="+strings.Join(props, ","))
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	return got
}

// waitUnit polls a unit's properties until ok accepts them, or fails the
// test after within.
func (c *container) waitUnit(t *testing.T, unit string, within time.Duration, what string, ok func(map[string]string) bool, props ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := c.unit(t, unit, props...)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			journal, _ := c.exec("journalctl", "-u", unit, "-n", "30", "--no-pager")
			t.Fatalf("%s: %s: not %s within %v: %v\njournal:\n%s", c.name, unit, what, within, got, journal)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// fourLetterWord sends a four-letter word to a ZooKeeper client port and
// returns the answer.
func fourLetterWord(addr, word string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(word)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	return string(b), err
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
