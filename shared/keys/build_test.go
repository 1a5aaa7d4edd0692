package keys

import (
	"bytes"
	"math"
	"testing"

	"zkfdb/shared/store"
)

// TestKeyBuilderMatchesTuple checks every key built with keyBuilder
// against the same elements packed as a Tuple, for paths with escaped
// bytes, tenants of every id width, and integers of every length: a
// difference would move a node's keys (the layout tests' golden files
// check a few paths; this checks the builder itself).
func TestKeyBuilderMatchesTuple(t *testing.T) {
	root, err := NewRoot([]byte("zk"))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/a", "/a/b", "/x\x00y", "/\x00", "/" + string(bytes.Repeat([]byte("long/"), 60)) + "z"}
	ints := []int64{0, 1, 255, 256, 1 << 40, math.MaxInt64, -1, -256, math.MinInt64}
	for _, id := range []int64{DefaultTenant, 7, 1 << 33, -5} {
		ten := root.Tenant(id)
		pack := func(elems ...any) []byte { return ten.space.Pack(Tuple(elems)) }
		same := func(what string, got, want []byte) {
			t.Helper()
			if !bytes.Equal(got, want) {
				t.Errorf("tenant %d: %s = %x, the tuple packs %x", id, what, got, want)
			}
		}
		sameRange := func(what string, got, want store.Range) {
			t.Helper()
			same(what+" begin", got.Begin, want.Begin)
			same(what+" end", got.End, want.End)
		}
		for _, s := range paths {
			p, err := NewPath(s)
			if err != nil {
				t.Fatal(err)
			}
			same("Stat", ten.Stat(p), pack(tenantNodes, s))
			same("ChildCounts", ten.ChildCounts(p), pack(tenantNodes, s, nodeChildren))
			same("Pzxid", ten.Pzxid(p), pack(tenantNodes, s, nodePzxid))
			for _, i := range []int{0, 1, 11, 300} {
				same("Chunk", ten.Chunk(p, i), pack(tenantNodes, s, i))
			}
			stat := pack(tenantNodes, s)
			sameRange("NodeStat", ten.NodeStat(p), store.Range{Begin: stat, End: append(bytes.Clone(stat), mustPack(Tuple{0})...)})
			sameRange("Node", ten.Node(p), store.Range{Begin: stat, End: append(bytes.Clone(stat), 0xff)})
			sameRange("Watchers", ten.Watchers(p), ten.space.Sub(tenantWatches, s).Range())
			for _, kind := range []WatchKind{WatchData, WatchRecursive} {
				sameRange("WatchersOf", ten.WatchersOf(p, kind), ten.space.Sub(tenantWatches, s, int(kind)).Range())
				for _, session := range ints {
					same("Watch", ten.Watch(p, kind, session), pack(tenantWatches, s, int(kind), session))
					same("SessionWatch", ten.SessionWatch(session, p, kind), pack(tenantSessionWatches, session, s, int(kind)))
				}
			}
			if parent, ok := p.Parent(); ok {
				child, err := ten.Child(p)
				if err != nil {
					t.Fatal(err)
				}
				same("Child", child, pack(tenantChildren, parent.s, p.Name()))
			}
		}
		for _, i := range ints {
			same("int element", ten.space.build(0).int(i).b, pack(i))
		}
	}
}

// TestBoundsDoNotShareBytes checks that appending to a range's begin
// never writes into its end, which shares its allocation.
func TestBoundsDoNotShareBytes(t *testing.T) {
	root, err := NewRoot([]byte("zk"))
	if err != nil {
		t.Fatal(err)
	}
	ten := root.Tenant(DefaultTenant)
	p, _ := NewPath("/a")
	for _, r := range []store.Range{ten.Node(p), ten.NodeStat(p), ten.Watchers(p), ten.Counters()} {
		end := bytes.Clone(r.End)
		_ = append(r.Begin, 0x01, 0x02, 0x03)
		if !bytes.Equal(r.End, end) {
			t.Errorf("appending to %x changed its end to %x", r.Begin, r.End)
		}
	}
}

// BenchmarkNodeKeys measures the keys one write of a node builds.
func BenchmarkNodeKeys(b *testing.B) {
	root, err := NewRoot([]byte("zk"))
	if err != nil {
		b.Fatal(err)
	}
	ten := root.Tenant(DefaultTenant)
	p, _ := NewPath("/bench/zkload-1234/node-0000000042")
	b.ReportAllocs()
	for range b.N {
		_ = ten.Stat(p)
		_ = ten.NodeStat(p)
		_ = ten.ChildCounts(p)
		_ = ten.Pzxid(p)
		_ = ten.Watchers(p)
		_ = ten.Watch(p, WatchData, 42)
	}
}
