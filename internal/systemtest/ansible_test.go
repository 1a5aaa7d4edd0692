package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestAnsibleLint: the playbook passes ansible-playbook --syntax-check and
// ansible-lint's production profile.
func TestAnsibleLint(t *testing.T) {
	fx := getFixture(t)
	dir := filepath.Join(fx.repo, "deploy", "ansible")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := ansibleEnv(fx)
	if out, err := run(ctx, dir, env, "ansible-playbook", "--syntax-check", "-i", "inventory/example.yml", "site.yml"); err != nil {
		t.Errorf("ansible-playbook --syntax-check: %v\n%s", err, out)
	}
	out, err := run(ctx, dir, env, "ansible-lint", "--offline", "--profile", "production", "--nocolor")
	t.Logf("ansible-lint --profile production:\n%s", out)
	if err != nil {
		t.Errorf("ansible-lint: %v", err)
	}
}

// rolloutHost is one host of the rollout's inventory: a container that
// is in both groups, fdb (sweeperd) and layerd.
type rolloutHost struct {
	name string
	c    *container
}

// TestAnsibleRollout converges deploy/ansible/site.yml against three
// containers, twice (the second run changes nothing), then rolls an
// upgrade out one host at a time, stops it at a host that fails its
// health check, finishes it, and rolls back to the older version.
func TestAnsibleRollout(t *testing.T) {
	fx := getFixture(t)
	dist := filepath.Dir(fx.debs["zkfdb-layerd "+oldVersion])
	var hosts []rolloutHost
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("zkfdb-host%d", i)
		hosts = append(hosts, rolloutHost{name, bootContainer(t, fx, name, fmt.Sprintf("127.0.0.%d", 30+i))})
	}
	playbook := func(t *testing.T, version string, hostVars map[string]map[string]any) (map[string]recap, string, error) {
		t.Helper()
		inv := map[string]any{}
		fdb := map[string]any{}
		layerd := map[string]any{}
		for _, h := range hosts {
			vars := map[string]any{"ansible_host": h.c.addr, "zkfdb_address": h.c.addr}
			for k, v := range hostVars[h.name] {
				vars[k] = v
			}
			fdb[h.name] = vars
			layerd[h.name] = nil
		}
		inv["all"] = map[string]any{
			"vars": map[string]any{
				"ansible_user":                 "root",
				"ansible_ssh_private_key_file": fx.sshKey,
				"ansible_ssh_common_args":      "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
				"ansible_python_interpreter":   "/usr/bin/python3",
				"zkfdb_package_dir":            dist,
				"zkfdb_version":                version,
				"zkfdb_fdb_cluster":            fx.cluster,
				"zkfdb_health_retries":         20,
				"zkfdb_health_delay":           1,
			},
			"children": map[string]any{
				"fdb":    map[string]any{"hosts": fdb},
				"layerd": map[string]any{"hosts": layerd},
			},
		}
		b, err := json.MarshalIndent(inv, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(fx.work, "inventory.yml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := run(ctx, filepath.Join(fx.repo, "deploy", "ansible"), ansibleEnv(fx), "ansible-playbook", "-i", path, "site.yml")
		recaps := parseRecap(out)
		t.Logf("ansible-playbook (zkfdb_version %s) took %v, %v; recap: %v", version, time.Since(start).Round(time.Second), err, recaps)
		return recaps, out, err
	}
	installed := func(t *testing.T, h rolloutHost, pkg string) string {
		t.Helper()
		return h.c.must(t, "dpkg-query", "-W", "-f=${Version}", pkg)
	}
	expectVersions := func(t *testing.T, want string) {
		t.Helper()
		for _, h := range hosts {
			for _, pkg := range []string{"zkfdb-layerd", "zkfdb-sweeperd"} {
				if v := installed(t, h, pkg); v != want {
					t.Errorf("%s: %s %s installed, want %s", h.name, pkg, v, want)
				}
			}
			if srvr, err := fourLetterWord(h.c.addr+":2181", "srvr"); !strings.Contains(srvr, "zkfdb-"+want+"-") {
				t.Errorf("%s: srvr = %q, %v; want layerd %s running", h.name, srvr, err, want)
			}
		}
	}

	t.Run("ConvergeTwice", func(t *testing.T) {
		recaps, out, err := playbook(t, oldVersion, nil)
		if err != nil || !allOK(recaps, hosts) {
			t.Fatalf("first converge: %v, recap %v\n%s", err, recaps, tail(out, 6000))
		}
		expectVersions(t, oldVersion)
		recaps, out, err = playbook(t, oldVersion, nil)
		if err != nil || !allOK(recaps, hosts) {
			t.Fatalf("second converge: %v, recap %v\n%s", err, recaps, tail(out, 6000))
		}
		for _, h := range hosts {
			if recaps[h.name].changed != 0 {
				t.Errorf("second converge changed %d tasks on %s, want 0:\n%s", recaps[h.name].changed, h.name, changedTasks(out))
			}
		}
	})

	t.Run("OneTree", func(t *testing.T) {
		// The layerds serve one tree: a node made through the first is
		// read through the last, and every sweeperd sees all three.
		first := zkConnect(t, hosts[0].c.addr+":2181")
		if _, err := first.Create("/systemtest", []byte("through "+hosts[0].name), 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			t.Fatalf("create through %s: %v", hosts[0].name, err)
		}
		last := zkConnect(t, hosts[2].c.addr+":2181")
		if data, _, err := last.Get("/systemtest"); err != nil || string(data) != "through "+hosts[0].name {
			t.Fatalf("get through %s = %q, %v", hosts[2].name, data, err)
		}
		for _, h := range hosts {
			if n := membersAlive(t, h.c.addr+":7001"); n != len(hosts) {
				t.Errorf("%s: sweeperd sees %d members alive, want %d", h.name, n, len(hosts))
			}
		}
	})

	t.Run("UpgradeStopsAtFailedHost", func(t *testing.T) {
		// The second host fails: first its restart (with a setting layerd
		// refuses, not yet checked by the old version installed), then,
		// with that fixed, its health check (layerd starts, but its
		// /readyz is not where the gate looks). Each time the rollout
		// stops there and the third host keeps the old version.
		failures := []struct {
			what, task string // the failure, and the task that must fail
			settings   map[string]any
		}{
			{"restart", "Restart layerd", map[string]any{"jute-maxbuffer": "not-a-number"}},
			{"health check", "/readyz", map[string]any{"metrics-listen": hosts[1].c.addr + ":7100"}},
		}
		for _, f := range failures {
			bad := map[string]map[string]any{hosts[1].name: {"layerd_settings": f.settings}}
			recaps, out, err := playbook(t, newVersion, bad)
			if err == nil {
				t.Fatalf("the rollout went on past a host that failed its %s:\n%s", f.what, tail(out, 6000))
			}
			if recaps[hosts[1].name].failed == 0 {
				t.Errorf("%s did not fail its %s: recap %v\n%s", hosts[1].name, f.what, recaps, tail(out, 6000))
			}
			if task := failedTask(out, hosts[1].name); !strings.Contains(task, f.task) {
				t.Errorf("%s failed at %q, want its %s (%q)", hosts[1].name, task, f.what, f.task)
			}
			if v := installed(t, hosts[0], "zkfdb-layerd"); v != newVersion {
				t.Errorf("%s (before the failed host): layerd %s, want %s", hosts[0].name, v, newVersion)
			}
			if v := installed(t, hosts[2], "zkfdb-layerd"); v != oldVersion {
				t.Errorf("%s (after the host that failed its %s): layerd %s, want it untouched at %s", hosts[2].name, f.what, v, oldVersion)
			}
			if got, err := fourLetterWord(hosts[2].c.addr+":2181", "ruok"); got != "imok" {
				t.Errorf("%s: ruok = %q, %v; its layerd should still serve", hosts[2].name, got, err)
			}
		}
	})

	t.Run("UpgradeCompletes", func(t *testing.T) {
		recaps, out, err := playbook(t, newVersion, nil)
		if err != nil || !allOK(recaps, hosts) {
			t.Fatalf("upgrade: %v, recap %v\n%s", err, recaps, tail(out, 6000))
		}
		expectVersions(t, newVersion)
	})

	t.Run("Rollback", func(t *testing.T) {
		recaps, out, err := playbook(t, oldVersion, nil)
		if err != nil || !allOK(recaps, hosts) {
			t.Fatalf("rollback: %v, recap %v\n%s", err, recaps, tail(out, 6000))
		}
		expectVersions(t, oldVersion)
		conn := zkConnect(t, hosts[1].c.addr+":2181")
		if data, _, err := conn.Get("/systemtest"); err != nil || string(data) != "through "+hosts[0].name {
			t.Errorf("after the rollback, get through %s = %q, %v", hosts[1].name, data, err)
		}
	})
}

// ansibleEnv runs Ansible without colours, retry files or host key
// prompts, with its temporary files in the run's scratch directory.
func ansibleEnv(fx *fixture) []string {
	return []string{
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_HOST_KEY_CHECKING=False",
		"ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(fx.work, "ansible-tmp"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR=" + filepath.Join(fx.work, "ansible-cp"),
	}
}

// recap is a host's line in the playbook's PLAY RECAP.
type recap struct{ ok, changed, unreachable, failed int }

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

func parseRecap(out string) map[string]recap {
	got := map[string]recap{}
	for _, m := range recapLine.FindAllStringSubmatch(out, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		got[m[1]] = recap{ok: n(2), changed: n(3), unreachable: n(4), failed: n(5)}
	}
	return got
}

func allOK(recaps map[string]recap, hosts []rolloutHost) bool {
	for _, h := range hosts {
		r, ok := recaps[h.name]
		if !ok || r.failed != 0 || r.unreachable != 0 || r.ok == 0 {
			return false
		}
	}
	return true
}

// changedTasks picks the changed tasks out of a playbook's output.
func changedTasks(out string) string {
	var b strings.Builder
	task := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "TASK [") || strings.HasPrefix(line, "RUNNING HANDLER [") {
			task = line
		}
		if strings.HasPrefix(line, "changed: ") {
			fmt.Fprintf(&b, "%s\n  %s\n", task, line)
		}
	}
	return b.String()
}

// failedTask returns the task or handler line of a playbook's output
// under which host failed, or "".
func failedTask(out, host string) string {
	task := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "TASK [") || strings.HasPrefix(line, "RUNNING HANDLER [") {
			task = line
		}
		if strings.HasPrefix(line, "fatal: ["+host+"]") {
			return task
		}
	}
	return ""
}

// zkConnect opens a ZooKeeper session to one server, closed at the test's
// end.
func zkConnect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-deadline:
			t.Fatalf("no ZooKeeper session with %s in 20s", addr)
		}
	}
}

// membersAlive reads sweeperd's members_alive gauge.
func membersAlive(t *testing.T, addr string) int {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("sweeperd's metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	m := regexp.MustCompile(`(?m)^members_alive(?:\{[^}]*\})? ([0-9.e+]+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s/metrics has no members_alive", addr)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return int(v)
}
