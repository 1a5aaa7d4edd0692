package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// The durability test re-runs this test binary as a child that commits in a
// loop and prints every acknowledged commit, kills it with SIGKILL, reopens
// the store and checks every acknowledged commit survived, whole.
//
// SIGKILL loses the process, not the machine: data in the OS page cache
// survives, so this proves a commit is acknowledged only once it left the
// process (is in Pebble's WAL), not that it was fsynced.
const (
	durabilityDirEnv   = "ZKFDB_DURABILITY_DIR"
	durabilityRoundEnv = "ZKFDB_DURABILITY_ROUND"
	durabilityWriters  = 4
	durabilityAcks     = 300 // per round, before the kill
	durabilityRounds   = 3
)

// TestDurabilityChild is the child process; it does nothing in a normal run.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(durabilityDirEnv)
	if dir == "" {
		t.Skip("child of TestDurability")
	}
	round := os.Getenv(durabilityRoundEnv)
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	// A bound in case the parent never kills us.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range durabilityWriters {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				k := fmt.Sprintf("dur/%s/%d/%08d", round, w, i)
				_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
					// Two keys per commit: after the crash both exist
					// or neither.
					tx.Set([]byte(k), []byte(k))
					tx.Set([]byte(k+"/twin"), []byte(k))
					return struct{}{}, nil
				})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("commit %s: %v", k, err)
					}
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", k)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestDurability(t *testing.T) {
	dir := t.TempDir()
	var acked []string
	for round := range durabilityRounds {
		acked = append(acked, runChildAndKill(t, dir, round)...)
		checkDurable(t, dir, acked)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d acknowledged commits survived %d kills", len(acked), durabilityRounds)
}

// runChildAndKill starts the child, reads acknowledgements until it has
// durabilityAcks, kills it and returns every key it acknowledged (also the
// ones still in the pipe when it died).
func runChildAndKill(t *testing.T, dir string, round int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), durabilityDirEnv+"="+dir, fmt.Sprintf("%s=%d", durabilityRoundEnv, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	var acked []string
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue // the test framework's own output
		}
		acked = append(acked, k)
		if len(acked) == durabilityAcks && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledgements (%v):\n%s", len(acked), err, stderr.String())
	}
	t.Logf("round %d: child killed after %d acknowledgements", round, len(acked))
	return acked
}

// checkDurable reopens the store and checks that every acknowledged commit
// is there with both its keys, and that no commit is there by halves.
func checkDurable(t *testing.T, dir string, acked []string) {
	t.Helper()
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	rows, err := store.ReadTransact(t.Context(), db, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(store.PrefixRange([]byte("dur/")), store.RangeOptions{}).GetSlice()
	})
	if err != nil {
		t.Fatalf("read after reopen: %v", err)
	}
	have := map[string]string{}
	for _, kv := range rows {
		have[string(kv.Key)] = string(kv.Value)
	}
	lost := 0
	for _, k := range acked {
		if have[k] != k || have[k+"/twin"] != k {
			if lost < 10 {
				t.Errorf("acknowledged commit %s lost after kill (key %q, twin %q)", k, have[k], have[k+"/twin"])
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged commits lost", lost, len(acked))
	}
	for k, v := range have {
		if twin, ok := strings.CutSuffix(k, "/twin"); ok {
			if have[twin] != v {
				t.Errorf("torn commit: %s present without %s", k, twin)
			}
		} else if have[k+"/twin"] != v {
			t.Errorf("torn commit: %s present without its twin", k)
		}
	}
}
