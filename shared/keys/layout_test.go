package keys

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"zkfdb/shared/store"
)

var update = flag.Bool("update", false, "rewrite testdata/layout.golden from the current layout")

const goldenFile = "testdata/layout.golden"

// Fixed inputs of the golden file.
var (
	exRoot    Root
	exTenant  = exRoot.Tenant(7)
	exPath    = mustPath("/app/lock-0000000001")
	exSession = int64(0x0100000000000001)
	exTick    = int64(1000)
	exStamp   = Versionstamp{TransactionVersion: store.Versionstamp{0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 3}, UserVersion: 2}
)

func mustPath(s string) Path {
	p, err := NewPath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type layoutEntry struct {
	name string
	key  []byte
}

func rangeEntries(name string, r store.Range) []layoutEntry {
	return []layoutEntry{{name + ".begin", r.Begin}, {name + ".end", r.End}}
}

// layoutEntries lists every key kind, and every range helper, for the
// fixed inputs: the layout as stored bytes.
func layoutEntries() []layoutEntry {
	prefixed := must(NewRoot([]byte("T")))
	t, p := exTenant, exPath
	var out []layoutEntry
	add := func(name string, key []byte) { out = append(out, layoutEntry{name, key}) }
	addRange := func(name string, r store.Range) { out = append(out, rangeEntries(name, r)...) }

	// System section.
	add("clock", exRoot.Clock())
	add("clock (root prefix \"T\")", prefixed.Clock())
	add("layout", exRoot.Layout())
	add("tenant name", must(exRoot.TenantName("analytics")))
	addRange("tenant names", exRoot.TenantNames())
	add("last tenant id", exRoot.LastTenantID())
	add("expiry", t.Expiry(exTick, exSession))
	addRange("expiry due", exRoot.ExpiryDue(Shard(exSession), exTick))
	add("ttl", t.TTL(exTick, p))
	addRange("ttl due", exRoot.TTLDue(nodeShard(t.ID(), p), exTick))
	add("container", t.Container(exTick, p))
	addRange("containers due", exRoot.ContainersDue(nodeShard(t.ID(), p), exTick))
	add("due shards", exRoot.Due(exTick))
	addRange("due shards up to", exRoot.DueUpTo(exTick))
	add("clock stamp", exRoot.ClockStamp())

	// Tenants.
	addRange("default tenant", exRoot.Tenant(DefaultTenant).Range())
	addRange("tenant", t.Range())
	add("config", t.Config())
	add("counter znodes", t.Counter(CountZnodes))
	add("counter bytes", t.Counter(CountBytes))
	add("counter sessions", t.Counter(CountSessions))
	add("counter watches", t.Counter(CountWatches))
	addRange("counters", t.Counters())
	add("stat", t.Stat(p))
	add("stat /", t.Stat(mustPath("/")))
	add("last write", t.LastWrite(0x1234))
	add("session expiry", t.SessionExpiry(0x1234))
	add("child counts", t.ChildCounts(p))
	add("pzxid", t.Pzxid(p))
	addRange("node stat", t.NodeStat(p))
	add("chunk 0", t.Chunk(p, 0))
	add("chunk 11", t.Chunk(p, 11))
	addRange("chunks", t.Chunks(p))
	addRange("chunks from 2", t.ChunksFrom(p, 2))
	addRange("node", t.Node(p))
	add("child", must(t.Child(p)))
	add("child of /", must(t.Child(mustPath("/app"))))
	addRange("children", t.Children(mustPath("/app")))
	add("session", t.Session(exSession))
	addRange("sessions", t.Sessions())
	add("ephemeral", t.Ephemeral(exSession, p))
	addRange("ephemerals", t.Ephemerals(exSession))
	addRange("all ephemerals", t.AllEphemerals())
	add("watch data", t.Watch(p, WatchData, exSession))
	add("watch child", t.Watch(p, WatchChild, exSession))
	add("watch persistent", t.Watch(p, WatchPersistent, exSession))
	add("watch recursive", t.Watch(p, WatchRecursive, exSession))
	addRange("watchers", t.Watchers(p))
	addRange("watchers child", t.WatchersOf(p, WatchChild))
	for i, r := range t.AncestorWatchers(p) {
		addRange(fmt.Sprintf("ancestor watchers %d", i), r)
	}
	add("session watch", t.SessionWatch(exSession, p, WatchData))
	addRange("session watches", t.SessionWatches(exSession))
	add("event (for SetVersionstampedKey)", t.Event(exSession, 2))
	add("event", t.EventAt(exSession, exStamp))
	addRange("events", t.Events(exSession))
	addRange("events after", t.EventsAfter(exSession, exStamp))
	add("notify", t.Notify(exSession))

	// Values with a fixed encoding.
	add("value int64 1", EncodeInt64(1))
	add("value int64 -2", EncodeInt64(-2))
	return out
}

// describe renders a key as the tuple it holds after the root prefix,
// with the bytes after the tuple (range bounds, the stamp offset) as
// "+hex". Range bounds always show their last byte that way, though a
// bound ending in 0x00 also decodes as a null element.
func describe(name string, prefix, key []byte) string {
	if strings.HasPrefix(name, "value") {
		return "8-byte little-endian int64"
	}
	rest := bytes.TrimPrefix(key, prefix)
	trims := []int{0, 1, 2, 3, 4}
	if strings.HasSuffix(name, ".begin") || strings.HasSuffix(name, ".end") {
		trims = []int{1, 0}
	}
	for _, trim := range trims {
		if trim > len(rest) {
			continue
		}
		if tu, err := Unpack(rest[:len(rest)-trim]); err == nil {
			s := tu.String()
			if trim > 0 {
				s += fmt.Sprintf(" +%x", rest[len(rest)-trim:])
			}
			return s
		}
	}
	return "(not a tuple)"
}

func renderGolden() string {
	var sb strings.Builder
	sb.WriteString("# The zkfdb key layout for fixed inputs (see layout_test.go): name, key as\n")
	sb.WriteString("# hex, and the tuple it holds. Any change here changes stored data: it\n")
	sb.WriteString("# needs a migration and a LayoutVersion bump. Rewrite with -update.\n")
	for _, e := range layoutEntries() {
		prefix := []byte(nil)
		if strings.Contains(e.name, `prefix "T"`) {
			prefix = []byte("T")
		}
		fmt.Fprintf(&sb, "%-34s %-72x %s\n", e.name, e.key, describe(e.name, prefix, e.key))
	}
	return sb.String()
}

func TestLayoutGolden(t *testing.T) {
	got := renderGolden()
	if *update {
		if err := os.WriteFile(goldenFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s line %d:\n got: %s\nwant: %s", goldenFile, i+1, g, w)
			}
		}
		t.Fatal("the key layout changed; if that is intended, run go test -update and bump LayoutVersion")
	}
}

// TestLayoutKeysDistinct checks that no two key kinds of the golden
// inputs collide, and that each key is a tuple under the root's prefix.
func TestLayoutKeysDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, e := range layoutEntries() {
		if strings.HasSuffix(e.name, ".begin") || strings.HasSuffix(e.name, ".end") ||
			strings.HasPrefix(e.name, "value") || strings.HasPrefix(e.name, "event (") {
			continue
		}
		if prev, ok := seen[string(e.key)]; ok {
			t.Errorf("%s and %s have the same key %x", prev, e.name, e.key)
		}
		seen[string(e.key)] = e.name
		if len(e.key) == 0 || e.key[0] == store.SystemPrefix {
			t.Errorf("%s key %x is outside the user keyspace", e.name, e.key)
		}
	}
}

func inRange(r store.Range, k []byte) bool {
	return bytes.Compare(k, r.Begin) >= 0 && bytes.Compare(k, r.End) < 0
}

// worstCase returns the longest key of every kind: longest root prefix,
// widest integers, longest path.
func worstCase(t *testing.T) []layoutEntry {
	t.Helper()
	root, err := NewRoot(bytes.Repeat([]byte{0xfe}, MaxPrefixLen))
	if err != nil {
		t.Fatal(err)
	}
	ten := root.Tenant(math.MinInt64)
	long := mustPath("/" + strings.Repeat("\x00", (MaxPathLen-1)/2) + strings.Repeat("a", (MaxPathLen-1)%2))
	deep := mustPath(strings.Repeat("/a", MaxPathLen/2))
	if n := len(long.String()) + strings.Count(long.String(), "\x00"); n != MaxPathLen {
		t.Fatalf("worst path encodes to %d bytes, want %d", n, MaxPathLen)
	}
	s, tick := int64(math.MinInt64), int64(math.MinInt64)
	var out []layoutEntry
	add := func(name string, key []byte) { out = append(out, layoutEntry{name, key}) }
	for _, p := range []Path{long, deep} {
		add("stat", ten.Stat(p))
		add("chunk", ten.Chunk(p, math.MaxInt))
		out = append(out, rangeEntries("chunks", ten.ChunksFrom(p, math.MaxInt))...)
		out = append(out, rangeEntries("node", ten.Node(p))...)
		add("child", must(ten.Child(p)))
		out = append(out, rangeEntries("children", ten.Children(p))...)
		add("ephemeral", ten.Ephemeral(s, p))
		add("watch", ten.Watch(p, WatchRecursive, s))
		out = append(out, rangeEntries("watchers", ten.WatchersOf(p, WatchRecursive))...)
		add("session watch", ten.SessionWatch(s, p, WatchRecursive))
		add("ttl", ten.TTL(tick, p))
		add("container", ten.Container(tick, p))
	}
	add("tenant name", must(root.TenantName(strings.Repeat("n", MaxTenantNameLen))))
	add("event", ten.Event(s, math.MaxUint16))
	add("event at", ten.EventAt(s, Versionstamp{TransactionVersion: store.Versionstamp{0xff}, UserVersion: math.MaxUint16}))
	add("expiry", ten.Expiry(tick, s))
	add("session", ten.Session(s))
	add("notify", ten.Notify(s))
	return out
}

func TestMaxKeySize(t *testing.T) {
	longest := 0
	for _, e := range worstCase(t) {
		if len(e.key) > store.MaxKeySize {
			t.Errorf("longest %s key is %d bytes, over the %d limit", e.name, len(e.key), store.MaxKeySize)
		}
		longest = max(longest, len(e.key))
	}
	t.Logf("longest key: %d bytes", longest)

	for _, tc := range []struct {
		name, path string
	}{
		{"long", "/" + strings.Repeat("a", MaxPathLen)},
		{"nuls count twice", "/" + strings.Repeat("\x00", MaxPathLen/2)},
	} {
		if _, err := NewPath(tc.path); !errors.Is(err, ErrKeyTooLong) {
			t.Errorf("NewPath(%s path) = %v, want ErrKeyTooLong", tc.name, err)
		}
	}
	if _, err := NewPath(strings.Repeat("a", MaxPathLen)); err != nil {
		t.Errorf("NewPath of %d bytes: %v", MaxPathLen, err)
	}
	if _, err := exRoot.TenantName(strings.Repeat("n", MaxTenantNameLen+1)); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("TenantName too long = %v, want ErrKeyTooLong", err)
	}
}
