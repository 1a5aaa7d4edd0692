package znode_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
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

// failingDB fails, without committing, the write commit numbered failAt
// (counting from when it is set) with transaction_cancelled, which no
// retry loop retries: a sweeper or layerd that stops there.
type failingDB struct {
	store.DB
	failAt, commits atomic.Int64
}

func (d *failingDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	return failingTx{tx, d}, err
}

type failingTx struct {
	store.Tx
	d *failingDB
}

func (t failingTx) Commit() error {
	if at := t.d.failAt.Load(); at > 0 && t.d.commits.Add(1) == at {
		return store.ErrTransactionCancelled
	}
	return t.Tx.Commit()
}

// sweepAll expires every session due at now in every shard under root.
func sweepAll(t *testing.T, db store.DB, root keys.Root, now int64) (znode.Sweep, error) {
	t.Helper()
	shards := make([]int, keys.Shards)
	for i := range shards {
		shards[i] = i
	}
	due, err := znode.ReadDue(t.Context(), db, root, shards, now)
	if err != nil {
		t.Fatal(err)
	}
	var total znode.Sweep
	for _, d := range due {
		sw, err := znode.ExpireDue(t.Context(), db, root, d.Sessions, now)
		total.Expired += sw.Expired
		total.Ephemerals += sw.Ephemerals
		total.Stale += sw.Stale
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// emptyRange fails t unless r holds no key.
func emptyRange(t *testing.T, db store.DB, what string, r store.Range) {
	t.Helper()
	rows, err := store.ReadTransact(t.Context(), db, func(rd store.Reader) ([]store.KeyValue, error) {
		return rd.GetRange(r, store.RangeOptions{Limit: 5}).GetSlice()
	})
	if err != nil || len(rows) != 0 {
		t.Fatalf("%s: %d keys left, %v", what, len(rows), err)
	}
}

// TestLargeSessionEnds: a session with 10,000 ephemerals (and watches of
// its own) expires, and another closes, each in batches of transactions
// within FoundationDB's limits: every ephemeral deleted once, their
// watches fired, the parent's Stat right, nothing of the session left;
// an expiry that stops midway is finished by the next sweep.
func TestLargeSessionEnds(t *testing.T) { engines.Each(t, testLargeSessionEnds) }

func testLargeSessionEnds(t *testing.T, e engines.Engine) {
	const n = 10_000
	st := e.Open(t, engines.Options{})
	db := &failingDB{DB: st.DB}
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	ctx := t.Context()
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	ten := st.Root.Tenant(keys.DefaultTenant)
	auth := znode.Auth{}

	for _, tc := range []struct {
		name  string
		close bool // closeSession, else expiry
		stop  int64
	}{{"expiry", false, 0}, {"expiry stopped midway", false, 3}, {"closeSession", true, 0}} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			dying, err := tree.CreateSessionOn(ctx, 4000, 7)
			if err != nil {
				t.Fatal(err)
			}
			watcher, err := tree.CreateSession(ctx, 600_000)
			if err != nil {
				t.Fatal(err)
			}
			parent := "/" + strings.ReplaceAll(tc.name, " ", "-")
			paths := limChildren(t, tree, znode.Caller{Session: dying.ID, Now: 1}, parent, n, 1)
			// The dying session's own watches: a child watch on the
			// parent and exist watches on 2,000 paths.
			own := znode.Conn{Session: dying.ID, ID: 7}
			if _, err := tree.GetChildrenWatch(ctx, auth, own, parent); err != nil {
				t.Fatal(err)
			}
			if _, err := tree.SetWatches(ctx, own, 1<<62, nil, paths[:2000], nil, nil, nil); err != nil {
				t.Fatal(err)
			}
			// Another session watches the parent's children and three of
			// the ephemerals.
			w := znode.Conn{Session: watcher.ID, ID: 9}
			if _, err := tree.GetChildrenWatch(ctx, auth, w, parent); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{paths[0], paths[n/2], paths[n-1]} {
				if _, err := tree.ExistsWatch(ctx, auth, w, p); err != nil {
					t.Fatal(err)
				}
			}

			start := time.Now()
			var deleted int
			if tc.close {
				closed, err := tree.CloseConn(ctx, own, keys.Versionstamp{})
				if err != nil {
					t.Fatalf("close of a session with %d ephemerals: %v", n, err)
				}
				deleted = len(closed.Deleted)
				var childEvents int
				for _, ev := range closed.Owed {
					if ev.Type == znode.EventNodeChildrenChanged && ev.Path == parent {
						childEvents++
					}
				}
				if childEvents != 1 {
					t.Errorf("the closing connection is owed %d NodeChildrenChanged of %s, want 1 (its own watch)", childEvents, parent)
				}
			} else {
				// Past the dying session's expiry (tick 5), before the
				// watcher's (601).
				const later = 100
				if tc.stop > 0 {
					db.commits.Store(0)
					db.failAt.Store(tc.stop)
					sw, err := sweepAll(t, db, st.Root, later)
					db.failAt.Store(0)
					if !errors.Is(err, store.ErrTransactionCancelled) {
						t.Fatalf("the sweep that stops midway: %+v, %v", sw, err)
					}
					if _, err := tree.ResumeSession(ctx, dying.ID, dying.Password[:], 4000); !errors.Is(err, znode.ErrSessionExpired) {
						t.Fatalf("resume of a session whose end stopped midway: %v, want ErrSessionExpired", err)
					}
					if w, err := tree.Write(ctx, znode.Caller{Session: dying.ID, Now: 1}, []znode.Op{znode.CreateOp{Path: parent + "/late", ACL: znode.OpenACLUnsafe, Flags: 1, TTL: -1}}); err != nil || !errors.Is(w.Failed(), znode.ErrSessionExpired) {
						t.Fatalf("an ephemeral of a session whose end stopped midway: %v, %v", err, w.Failed())
					}
					deleted += sw.Ephemerals
				}
				sw, err := sweepAll(t, db, st.Root, later)
				if err != nil {
					t.Fatalf("expiry of a session with %d ephemerals: %v", n, err)
				}
				deleted += sw.Ephemerals
			}
			t.Logf("%s of %d ephemerals: %v", tc.name, n, time.Since(start))

			rd, err := tree.GetChildren(ctx, auth, parent)
			if err != nil || len(rd.Children) != 0 || rd.Stat.NumChildren != 0 || rd.Stat.Cversion != 2*n {
				t.Fatalf("%s after the end: %d children, %+v, %v", parent, len(rd.Children), rd.Stat, err)
			}
			if tc.stop == 0 && deleted < n {
				t.Errorf("%d ephemerals reported deleted, want %d", deleted, n)
			}
			if tc.close || tc.stop == 0 {
				emptyRange(t, db, "ephemerals index", ten.Ephemerals(dying.ID))
			}
			emptyRange(t, db, "ephemerals index", ten.Ephemerals(dying.ID))
			emptyRange(t, db, "session watches", ten.SessionWatches(dying.ID))
			emptyRange(t, db, "event log", ten.Events(dying.ID))
			if _, err := tree.ResumeSession(ctx, dying.ID, dying.Password[:], 4000); !errors.Is(err, znode.ErrSessionExpired) {
				t.Fatalf("resume after the end: %v", err)
			}
			evs, _, err := tree.Events(ctx, w, keys.Versionstamp{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, fmt.Sprintf("%d %s", ev.Type, ev.Path))
			}
			want := []string{
				fmt.Sprintf("%d %s", znode.EventNodeDeleted, paths[0]),
				fmt.Sprintf("%d %s", znode.EventNodeChildrenChanged, parent),
				fmt.Sprintf("%d %s", znode.EventNodeDeleted, paths[n/2]),
				fmt.Sprintf("%d %s", znode.EventNodeDeleted, paths[n-1]),
			}
			if !slices.Equal(got, want) {
				t.Errorf("the watcher's events: %q, want %q", got, want)
			}
			if tc.close {
				// The watcher's session is left for the expiries.
				return
			}
		})
	}
}

// TestLargeMultiReplayed: the record of a multi's results, which a retry
// after commit_unknown_result replays, outgrows one FDB value (100,000
// bytes) with a thousand creates of longish paths; it is stored in
// chunks, and the multi is applied once and answered in full. A shorter
// record after it leaves the longer one's last chunks in place (no write
// clears them, blindly or not) and is still read alone: were a stale
// chunk joined to it, the record would not decode and the retry would
// apply the multi twice.
func TestLargeMultiReplayed(t *testing.T) { engines.Each(t, testLargeMultiReplayed) }

func testLargeMultiReplayed(t *testing.T, e engines.Engine) {
	const n = 3000
	var unknown atomic.Bool
	st := e.Open(t, engines.Options{Faults: embedded.Faults{Decide: func(uint64) embedded.Fault {
		if unknown.CompareAndSwap(true, false) {
			return embedded.FaultUnknownApplied
		}
		return embedded.NoFault
	}}})
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	ctx := t.Context()
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := tree.CreateSession(ctx, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	c := znode.Caller{Session: s.ID, Now: 1}
	limWrite(t, tree, c, znode.CreateOp{Path: "/a-parent-with-a-longer-name", ACL: znode.OpenACLUnsafe, TTL: -1})
	var ops []znode.Op
	for i := range n {
		ops = append(ops, znode.CreateOp{Path: fmt.Sprintf("/a-parent-with-a-longer-name/child-%06d-", i), ACL: znode.OpenACLUnsafe, Flags: 2, TTL: -1})
	}
	ten := st.Root.Tenant(keys.DefaultTenant)
	chunks := func() int {
		rows, err := store.ReadTransact(ctx, st.DB, func(r store.Reader) ([]store.KeyValue, error) {
			return r.GetRange(ten.LastWriteChunks(s.ID), store.RangeOptions{}).GetSlice()
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	var counts []int
	for round := range 2 { // the second one's record is shorter
		unknown.Store(true)
		c.Token[0] = byte(round + 1)
		w, err := tree.Write(ctx, c, ops[:n/(round+1)])
		if err != nil || w.Failed() != nil {
			t.Fatalf("multi of %d creates: %v, %v", n/(round+1), err, w.Failed())
		}
		if unknown.Load() {
			t.Fatal("the fault was not injected")
		}
		for i, r := range w.Results {
			want := fmt.Sprintf("/a-parent-with-a-longer-name/child-%06d-%010d", i, round*n+i)
			if r.Path != want || !r.HasStat || r.Stat.Czxid != w.Zxid {
				t.Fatalf("round %d result %d: %+v, want %s created at %#x", round, i, r, want, w.Zxid)
			}
		}
		counts = append(counts, chunks())
	}
	rd, err := tree.GetChildren(ctx, znode.Auth{}, "/a-parent-with-a-longer-name")
	if err != nil || len(rd.Children) != n+n/2 {
		t.Fatalf("children: %d, %v; want %d", len(rd.Children), err, n+n/2)
	}
	if counts[0] < 2 || counts[1] != counts[0] {
		t.Fatalf("chunk keys after the two records: %v; want the first's (at least 2) left in place", counts)
	}
}
