package znode_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// Work that outgrows one FoundationDB transaction (10 MB, 5 seconds) is
// split across transactions (docs/fdb.md, "ZooKeeper's limits on
// FoundationDB"). These tests shorten the read budget so that small work
// splits too.

// countingDB counts the transactions made through it.
type countingDB struct {
	store.DB
	n *atomic.Int64
}

func (d countingDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	d.n.Add(1)
	return d.DB.CreateTransaction(ctx)
}

// limTree is a tree on a fresh store of e with opts, its transactions
// counted in n.
func limTree(t *testing.T, e engines.Engine, opts znode.Options) (*znode.Tree, engines.Store, *atomic.Int64) {
	t.Helper()
	st := e.Open(t, engines.Options{})
	n := new(atomic.Int64)
	tree := znode.New(countingDB{st.DB, n}, st.Root.Tenant(keys.DefaultTenant), opts)
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return tree, st, n
}

func limWrite(t *testing.T, tree *znode.Tree, c znode.Caller, ops ...znode.Op) znode.Written {
	t.Helper()
	rand := time.Now().UnixNano()
	c.Token[0], c.Token[1], c.Token[2] = byte(rand), byte(rand>>8), byte(rand>>16)
	w, err := tree.Write(t.Context(), c, ops)
	if err == nil {
		err = w.Failed()
	}
	if err != nil {
		t.Fatalf("write of %d ops: %v", len(ops), err)
	}
	return w
}

// limChildren creates n children of parent (which it creates), named
// c-%06d, by multis of 1,000 creates; with flags 1 they are ephemerals of
// c's session.
func limChildren(t *testing.T, tree *znode.Tree, c znode.Caller, parent string, n int, flags int32) []string {
	t.Helper()
	limWrite(t, tree, znode.Caller{Now: 1}, znode.CreateOp{Path: parent, ACL: znode.OpenACLUnsafe, TTL: -1})
	var paths []string
	for b := 0; b < n; b += 1000 {
		var ops []znode.Op
		for i := b; i < min(b+1000, n); i++ {
			p := fmt.Sprintf("%s/c-%06d", parent, i)
			paths = append(paths, p)
			ops = append(ops, znode.CreateOp{Path: p, ACL: znode.OpenACLUnsafe, Flags: flags, TTL: -1})
		}
		limWrite(t, tree, c, ops...)
	}
	return paths
}

// TestListingsSplitAcrossTransactions: getChildren, getChildren with a
// watch and getAllChildrenNumber of a listing longer than one
// transaction's read budget read it in several, losing no child that
// existed throughout and repeating none, while children come and go; a
// watched listing's watch fires for a change it may have missed.
func TestListingsSplitAcrossTransactions(t *testing.T) {
	engines.Each(t, testListingsSplitAcrossTransactions)
}

func testListingsSplitAcrossTransactions(t *testing.T, e engines.Engine) {
	const n = 25_000 // three pages of the listing
	tree, _, txs := limTree(t, e, znode.Options{ReadBudget: time.Nanosecond})
	ctx := t.Context()
	s, err := tree.CreateSession(ctx, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	limChildren(t, tree, znode.Caller{Now: 1}, "/p", n, 0)
	limWrite(t, tree, znode.Caller{Now: 1}, znode.CreateOp{Path: "/p/c-000001/g", ACL: znode.OpenACLUnsafe, TTL: -1})

	check := func(what string, names []string, extra int) {
		t.Helper()
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				t.Fatalf("%s: %s listed twice", what, name)
			}
			seen[name] = true
		}
		for i := range n {
			if name := fmt.Sprintf("c-%06d", i); !seen[name] {
				t.Fatalf("%s: %s, there throughout, is missing", what, name)
			}
		}
		if len(names) > n+extra {
			t.Fatalf("%s: %d names, at most %d existed", what, len(names), n+extra)
		}
	}

	before := txs.Load()
	rd, err := tree.GetChildren(ctx, znode.Auth{}, "/p")
	if err != nil {
		t.Fatal(err)
	}
	check("getChildren", rd.Children, 0)
	if got := txs.Load() - before; got < 3 {
		t.Fatalf("getChildren of %d children with a 1 ns budget took %d transactions, want 3 or more", n, got)
	}
	cnt, err := tree.GetAllChildrenNumber(ctx, znode.Auth{}, "/p")
	if err != nil || cnt.Count != n+1 {
		t.Fatalf("getAllChildrenNumber = %d, %v; want %d", cnt.Count, err, n+1)
	}

	// While a writer adds and removes children.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := fmt.Sprintf("/p/x-%06d", i)
			limWrite(t, tree, znode.Caller{Now: 1}, znode.CreateOp{Path: p, ACL: znode.OpenACLUnsafe, TTL: -1})
			if i%2 == 0 {
				limWrite(t, tree, znode.Caller{Now: 1}, znode.DeleteOp{Path: p, Version: -1})
			}
		}
	})
	w := znode.Conn{Session: s.ID, ID: 42}
	for range 3 {
		rd, err = tree.GetChildren(ctx, znode.Auth{}, "/p")
		if err != nil {
			t.Fatal(err)
		}
		check("getChildren under writes", rd.Children, 1<<20)
	}
	rd, err = tree.GetChildrenWatch(ctx, znode.Auth{}, w, "/p")
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	check("getChildren with a watch under writes", rd.Children, 1<<20)
	// The writer went on after the listing's first page: the watch has
	// fired, at once (verify) or on the next write.
	evs, _, err := tree.Events(ctx, w, keys.Versionstamp{}, 0)
	if err != nil || len(evs) != 1 || evs[0].Type != znode.EventNodeChildrenChanged || evs[0].Path != "/p" {
		t.Fatalf("events of the watched listing: %+v, %v; want one NodeChildrenChanged of /p", evs, err)
	}

	// Quiet again: a watched split listing's watch waits for the next
	// change, and fires on it.
	w2 := znode.Conn{Session: s.ID, ID: 43}
	if _, err := tree.GetChildrenWatch(ctx, znode.Auth{}, w2, "/p"); err != nil {
		t.Fatal(err)
	}
	if evs, _, err := tree.Events(ctx, w2, keys.Versionstamp{}, 0); err != nil || len(evs) != 0 {
		t.Fatalf("events before any change: %+v, %v", evs, err)
	}
	limWrite(t, tree, znode.Caller{Now: 1}, znode.DeleteOp{Path: "/p/c-000002", Version: -1})
	if evs, _, err := tree.Events(ctx, w2, keys.Versionstamp{}, 0); err != nil || len(evs) != 1 || evs[0].Type != znode.EventNodeChildrenChanged {
		t.Fatalf("events after a delete: %+v, %v; want one NodeChildrenChanged", evs, err)
	}
}
