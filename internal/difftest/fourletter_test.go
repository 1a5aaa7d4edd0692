package difftest

import (
	"context"
	"encoding/binary"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/engines"
	"zkfdb/internal/zkref"
	"zkfdb/layerd/fourletter"
	"zkfdb/layerd/zkserver"
	"zkfdb/layerd/zkserver/zkservertest"
)

// TestFourLetterWords asks Debian's ZooKeeper and layerd every
// four-letter word layerd answers, each server with one client session
// holding a watch, and compares what monitoring tools parse: the same
// lines, labels and keys in the same order (values are each server's
// own), the same fixed answers, the same refusal of a word the whitelist
// leaves out. kazoo's server_version() reads each server's version.
func TestFourLetterWords(t *testing.T) {
	engines.Each(t, func(t *testing.T, e engines.Engine) {
		ref := zkref.StartT(t, refOptions)
		ours := zkservertest.StartConfig(t, e, zkserver.Config{ExtendedTypes: true, FourLetterWords: "*"})
		for _, addr := range []string{ref.Addr(), ours} {
			holdSession(t, addr)
		}
		for _, word := range fourletter.Known {
			want, got := ask(t, ref.Addr(), word), ask(t, ours, word)
			if g, w := shape(word, got), shape(word, want); !slices.Equal(g, w) {
				t.Errorf("%s: layerd's shape\n%q\nZooKeeper's\n%q\n(layerd said %q)", word, g, w, got)
			}
		}
		// stmk with its mask sets the mask gtmk shows, on both.
		mask := string(binary.BigEndian.AppendUint64(nil, 0x1234))
		for _, word := range []string{"stmk" + mask, "gtmk"} {
			if want, got := ask(t, ref.Addr(), word), ask(t, ours, word); got != want {
				t.Errorf("%q: layerd %q, ZooKeeper %q", word, got, want)
			}
		}
		// ZooKeeper is Debian's 3.8.0; layerd implements 3.9.4's semantics.
		for addr, want := range map[string]string{ref.Addr(): "(3, 8, 0)", ours: "(3, 9, 4)"} {
			if v := kazooServerVersion(t, addr); v != want {
				t.Errorf("kazoo's server_version() against %s = %s, want %s", addr, v, want)
			}
		}
	})
}

// TestFourLetterWhitelist: with the same 4lw.commands.whitelist, both
// servers answer and refuse the same words, in the same words.
func TestFourLetterWhitelist(t *testing.T) {
	const list = "stat, ruok"
	opts := refOptions
	opts.Config = append(slices.Clone(opts.Config), "4lw.commands.whitelist="+list)
	ref := zkref.StartT(t, opts)
	ours := zkservertest.StartConfig(t, engines.EmbeddedEngine(), zkserver.Config{FourLetterWords: list})
	for _, word := range []string{"ruok", "mntr", "isro", "envi", "conf", "cons", "gtmk", "stmk", "hash"} {
		if want, got := ask(t, ref.Addr(), word), ask(t, ours, word); got != want {
			t.Errorf("%s with whitelist %q: layerd %q, ZooKeeper %q", word, list, got, want)
		}
	}
	for _, word := range []string{"srvr", "stat"} { // srvr: always
		if want, got := shape(word, ask(t, ref.Addr(), word)), shape(word, ask(t, ours, word)); !slices.Equal(got, want) {
			t.Errorf("%s with whitelist %q: layerd's shape %q, ZooKeeper's %q", word, list, got, want)
		}
	}
}

// holdSession opens a session to addr for the test's life, with a data
// watch, a child watch (which ZooKeeper's wchs, wchc and wchp leave out:
// they list its data-watch table), an exists watch on a missing node and
// an ephemeral node.
func holdSession(t *testing.T, addr string) {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(discardLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(30 * time.Second)
	for ev := range events {
		if ev.State == zk.StateHasSession {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("no session with %s", addr)
		default:
		}
	}
	if _, err := c.Create("/watched", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.GetW("/watched"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.ChildrenW("/watched"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.ExistsW("/absent"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/held", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

func ask(t *testing.T, addr, word string) string {
	t.Helper()
	out, err := zkref.FourLetterWord(t.Context(), addr, word)
	if err != nil {
		t.Fatalf("%s to %s: %v", word, addr, err)
	}
	return out
}

var (
	digits   = regexp.MustCompile(`[0-9]+`)
	hexes    = regexp.MustCompile(`0x[0-9a-f]+`)
	addrPort = regexp.MustCompile(`/[0-9.]+:[0-9]+`)
	lastOp   = regexp.MustCompile(`lop=[A-Z]+`)
	expireAt = regexp.MustCompile(`expire at .*:$`)
)

// shape is what a tool parsing word's answer depends on: for key=value
// and key<tab>value words the keys in order; for srvr and stat the line
// labels in order; for cons each line with its numbers and addresses
// masked; the answer itself for the rest. Connections, sessions and
// paths are listed in no particular order (ZooKeeper's come from hash
// sets), so their lines are sorted.
func shape(word, out string) []string {
	s := labels(word, out)
	if word == "wchc" || word == "wchp" || word == "dump" {
		// Sessions and paths, in ZooKeeper's hash order: compared as sets.
		slices.Sort(s)
	}
	if word == "cons" || word == "stat" {
		start := slices.IndexFunc(s, func(l string) bool { return strings.HasPrefix(l, " /") })
		if start >= 0 {
			end := start
			for end < len(s) && strings.HasPrefix(s[end], " /") {
				end++
			}
			slices.Sort(s[start:end])
		}
	}
	return s
}

func labels(word, out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var s []string
	for _, l := range lines {
		switch word {
		case "conf", "envi":
			k, _, _ := strings.Cut(l, "=")
			s = append(s, k)
		case "mntr":
			k, _, _ := strings.Cut(l, "\t")
			// Per-namespace summaries appear once a namespace is
			// written: ZooKeeper's alone.
			if !strings.HasSuffix(k, "_per_namespace") {
				s = append(s, k)
			}
		case "srvr", "stat", "dirs":
			if strings.HasPrefix(l, " /") {
				s = append(s, mask(l))
				continue
			}
			k, v, _ := strings.Cut(l, ":")
			if k == "Mode" {
				k += ":" + v
			}
			s = append(s, k)
		case "dump":
			// How many sets of one expiry time there are depends on
			// when each connection was last heard from, to the tick:
			// timing, not format. The sets' lines are left out.
			if !expireAt.MatchString(l) {
				s = append(s, mask(l))
			}
		case "cons", "wchc", "wchp":
			s = append(s, mask(l))
		default:
			s = append(s, l)
		}
	}
	return s
}

func mask(l string) string {
	l = addrPort.ReplaceAllString(l, "/A")
	l = hexes.ReplaceAllString(l, "0xH")
	l = lastOp.ReplaceAllString(l, "lop=OP")
	return digits.ReplaceAllString(l, "N")
}

// kazooServerVersion runs kazoo's server_version() against addr.
func kazooServerVersion(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	script := `import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=30)
print(zk.server_version())
zk.stop()
`
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", script, addr).CombinedOutput()
	if err != nil {
		t.Fatalf("kazoo against %s: %v\n%s", addr, err, out)
	}
	return strings.TrimSpace(string(out))
}
