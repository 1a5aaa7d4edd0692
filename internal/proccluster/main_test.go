//go:build fdb

package proccluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// bin holds the daemons, built once per test binary.
var bin struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// daemons returns the directory of layerd and sweeperd, building them the
// first time.
func daemons(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "proccluster-bin")
		if bin.err != nil {
			return
		}
		// Open to every user: TestGossipCut runs a sweeperd as nobody.
		if bin.err = os.Chmod(bin.dir, 0o755); bin.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		bin.err = Build(ctx, bin.dir)
	})
	if bin.err != nil {
		t.Fatal(fmt.Errorf("building the daemons: %w", bin.err))
	}
	return bin.dir
}
