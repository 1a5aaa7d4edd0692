package difftest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/zkref"
)

// fakeRun builds a run whose entries carry the given zxids as Stats, as if
// read from a server whose zxids start at base and grow by step.
func fakeRun(zxids [][3]int64) *R {
	r := &R{root: "/difftest/x", start: time.Now()}
	s := &Session{r: r}
	r.Session = s
	for _, z := range zxids {
		e := r.record(s, "exists ~", nil)
		r.stat(e, &zk.Stat{Czxid: z[0], Mzxid: z[1], Pzxid: z[2]})
	}
	return r
}

func TestRenderKeepsOnlyZxidRelations(t *testing.T) {
	// Two servers with different zxid values, gaps included, but the same
	// order and equalities, render the same.
	a := fakeRun([][3]int64{{10, 10, 10}, {10, 12, 15}, {0, 0, 20}})
	b := fakeRun([][3]int64{{7000, 7000, 7000}, {7000, 7002, 9999}, {0, 0, 1 << 40}})
	ra, rb := a.render(), b.render()
	if d := diffTranscripts(ra, rb, "3.8", "3.8"); d != "" {
		t.Errorf("same relations rendered differently:\n%s", d)
	}
	if !strings.Contains(ra[0].Result, "czxid=Z1 mzxid=Z1 pzxid=Z1") || !strings.Contains(ra[2].Result, "czxid=0") {
		t.Errorf("unexpected rendering %q / %q", ra[0].Result, ra[2].Result)
	}

	// A broken equality (mzxid != czxid for a fresh node) or order
	// (pzxid going back) shows.
	for _, bad := range [][][3]int64{
		{{7000, 7001, 7000}, {7000, 7002, 9999}, {0, 0, 1 << 40}},
		{{7000, 7000, 7000}, {7000, 7002, 6000}, {0, 0, 1 << 40}},
		{{7000, 7000, 7000}, {7000, 7002, 9999}, {0, 5, 1 << 40}},
	} {
		if d := diffTranscripts(ra, fakeRun(bad).render(), "3.8", "3.8"); d == "" {
			t.Errorf("zxids %v rendered like %v", bad, [][3]int64{{10, 10, 10}, {10, 12, 15}, {0, 0, 20}})
		}
	}
}

func TestTimesAndOwners(t *testing.T) {
	r := fakeRun(nil)
	r.sessions = []*Session{r.Session, {r: r, idx: 1, id: 0x1234}}
	now := r.start.UnixMilli()
	for _, tc := range []struct {
		st   zk.Stat
		want string
	}{
		{zk.Stat{}, "ctime=0 mtime=ctime"},
		{zk.Stat{Czxid: 5, Mzxid: 5, Ctime: now, Mtime: now}, "ctime=now mtime=ctime"},
		{zk.Stat{Czxid: 5, Mzxid: 5, Ctime: now, Mtime: now + 1}, "mtime=BAD"},
		{zk.Stat{Czxid: 5, Mzxid: 6, Ctime: now, Mtime: now}, "mtime=>=ctime"},
		{zk.Stat{Czxid: 5, Mzxid: 6, Ctime: now, Mtime: now - 5}, "mtime=BAD"},
		{zk.Stat{Czxid: 5, Mzxid: 5, Ctime: 12345, Mtime: 12345}, "ctime=BAD(12345)"},
		{zk.Stat{EphemeralOwner: 0x1234}, "owner=s1"},
		{zk.Stat{EphemeralOwner: -1 << 63}, "owner=0x8000000000000000"},
	} {
		e := r.record(r.Session, "exists", nil)
		r.stat(e, &tc.st)
		lines := r.render()
		if got := lines[len(lines)-1].Result; !strings.Contains(got, tc.want) {
			t.Errorf("stat %+v rendered %q, want %q in it", tc.st, got, tc.want)
		}
	}
}

func TestKnownDifference(t *testing.T) {
	mark := func(result string) []Line {
		r := fakeRun(nil)
		r.Known("exists-no-read", "OK", "NOAUTH")
		e := r.record(r.Session, "exists ~/n", nil)
		e.code = result
		return r.render()
	}
	for _, tc := range []struct {
		refVersion, tgtVersion string
		ref, tgt               string
		ok                     bool
	}{
		{"3.8", "3.8", "OK", "OK", true},
		{"3.8", "3.9", "OK", "NOAUTH", true},
		{"3.8", "3.9", "OK", "OK", false},         // the target answered like 3.8
		{"3.8", "3.9", "NOAUTH", "NOAUTH", false}, // the reference no longer differs
		{"3.8", "3.8", "OK", "NOAUTH", false},
		{"3.9", "3.9", "NOAUTH", "NOAUTH", true},
		{"3.8", "3.10", "OK", "NOAUTH", true},
	} {
		d := diffTranscripts(mark(tc.ref), mark(tc.tgt), tc.refVersion, tc.tgtVersion)
		if (d == "") != tc.ok {
			t.Errorf("%s %s vs %s %s: diff %q, want ok=%v", tc.refVersion, tc.ref, tc.tgtVersion, tc.tgt, d, tc.ok)
		}
	}
}

func TestKnownDifferencesNamed(t *testing.T) {
	ids := map[string]bool{}
	for _, k := range KnownDifferences {
		if k.ID == "" || k.What == "" || k.ZK39 == "" || k.Debian38 == "" || k.Cases == "" || ids[k.ID] {
			t.Errorf("incomplete or duplicate known difference %+v", k)
		}
		ids[k.ID] = true
	}
}

func TestCaseNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] || c.Name == "" || c.Run == nil {
			t.Errorf("case %q: duplicate, unnamed or empty", c.Name)
		}
		seen[c.Name] = true
	}
	if len(seen) < 200 {
		t.Errorf("%d cases, want at least 200", len(seen))
	}
}

// TestHarnessSeesDifferences runs cases that do different things on the
// two servers, or read what differs between them, and checks that the
// comparison reports it: the harness does not pass everything.
func TestHarnessSeesDifferences(t *testing.T) {
	a := zkref.StartT(t, refOptions)
	b := zkref.StartT(t, refOptions)
	ctx := context.Background()
	for _, addr := range []string{a.Addr(), b.Addr()} {
		if err := ensureParent(ctx, addr); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []Case{
		{"extra-write-on-target", func(r *R) {
			r.Create("a", D("x"), zk.FlagPersistent, open)
			if r.addr == b.Addr() {
				r.conn.Set(r.abs("a"), D("y"), -1) // not recorded: a server "bug"
			}
			r.Get("a")
		}},
		{"extra-zxid-between", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("b", nil, zk.FlagPersistent, open)
			if r.addr == b.Addr() {
				r.conn.Set(r.abs("a"), nil, -1) // mzxid of a now after czxid of b
			}
			r.Exists("a")
			r.Exists("b")
		}},
		{"hidden-child", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			if r.addr == b.Addr() {
				r.conn.Create(r.abs("p/x"), nil, zk.FlagPersistent, open)
				r.conn.Delete(r.abs("p/x"), -1) // cversion and pzxid moved
			}
			r.Children("p")
		}},
		{"different-order", func(r *R) {
			if r.addr == b.Addr() {
				r.Create("b", nil, zk.FlagPersistent, open)
			}
			r.Create("a", nil, zk.FlagPersistent, open)
		}},
	} {
		root := "/difftest/harness-" + c.Name
		la, errA := run(ctx, a.Addr(), root, c)
		lb, errB := run(ctx, b.Addr(), root, c)
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v, %v", c.Name, errA, errB)
		}
		d := diffTranscripts(la, lb, "3.8", "3.8")
		if d == "" {
			t.Errorf("%s: no difference found in\n%s\n%s", c.Name, format(la), format(lb))
		} else {
			t.Logf("%s:\n%s", c.Name, d)
		}
	}
}
