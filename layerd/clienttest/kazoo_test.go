package clienttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// kazooTimeout bounds one kazoo script.
const kazooTimeout = 2 * time.Minute

// python is Debian's python3, into whose path python3-kazoo installs
// (another python3 first on PATH, pyenv's say, would not see kazoo).
const python = "/usr/bin/python3"

var (
	kazooOnce sync.Once
	kazooErr  error
)

// requireKazoo fails the test if Debian's python3 or python3-kazoo is
// missing.
func requireKazoo(t *testing.T) {
	t.Helper()
	kazooOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, python, "-c", "import kazoo.client").CombinedOutput()
		if err != nil {
			kazooErr = fmt.Errorf("%s -c 'import kazoo.client': %v: %s", python, err, out)
		}
	})
	if kazooErr != nil {
		t.Fatalf("%v\nDebian's python3-kazoo package is missing: run ./scripts/test, which installs it", kazooErr)
	}
}

// runKazoo runs testdata/script with args under python and returns its
// standard output and standard error. A non-zero exit status is an error.
func runKazoo(ctx context.Context, script string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, kazooTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("testdata", script)}, args...)...)
	// No __pycache__ in testdata.
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("python3 %s %s: %w", script, strings.Join(args, " "), err)
	}
	return o.String(), e.String(), err
}

// kazooChecks are the checks testdata/kazoo_ops.py makes (it prints them
// in another order), each of which must pass.
var kazooChecks = []string{
	"session/connected", "session/id", "session/distinct", "session/stopped",
	"create/returns-path", "create/node-exists", "create/no-parent", "create/include-data",
	"get/data", "get/stat", "get/stat-zxids", "get/stat-times", "get/no-node",
	"set/version", "set/mzxid-grows", "set/mtime", "set/then-get", "set/right-version", "set/bad-version", "set/no-node",
	"exists/stat", "exists/none",
	"get-children/sorted", "get-children/include-data", "get-children/leaf", "get-children/no-node",
	"data/default-empty", "data/binary", "data/multi-line-utf8", "data/512KiB",
	"delete/not-empty", "delete/bad-version", "delete/gone", "delete/no-node", "delete/recursive",
	"sync",
	"ensure-path/new", "ensure-path/levels", "ensure-path/again",
	"makepath/create", "makepath/data",
	"sequence/numbers", "sequence/other-prefix", "sequence/after-delete",
	"pipelined/creates-in-order", "pipelined/set-versions", "pipelined/last-write", "pipelined/mixed-reads",
	"ephemeral/owner", "ephemeral/sequential", "ephemeral/no-children", "ephemeral/other-session-reads", "ephemeral/gone-after-stop",
	"transaction/results", "transaction/applied", "transaction/one-zxid", "transaction/failure-results", "transaction/nothing-applied", "transaction/with-commits",
	"acl/digest-id", "acl/no-auth-get", "acl/no-auth-set", "acl/no-auth-get-acls", "acl/no-auth-create-child", "acl/add-auth", "acl/authed-get", "acl/get-acls", "acl/wrong-password", "acl/auth-data-at-start", "acl/auth-scheme", "acl/set-acls", "acl/world-read", "acl/world-read-no-write", "acl/set-acls-bad-version", "acl/read-perms",
	"auth/unknown-scheme", "auth/null-digest",
	"lock/acquire", "lock/contenders", "lock/non-blocking-busy", "lock/busy-cleaned-up", "lock/release", "lock/non-blocking-free", "lock/other-holds", "lock/with", "lock/with-released",
	"counter/value", "counter/float",
	"queue/len", "queue/order",
	"party/members", "party/member-gone", "party/left",
	"shallowparty/members", "shallowparty/member-gone", "shallowparty/left",
	"lease/obtain", "lease/held", "lease/renew",
	"barrier/create", "barrier/remove",
}

// TestKazoo runs testdata/kazoo_ops.py against ZooKeeper and against
// layerd: every check must pass on both.
func TestKazoo(t *testing.T) {
	requireKazoo(t)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runKazoo(t.Context(), "kazoo_ops.py", srv.start(t))
			if err != nil {
				t.Errorf("%v\n--- stdout ---\n%s--- stderr ---\n%s", err, out, stderr)
			}
			var passed []string
			for line := range strings.Lines(out) {
				if name, ok := strings.CutPrefix(strings.TrimSpace(line), "ok "); ok {
					passed = append(passed, name)
				}
			}
			var missing []string
			for _, c := range kazooChecks {
				if i := slices.Index(passed, c); i >= 0 {
					passed = slices.Delete(passed, i, i+1)
				} else {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 || len(passed) > 0 || !strings.HasSuffix(out, "done\n") {
				t.Errorf("checks not passed: %q; passed but not listed in kazooChecks: %q\n--- stdout ---\n%s", missing, passed, out)
			}
		})
	}
}

// runProcesses runs procs kazoo processes of script at once, process i
// with args(i), and returns their standard outputs. A process that fails
// fails the test, with its output.
func runProcesses(t *testing.T, procs int, script string, args func(i int) []string) []string {
	t.Helper()
	outs := make([]string, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			var stderr string
			outs[i], stderr, errs[i] = runKazoo(t.Context(), script, args(i)...)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("process %d: %w\n--- stdout ---\n%s--- stderr ---\n%s", i, errs[i], outs[i], stderr)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, out := range outs {
		if !strings.HasSuffix(out, "done\n") {
			t.Fatalf("process %d did not finish:\n%s", i, out)
		}
	}
	return outs
}

// TestKazooCounterProcesses runs four kazoo processes that increment one
// Counter 25 times each, at once: the increments must be atomic, the
// values written 1 … 100 each exactly once, and the final value 100.
func TestKazooCounterProcesses(t *testing.T) {
	requireKazoo(t)
	const procs, each = 4, 25
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			addr := srv.start(t)
			outs := runProcesses(t, procs, "kazoo_counter.py", func(int) []string {
				return []string{addr, "/counter", strconv.Itoa(each)}
			})
			checkValues(t, outs, each)
			out, stderr, err := runKazoo(t.Context(), "kazoo_counter.py", addr, "/counter", "0")
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, stderr)
			}
			if want := fmt.Sprintf("value %d\ndone\n", procs*each); out != want {
				t.Errorf("final read printed %q, want %q", out, want)
			}
		})
	}
}

// contend returns the arguments of kazoo_contend.py's process i.
func contend(addr, recipe string, each, procs int) func(i int) []string {
	return func(i int) []string {
		return []string{addr, recipe, "/contend", strconv.Itoa(i), strconv.Itoa(each), strconv.Itoa(procs)}
	}
}

// TestKazooContention runs four kazoo processes that contend through each
// recipe that waits on watch events (kazoo_contend.py): every critical
// section's value must appear exactly once over all processes, and every
// process must finish (a lost watch event leaves one waiting for ever).
func TestKazooContention(t *testing.T) {
	requireKazoo(t)
	const procs, each = 4, 20
	for _, recipe := range []string{"lock", "semaphore", "writelock", "election", "queue"} {
		for _, srv := range servers {
			t.Run(recipe+"/"+srv.name, func(t *testing.T) {
				t.Parallel()
				outs := runProcesses(t, procs, "kazoo_contend.py", contend(srv.start(t), recipe, each, procs))
				checkValues(t, outs, each)
			})
		}
	}
}

// TestKazooReadWriteLock runs kazoo's ReadLock and WriteLock on one lock
// from four processes (kazoo_contend.py rwlock): two writers increment
// the counter under the write lock, each value exactly once; two readers
// read it twice under the read lock and fail if it changed in between.
func TestKazooReadWriteLock(t *testing.T) {
	requireKazoo(t)
	const procs, each = 4, 20
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			outs := runProcesses(t, procs, "kazoo_contend.py", contend(srv.start(t), "rwlock", each, procs))
			var writers []string
			for i, out := range outs {
				if i%2 == 0 {
					writers = append(writers, out)
				} else if n := strings.Count(out, "held "); n != each {
					t.Errorf("reader %d: %d read sections, want %d:\n%s", i, n, each, out)
				}
			}
			checkValues(t, writers, each)
		})
	}
}

// TestKazooGroupRecipes runs four kazoo processes through each recipe for
// groups (kazoo_group.py): Barrier, DoubleBarrier, Party, SetPartitioner
// and Queue. Every process's checks must pass; over all processes the
// partitioner's parts must split the set and the queue's items must each
// be taken once.
func TestKazooGroupRecipes(t *testing.T) {
	requireKazoo(t)
	const procs, rounds = 4, 5
	for _, recipe := range []string{"barrier", "doublebarrier", "party", "partitioner", "queue"} {
		for _, srv := range servers {
			t.Run(recipe+"/"+srv.name, func(t *testing.T) {
				t.Parallel()
				addr := srv.start(t)
				outs := runProcesses(t, procs, "kazoo_group.py", func(i int) []string {
					return []string{addr, recipe, "/group", strconv.Itoa(i), strconv.Itoa(procs), strconv.Itoa(rounds)}
				})
				for i, out := range outs {
					if !strings.Contains(out, "ok ") || strings.Contains(out, "FAIL") {
						t.Errorf("process %d:\n%s", i, out)
					}
				}
				switch recipe {
				case "partitioner":
					owner := map[string]int{}
					for i, out := range outs {
						for line := range strings.Lines(out) {
							if items, ok := strings.CutPrefix(strings.TrimSpace(line), "part"); ok {
								for _, item := range strings.Fields(items) {
									if j, dup := owner[item]; dup {
										t.Errorf("item %s in the parts of processes %d and %d", item, j, i)
									}
									owner[item] = i
								}
							}
						}
					}
					if len(owner) != 12 {
						t.Errorf("parts cover %d items, want 12: %v", len(owner), owner)
					}
				case "queue":
					seen := values(t, outs)
					checkOnce(t, seen, procs*rounds)
				}
			})
		}
	}
}

// values returns how many times each value V was printed as "post V"
// over outs.
func values(t *testing.T, outs []string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for i, out := range outs {
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "post "); ok {
				x, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("process %d printed %q", i, line)
				}
				seen[x]++
			}
		}
	}
	return seen
}

// checkOnce requires the values seen to be 1 … total, each once.
func checkOnce(t *testing.T, seen map[int]int, total int) {
	t.Helper()
	for v := 1; v <= total; v++ {
		if seen[v] != 1 {
			t.Errorf("value %d seen %d times, want once", v, seen[v])
		}
	}
	if len(seen) != total {
		t.Errorf("%d distinct values, want %d: %v", len(seen), total, seen)
	}
}

// checkValues requires each process to have printed each "post V" lines,
// and the values over all of them to be 1 … total, each once.
func checkValues(t *testing.T, outs []string, each int) {
	t.Helper()
	for i, out := range outs {
		if n := strings.Count(out, "post "); n != each {
			t.Errorf("process %d: %d values, want %d:\n%s", i, n, each, out)
		}
	}
	checkOnce(t, values(t, outs), len(outs)*each)
}

// kazooWatchChecks are the checks testdata/kazoo_watch.py makes.
var kazooWatchChecks = []string{
	"datawatch/in-order", "childrenwatch/final",
	"treecache/added", "treecache/updated", "treecache/removed",
	"barrier/released", "doublebarrier/waits-for-all",
	"party/members", "party/left", "setpartitioner/split",
}

// TestKazooWatchRecipes runs testdata/kazoo_watch.py, kazoo's recipes
// that live on watch events, against ZooKeeper and layerd.
func TestKazooWatchRecipes(t *testing.T) {
	requireKazoo(t)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runKazoo(t.Context(), "kazoo_watch.py", srv.start(t))
			if err != nil {
				t.Errorf("%v\n--- stdout ---\n%s--- stderr ---\n%s", err, out, stderr)
			}
			for _, c := range kazooWatchChecks {
				if !strings.Contains(out, "ok "+c+"\n") {
					t.Errorf("check %s did not pass", c)
				}
			}
			if !strings.HasSuffix(out, "done\n") {
				t.Errorf("the script did not finish:\n%s", out)
			}
		})
	}
}
