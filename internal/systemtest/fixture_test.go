package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The two package versions the tests install: the rollout upgrades from
// oldVersion to newVersion and rolls back.
const (
	oldVersion = "0.1.0"
	newVersion = "0.1.1"
)

// rootfsPackages are what the containers' Debian root holds beyond
// debootstrap's minbase: systemd as init, sshd and python3 for Ansible,
// sudo for its become, adduser for the packages' user, libatomic1 for
// FoundationDB's client library.
var rootfsPackages = []string{"systemd", "systemd-sysv", "dbus", "python3", "openssh-server", "sudo", "adduser", "libatomic1"}

// fixture is what every test shares: the packages of both versions, the
// containers' root, an ssh key, the FoundationDB cluster.
type fixture struct {
	repo        string            // the repository's top
	work        string            // scratch directory of this run
	debs        map[string]string // "zkfdb-layerd 0.1.0" -> .deb path
	fdbClients  string            // the stand-in foundationdb-clients .deb
	pkgdeb      string            // tools/pkgdeb, built
	rootfs      string            // the Debian root, never booted itself
	sshKey      string            // private key; its .pub is authorized in containers
	clusterFile string            // the host's FoundationDB cluster file
	cluster     string            // its content
}

var (
	fixtureOnce sync.Once
	shared      *fixture
	fixtureErr  error
	workDir     string // the fixture's scratch directory, removed at the end
)

func TestMain(m *testing.M) {
	if os.Getenv("ZKFDB_SYSTEM_TEST") != "1" {
		fmt.Println("systemtest: skipped: set ZKFDB_SYSTEM_TEST=1 to run (scripts/test does, as root)")
		os.Exit(0)
	}
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// getFixture builds the fixture once; a test that calls it fails, never
// skips, when a prerequisite is missing.
func getFixture(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { shared, fixtureErr = buildFixture() })
	if fixtureErr != nil {
		t.Fatalf("system test fixture: %v", fixtureErr)
	}
	return shared
}

func buildFixture() (*fixture, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root (debootstrap, systemd-nspawn, nsenter)")
	}
	for _, tool := range []string{"debootstrap", "systemd-nspawn", "nsenter", "ssh", "ssh-keygen", "ansible-playbook", "ansible-lint", "lintian", "dpkg-deb", "go", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (scripts/test installs it)", tool)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	fx := &fixture{repo: repo, debs: map[string]string{}}
	fx.clusterFile = os.Getenv("FDB_CLUSTER_FILE")
	if fx.clusterFile == "" {
		return nil, fmt.Errorf("FDB_CLUSTER_FILE is not set: the containers' daemons need a FoundationDB cluster on loopback")
	}
	content, err := os.ReadFile(fx.clusterFile)
	if err != nil {
		return nil, err
	}
	fx.cluster = strings.TrimSpace(string(content))
	if fx.work, err = os.MkdirTemp("/var/tmp", "zkfdb-systemtest-"); err != nil {
		return nil, err
	}
	workDir = fx.work
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	// Both versions of both packages; the second build only links.
	dist := filepath.Join(fx.work, "dist")
	for _, v := range []string{oldVersion, newVersion} {
		out, err := run(ctx, repo, []string{"OUT=" + dist}, "scripts/build-packages", v)
		if err != nil {
			return nil, fmt.Errorf("scripts/build-packages %s: %v\n%s", v, err, out)
		}
		for _, d := range []string{"layerd", "sweeperd"} {
			name := "zkfdb-" + d
			path := filepath.Join(dist, fmt.Sprintf("%s_%s_amd64.deb", name, v))
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("scripts/build-packages %s made no %s: %v\n%s", v, path, err, out)
			}
			fx.debs[name+" "+v] = path
		}
		fx.pkgdeb = filepath.Join(dist, "bin", v, "pkgdeb")
	}

	// FoundationDB's client package, which the packages depend on: a
	// stand-in made from this project's FoundationDB build.
	tarball, err := filepath.Abs(filepath.Join(repo, "..", "shared", "fdb", "fdb-7.3.79-linux-amd64.tar.xz"))
	if err != nil {
		return nil, err
	}
	fdbDir := filepath.Join(fx.work, "fdb")
	if err := os.MkdirAll(fdbDir, 0o755); err != nil {
		return nil, err
	}
	if out, err := run(ctx, "", nil, "tar", "-C", fdbDir, "-xJf", tarball); err != nil {
		return nil, fmt.Errorf("unpack %s: %v\n%s", tarball, err, out)
	}
	out, err := run(ctx, repo, nil, fx.pkgdeb, "-config", "internal/systemtest/testdata/foundationdb-clients.yaml",
		"-version", "7.3.79", "-var", "FDB="+fdbDir, "-out", filepath.Join(fx.work, "fdbdeb"))
	if err != nil {
		return nil, fmt.Errorf("foundationdb-clients stand-in: %v\n%s", err, out)
	}
	fx.fdbClients = strings.TrimSpace(out)

	if fx.rootfs, err = debianRoot(ctx); err != nil {
		return nil, err
	}
	fx.sshKey = filepath.Join(fx.work, "id_ed25519")
	if out, err := run(ctx, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zkfdb-systemtest", "-f", fx.sshKey); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	return fx, nil
}

// debianRoot returns a Debian 12 root with rootfsPackages, made with
// debootstrap from the configured Debian mirror into
// $ZKFDB_ROOTFS_CACHE (default /var/tmp/zkfdb-rootfs-bookworm) unless a
// complete one is already there.
func debianRoot(ctx context.Context) (string, error) {
	dir := os.Getenv("ZKFDB_ROOTFS_CACHE")
	if dir == "" {
		dir = "/var/tmp/zkfdb-rootfs-bookworm"
	}
	want := strings.Join(rootfsPackages, ",")
	marker := filepath.Join(dir, ".zkfdb-rootfs")
	if have, err := os.ReadFile(marker); err == nil && string(have) == want {
		return dir, nil
	}
	tmp := dir + ".partial"
	os.RemoveAll(tmp)
	mirror := debianMirror()
	out, err := run(ctx, "", nil, "debootstrap", "--variant=minbase", "--include="+want, "bookworm", tmp, mirror)
	if err != nil {
		return "", fmt.Errorf("debootstrap bookworm from %s: %v\n%s", mirror, err, tail(out, 3000))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".zkfdb-rootfs"), []byte(want), 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	return dir, os.Rename(tmp, dir)
}

// debianMirror is the first Debian archive apt is configured with here.
func debianMirror() string {
	for _, path := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				f.Close()
				return fields[1]
			case len(fields) >= 3 && fields[0] == "deb" && !strings.Contains(fields[1], "security") && strings.HasPrefix(fields[1], "http"):
				f.Close()
				return fields[1]
			}
		}
		f.Close()
	}
	return "http://deb.debian.org/debian"
}

// run runs a command and returns its combined output.
func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
