package keys

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"zkfdb/shared/store"
)

func TestNewRoot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix []byte
		want   error
	}{
		{"empty", nil, nil},
		{"tuple", Tuple{"test", "TestX"}.Pack(), nil},
		{"longest", bytes.Repeat([]byte{0xfe}, MaxPrefixLen), nil},
		{"too long", bytes.Repeat([]byte{'a'}, MaxPrefixLen+1), ErrBadPrefix},
		{"system keyspace", []byte{0xff, 'a'}, ErrBadPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRoot(tc.prefix)
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewRoot(%x) = %v, want %v", tc.prefix, err, tc.want)
			}
			if err == nil && !bytes.HasPrefix(r.Clock(), tc.prefix) {
				t.Fatalf("clock %x does not start with the prefix %x", r.Clock(), tc.prefix)
			}
		})
	}

	// The root keeps its own copy of the prefix.
	prefix := []byte("abc")
	r := must(NewRoot(prefix))
	prefix[0] = 'X'
	if got := r.Prefix(); string(got) != "abc" {
		t.Fatalf("Prefix() = %q after the caller changed its slice", got)
	}
}

// TestIsolation checks that every key of a root lies in its Range, every
// key of a tenant in the tenant's Range and no other's, and that the
// system section is in no tenant.
func TestIsolation(t *testing.T) {
	roots := []Root{{}, must(NewRoot(Tuple{"test", "A"}.Pack())), must(NewRoot(Tuple{"test", "B"}.Pack()))}
	ids := []int64{DefaultTenant, 1, 2, 7, 255, 256, 1 << 40, -1, math.MinInt64}
	p := mustPath("/app/x")
	for ri, r := range roots {
		for _, id := range ids {
			ten := r.Tenant(id)
			keys := [][]byte{
				ten.Config(), ten.Counter(CountBytes), ten.Stat(p), ten.Chunk(p, 3), must(ten.Child(p)),
				ten.Session(9), ten.Ephemeral(9, p), ten.Watch(p, WatchChild, 9),
				ten.SessionWatch(9, p, WatchChild), ten.EventAt(9, exStamp), ten.Notify(9),
			}
			system := [][]byte{
				r.Clock(), r.ClockStamp(), r.Layout(), must(r.TenantName("x")), r.LastTenantID(),
				ten.Expiry(5, 9), ten.TTL(5, p), ten.Container(5, p),
			}
			for _, k := range append(slices.Clone(keys), system...) {
				if !inRange(r.Range(), k) {
					t.Errorf("root %d: key %x outside the root's range", ri, k)
				}
				for rj, other := range roots {
					if rj != ri && rj != 0 && inRange(other.Range(), k) {
						t.Errorf("root %d: key %x inside root %d's range", ri, k, rj)
					}
				}
			}
			for _, k := range keys {
				if !inRange(ten.Range(), k) || !bytes.HasPrefix(k, ten.Prefix()) {
					t.Errorf("tenant %d: key %x outside its range", id, k)
				}
				for _, other := range ids {
					if other != id && inRange(r.Tenant(other).Range(), k) {
						t.Errorf("tenant %d: key %x inside tenant %d", id, k, other)
					}
				}
			}
			for _, k := range system {
				if inRange(ten.Range(), k) {
					t.Errorf("system key %x inside tenant %d", k, id)
				}
			}
		}
	}
}

// TestNodeRanges checks that Node covers exactly one node's stat and
// chunks, Chunks its chunks only, and Children its direct children only,
// against neighbours chosen to sort close by.
func TestNodeRanges(t *testing.T) {
	ten := exRoot.Tenant(3)
	p := mustPath("/a")
	others := []Path{mustPath("/"), mustPath("/a/b"), mustPath("/a/b/c"), mustPath("/a0"), mustPath("/a "),
		mustPath("/a-"), mustPath("/a\x00"), mustPath("/a\x00b"), mustPath("/`"), mustPath("/b")}

	node, chunks := ten.Node(p), ten.Chunks(p)
	if !inRange(node, ten.Stat(p)) || inRange(chunks, ten.Stat(p)) {
		t.Errorf("stat: in Node %v, in Chunks %v; want true, false", inRange(node, ten.Stat(p)), inRange(chunks, ten.Stat(p)))
	}
	for _, i := range []int{0, 1, 255, 256, 1 << 20, math.MaxInt} {
		if !inRange(node, ten.Chunk(p, i)) || !inRange(chunks, ten.Chunk(p, i)) {
			t.Errorf("chunk %d outside Node or Chunks", i)
		}
		for _, from := range []int{0, 1, 2, 256, math.MaxInt} {
			if got, want := inRange(ten.ChunksFrom(p, from), ten.Chunk(p, i)), i >= from; got != want {
				t.Errorf("chunk %d in ChunksFrom(%d) = %v, want %v", i, from, got, want)
			}
		}
	}
	if k := ten.Stat(p); !bytes.Equal(node.Begin, k) {
		t.Errorf("Node begins at %x, not at the stat %x: getData would not read the stat first", node.Begin, k)
	}
	for _, o := range others {
		for _, k := range [][]byte{ten.Stat(o), ten.Chunk(o, 0), ten.Chunk(o, 1000)} {
			if inRange(node, k) {
				t.Errorf("key %x of %q inside Node(%q)", k, o, p)
			}
		}
	}

	children := ten.Children(p)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/a/b", true}, {"/a/\x00", true}, {"/a/zzz", true}, {"/a/", true},
		{"/a/b/c", false}, {"/a", false}, {"/ab", false}, {"/a0/b", false}, {"/b/a", false},
	} {
		k, err := ten.Child(mustPath(tc.path))
		if err != nil {
			t.Fatalf("Child(%q): %v", tc.path, err)
		}
		if got := inRange(children, k); got != tc.want {
			t.Errorf("Child(%q) in Children(%q) = %v, want %v", tc.path, p, got, tc.want)
		}
	}
	for _, k := range [][]byte{ten.Stat(p), ten.Stat(mustPath("/a/b")), ten.Chunk(mustPath("/a/b"), 0)} {
		if inRange(children, k) {
			t.Errorf("node key %x inside the children index", k)
		}
	}
	if _, err := ten.Child(mustPath("/")); !errors.Is(err, ErrNoParent) {
		t.Errorf("Child(/) = %v, want ErrNoParent", err)
	}
}

func TestChunkHelpers(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{-1, 0}, {0, 0}, {1, 1}, {ChunkSize, 1}, {ChunkSize + 1, 2}, {1 << 20, 12}, {12 * ChunkSize, 12},
	} {
		if got := ChunkCount(tc.n); got != tc.want {
			t.Errorf("ChunkCount(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if ChunkSize >= store.MaxValueSize {
		t.Fatalf("ChunkSize %d does not fit FDB's value limit %d", ChunkSize, store.MaxValueSize)
	}

	data := make([]byte, 2*ChunkSize+5)
	for i := range data {
		data[i] = byte(i)
	}
	parts := SplitData(data)
	if len(parts) != 3 || len(parts[0]) != ChunkSize || len(parts[2]) != 5 || !bytes.Equal(bytes.Join(parts, nil), data) {
		t.Fatalf("SplitData: %d parts, want 3 that join to the data", len(parts))
	}
	if got := SplitData(nil); len(got) != 0 {
		t.Fatalf("SplitData(nil) = %d parts, want 0", len(got))
	}

	ten := exRoot.Tenant(1)
	keys := ten.ChunkKeys(exPath, len(data))
	if len(keys) != 3 {
		t.Fatalf("ChunkKeys: %d keys, want 3", len(keys))
	}
	for i, k := range keys {
		if !bytes.Equal(k, ten.Chunk(exPath, i)) {
			t.Errorf("ChunkKeys[%d] = %x, want Chunk(%d)", i, k, i)
		}
		if i > 0 && bytes.Compare(keys[i-1], k) >= 0 {
			t.Errorf("chunk keys out of order at %d", i)
		}
	}
}

func TestDueRanges(t *testing.T) {
	ten := exRoot.Tenant(4)
	const now = 1000
	sessions := []int64{0, 1, 2, -5, 1 << 40, math.MaxInt64}
	for _, s := range sessions {
		shard := Shard(s)
		if shard < 0 || shard >= Shards {
			t.Fatalf("Shard(%d) = %d, outside [0, %d)", s, shard, Shards)
		}
		due := exRoot.ExpiryDue(shard, now)
		for _, tc := range []struct {
			tick int64
			want bool
		}{
			{math.MinInt64, true}, {-1, true}, {0, true}, {now - 1, true}, {now, true},
			{now + 1, false}, {math.MaxInt64, false},
		} {
			if got := inRange(due, ten.Expiry(tc.tick, s)); got != tc.want {
				t.Errorf("session %d expiring at %d in ExpiryDue(%d, %d) = %v, want %v", s, tc.tick, shard, now, got, tc.want)
			}
		}
		if !inRange(exRoot.ExpiryDue(shard, math.MaxInt64), ten.Expiry(math.MaxInt64, s)) {
			t.Errorf("ExpiryDue(%d, MaxInt64) misses tick MaxInt64", shard)
		}
		for other := range Shards {
			if other != shard && inRange(exRoot.ExpiryDue(other, math.MaxInt64), ten.Expiry(0, s)) {
				t.Errorf("session %d of shard %d found in shard %d", s, shard, other)
			}
		}
	}

	for _, p := range []Path{mustPath("/"), exPath, mustPath("/ttl/x")} {
		for _, tc := range []struct {
			name  string
			key   func(int64, Path) []byte
			due   func(int, int64) store.Range
			parse func([]byte) (NodeTimer, error)
		}{
			{"ttl", ten.TTL, exRoot.TTLDue, exRoot.ParseTTL},
			{"container", ten.Container, exRoot.ContainersDue, exRoot.ParseContainer},
		} {
			nt, err := tc.parse(tc.key(now, p))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !inRange(tc.due(nt.Shard, now), tc.key(now, p)) || inRange(tc.due(nt.Shard, now-1), tc.key(now, p)) {
				t.Errorf("%s of %q at %d: due ranges disagree", tc.name, p, now)
			}
			if inRange(tc.due((nt.Shard+1)%Shards, math.MaxInt64), tc.key(now, p)) {
				t.Errorf("%s of %q in the next shard", tc.name, p)
			}
		}
	}
}

// TestShardSpread checks that consecutive session ids (as a counter would
// hand out) spread over all shards.
func TestShardSpread(t *testing.T) {
	counts := make([]int, Shards)
	const n = 64 * Shards
	for i := range int64(n) {
		counts[Shard(i)]++
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo < n/Shards/2 || hi > 2*n/Shards {
		t.Fatalf("shard sizes range %d..%d for %d sessions in %d shards", lo, hi, n, Shards)
	}
}

func TestParse(t *testing.T) {
	ten := exRoot.Tenant(12)
	p, s := exPath, int64(-77)
	stamp := Versionstamp{TransactionVersion: store.Versionstamp{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, UserVersion: 3}

	if got, err := exRoot.ParseTenantName(must(exRoot.TenantName("a\x00b"))); err != nil || got != "a\x00b" {
		t.Errorf("ParseTenantName = %q, %v", got, err)
	}
	if got, err := exRoot.ParseExpiry(ten.Expiry(42, s)); err != nil || got != (Expiry{Shard: Shard(s), Tick: 42, Tenant: 12, Session: s}) {
		t.Errorf("ParseExpiry = %+v, %v", got, err)
	}
	if got, err := exRoot.ParseTTL(ten.TTL(42, p)); err != nil || got != (NodeTimer{Shard: nodeShard(12, p), Tick: 42, Tenant: 12, Path: p}) {
		t.Errorf("ParseTTL = %+v, %v", got, err)
	}
	if got, err := exRoot.ParseContainer(ten.Container(42, p)); err != nil || got != (NodeTimer{Shard: nodeShard(12, p), Tick: 42, Tenant: 12, Path: p}) {
		t.Errorf("ParseContainer = %+v, %v", got, err)
	}
	if got, err := ten.ParseChild(must(ten.Child(p))); err != nil || got != p.Name() {
		t.Errorf("ParseChild = %q, %v", got, err)
	}
	if got, err := ten.ParseSession(ten.Session(s)); err != nil || got != s {
		t.Errorf("ParseSession = %d, %v", got, err)
	}
	if gs, gp, err := ten.ParseEphemeral(ten.Ephemeral(s, p)); err != nil || gs != s || gp != p {
		t.Errorf("ParseEphemeral = %d, %q, %v", gs, gp, err)
	}
	for _, k := range []WatchKind{WatchData, WatchChild, WatchPersistent, WatchRecursive} {
		want := Watcher{Path: p, Kind: k, Session: s}
		if got, err := ten.ParseWatch(ten.Watch(p, k, s)); err != nil || got != want {
			t.Errorf("ParseWatch = %+v, %v; want %+v", got, err, want)
		}
		if got, err := ten.ParseSessionWatch(ten.SessionWatch(s, p, k)); err != nil || got != want {
			t.Errorf("ParseSessionWatch = %+v, %v; want %+v", got, err, want)
		}
	}
	if gs, gv, err := ten.ParseEvent(ten.EventAt(s, stamp)); err != nil || gs != s || gv != stamp {
		t.Errorf("ParseEvent = %d, %v, %v", gs, gv, err)
	}
	for _, c := range []Counter{CountZnodes, CountBytes, CountSessions, CountWatches} {
		if got, err := ten.ParseCounter(ten.Counter(c)); err != nil || got != c {
			t.Errorf("ParseCounter(%s) = %v, %v", c, got, err)
		}
	}

	// Every parser refuses every other kind of key, other tenants' keys
	// and garbage.
	other := exRoot.Tenant(13)
	// An event key still holding the placeholder (stored without its
	// SetVersionstampedKey transform) is not an event.
	placeholderEvent := ten.Event(s, 1)
	placeholderEvent = placeholderEvent[:len(placeholderEvent)-4]
	bad := [][]byte{
		nil, {0x03}, {0xff, 0xff}, exRoot.Clock(), exRoot.Layout(), ten.Config(), ten.Stat(p), ten.Chunk(p, 0),
		ten.Notify(s), other.Session(s), other.Watch(p, WatchData, s), other.EventAt(s, stamp),
		ten.Watch(p, WatchKind(9), s), ten.SessionWatch(s, p, WatchKind(-1)),
		placeholderEvent,
		exRoot.system().Pack(Tuple{sysExpiry, Shards, 1, 2, 3}),
		exRoot.system().Pack(Tuple{sysTTL, -1, 1, 2, "/x"}),
		ten.space.Pack(Tuple{tenantSessions, "not an int"}),
		ten.space.Pack(Tuple{tenantSessions, uint64(1 << 63)}),
		ten.space.Pack(Tuple{tenantSessions, 1, 2}),
		ten.space.Pack(Tuple{tenantEphemerals, 1, "/" + strings.Repeat("a", MaxPathLen)}),
	}
	parsers := map[string]func([]byte) error{
		"tenant name": func(k []byte) error { _, err := exRoot.ParseTenantName(k); return err },
		"expiry":      func(k []byte) error { _, err := exRoot.ParseExpiry(k); return err },
		"ttl":         func(k []byte) error { _, err := exRoot.ParseTTL(k); return err },
		"container":   func(k []byte) error { _, err := exRoot.ParseContainer(k); return err },
		"child":       func(k []byte) error { _, err := ten.ParseChild(k); return err },
		"session":     func(k []byte) error { _, err := ten.ParseSession(k); return err },
		"ephemeral":   func(k []byte) error { _, _, err := ten.ParseEphemeral(k); return err },
		"watch":       func(k []byte) error { _, err := ten.ParseWatch(k); return err },
		"sess. watch": func(k []byte) error { _, err := ten.ParseSessionWatch(k); return err },
		"event":       func(k []byte) error { _, _, err := ten.ParseEvent(k); return err },
		"counter":     func(k []byte) error { _, err := ten.ParseCounter(k); return err },
	}
	for name, parse := range parsers {
		for _, k := range bad {
			err := parse(k)
			if !errors.Is(err, ErrBadKey) && !errors.Is(err, ErrBadTuple) && !errors.Is(err, ErrKeyTooLong) {
				t.Errorf("%s parser accepted %x: %v", name, k, err)
			}
		}
	}
}

// TestEventKeys checks that the key for SetVersionstampedKey becomes
// EventAt once the commit writes its stamp, and the order of events.
func TestEventKeys(t *testing.T) {
	ten := exRoot.Tenant(2)
	const s = 99
	k := ten.Event(s, 5)
	off := int(k[len(k)-4]) | int(k[len(k)-3])<<8 | int(k[len(k)-2])<<16 | int(k[len(k)-1])<<24
	key := slices.Clone(k[:len(k)-4])
	if off+10 > len(key) || !bytes.Equal(key[off:off+10], store.IncompleteVersionstamp[:]) {
		t.Fatalf("Event key %x: offset %d does not point at the placeholder", k, off)
	}
	// What the commit does.
	stamp := store.Versionstamp{0, 0, 0, 0, 0, 0, 1, 0, 0, 1}
	copy(key[off:], stamp[:])
	want := Versionstamp{TransactionVersion: stamp, UserVersion: 5}
	if !bytes.Equal(key, ten.EventAt(s, want)) {
		t.Fatalf("stamped Event key %x != EventAt %x", key, ten.EventAt(s, want))
	}

	// Later commits, and later user versions of one commit, sort after;
	// EventsAfter starts just after the given event.
	later := []Versionstamp{
		{TransactionVersion: stamp, UserVersion: 6},
		{TransactionVersion: store.Versionstamp{0, 0, 0, 0, 0, 0, 1, 0, 0, 2}},
		{TransactionVersion: store.Versionstamp{0, 0, 0, 0, 0, 0, 2}},
	}
	after := ten.EventsAfter(s, want)
	if inRange(after, ten.EventAt(s, want)) || !inRange(ten.Events(s), ten.EventAt(s, want)) {
		t.Errorf("EventsAfter includes the event itself, or Events misses it")
	}
	prev := ten.EventAt(s, want)
	for _, v := range later {
		k := ten.EventAt(s, v)
		if !inRange(after, k) || bytes.Compare(prev, k) >= 0 {
			t.Errorf("event %v not after %v", v, want)
		}
		prev = k
	}
	if inRange(ten.Events(s), ten.EventAt(s+1, want)) || inRange(ten.Events(s), ten.Notify(s)) {
		t.Errorf("Events(%d) holds another session's event or the notify key", s)
	}
}

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		path, parent, name string
		ancestors          []string
	}{
		{"/", "", "", nil},
		{"/a", "/", "a", []string{"/"}},
		{"/a/b", "/a", "b", []string{"/", "/a"}},
		{"/a/b/c", "/a/b", "c", []string{"/", "/a", "/a/b"}},
		{"", "", "", nil},
		{"a", "", "a", nil},
	} {
		p := mustPath(tc.path)
		parent, ok := p.Parent()
		if ok != (tc.parent != "") || parent.String() != tc.parent {
			t.Errorf("Parent(%q) = %q, %v; want %q", tc.path, parent, ok, tc.parent)
		}
		if got := p.Name(); got != tc.name {
			t.Errorf("Name(%q) = %q, want %q", tc.path, got, tc.name)
		}
		var anc []string
		for _, a := range p.Ancestors() {
			anc = append(anc, a.String())
		}
		if !slices.Equal(anc, tc.ancestors) {
			t.Errorf("Ancestors(%q) = %q, want %q", tc.path, anc, tc.ancestors)
		}
		if got := len(exTenant.AncestorWatchers(p)); got != len(tc.ancestors) {
			t.Errorf("AncestorWatchers(%q): %d ranges, want %d", tc.path, got, len(tc.ancestors))
		}
	}
}

func TestInt64Values(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 1 << 40, math.MinInt64, math.MaxInt64} {
		b := EncodeInt64(v)
		if got, err := DecodeInt64(b); err != nil || got != v || len(b) != 8 {
			t.Errorf("DecodeInt64(EncodeInt64(%d)) = %d, %v (%d bytes)", v, got, err, len(b))
		}
	}
	// Little-endian, as FDB's atomic Add needs.
	if got := EncodeInt64(0x0102); !bytes.Equal(got, []byte{2, 1, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("EncodeInt64(0x0102) = %x, want little-endian", got)
	}
	if got, err := DecodeInt64(nil); err != nil || got != 0 {
		t.Errorf("DecodeInt64(nil) = %d, %v; want 0 (absent)", got, err)
	}
	for _, b := range [][]byte{{}, {1, 2, 3}, make([]byte, 9)} {
		if _, err := DecodeInt64(b); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodeInt64(%x) = %v, want ErrBadValue", b, err)
		}
	}
}

func TestSubspace(t *testing.T) {
	s := NewSubspace([]byte("p")).Sub("x", 1)
	k := s.Pack(Tuple{"y"})
	if !s.Contains(k) || !inRange(s.Range(), k) || inRange(s.Range(), s.Bytes()) {
		t.Fatalf("subspace %x: key %x not contained, or the prefix itself in Range", s.Bytes(), k)
	}
	got, err := s.Unpack(k)
	if err != nil || !equalTuples(got, Tuple{"y"}) {
		t.Fatalf("Unpack(%x) = %s, %v", k, got, err)
	}
	if _, err := s.Unpack([]byte("q")); !errors.Is(err, ErrBadKey) {
		t.Fatalf("Unpack outside the subspace = %v, want ErrBadKey", err)
	}
	vk, err := s.PackWithVersionstamp(Tuple{IncompleteVersionstamp(1)})
	if err != nil || !bytes.HasPrefix(vk, s.Bytes()) || int(vk[len(vk)-4]) != len(s.Bytes())+1 {
		t.Fatalf("PackWithVersionstamp = %x, %v", vk, err)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{WatchData.String(), "data"}, {WatchRecursive.String(), "recursive"}, {WatchKind(7).String(), "watchkind(7)"},
		{CountZnodes.String(), "znodes"}, {CountWatches.String(), "watches"}, {Counter(9).String(), "counter(9)"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestChildNames(t *testing.T) {
	ten := Root{}.Tenant(3)
	parent := mustPath("/a")
	names := ten.ChildNames(parent)
	for _, name := range []string{"b", "with\x00nul", "ü"} {
		p := mustPath("/a/" + name)
		k, err := ten.Child(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := names(k)
		if err != nil || got != name {
			t.Errorf("ChildNames(%q) = %q, %v", k, got, err)
		}
		if slow, err := ten.ParseChild(k); err != nil || slow != got {
			t.Errorf("ParseChild = %q, %v; ChildNames = %q", slow, err, got)
		}
	}
	other, _ := ten.Child(mustPath("/ab/c"))
	if _, err := names(other); err == nil {
		t.Error("a child of /ab parsed as a child of /a")
	}
	k, _ := ten.Child(mustPath("/a/b"))
	if _, err := names(append(k, 0x01)); err == nil {
		t.Error("a key with trailing bytes parsed")
	}
}

// NodeRowOf tells a node's keys apart by what follows the stat key, as
// comparing them with the keys encoded in full does; NodeStat's end is
// chunk 0's key.
func TestNodeRowOf(t *testing.T) {
	for _, ps := range []string{"/", "/a", "/a/b", "/app/locks/lock-0000000001", "/ü/\x01"} {
		p := mustPath(ps)
		stat := exTenant.Stat(p)
		want := map[NodeRow][][]byte{
			RowStat:        {exTenant.Stat(p)},
			RowChildCounts: {exTenant.ChildCounts(p)},
			RowPzxid:       {exTenant.Pzxid(p)},
		}
		for _, i := range []int{0, 1, 19, 20, 255, 256, 70000} {
			want[RowChunk] = append(want[RowChunk], exTenant.Chunk(p, i))
		}
		for row, ks := range want {
			for _, k := range ks {
				if got := NodeRowOf(stat, k); got != row {
					t.Errorf("%s: NodeRowOf(%x) = %d, want %d", ps, k, got, row)
				}
			}
		}
		if r := exTenant.NodeStat(p); !bytes.Equal(r.Begin, stat) || !bytes.Equal(r.End, exTenant.Chunk(p, 0)) {
			t.Errorf("%s: NodeStat = [%x, %x), want [stat, chunk 0) = [%x, %x)", ps, r.Begin, r.End, stat, exTenant.Chunk(p, 0))
		}
		r := exTenant.NodeStat(p)
		begin := bytes.Clone(r.Begin)
		r.End[0] ^= 0xff
		if !bytes.Equal(r.Begin, begin) {
			t.Errorf("%s: NodeStat's begin and end share their bytes", ps)
		}
	}
}
