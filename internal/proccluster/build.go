package proccluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"zkfdb/internal/engines"
)

// Build builds layerd and sweeperd with -tags fdb into dir, from the
// module that contains the working directory. They are built without the
// race detector even under go test -race: nine daemons on a two-core
// machine are slow enough without it, and the same code runs under -race
// in the single-process suites.
func Build(ctx context.Context, dir string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-tags", "fdb", "-o", dir+string(filepath.Separator), "./layerd", "./sweeperd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -tags fdb ./layerd ./sweeperd: %v\n%s", err, out)
	}
	return nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("proccluster: no go.mod above the working directory")
		}
		dir = parent
	}
}

// StartT starts a cluster for a test in a directory of the test's, with
// the daemons in bin (Build); it stops with the test, and on failure the
// end of every process's log goes to the test's log. Without
// FoundationDB the test skips, or fails under ZKFDB_REQUIRE_FDB=1.
func StartT(t testing.TB, bin string, opts Options) *Cluster {
	t.Helper()
	for _, name := range []string{"fdbserver", "fdbcli"} {
		if _, err := FindFDB(name); err != nil {
			if os.Getenv(engines.RequireEnv) == "1" {
				t.Fatalf("%v, and FoundationDB is required (%s=1)", err, engines.RequireEnv)
			}
			t.Skip(err)
		}
	}
	opts.Bin = bin
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	c, err := Start(t.Context(), opts)
	if err != nil {
		// The logs go with the test's temporary directory: their ends
		// are the only trace of why a process did not start.
		logs := filepath.Join(opts.Dir, "logs")
		if entries, rerr := os.ReadDir(logs); rerr == nil {
			for _, e := range entries {
				t.Logf("%s ends:\n%s", e.Name(), tail(filepath.Join(logs, e.Name()), 40))
			}
		}
		t.Fatalf("starting the cluster: %v (logs in %s)", err, logs)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			for _, p := range c.Procs() {
				t.Logf("%s's log ends:\n%s", p.Name, tail(p.LogPath(), 40))
			}
		}
	})
	return c
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
