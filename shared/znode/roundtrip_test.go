package znode_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// TestWriteReadsInOneRoundTrip: a write issues the reads it needs at
// once, so that on FoundationDB it waits about one round trip for them,
// not one per read (a setData used to wait for its session's record, its
// node, its watchers and the recursive-watch count one after another).
// Round trips are counted as waves: a wait on a read issued since the
// last wait starts a new one.
func TestWriteReadsInOneRoundTrip(t *testing.T) { engines.Each(t, testWriteReadsInOneRoundTrip) }

func testWriteReadsInOneRoundTrip(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db := &waveDB{DB: st.DB}
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	ctx := t.Context()
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := tree.CreateSessionOn(ctx, 10_000, 7)
	if err != nil {
		t.Fatal(err)
	}
	caller := func() znode.Caller {
		c := znode.Caller{Session: s.ID, Conn: 7, Now: 1}
		rand.Read(c.Token[:])
		return c
	}
	open := znode.OpenACLUnsafe
	for _, tc := range []struct {
		name  string
		waves int
		ops   []znode.Op
	}{
		{"create", 1, []znode.Op{znode.CreateOp{Path: "/a", ACL: open, TTL: -1}}},
		{"create ephemeral", 1, []znode.Op{znode.CreateOp{Path: "/a/e", ACL: open, Flags: 1, TTL: -1}}},
		// Its name comes from the parent's counter, read first.
		{"create sequential", 2, []znode.Op{znode.CreateOp{Path: "/a/s-", ACL: open, Flags: 2, TTL: -1}}},
		{"setData", 1, []znode.Op{znode.SetDataOp{Path: "/a", Data: []byte("x"), Version: -1}}},
		{"delete", 1, []znode.Op{znode.DeleteOp{Path: "/a/e", Version: -1}}},
		{"multi", 1, []znode.Op{
			znode.CheckOp{Path: "/a", Version: 1},
			znode.SetDataOp{Path: "/a", Data: []byte("y"), Version: -1},
			znode.CreateOp{Path: "/b", ACL: open, TTL: -1},
		}},
	} {
		db.reset()
		w, err := tree.Write(ctx, caller(), tc.ops)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := w.Failed(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := db.waves(); n != tc.waves {
			t.Errorf("%s waited for %d round trips of reads, want %d", tc.name, n, tc.waves)
		}
	}
}

// TestMultiReadInOneRoundTrip: a multiRead of getData issues its nodes'
// reads at once: one round trip for eight nodes, not eight.
func TestMultiReadInOneRoundTrip(t *testing.T) { engines.Each(t, testMultiReadInOneRoundTrip) }

func testMultiReadInOneRoundTrip(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db := &waveDB{DB: st.DB, freeVersions: true}
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	ctx := t.Context()
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var ops []znode.ReadOp
	for i := range 8 {
		p := "/n" + string(rune('0'+i))
		if _, err := tree.Write(ctx, znode.Caller{}, []znode.Op{znode.CreateOp{Path: p, Data: []byte(p), ACL: znode.OpenACLUnsafe, TTL: -1}}); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, znode.ReadOp{Path: p})
	}
	db.reset()
	reads, errs, _, err := tree.MultiRead(ctx, znode.Auth{}, ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, rd := range reads {
		if errs[i] != nil || string(rd.Data) != ops[i].Path {
			t.Fatalf("read %d: %q, %v; want %q", i, rd.Data, errs[i], ops[i].Path)
		}
	}
	if n := db.waves(); n != 1 {
		t.Errorf("a multiRead of 8 nodes waited for %d round trips of reads, want 1", n)
	}
}

// waveDB counts the round trips of reads its transactions wait for.
type waveDB struct {
	store.DB
	// freeVersions: a read version waited for is no round trip (it came
	// with the transaction's first read).
	freeVersions bool
	mu           sync.Mutex
	n            int // waves waited for
}

func (d *waveDB) reset() {
	d.mu.Lock()
	d.n = 0
	d.mu.Unlock()
}

func (d *waveDB) waves() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// issued notes a read issued now: it belongs to the current wave.
func (d *waveDB) issued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// awaited notes a wait on a read of wave w: if no wait since it was
// issued, this one is a new round trip.
func (d *waveDB) awaited(w int) {
	d.mu.Lock()
	if w == d.n {
		d.n++
	}
	d.mu.Unlock()
}

func (d *waveDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &waveTx{Tx: tx, d: d}, nil
}

type waveTx struct {
	store.Tx
	d *waveDB
}

func (t *waveTx) Get(k []byte) store.FutureValue {
	return waveValue{f: t.Tx.Get(k), d: t.d, w: t.d.issued()}
}

func (t *waveTx) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	return waveRange{r: t.Tx.GetRange(r, o), d: t.d, w: t.d.issued()}
}

func (t *waveTx) GetReadVersion() store.FutureVersion {
	if t.d.freeVersions {
		return t.Tx.GetReadVersion()
	}
	return waveVersion{f: t.Tx.GetReadVersion(), d: t.d, w: t.d.issued()}
}

func (t *waveTx) Snapshot() store.Reader { return waveReader{r: t.Tx.Snapshot(), d: t.d} }

type waveReader struct {
	r store.Reader
	d *waveDB
}

func (r waveReader) Get(k []byte) store.FutureValue {
	return waveValue{f: r.r.Get(k), d: r.d, w: r.d.issued()}
}

func (r waveReader) GetRange(rg store.Range, o store.RangeOptions) store.RangeResult {
	return waveRange{r: r.r.GetRange(rg, o), d: r.d, w: r.d.issued()}
}

func (r waveReader) GetReadVersion() store.FutureVersion {
	return waveVersion{f: r.r.GetReadVersion(), d: r.d, w: r.d.issued()}
}

type waveValue struct {
	f store.FutureValue
	d *waveDB
	w int
}

func (v waveValue) Get() ([]byte, error) { v.d.awaited(v.w); return v.f.Get() }

type waveVersion struct {
	f store.FutureVersion
	d *waveDB
	w int
}

func (v waveVersion) Get() (int64, error) { v.d.awaited(v.w); return v.f.Get() }

type waveRange struct {
	r store.RangeResult
	d *waveDB
	w int
}

func (r waveRange) GetSlice() ([]store.KeyValue, error) { r.d.awaited(r.w); return r.r.GetSlice() }
func (r waveRange) Iterator() store.RangeIterator {
	r.d.awaited(r.w)
	return r.r.Iterator()
}
