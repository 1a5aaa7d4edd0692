package znode

import (
	"crypto/rand"
	"slices"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
)

// A listing answered from the children cache is the store's: every way
// the children of a node change (create, delete, an ephemeral child gone
// with its session, the node deleted and created again, a write through
// another layerd's tree) is seen by the next listing; and an unchanged
// node's listing does come from the cache.
func TestChildrenCache(t *testing.T) { engines.Each(t, testChildrenCache) }

func testChildrenCache(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	tenant := st.Root.Tenant(keys.DefaultTenant)
	tree := New(st.DB, tenant, Options{})
	other := New(st.DB, tenant, Options{}) // another layerd on the store
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	sess, err := tree.CreateSession(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	write := func(tr *Tree, ops ...Op) {
		t.Helper()
		c := Caller{Session: sess.ID, Now: 1}
		rand.Read(c.Token[:])
		w, err := tr.Write(t.Context(), c, ops)
		if err == nil {
			err = w.Failed()
		}
		if err != nil {
			t.Fatalf("%v: %v", ops, err)
		}
	}
	create := func(p string) CreateOp { return CreateOp{Path: p, ACL: OpenACLUnsafe, TTL: -1} }
	listOf := func(p string, want ...string) {
		t.Helper()
		rd, err := tree.GetChildren(t.Context(), Auth{}, p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rd.Children, want) {
			t.Fatalf("children of %s: %q, want %q", p, rd.Children, want)
		}
		if int(rd.Stat.NumChildren) != len(want) {
			t.Fatalf("numChildren %d with %q", rd.Stat.NumChildren, rd.Children)
		}
	}
	list := func(want ...string) { t.Helper(); listOf("/p", want...) }
	listQ := func(want ...string) { t.Helper(); listOf("/q", want...) }
	write(tree, create("/p"), create("/p/a"), create("/p/b"))
	list("a", "b")
	list("a", "b") // from the cache

	// The cache answers while the node's token holds: a planted entry
	// with the current token is what the next listing returns.
	e0, ok := tree.kids.get("/p")
	if !ok {
		t.Fatal("a listing of /p left nothing in the cache")
	}
	tree.kids.put("/p", e0.token, []string{"a", "planted"}, e0.floor)
	list("a", "planted")

	write(tree, create("/p/c"))
	list("a", "b", "c")
	write(other, DeleteOp{Path: "/p/b", Version: -1})
	list("a", "c")
	write(other, CreateOp{Path: "/p/e", ACL: OpenACLUnsafe, TTL: -1, Flags: 1})
	list("a", "c", "e")
	if _, _, err := other.CloseSession(t.Context(), sess.ID); err != nil {
		t.Fatal(err)
	}
	list("a", "c")
	sess, err = tree.CreateSession(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	write(other, DeleteOp{Path: "/p/a", Version: -1}, DeleteOp{Path: "/p/c", Version: -1}, DeleteOp{Path: "/p", Version: -1})
	write(other, create("/p"), create("/p/z"))
	list("z")

	// A listing starts at the first child the last one found, and falls
	// back to the whole range when a child sorts before it.
	write(tree, create("/q"), create("/q/m1"), create("/q/m2"))
	listQ("m1", "m2")
	hits := tree.kids.floorHits.Load()
	write(other, DeleteOp{Path: "/q/m1", Version: -1}, create("/q/z1"))
	listQ("m2", "z1") // from m1, where it finds both
	if got := tree.kids.floorHits.Load() - hits; got != 1 {
		t.Fatalf("%d listings from the floor, want 1", got)
	}
	write(other, create("/q/a0"))
	listQ("a0", "m2", "z1") // from m2 it finds 2 of 3: from the start
	if got := tree.kids.floorHits.Load() - hits; got != 1 {
		t.Fatalf("%d listings from the floor, want still 1", got)
	}
	write(other, DeleteOp{Path: "/q/a0", Version: -1}, DeleteOp{Path: "/q/m2", Version: -1}, DeleteOp{Path: "/q/z1", Version: -1})
	listQ() // from a0: none, and the node has none
	write(other, create("/q/0"))
	listQ("0") // before the floor, found by the count
}
