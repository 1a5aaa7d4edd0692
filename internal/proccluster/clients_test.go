//go:build fdb

package proccluster

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zkfdb/internal/zkref"
)

// TestClientsFailOver: kazoo and zkCli, given the three layerds as their
// connect string, as go-zookeeper is in the fault tests. kazoo holds an
// ephemeral node and a data watch; its layerd is killed; it comes back on
// another with the same session, the node and the watch. With the layerd
// back, zkCli writes through the connect string and reads back through
// another order of it.
func TestClientsFailOver(t *testing.T) {
	c := StartT(t, daemons(t), Options{})

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", filepath.Join("testdata", "kazoo_failover.py"), c.ConnectString())
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "server ") {
		cmd.Wait()
		t.Fatalf("kazoo: %q, want its server (is python3-kazoo installed? scripts/test installs it)", lines.Text())
	}
	victim := layerdAt(t, c, strings.TrimPrefix(lines.Text(), "server "))
	victim.Kill()
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	var oks []string
	for lines.Scan() {
		t.Logf("kazoo: %s", lines.Text())
		if f := strings.Fields(lines.Text()); len(f) == 2 && f[0] == "ok" {
			oks = append(oks, f[1])
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("kazoo: %v", err)
	}
	if want := "reconnected same-session ephemeral watch"; strings.Join(oks, " ") != want {
		t.Errorf("kazoo's checks passed: %q, want %q", oks, want)
	}

	// zkCli's one-shot mode runs its command on the first server it
	// tries, without moving on from a dead one: bring the killed layerd
	// back first.
	restart(t, victim)
	if _, err := zkref.ZkCli(ctx, c.ConnectString(), "create", "/zkcli", "through-the-cluster"); err != nil {
		t.Fatal(err)
	}
	addrs := c.Addrs()
	reversed := []string{addrs[2], addrs[1], addrs[0]}
	out, err := zkref.ZkCli(ctx, strings.Join(reversed, ","), "get", "/zkcli")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "through-the-cluster") {
		t.Fatalf("zkCli get /zkcli: %q", out)
	}
}
