package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

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

// TestMain runs the durability child instead of the tests when the parent
// test started this binary as one.
func TestMain(m *testing.M) {
	if dir := os.Getenv(durabilityDirEnv); dir != "" {
		os.Exit(durabilityChild(dir, os.Getenv(durabilityRoundEnv)))
	}
	if dir := os.Getenv(lockHolderEnv); dir != "" {
		os.Exit(lockHolder(dir))
	}
	os.Exit(m.Run())
}

// durabilityChild commits in a loop from several writers and prints each
// acknowledged commit, until it is killed (or a minute passes).
func durabilityChild(dir, round string) int {
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer db.Close()
	// A bound in case the parent never kills us.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed atomic.Bool
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
						fmt.Fprintf(os.Stderr, "commit %s: %v\n", k, err)
						failed.Store(true)
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
	if failed.Load() {
		return 1
	}
	return 0
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
	cmd := exec.CommandContext(ctx, os.Args[0])
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
			continue
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
	checkDurableOn(t, embedded.Options{Dir: dir}, acked)
}

func checkDurableOn(t *testing.T, opts embedded.Options, acked []string) {
	t.Helper()
	db, err := embedded.Open(opts)
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	rows, err := store.ReadTransact(t.Context(), db, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(store.Range{Begin: []byte{}, End: []byte{0xff}}, store.RangeOptions{}).GetSlice()
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
				t.Errorf("acknowledged commit %s lost after the crash (key %q, twin %q)", k, have[k], have[k+"/twin"])
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

// TestPowerLoss cuts the power while writers commit: a clone of the
// filesystem with only what was fsynced (and then with a random part of
// what was not) must hold every commit acknowledged before the cut, whole.
func TestPowerLoss(t *testing.T) {
	for _, unsynced := range []int{0, 50} {
		t.Run(fmt.Sprintf("unsynced=%d%%", unsynced), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			db, err := embedded.Open(embedded.Options{Dir: "db", FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			var mu sync.Mutex
			var acked []string
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						k := fmt.Sprintf("pl/%d/%08d", w, i)
						_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
							tx.Set([]byte(k), []byte(k))
							tx.Set([]byte(k+"/twin"), []byte(k))
							return struct{}{}, nil
						})
						if err != nil {
							return
						}
						mu.Lock()
						acked = append(acked, k)
						mu.Unlock()
					}
				})
			}
			// Cut the power once 400 commits are acknowledged, with
			// writers still running.
			deadline := time.Now().Add(time.Minute)
			for {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 400 || time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
			mu.Lock()
			before := append([]string(nil), acked...)
			mu.Unlock()
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rand.New(rand.NewPCG(uint64(unsynced), 1))})
			cancel()
			wg.Wait()
			db.Close()
			if len(before) < 400 {
				t.Fatalf("only %d commits acknowledged in a minute", len(before))
			}
			checkDurableOn(t, embedded.Options{Dir: "db", FS: crashed}, before)
		})
	}
}
