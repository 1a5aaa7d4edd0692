package znode_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

type fixture struct {
	t       *testing.T
	db      store.DB
	root    keys.Root
	commits *commits
	tree    *znode.Tree
	sess    int64
	auth    znode.Auth
}

func newFixture(t *testing.T, e engines.Engine, faults embedded.Faults) *fixture {
	t.Helper()
	st := e.Open(t, engines.Options{Faults: faults})
	db := &commits{DB: st.DB}
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{SuperDigest: znode.DigestID("super:secret")})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, err := tree.CreateSession(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, root: st.Root, commits: db, tree: tree, sess: s.ID, auth: znode.Auth{IDs: []znode.ID{{Scheme: "ip", ID: "127.0.0.1"}}}}
}

func (f *fixture) caller() znode.Caller {
	c := znode.Caller{Session: f.sess, Auth: f.auth, Now: 1_700_000_000_000}
	rand.Read(c.Token[:])
	return c
}

func (f *fixture) write(ops ...znode.Op) znode.Written {
	f.t.Helper()
	w, err := f.tree.Write(f.t.Context(), f.caller(), ops)
	if err != nil {
		f.t.Fatalf("write: %v", err)
	}
	return w
}

func (f *fixture) create(p string, data []byte, flags int32) (znode.Result, error) {
	f.t.Helper()
	w := f.write(znode.CreateOp{Path: p, Data: data, ACL: znode.OpenACLUnsafe, Flags: flags, TTL: -1})
	return w.Results[0], w.Failed()
}

func (f *fixture) mustCreate(p string, flags int32) znode.Result {
	f.t.Helper()
	r, err := f.create(p, []byte("x"), flags)
	if err != nil {
		f.t.Fatalf("create %s: %v", p, err)
	}
	return r
}

func (f *fixture) stat(p string) znode.Stat {
	f.t.Helper()
	r, err := f.tree.Exists(f.t.Context(), f.auth, p)
	if err != nil {
		f.t.Fatalf("exists %s: %v", p, err)
	}
	return r.Stat
}

func TestFreshTree(t *testing.T) { engines.Each(t, testFreshTree) }

func testFreshTree(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	root := f.stat("/")
	if root.Czxid != 0 || root.Mzxid != 0 || root.Pzxid != 0 || root.Cversion != -1 || root.NumChildren != 1 {
		t.Errorf("/ stat = %+v; want all zero but cversion -1, numChildren 1", root)
	}
	if zk := f.stat("/zookeeper"); zk.Cversion != -2 || zk.NumChildren != 2 {
		t.Errorf("/zookeeper stat = %+v; want cversion -2, numChildren 2", zk)
	}
	cfg, err := f.tree.GetACL(t.Context(), f.auth, "/zookeeper/config")
	if err != nil || cfg.Stat.Aversion != -1 || !slices.Equal(cfg.ACL, znode.ReadACLUnsafe) {
		t.Errorf("/zookeeper/config: %+v, %v; want aversion -1, world:anyone READ", cfg, err)
	}
	n, err := f.tree.GetAllChildrenNumber(t.Context(), f.auth, "/")
	if err != nil || n.Count != 3 {
		t.Errorf("getAllChildrenNumber(/) = %d, %v; want 3", n.Count, err)
	}
	if _, err := f.create("/", nil, 0); !errors.Is(err, znode.ErrNodeExists) {
		t.Errorf("create / = %v, want NodeExists", err)
	}
	if err := f.tree.Init(t.Context()); err != nil || f.stat("/").NumChildren != 1 {
		t.Errorf("second Init changed the tree (%v)", err)
	}
}

func TestStatRules(t *testing.T) { engines.Each(t, testStatRules) }

func testStatRules(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	a := f.mustCreate("/a", 0)
	if s := a.Stat; s.Czxid != s.Mzxid || s.Czxid != s.Pzxid || s.Version != 0 || s.Cversion != 0 || s.DataLength != 1 || s.Ctime != s.Mtime {
		t.Errorf("created stat = %+v", s)
	}
	before := f.stat("/a")
	b := f.mustCreate("/a/b", 0)
	after := f.stat("/a")
	if after.Cversion != before.Cversion+1 || after.NumChildren != 1 || after.Pzxid != b.Stat.Czxid || after.Mzxid != before.Mzxid || after.Version != 0 {
		t.Errorf("parent after child create: %+v (before %+v, child czxid %d)", after, before, b.Stat.Czxid)
	}
	if b.Stat.Czxid <= a.Stat.Czxid {
		t.Errorf("zxids did not increase: %d then %d", a.Stat.Czxid, b.Stat.Czxid)
	}
	w := f.write(znode.SetDataOp{Path: "/a", Data: []byte("new"), Version: 0})
	s := w.Results[0].Stat
	if s.Version != 1 || s.Mzxid != w.Zxid || s.Czxid != a.Stat.Czxid || s.Pzxid != b.Stat.Czxid || s.DataLength != 3 {
		t.Errorf("stat after setData = %+v (zxid %d)", s, w.Zxid)
	}
	del := f.write(znode.DeleteOp{Path: "/a/b", Version: -1})
	if err := del.Failed(); err != nil {
		t.Fatal(err)
	}
	afterDel := f.stat("/a")
	if afterDel.Cversion != after.Cversion+1 || afterDel.NumChildren != 0 || afterDel.Pzxid != del.Zxid {
		t.Errorf("parent after child delete: %+v, want cversion %d, pzxid %d", afterDel, after.Cversion+1, del.Zxid)
	}
	acl := f.write(znode.SetACLOp{Path: "/a", ACL: znode.OpenACLUnsafe, Version: 0})
	if s := acl.Results[0].Stat; s.Aversion != 1 || s.Mzxid != w.Zxid || s.Version != 1 {
		t.Errorf("stat after setACL = %+v: want aversion 1 and mzxid unchanged", s)
	}
}

func TestNullAndLargeData(t *testing.T) { engines.Each(t, testNullAndLargeData) }

func testNullAndLargeData(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	if _, err := f.create("/null", nil, 0); err != nil {
		t.Fatal(err)
	}
	r, err := f.tree.GetData(t.Context(), f.auth, "/null")
	if err != nil || r.Data != nil || r.Stat.DataLength != 0 {
		t.Errorf("null data: %q (nil %v), %v", r.Data, r.Data == nil, err)
	}
	if _, err := f.create("/empty", []byte{}, 0); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.tree.GetData(t.Context(), f.auth, "/empty"); r.Data == nil {
		t.Error("empty data came back null")
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 65_000) // 1,040,000 bytes
	if _, err := f.create("/big", big, 0); err != nil {
		t.Fatal(err)
	}
	if r, err := f.tree.GetData(t.Context(), f.auth, "/big"); err != nil || !bytes.Equal(r.Data, big) || r.Stat.DataLength != int32(len(big)) {
		t.Fatalf("1 MB data: %d bytes, %v", len(r.Data), err)
	}
	f.write(znode.SetDataOp{Path: "/big", Data: []byte("small"), Version: -1})
	if r, err := f.tree.GetData(t.Context(), f.auth, "/big"); err != nil || string(r.Data) != "small" {
		t.Fatalf("after shrinking: %d bytes %q..., %v", len(r.Data), r.Data[:min(len(r.Data), 10)], err)
	}
}

func TestSequential(t *testing.T) { engines.Each(t, testSequential) }

func testSequential(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.mustCreate("/q", 0)
	for i, want := range []string{"/q/n0000000000", "/q/n0000000001"} {
		if r := f.mustCreate("/q/n", 2); r.Path != want {
			t.Fatalf("create %d: %s, want %s", i, r.Path, want)
		}
	}
	f.write(znode.DeleteOp{Path: "/q/n0000000001", Version: -1})
	f.mustCreate("/q/plain", 0)
	if r := f.mustCreate("/q/", 3); r.Path != "/q/0000000003" {
		t.Fatalf("create /q/ sequential = %s, want /q/0000000003 (deletes do not reuse, plain creates count)", r.Path)
	}

	// Concurrent sequential creates from many callers: unique, gapless
	// here (nothing else touches /q2), increasing.
	f.mustCreate("/q2", 0)
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				r, err := f.create("/q2/x-", nil, 2)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, r.Path)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, p := range got {
		if want := fmt.Sprintf("/q2/x-%010d", i); p != want {
			t.Fatalf("sequential %d = %s, want %s", i, p, want)
		}
	}
}

// Creates of distinct children of one parent never conflict: the parent's
// counters and pzxid are blind writes.
func TestSiblingCreatesDoNotConflict(t *testing.T) { engines.Each(t, testSiblingCreatesDoNotConflict) }

func testSiblingCreatesDoNotConflict(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.mustCreate("/p", 0)
	f.writeConcurrently(16, 20, func(g, i int) []znode.Op {
		return []znode.Op{znode.CreateOp{Path: fmt.Sprintf("/p/c-%d-%d", g, i), ACL: znode.OpenACLUnsafe, TTL: -1}}
	})
	if s := f.stat("/p"); s.NumChildren != 320 || s.Cversion != 320 {
		t.Fatalf("parent stat %+v, want 320 children", s)
	}
	if n := f.commits.conflicts.Load(); n != 0 {
		t.Fatalf("%v conflicts among sibling creates, want 0", n)
	}
}

// Sequential creates under one parent through one Tree do not conflict:
// they all read the parent's counter, and the Tree queues them by parent
// (seqqueue.go) where they would otherwise retry one another (a lock
// recipe's contenders, all at once).
func TestSequentialCreatesQueueByParent(t *testing.T) {
	engines.Each(t, testSequentialCreatesQueueByParent)
}

func testSequentialCreatesQueueByParent(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.mustCreate("/lock", 0)
	f.mustCreate("/other", 0)
	f.writeConcurrently(16, 10, func(g, i int) []znode.Op {
		// Every other one a multi that creates under both parents (two
		// queues, taken in one order).
		ops := []znode.Op{znode.CreateOp{Path: "/lock/lock-", ACL: znode.OpenACLUnsafe, Flags: 3, TTL: -1}}
		if (g+i)%2 == 0 {
			ops = append(ops, znode.CreateOp{Path: "/other/n-", ACL: znode.OpenACLUnsafe, Flags: 2, TTL: -1})
		}
		return ops
	})
	if s := f.stat("/lock"); s.NumChildren != 160 {
		t.Fatalf("/lock has %d children, want 160", s.NumChildren)
	}
	if n := f.commits.conflicts.Load(); n != 0 {
		t.Fatalf("%v conflicts among queued sequential creates, want 0", n)
	}
}

// writeConcurrently runs sessions goroutines, each with a session of its
// own, each writing ops(g, i) for i in [0, each): a session's own writes
// do serialize (on its last-write record), as ZooKeeper runs them in
// order, so concurrency needs sessions.
func (f *fixture) writeConcurrently(sessions, each int, ops func(g, i int) []znode.Op) {
	f.t.Helper()
	var wg sync.WaitGroup
	for g := range sessions {
		s, err := f.tree.CreateSession(f.t.Context(), 10_000)
		if err != nil {
			f.t.Fatal(err)
		}
		wg.Go(func() {
			for i := range each {
				c := f.caller()
				c.Session = s.ID
				w, err := f.tree.Write(f.t.Context(), c, ops(g, i))
				if err == nil {
					err = w.Failed()
				}
				if err != nil {
					f.t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// commits counts the outcomes of a store's commits, on any engine (the
// embedded engine's commit metrics have no FoundationDB counterpart).
type commits struct {
	store.DB
	// writes counts committed write transactions (not read-only ones);
	// conflicts, commits that failed with not_committed (1020).
	writes, conflicts atomic.Int64
}

func (c *commits) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := c.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return countedTx{Tx: tx, c: c}, nil
}

type countedTx struct {
	store.Tx
	c *commits
}

func (t countedTx) Commit() error {
	err := t.Tx.Commit()
	switch {
	case err == nil:
		if v, verr := t.Tx.GetCommittedVersion(); verr == nil && v >= 0 {
			t.c.writes.Add(1)
		}
	case store.Code(err) == store.ErrNotCommitted.Code:
		t.c.conflicts.Add(1)
	}
	return err
}

func TestValidation(t *testing.T) { engines.Each(t, testValidation) }

func testValidation(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.mustCreate("/a", 0)
	f.mustCreate("/eph", 1)
	f.mustCreate("/a/child", 0)
	for _, tc := range []struct {
		name string
		op   znode.Op
		want error
	}{
		{"relative", znode.CreateOp{Path: "a", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrBadArguments},
		{"trailing slash, parent exists", znode.CreateOp{Path: "/a/", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrBadArguments},
		{"trailing slash, parent missing", znode.CreateOp{Path: "/nope/", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNoNode},
		{"dot component", znode.CreateOp{Path: "/a/./b", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNoNode},
		// The parent "/a/" is looked up before the path is validated.
		{"double slash", znode.CreateOp{Path: "/a//b", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNoNode},
		{"double slash at the end", znode.CreateOp{Path: "/a/child//", ACL: znode.OpenACLUnsafe, Flags: 2, TTL: -1}, znode.ErrNoNode},
		{"control char", znode.CreateOp{Path: "/a\x01", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrBadArguments},
		{"nul", znode.CreateOp{Path: "/a\x00", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrBadArguments},
		{"non-BMP", znode.CreateOp{Path: "/a😀", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrBadArguments},
		{"bad flags", znode.CreateOp{Path: "/f", ACL: znode.OpenACLUnsafe, Flags: 7, TTL: -1}, znode.ErrBadArguments},
		{"ttl without ttl opcode", znode.CreateOp{Path: "/t", ACL: znode.OpenACLUnsafe, Flags: 5, TTL: -1}, znode.ErrBadArguments},
		{"ttl too large", znode.CreateOp{Path: "/t", ACL: znode.OpenACLUnsafe, Flags: 5, TTL: znode.MaxTTL + 1}, znode.ErrBadArguments},
		{"ttl on a plain mode", znode.CreateOp{Path: "/t", ACL: znode.OpenACLUnsafe, Flags: 0, TTL: 100}, znode.ErrBadArguments},
		{"empty ACL", znode.CreateOp{Path: "/x", TTL: -1}, znode.ErrInvalidACL},
		{"empty ACL beats missing parent", znode.CreateOp{Path: "/nope/x", TTL: -1}, znode.ErrInvalidACL},
		{"missing parent", znode.CreateOp{Path: "/nope/x", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNoNode},
		{"exists", znode.CreateOp{Path: "/a", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNodeExists},
		{"child of ephemeral", znode.CreateOp{Path: "/eph/c", ACL: znode.OpenACLUnsafe, TTL: -1}, znode.ErrNoChildrenForEphemerals},
		{"delete root", znode.DeleteOp{Path: "/", Version: -1}, znode.ErrBadArguments},
		{"delete /zookeeper", znode.DeleteOp{Path: "/zookeeper", Version: -1}, znode.ErrBadArguments},
		{"delete missing", znode.DeleteOp{Path: "/a/none", Version: -1}, znode.ErrNoNode},
		{"delete not empty", znode.DeleteOp{Path: "/a", Version: -1}, znode.ErrNotEmpty},
		{"delete bad version", znode.DeleteOp{Path: "/a/child", Version: 3}, znode.ErrBadVersion},
		{"setData bad version", znode.SetDataOp{Path: "/a", Version: 9}, znode.ErrBadVersion},
		{"setData missing", znode.SetDataOp{Path: "/none", Version: -1}, znode.ErrNoNode},
		{"setData bad path", znode.SetDataOp{Path: "/a/", Version: -1}, znode.ErrBadArguments},
		{"check bad version", znode.CheckOp{Path: "/a", Version: 1}, znode.ErrBadVersion},
		{"world with another id", znode.CreateOp{Path: "/w", ACL: []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "world", ID: "me"}}}, TTL: -1}, znode.ErrInvalidACL},
		{"auth without identities", znode.CreateOp{Path: "/w", ACL: []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "auth"}}}, TTL: -1}, znode.ErrInvalidACL},
		{"bad digest id", znode.CreateOp{Path: "/w", ACL: []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "digest", ID: "nocolon"}}}, TTL: -1}, znode.ErrInvalidACL},
		{"unknown scheme", znode.CreateOp{Path: "/w", ACL: []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "x509", ID: "cn"}}}, TTL: -1}, znode.ErrInvalidACL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.write(tc.op).Failed(); !errors.Is(err, tc.want) {
				t.Fatalf("%+v: %v, want %v", tc.op, err, tc.want)
			}
		})
	}
}

func TestACL(t *testing.T) { engines.Each(t, testACL) }

func testACL(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	alice, err := f.auth.AddAuth("digest", []byte("alice:pw"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := alice.WhoAmI(); !slices.Equal(got, []znode.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "alice"}}) {
		t.Errorf("whoAmI = %v", got)
	}
	c := f.caller()
	c.Auth = alice
	w, err := f.tree.Write(t.Context(), c, []znode.Op{znode.CreateOp{Path: "/secret", Data: []byte("s"), ACL: []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "auth"}}}, TTL: -1}})
	if err != nil || w.Failed() != nil {
		t.Fatal(err, w.Failed())
	}
	if _, err := f.tree.GetData(t.Context(), f.auth, "/secret"); !errors.Is(err, znode.ErrNoAuth) {
		t.Errorf("getData without auth = %v, want NoAuth", err)
	}
	if r, err := f.tree.GetData(t.Context(), alice, "/secret"); err != nil || string(r.Data) != "s" {
		t.Errorf("getData as alice = %q, %v", r.Data, err)
	}
	for _, op := range []znode.Op{
		znode.SetDataOp{Path: "/secret", Version: -1},
		znode.CreateOp{Path: "/secret/c", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.SetACLOp{Path: "/secret", ACL: znode.OpenACLUnsafe, Version: -1},
		znode.CheckOp{Path: "/secret", Version: -1},
	} {
		if err := f.write(op).Failed(); !errors.Is(err, znode.ErrNoAuth) {
			t.Errorf("%T without auth = %v, want NoAuth", op, err)
		}
	}
	// getACL needs READ or ADMIN; a reader without ADMIN sees user:x.
	reader := f.caller()
	reader.Auth = alice
	f.tree.Write(t.Context(), reader, []znode.Op{znode.CreateOp{Path: "/r", ACL: []znode.ACL{{Perms: znode.PermRead, ID: znode.Anyone}, {Perms: znode.PermAll, ID: znode.ID{Scheme: "digest", ID: znode.DigestID("alice:pw")}}}, TTL: -1}})
	if r, err := f.tree.GetACL(t.Context(), f.auth, "/r"); err != nil || r.ACL[1].ID.ID != "alice:x" {
		t.Errorf("getACL without ADMIN = %v, %v; want the digest masked as alice:x", r.ACL, err)
	}
	super, _ := f.auth.AddAuth("digest", []byte("super:secret"), f.tree.SuperDigest())
	if _, err := f.tree.GetData(t.Context(), super, "/secret"); err != nil {
		t.Errorf("super getData = %v", err)
	}
	if _, err := f.auth.AddAuth("kerberos", []byte("x"), ""); !errors.Is(err, znode.ErrAuthFailed) {
		t.Errorf("unknown scheme = %v, want AuthFailed", err)
	}
	// ip scheme with a CIDR.
	f.write(znode.CreateOp{Path: "/lan", ACL: []znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "ip", ID: "127.0.0.0/8"}}}, TTL: -1})
	if _, err := f.tree.GetData(t.Context(), f.auth, "/lan"); err != nil {
		t.Errorf("ip 127.0.0.1 in 127.0.0.0/8: %v", err)
	}
	other := znode.Auth{IDs: []znode.ID{{Scheme: "ip", ID: "10.0.0.1"}}}
	if _, err := f.tree.GetData(t.Context(), other, "/lan"); !errors.Is(err, znode.ErrNoAuth) {
		t.Errorf("ip 10.0.0.1 = %v, want NoAuth", err)
	}
}

func TestMulti(t *testing.T) { engines.Each(t, testMulti) }

func testMulti(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ok := f.write(
		znode.CreateOp{Path: "/m", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.CreateOp{Path: "/m/c", Data: []byte("1"), ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.SetDataOp{Path: "/m/c", Data: []byte("2"), Version: 0},
		znode.CheckOp{Path: "/m/c", Version: 1},
	)
	if err := ok.Failed(); err != nil {
		t.Fatal(err)
	}
	if s := ok.Results[2].Stat; s.Czxid != ok.Zxid || s.Mzxid != ok.Zxid || s.Version != 1 {
		t.Errorf("one zxid for the whole multi: %+v, zxid %d", s, ok.Zxid)
	}
	ops := []znode.Op{
		znode.CreateOp{Path: "/m/x", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.SetDataOp{Path: "/m/c", Version: 1},
		znode.DeleteOp{Path: "/m/c", Version: -1},
		znode.CheckOp{Path: "/m", Version: 0},
	}
	bad := []znode.Op{
		znode.CreateOp{Path: "/m", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.SetDataOp{Path: "/m/c", Version: 7},
		znode.DeleteOp{Path: "/m/none", Version: -1},
		znode.CheckOp{Path: "/m", Version: 5},
	}
	for k := range ops {
		t.Run(fmt.Sprint("fail at ", k), func(t *testing.T) {
			try := slices.Clone(ops)
			try[k] = bad[k]
			w := f.write(try...)
			for i, r := range w.Results {
				var want error
				switch {
				case i == k:
					want = w.Results[k].Err
					if want == nil {
						t.Fatalf("op %d did not fail", k)
					}
				case i > k:
					want = znode.ErrRuntimeInconsistency
				}
				if !errors.Is(r.Err, want) {
					t.Errorf("result %d = %v, want %v", i, r.Err, want)
				}
			}
			if _, err := f.tree.Exists(t.Context(), f.auth, "/m/x"); !errors.Is(err, znode.ErrNoNode) {
				t.Errorf("a failed multi applied its create: %v", err)
			}
		})
	}
	if w := f.write(); w.Failed() != nil || len(w.Results) != 0 {
		t.Errorf("empty multi: %+v", w)
	}
}

// Every write stays exactly-once when commits report
// commit_unknown_result after applying: the retry returns the first
// attempt's result.
func TestWritesAreIdempotentUnderUnknownResults(t *testing.T) {
	engines.Each(t, testWritesAreIdempotentUnderUnknownResults)
}

func testWritesAreIdempotentUnderUnknownResults(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{Decide: func(uint64) embedded.Fault { return embedded.FaultUnknownApplied }})
	r := f.mustCreate("/i", 0)
	if r.Path != "/i" {
		t.Fatalf("create = %+v", r)
	}
	seq := f.mustCreate("/i/s-", 2)
	if seq.Path != "/i/s-0000000000" {
		t.Fatalf("sequential create = %s", seq.Path)
	}
	w := f.write(znode.SetDataOp{Path: "/i", Data: []byte("v"), Version: 0})
	if err := w.Failed(); err != nil || w.Results[0].Stat.Version != 1 || w.Results[0].Stat.Mzxid != w.Zxid {
		t.Fatalf("setData = %+v, %v", w.Results[0], err)
	}
	if err := f.write(znode.DeleteOp{Path: "/i/s-0000000000", Version: -1}).Failed(); err != nil {
		t.Fatalf("delete = %v, want success", err)
	}
	s := f.stat("/i")
	if s.Version != 1 || s.NumChildren != 0 || s.Cversion != 2 {
		t.Fatalf("after retried writes: %+v; want version 1, no children, cversion 2", s)
	}
	kids, err := f.tree.GetChildren(t.Context(), f.auth, "/i")
	if err != nil || len(kids.Children) != 0 {
		t.Fatalf("children %v, %v", kids.Children, err)
	}
}

func TestSessions(t *testing.T) { engines.Each(t, testSessions) }

func testSessions(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	ctx := context.Background()
	s, err := f.tree.CreateSession(ctx, 6000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tree.ResumeSession(ctx, s.ID, s.Password[:], 8000); err != nil {
		t.Fatalf("resume: %v", err)
	}
	wrong := s.Password
	wrong[0]++
	if _, err := f.tree.ResumeSession(ctx, s.ID, wrong[:], 8000); !errors.Is(err, znode.ErrSessionExpired) {
		t.Fatalf("resume with a wrong password = %v", err)
	}
	if _, err := f.tree.ResumeSession(ctx, s.ID+1, s.Password[:], 8000); !errors.Is(err, znode.ErrSessionExpired) {
		t.Fatalf("resume of an unknown id = %v", err)
	}
	f.mustCreate("/s", 0)
	f.sess = s.ID
	f.mustCreate("/s/e1", 1)
	f.mustCreate("/s/e2", 3)
	f.mustCreate("/sx", 1)
	eph, err := f.tree.GetEphemerals(ctx, s.ID, "/s")
	if err != nil || len(eph.Children) != 3 {
		t.Fatalf("ephemerals with prefix /s: %v, %v (a plain string prefix matches /sx too)", eph.Children, err)
	}
	if got := f.stat("/s/e1").EphemeralOwner; got != s.ID {
		t.Fatalf("ephemeralOwner = %#x, want %#x", got, s.ID)
	}
	// EphemeralCount counts every session's ephemerals, not containers.
	other, err := f.tree.CreateSession(ctx, 6000)
	if err != nil {
		t.Fatal(err)
	}
	f.sess = other.ID
	f.mustCreate("/o", 1)
	f.mustCreate("/c", 4)
	if n, err := f.tree.EphemeralCount(ctx); err != nil || n != 4 {
		t.Fatalf("EphemeralCount = %d, %v; want 4", n, err)
	}
	before := f.stat("/s")
	zxid, deleted, err := f.tree.CloseSession(ctx, s.ID)
	if err != nil || len(deleted) != 3 {
		t.Fatalf("close: %v deleted, %v", deleted, err)
	}
	if n, err := f.tree.EphemeralCount(ctx); err != nil || n != 1 {
		t.Fatalf("EphemeralCount after a session closed = %d, %v; want 1", n, err)
	}
	after := f.stat("/s")
	if after.NumChildren != 0 || after.Cversion != before.Cversion+2 || after.Pzxid != zxid {
		t.Fatalf("parent after close: %+v; want no children, cversion +2, pzxid %d", after, zxid)
	}
	if _, err := f.tree.ResumeSession(ctx, s.ID, s.Password[:], 8000); !errors.Is(err, znode.ErrSessionExpired) {
		t.Fatalf("resume after close = %v", err)
	}
	if !strings.HasPrefix(deleted[0], "/s") {
		t.Fatalf("deleted %v", deleted)
	}
}

// In one multi a create under a parent and then a sequential create under
// it: the second reads the parent's counters after the first changed them
// (and stamped its pzxid, unreadable until commit).
func TestMultiCreateThenSequential(t *testing.T) { engines.Each(t, testMultiCreateThenSequential) }

func testMultiCreateThenSequential(t *testing.T, e engines.Engine) {
	f := newFixture(t, e, embedded.Faults{})
	f.mustCreate("/p", 0)
	w := f.write(
		znode.CreateOp{Path: "/p/a", ACL: znode.OpenACLUnsafe, TTL: -1},
		znode.CreateOp{Path: "/p/s-", ACL: znode.OpenACLUnsafe, Flags: 2, TTL: -1},
		znode.DeleteOp{Path: "/p/a", Version: -1},
		znode.CreateOp{Path: "/p/s-", ACL: znode.OpenACLUnsafe, Flags: 2, TTL: -1},
	)
	if err := w.Failed(); err != nil {
		t.Fatal(err)
	}
	if w.Results[1].Path != "/p/s-0000000001" || w.Results[3].Path != "/p/s-0000000002" {
		t.Fatalf("sequential paths %s, %s", w.Results[1].Path, w.Results[3].Path)
	}
	if s := f.stat("/p"); s.NumChildren != 2 || s.Cversion != 4 || s.Pzxid != w.Zxid {
		t.Fatalf("parent %+v", s)
	}
}
