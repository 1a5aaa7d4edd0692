package difftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/zkref"
)

// Parallel is how many cases run at once. Each case runs against both
// servers at the same time; cases are independent (own roots), so this
// only trades CPU for the latency of fsyncs and round trips.
const Parallel = 8

// ShowTranscripts makes Compare log the reference transcript of every
// case, not only of failing ones (the package's tests set it with -show).
var ShowTranscripts bool

// Compare runs every case of Cases against the reference server (Debian's
// ZooKeeper 3.8.0) and the target, both given as "host:port", and requires
// identical transcripts; steps marked Known are checked against each
// server's version instead. Each case is a subtest of t named after it.
func Compare(t *testing.T, reference, target string) {
	t.Helper()
	CompareCases(t, reference, target, Cases())
}

// CompareCases is Compare for a chosen list of cases.
func CompareCases(t *testing.T, reference, target string, cases []Case) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ref, err := probe(ctx, reference)
	if err != nil {
		t.Fatalf("reference %s: %v", reference, err)
	}
	tgt, err := probe(ctx, target)
	if err != nil {
		t.Fatalf("target %s: %v", target, err)
	}
	t.Logf("reference %s speaks %s (%s); target %s speaks %s (%s)", reference, ref.version, ref.source, target, tgt.version, tgt.source)

	var rnd [4]byte
	rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:])

	type outcome struct {
		lines [2][]Line
		errs  [2]error
		took  time.Duration
	}
	results := make([]outcome, len(cases))
	sem := make(chan struct{}, Parallel)
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			root := "/difftest/" + rootName(c.Name) + "-" + suffix
			start := time.Now()
			var inner sync.WaitGroup
			for side, addr := range []string{reference, target} {
				inner.Go(func() {
					results[i].lines[side], results[i].errs[side] = run(ctx, addr, root, c)
				})
			}
			inner.Wait()
			results[i].took = time.Since(start)
		})
	}
	wg.Wait()

	for i, c := range cases {
		res := results[i]
		t.Run(c.Name, func(t *testing.T) {
			for side, name := range []string{"reference", "target"} {
				if res.errs[side] != nil {
					t.Errorf("%s: harness failure: %v\ntranscript so far:\n%s", name, res.errs[side], format(res.lines[side]))
				}
			}
			if t.Failed() {
				return
			}
			if diff := diffTranscripts(res.lines[0], res.lines[1], ref.version, tgt.version); diff != "" {
				t.Errorf("transcripts differ (reference %s, target %s):\n%s\nreference transcript:\n%s\ntarget transcript:\n%s",
					reference, target, diff, format(res.lines[0]), format(res.lines[1]))
			}
			if ShowTranscripts {
				t.Logf("%d steps in %v; reference transcript:\n%s", len(res.lines[0]), res.took.Round(time.Millisecond), format(res.lines[0]))
			}
		})
	}
}

// Transcript runs one case against one server and returns its rendered
// transcript, one step a line: for looking at a case, or for golden files.
func Transcript(addr string, c Case) (string, error) {
	var rnd [4]byte
	rand.Read(rnd[:])
	if err := ensureParent(context.Background(), addr); err != nil {
		return "", err
	}
	lines, err := run(context.Background(), addr, "/difftest/"+rootName(c.Name)+"-"+hex.EncodeToString(rnd[:]), c)
	return format(lines), err
}

func rootName(name string) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(name)
}

// server is what Compare knows of a server before running cases.
type server struct {
	version string // "3.8", "3.9"
	source  string // how the version was found
}

var versionRE = regexp.MustCompile(`Zookeeper version: (\d+\.\d+)`)

// probe reads the server's version from "srvr" (a server that does not
// answer it is taken as 3.9, the version layerd implements) and creates
// /difftest, the parent of the case roots.
func probe(ctx context.Context, addr string) (server, error) {
	s := server{version: "3.9", source: "assumed: no version in srvr"}
	if out, err := zkref.FourLetterWord(ctx, addr, "srvr"); err == nil {
		if m := versionRE.FindStringSubmatch(out); m != nil {
			s = server{version: m[1], source: "srvr"}
		}
	}
	return s, ensureParent(ctx, addr)
}

func ensureParent(ctx context.Context, addr string) error {
	r := &R{addr: addr}
	s := &Session{r: r}
	if err := s.connect(); err != nil {
		return err
	}
	defer s.closeConn()
	err := s.call(func() error {
		_, err := s.conn.Create("/difftest", nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll))
		return err
	})
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("create /difftest: %w", err)
	}
	return ctx.Err()
}

// diffTranscripts compares two transcripts step by step and describes every
// difference ("" if none). Known steps are checked against the expectation
// for each side's version.
func diffTranscripts(ref, tgt []Line, refVersion, tgtVersion string) string {
	var b strings.Builder
	n := max(len(ref), len(tgt))
	shown := 0
	for i := range n {
		var a, c *Line
		if i < len(ref) {
			a = &ref[i]
		}
		if i < len(tgt) {
			c = &tgt[i]
		}
		msg := diffLine(a, c, refVersion, tgtVersion)
		if msg == "" {
			continue
		}
		if shown++; shown > 20 {
			fmt.Fprintf(&b, "… more differences\n")
			break
		}
		fmt.Fprintf(&b, "step %d: %s\n", i+1, msg)
	}
	return b.String()
}

func diffLine(a, c *Line, refVersion, tgtVersion string) string {
	switch {
	case a == nil:
		return fmt.Sprintf("only the target has %s\n    target:    %s", c.Req, c.Result)
	case c == nil:
		return fmt.Sprintf("only the reference has %s\n    reference: %s", a.Req, a.Result)
	case a.Req != c.Req:
		return fmt.Sprintf("the cases went different ways:\n    reference: %s\n    target:    %s", a.Req, c.Req)
	case a.Known != nil:
		var msgs []string
		for _, side := range []struct {
			name, version, got string
		}{{"reference", refVersion, a.Result}, {"target", tgtVersion, c.Result}} {
			want := a.Known.want39
			if before39(side.version) {
				want = a.Known.want38
			}
			if !knownMatch(side.got, want) {
				msgs = append(msgs, fmt.Sprintf("%s (ZooKeeper %s) answered %s, want %s", side.name, side.version, side.got, want))
			}
		}
		if len(msgs) == 0 && before39(refVersion) == before39(tgtVersion) && a.Result != c.Result {
			msgs = append(msgs, fmt.Sprintf("same version, different answers:\n    reference: %s\n    target:    %s", a.Result, c.Result))
		}
		if len(msgs) == 0 {
			return ""
		}
		return fmt.Sprintf("%s (known difference %s: %s; 3.9: %s, Debian 3.8.0: %s)\n    %s",
			a.Req, a.Known.diff.ID, a.Known.diff.What, a.Known.diff.ZK39, a.Known.diff.Debian38, strings.Join(msgs, "\n    "))
	case a.Result != c.Result:
		return fmt.Sprintf("%s\n    reference: %s\n    target:    %s", a.Req, a.Result, c.Result)
	}
	return ""
}

// knownMatch tells whether the answer to a known-difference step is the
// expected one: equal, or the expectation followed by a space and more
// (so "OK" accepts "OK stat{…}").
func knownMatch(got, want string) bool {
	return got == want || strings.HasPrefix(got, want+" ")
}

// before39 tells whether a "major.minor" version predates 3.9.
func before39(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major < 3 || major == 3 && minor < 9
}

func format(lines []Line) string {
	var b strings.Builder
	for i, l := range lines {
		known := ""
		if l.Known != nil {
			known = " (known: " + l.Known.diff.ID + ")"
		}
		fmt.Fprintf(&b, "%3d %s\n      -> %s%s\n", i+1, l.Req, l.Result, known)
	}
	return b.String()
}
