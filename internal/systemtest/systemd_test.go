package systemtest

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// daemonPorts are where each daemon listens in a container: its client
// or memberlist port and its metrics port (/metrics, /readyz).
var daemonPorts = map[string][2]string{
	"layerd":   {"2181", "7000"},
	"sweeperd": {"7946", "7001"},
}

// TestPackagesLintian: the packages have no lintian error, and their
// configuration files are conffiles (kept on upgrade).
func TestPackagesLintian(t *testing.T) {
	fx := getFixture(t)
	for _, d := range []string{"layerd", "sweeperd"} {
		deb := fx.debs["zkfdb-"+d+" "+newVersion]
		out, err := run(context.Background(), "", nil, "lintian", "--fail-on", "error", deb)
		t.Logf("lintian %s:\n%s", path.Base(deb), out)
		if err != nil {
			t.Errorf("lintian %s: %v", path.Base(deb), err)
		}
		conffiles, err := run(context.Background(), "", nil, "dpkg-deb", "--info", deb, "conffiles")
		if err != nil || strings.TrimSpace(conffiles) != "/etc/"+d+"/"+d+".conf" {
			t.Errorf("%s: conffiles = %q (%v), want /etc/%s/%s.conf", path.Base(deb), conffiles, err, d, d)
		}
	}
}

// TestSystemdUnits installs both packages in one container and checks the
// units under systemd: readiness (Type=notify), the watchdog,
// Restart=on-failure and its rate limit, graceful stop, the sandbox,
// systemd-analyze security's score, an upgrade that keeps a changed
// conffile, and a purge that leaves nothing behind.
func TestSystemdUnits(t *testing.T) {
	fx := getFixture(t)
	c := bootContainer(t, fx, "zkfdb-units", "127.0.0.11")
	c.writeFile(t, "etc/foundationdb/fdb.cluster", fx.cluster+"\n", 0o644)
	// Settings an operator (or the Ansible role) writes before the
	// install, so that the first start has them.
	c.writeFile(t, "etc/layerd/layerd.conf", fmt.Sprintf(`store = fdb
cluster-file = /var/lib/layerd/fdb.cluster
data-dir = /var/lib/layerd
listen = %[1]s:2181
metrics-listen = %[1]s:7000
4lw.commands.whitelist = ruok, srvr
`, c.addr), 0o644)
	c.writeFile(t, "etc/sweeperd/sweeperd.conf", fmt.Sprintf(`bind = %[1]s:7946
advertise = %[1]s:7946
cluster-file = /var/lib/sweeperd/fdb.cluster
metrics-listen = %[1]s:7001
`, c.addr), 0o644)
	for _, d := range []string{"layerd", "sweeperd"} {
		copyFile(t, fx.debs["zkfdb-"+d+" "+oldVersion], path.Join(c.dir, "root", "zkfdb-"+d+".deb"))
	}
	c.must(t, "env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "--force-confold", "-i", "/root/zkfdb-layerd.deb", "/root/zkfdb-sweeperd.deb")

	t.Run("InstallStarts", func(t *testing.T) {
		for _, d := range []string{"layerd", "sweeperd"} {
			got := c.waitUnit(t, d+".service", 30*time.Second, "active", func(p map[string]string) bool { return p["ActiveState"] == "active" },
				"ActiveState", "Type", "User", "UnitFileState")
			if got["Type"] != "notify" || got["User"] != d || got["UnitFileState"] != "enabled" {
				t.Errorf("%s: %v, want Type=notify, User=%s, enabled", d, got, d)
			}
			c.must(t, "getent", "passwd", d)
		}
		if out := c.must(t, "layerd", "--version"); !strings.Contains(out, oldVersion) || !strings.Contains(out, "FoundationDB") {
			t.Errorf("layerd --version = %q, want version %s with FoundationDB", out, oldVersion)
		}
	})

	t.Run("ReadyOnlyWhenServing", func(t *testing.T) {
		// systemctl restart returns once READY=1 came: the daemons must
		// serve at that moment, without a retry.
		for _, d := range []string{"layerd", "sweeperd"} {
			c.must(t, "systemctl", "restart", d)
			if code := httpStatus(c.addr + ":" + daemonPorts[d][1] + "/readyz"); code != http.StatusOK {
				t.Errorf("%s: /readyz = %d right after systemctl restart returned", d, code)
			}
		}
		if got, err := fourLetterWord(c.addr+":2181", "ruok"); got != "imok" {
			t.Errorf("ruok right after systemctl restart layerd = %q, %v", got, err)
		}
		// With the store unreachable layerd never says READY=1: the
		// unit stays activating.
		c.writeFile(t, "etc/default/layerd", "LAYERD_CLUSTER_FILE=/etc/layerd/nowhere.cluster\n", 0o644)
		c.writeFile(t, "etc/layerd/nowhere.cluster", "dead:dead@127.0.0.1:1\n", 0o644)
		c.must(t, "systemctl", "restart", "--no-block", "layerd")
		c.waitUnit(t, "layerd.service", 10*time.Second, "activating", func(p map[string]string) bool { return p["ActiveState"] == "activating" }, "ActiveState")
		held := time.Now().Add(5 * time.Second)
		for time.Now().Before(held) {
			if got := c.unit(t, "layerd.service", "ActiveState")["ActiveState"]; got != "activating" {
				t.Fatalf("layerd without a store: ActiveState %s, want activating until the store answers", got)
			}
			time.Sleep(500 * time.Millisecond)
		}
		c.must(t, "rm", "/etc/default/layerd", "/etc/layerd/nowhere.cluster")
		c.must(t, "systemctl", "restart", "layerd")
		if got, err := fourLetterWord(c.addr+":2181", "ruok"); got != "imok" {
			t.Errorf("ruok after the store came back = %q, %v", got, err)
		}
	})

	t.Run("WatchdogRestartsHungDaemon", func(t *testing.T) {
		for _, d := range []string{"layerd", "sweeperd"} {
			c.writeFile(t, "etc/systemd/system/"+d+".service.d/watchdog.conf", "[Service]\nWatchdogSec=4s\n", 0o644)
			c.must(t, "systemctl", "daemon-reload")
			c.must(t, "systemctl", "restart", d)
			before := c.unit(t, d+".service", "MainPID", "NRestarts")
			pid, _ := strconv.Atoi(before["MainPID"])
			// Hung: alive, but its watchdog pings stop.
			c.must(t, "kill", "-STOP", strconv.Itoa(pid))
			c.waitUnit(t, d+".service", 40*time.Second, "restarted by the watchdog", func(p map[string]string) bool {
				return p["ActiveState"] == "active" && p["MainPID"] != before["MainPID"] && p["MainPID"] != "0"
			}, "ActiveState", "MainPID", "NRestarts")
			journal := c.must(t, "journalctl", "-u", d, "--no-pager", "-o", "cat")
			if !strings.Contains(journal, "Watchdog timeout") {
				t.Errorf("%s: journal has no watchdog timeout:\n%s", d, tail(journal, 2000))
			}
			c.must(t, "rm", "-r", "/etc/systemd/system/"+d+".service.d")
			c.must(t, "systemctl", "daemon-reload")
			c.must(t, "systemctl", "reset-failed", d)
			c.must(t, "systemctl", "restart", d)
		}
	})

	t.Run("RestartOnFailure", func(t *testing.T) {
		for _, d := range []string{"layerd", "sweeperd"} {
			before := c.unit(t, d+".service", "MainPID", "NRestarts")
			c.must(t, "kill", "-KILL", before["MainPID"])
			got := c.waitUnit(t, d+".service", 20*time.Second, "restarted", func(p map[string]string) bool {
				return p["ActiveState"] == "active" && p["MainPID"] != before["MainPID"] && p["MainPID"] != "0"
			}, "ActiveState", "MainPID", "NRestarts")
			if n0, n1 := atoi(before["NRestarts"]), atoi(got["NRestarts"]); n1 != n0+1 {
				t.Errorf("%s: NRestarts %d -> %d after one kill, want one restart", d, n0, n1)
			}
		}
	})

	t.Run("RestartRateLimit", func(t *testing.T) {
		// StartLimitBurst=5 in 60s: killing layerd each time it is up
		// ends in a failed unit, not an endless loop.
		c.must(t, "systemctl", "reset-failed", "layerd")
		kills := 0
		deadline := time.Now().Add(90 * time.Second)
		for {
			p := c.unit(t, "layerd.service", "ActiveState", "MainPID", "Result")
			if p["ActiveState"] == "failed" {
				// Result keeps the last failure (signal); the refusal
				// to restart is in the journal.
				journal := c.must(t, "journalctl", "-u", "layerd", "-n", "20", "--no-pager", "-o", "cat")
				if !strings.Contains(journal, "Start request repeated too quickly") {
					t.Errorf("layerd failed (Result=%s) without hitting the start limit:\n%s", p["Result"], journal)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("layerd still %v after %d kills in 90s: no start limit", p, kills)
			}
			if p["ActiveState"] == "active" && p["MainPID"] != "0" {
				if _, err := c.exec("kill", "-KILL", p["MainPID"]); err == nil {
					kills++
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("layerd: start limit hit after %d kills", kills)
		// reset-failed cleared the count: 5 restarts are allowed, the
		// sixth failure is refused.
		if kills != 6 {
			t.Errorf("start limit hit after %d kills, want 6 (StartLimitBurst=5)", kills)
		}
		c.must(t, "systemctl", "reset-failed", "layerd")
		c.must(t, "systemctl", "start", "layerd")
	})

	t.Run("StopIsGraceful", func(t *testing.T) {
		for _, d := range []string{"layerd", "sweeperd"} {
			since := c.must(t, "date", "+%Y-%m-%d %H:%M:%S")
			c.must(t, "systemctl", "stop", d)
			got := c.unit(t, d+".service", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
			// ExecMainCode 1 is CLD_EXITED: it exited, was not killed.
			if got["ActiveState"] != "inactive" || got["Result"] != "success" || got["ExecMainCode"] != "1" || got["ExecMainStatus"] != "0" {
				t.Errorf("%s after systemctl stop: %v, want inactive, success, exited 0", d, got)
			}
			journal := c.must(t, "journalctl", "-u", d, "--since", strings.TrimSpace(since), "--no-pager", "-o", "cat")
			if !strings.Contains(journal, d+" stopped") {
				t.Errorf("%s: no %q in the journal of its stop:\n%s", d, d+" stopped", journal)
			}
			c.must(t, "systemctl", "start", d)
		}
	})

	t.Run("Sandbox", func(t *testing.T) {
		for _, d := range []string{"layerd", "sweeperd"} {
			pid := c.unit(t, d+".service", "MainPID")["MainPID"]
			// In the daemon's own mount namespace, as its user.
			as := func(script string) (string, error) {
				return c.exec("nsenter", "-t", pid, "-m", "setpriv", "--reuid="+d, "--regid="+d, "--clear-groups", "sh", "-c", script)
			}
			if out, err := as("touch /var/lib/" + d + "/probe && rm /var/lib/" + d + "/probe"); err != nil {
				t.Errorf("%s cannot write its state directory: %v\n%s", d, err, out)
			}
			for _, dir := range []string{"/etc", "/usr/bin", "/var/lib", "/opt", "/root", "/home"} {
				if out, err := as("touch " + dir + "/zkfdb-probe"); err == nil {
					t.Errorf("%s wrote %s/zkfdb-probe outside its state directory (%s)", d, dir, out)
				}
			}
			score := c.must(t, "systemd-analyze", "security", "--no-pager", d+".service")
			m := regexp.MustCompile(`Overall exposure level for ` + d + `\.service: ([0-9.]+) (\S+)`).FindStringSubmatch(score)
			if m == nil {
				t.Fatalf("systemd-analyze security %s: no overall level:\n%s", d, tail(score, 1000))
			}
			t.Logf("systemd-analyze security %s.service: %s %s", d, m[1], m[2])
			if v, _ := strconv.ParseFloat(m[1], 64); v > 3.7 {
				t.Errorf("%s.service exposure %s %s, want OK (<= 3.7)", d, m[1], m[2])
			}
		}
	})

	t.Run("UpgradeKeepsConffile", func(t *testing.T) {
		c.sh(t, "echo '# changed by the operator' >> /etc/layerd/layerd.conf")
		before := c.unit(t, "layerd.service", "MainPID")
		copyFile(t, fx.debs["zkfdb-layerd "+newVersion], path.Join(c.dir, "root", "zkfdb-layerd.deb"))
		c.must(t, "env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "--force-confold", "-i", "/root/zkfdb-layerd.deb")
		if conf := c.must(t, "cat", "/etc/layerd/layerd.conf"); !strings.Contains(conf, "# changed by the operator") {
			t.Errorf("the upgrade replaced the changed conffile:\n%s", conf)
		}
		if v := c.must(t, "dpkg-query", "-W", "-f=${Version}", "zkfdb-layerd"); v != newVersion {
			t.Errorf("installed %q after the upgrade, want %s", v, newVersion)
		}
		c.waitUnit(t, "layerd.service", 30*time.Second, "restarted on the new version", func(p map[string]string) bool {
			return p["ActiveState"] == "active" && p["MainPID"] != before["MainPID"]
		}, "ActiveState", "MainPID")
		if srvr, err := fourLetterWord(c.addr+":2181", "srvr"); !strings.Contains(srvr, newVersion) {
			t.Errorf("srvr after the upgrade = %q, %v; want version %s", srvr, err, newVersion)
		}
	})

	t.Run("PurgeLeavesNothing", func(t *testing.T) {
		c.must(t, "dpkg", "--purge", "zkfdb-layerd", "zkfdb-sweeperd")
		for _, d := range []string{"layerd", "sweeperd"} {
			if out, err := c.exec("getent", "passwd", d); err == nil {
				t.Errorf("user %s is still there after purge: %s", d, out)
			}
			for _, p := range []string{"/etc/" + d, "/var/lib/" + d, "/lib/systemd/system/" + d + ".service", "/etc/systemd/system/multi-user.target.wants/" + d + ".service"} {
				if out, err := c.exec("test", "!", "-e", p); err != nil {
					t.Errorf("%s is still there after purge %s", p, out)
				}
			}
			// No procps in the container: look through /proc.
			if out, err := c.exec("sh", "-c", `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" != "$0" ] || exit 1; done`, d); err != nil {
				t.Errorf("%s still runs after purge (%v) %s", d, err, out)
			}
		}
	})
}

// httpStatus GETs a URL and returns its status, or 0.
func httpStatus(url string) int {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
