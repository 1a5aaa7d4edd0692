package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/delayed"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// sets, clears and clearsRange build a batch's changes for the caches'
// tests.
func sets(kv ...string) changes {
	var ch changes
	for i := 0; i+1 < len(kv); i += 2 {
		ch.set([]byte(kv[i]), []byte(kv[i+1]))
	}
	return ch
}

func clears(k ...string) changes {
	var ch changes
	for _, k := range k {
		ch.clear([]byte(k))
	}
	return ch
}

func clearsRange(begin, end string) changes {
	var ch changes
	ch.clearRange([]byte(begin), []byte(end))
	return ch
}

// A batch that clears a range drops the cached keys inside it, and only
// those (and the keys it wrote): the rest stay usable at later versions.
func TestPointCacheDropsOnlyWhatABatchChanged(t *testing.T) {
	c := newPointCache(1)
	keys := []string{"a", "a\x00", "az\xff", "b", "c", "d"}
	for _, k := range keys {
		c.add([]byte(k), []byte("v"+k), 1)
	}
	ch := sets("c", "new")
	ch.ops = append(ch.ops, clearsRange("a", "b").ops...)
	c.published(2, &ch)
	want := map[string]bool{"a": false, "a\x00": false, "az\xff": false, "b": true, "c": false, "d": true}
	for _, k := range keys {
		v, ok := c.get([]byte(k), 2)
		if ok != want[k] || (ok && string(v) != "v"+k) {
			t.Errorf("after the batch: %q cached = %v (%q), want %v", k, ok, v, want[k])
		}
	}
	if c.order.Len() != len(c.entries) || len(c.entries) != 2 {
		t.Errorf("%d keys in order, %d entries; want 2 and 2", c.order.Len(), len(c.entries))
	}

	// A key dropped and read again is cached again; a failed batch drops
	// everything.
	c.add([]byte("a"), nil, 2)
	if v, ok := c.get([]byte("a"), 2); !ok || v != nil {
		t.Errorf("a read again as absent: cached = %v (%q), want absent", ok, v)
	}
	c.published(3, nil)
	if len(c.entries) != 0 || c.order.Len() != 0 {
		t.Errorf("after a failed batch: %d entries, %d keys in order; want none", len(c.entries), c.order.Len())
	}
}

// The range cache gives an entry the rows of its range after a batch that
// writes a key inside it or clears a range that meets it, from the
// batch's version on; it keeps the others as they were (a key at an
// entry's end is outside), drops an entry left empty or that outgrows its
// bounds, drops an empty one written into and keeps an empty one cleared,
// and refuses an entry that would overlap one of another begin.
func TestRangeCacheFollowsWhatABatchChanged(t *testing.T) {
	kv := func(k string) []store.KeyValue { return []store.KeyValue{{Key: []byte(k), Value: []byte("v")}} }
	c := newRangeCache(1)
	add := func(b, e string) { c.add([]byte(b), []byte(e), kv(b), c.version) }
	has := func(b, e string) bool { _, ok := c.get([]byte(b), []byte(e), c.version); return ok }
	fill := func() {
		c.entries.Clear(false)
		add("b", "d") // two ranges of one begin
		add("b", "c")
		add("f", "h")
		add("j", "l")
	}
	fill()
	// Overlapping ranges of other begins are not kept.
	add("a", "c")
	add("c", "g")
	add("g", "i")
	if has("a", "c") || has("c", "g") || has("g", "i") || c.entries.Len() != 4 {
		t.Fatalf("overlapping entries kept: %d entries", c.entries.Len())
	}
	many := make([]string, 0, 2*rangeCacheRows)
	for i := range rangeCacheRows {
		many = append(many, fmt.Sprintf("j%02d", i), "v")
	}
	big := changes{ops: append(sets("bb", "w").ops, sets("f", strings.Repeat("x", rangeCacheBytes)).ops...)}
	reordered := changes{ops: append(clears("b").ops, sets("b", "again", "bx", "w").ops...)}
	for _, tc := range []struct {
		name string
		ch   changes
		// Each entry left: begin+end, the version it is served from, and
		// its rows.
		want string
	}{
		{"a key inside the nested pair", sets("bx", "w"), "bc@2[b=v bx=w] bd@2[b=v bx=w] fh@1[f=v] jl@1[j=v]"},
		{"a key inside only the outer one", sets("c", "w"), "bc@1[b=v] bd@2[b=v c=w] fh@1[f=v] jl@1[j=v]"},
		{"a key at a begin, cleared", clears("f"), "bc@1[b=v] bd@1[b=v] jl@1[j=v]"},
		{"a key at an end", sets("h", "w"), "bc@1[b=v] bd@1[b=v] fh@1[f=v] jl@1[j=v]"},
		{"a key between entries", sets("e", "w"), "bc@1[b=v] bd@1[b=v] fh@1[f=v] jl@1[j=v]"},
		{"a range meeting two entries", clearsRange("cz", "g"), "bc@1[b=v] bd@2[b=v] jl@1[j=v]"},
		{"a range ending at a begin", clearsRange("d", "f"), "bc@1[b=v] bd@1[b=v] fh@1[f=v] jl@1[j=v]"},
		{"a range inside an entry", clearsRange("ja", "jb"), "bc@1[b=v] bd@1[b=v] fh@1[f=v] jl@2[j=v]"},
		{"a range over everything", clearsRange("", "z"), ""},
		{"too many rows", sets(many...), "bc@1[b=v] bd@1[b=v] fh@1[f=v]"},
		{"too many bytes", big, "bc@2[b=v bb=w] bd@2[b=v bb=w] jl@1[j=v]"},
		{"a key cleared and set again in one batch", reordered, "bc@2[b=again bx=w] bd@2[b=again bx=w] fh@1[f=v] jl@1[j=v]"},
	} {
		fill()
		c.published(2, &tc.ch)
		var got []string
		c.entries.Ascend(func(e *rangeEntry) bool {
			var rows []string
			for _, r := range e.rows {
				rows = append(rows, string(r.Key)+"="+string(r.Value))
			}
			got = append(got, fmt.Sprintf("%s%s@%d[%s]", e.begin, e.end, e.from, strings.Join(rows, " ")))
			return true
		})
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, g, tc.want)
		}
		c.version = 1
	}
	// An empty entry stays as it was when cleared, and gets the rows a
	// batch writes into it, from the batch's version on.
	c.entries.Clear(false)
	c.add([]byte("e"), []byte("f"), nil, c.version)
	emptied := clearsRange("d", "z")
	c.published(2, &emptied)
	if _, ok := c.get([]byte("e"), []byte("f"), 1); !ok {
		t.Error("an empty entry cleared: dropped or served from a later version")
	}
	created := sets("ea", "v")
	c.published(3, &created)
	if rows, ok := c.get([]byte("e"), []byte("f"), 3); !ok || len(rows) != 1 || string(rows[0].Key) != "ea" || string(rows[0].Value) != "v" {
		t.Errorf("an empty entry written into holds %q (found %v), want the row ea=v", rows, ok)
	}
	if _, ok := c.get([]byte("e"), []byte("f"), 2); ok {
		t.Error("an empty entry written into served to a read version before the write")
	}

	// An entry read at an older snapshot than the newest is not added; one
	// is not served to a read version before its own.
	c.entries.Clear(false)
	c.version = 2
	c.add([]byte("x"), []byte("y"), kv("x"), c.version-1)
	c.add([]byte("p"), []byte("q"), kv("p"), c.version)
	if has("x", "y") || !has("p", "q") {
		t.Errorf("stale add kept or fresh one lost: %d entries", c.entries.Len())
	}
	if _, ok := c.get([]byte("p"), []byte("q"), c.version-1); ok {
		t.Error("an entry served to a read version before it")
	}
	// A failed batch drops everything.
	c.published(3, nil)
	if c.entries.Len() != 0 {
		t.Errorf("after a failed batch: %d entries, want none", c.entries.Len())
	}
}

// store.ReadTransact's hint reaches the engine through the wrappers
// layerd puts around it (metered, delayed): a read request's transaction
// is hinted, one that commits is not; and znode's reads hint theirs.
func TestReadOnlyHintThroughWrappers(t *testing.T) {
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	spy := &hintSpy{DB: db}
	wrapped := delayed.Wrap(metered.New(spy, "test", nil), delayed.Delays{Read: time.Microsecond})
	rg := store.Range{Begin: []byte("a"), End: []byte("b")}
	if _, err := store.Transact(ctx, wrapped, func(tx store.Tx) (any, error) {
		_, err := tx.GetRange(rg, store.RangeOptions{}).GetSlice()
		tx.Set([]byte("x"), []byte("1"))
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if n := spy.hinted.Load(); n != 0 {
		t.Fatalf("a committed transaction was hinted read-only (%d hints)", n)
	}
	if _, err := store.ReadTransact(ctx, wrapped, func(r store.Reader) (any, error) {
		_, err := r.GetRange(rg, store.RangeOptions{}).GetSlice()
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if n := spy.hinted.Load(); n != 1 {
		t.Fatalf("a read request's transaction: %d hints, want 1", n)
	}

	// And through znode's own wrapper: a getData's read of the node.
	root, err := keys.NewRoot([]byte("hint"))
	if err != nil {
		t.Fatal(err)
	}
	tree := znode.New(wrapped, root.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	before := spy.hinted.Load()
	if _, err := tree.GetData(ctx, znode.Auth{}, "/"); err != nil {
		t.Fatal(err)
	}
	if after := spy.hinted.Load(); after <= before {
		t.Fatalf("a getData hinted nothing (%d hints before, %d after)", before, after)
	}
}

// hintSpy counts the store.HintReadOnly calls that reach the engine's
// transactions.
type hintSpy struct {
	*DB
	hinted atomic.Int64
}

func (s *hintSpy) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := s.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &spiedTx{Tx: tx, spy: s}, nil
}

type spiedTx struct {
	store.Tx
	spy *hintSpy
}

func (t *spiedTx) HintReadOnly() {
	t.spy.hinted.Add(1)
	store.HintReadOnly(t.Tx)
}

// A transaction hinted read-only records no read conflicts, so it may
// not commit writes: the commit fails (it would skip FoundationDB's
// conflict check); a commit without writes succeeds as any read-only one.
func TestReadOnlyHintRefusesWrites(t *testing.T) {
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, writes := range []bool{false, true} {
		tx, err := db.CreateTransaction(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		store.HintReadOnly(tx)
		if _, err := tx.Get([]byte("k")).Get(); err != nil {
			t.Fatal(err)
		}
		if writes {
			tx.Set([]byte("k"), []byte("v"))
		}
		err = tx.Commit()
		tx.Close()
		if writes && !errors.Is(err, errReadOnlyWrote) {
			t.Errorf("commit of a hinted transaction's writes: %v, want refused", err)
		}
		if !writes && err != nil {
			t.Errorf("commit of a hinted transaction without writes: %v", err)
		}
	}
}

// TestKeyAfterSharesOnlyItsOwnBuffer checks that keyAfter reuses the
// byte cloneKey leaves after a key, and allocates for any other slice,
// even one whose spare byte happens to be 0.
func TestKeyAfterSharesOnlyItsOwnBuffer(t *testing.T) {
	k := []byte("node")
	c := cloneKey(k)
	after := keyAfter(c)
	if string(after) != "node\x00" || &after[0] != &c[0] {
		t.Fatalf("keyAfter(cloneKey) = %q, sharing %v; want node\\x00 in the clone's buffer", after, &after[0] == &c[0])
	}
	k[0] = 'x'
	if string(c) != "node" {
		t.Fatalf("cloneKey shares the caller's bytes: %q", c)
	}
	other := make([]byte, 4, 8)
	copy(other, "node")
	if a := keyAfter(other); string(a) != "node\x00" || &a[0] == &other[0] {
		t.Fatalf("keyAfter of a slice with room = %q, shared %v; want a copy", a, &a[0] == &other[0])
	}
}

// TestRangeCacheServesRangesInsideAnEntry checks that an entry answers
// reads of any range inside its own with just the rows there, and no
// range reaching outside it: a connection reads its event log from a
// cursor that moves inside the range it read first.
func TestRangeCacheServesRangesInsideAnEntry(t *testing.T) {
	c := newRangeCache(1)
	rows := []store.KeyValue{{Key: []byte("b1"), Value: []byte("1")}, {Key: []byte("c1"), Value: []byte("2")}, {Key: []byte("d1"), Value: []byte("3")}}
	c.add([]byte("b"), []byte("f"), rows, 1)
	keysOf := func(b, e string, rv int64) (string, bool) {
		got, ok := c.get([]byte(b), []byte(e), rv)
		var ks []string
		for _, kv := range got {
			ks = append(ks, string(kv.Key))
		}
		return strings.Join(ks, " "), ok
	}
	for _, tc := range []struct {
		b, e string
		want string
		ok   bool
	}{
		{"b", "f", "b1 c1 d1", true},
		{"c", "f", "c1 d1", true},
		{"b1\x00", "d1", "c1", true},
		{"c2", "d", "", true},
		{"e", "f", "", true},
		{"a", "c", "", false}, // begins before the entry
		{"c", "g", "", false}, // ends after it
		{"f", "g", "", false}, // outside it
	} {
		got, ok := keysOf(tc.b, tc.e, 1)
		if ok != tc.ok || got != tc.want {
			t.Errorf("get(%q, %q) = %q, %v; want %q, %v", tc.b, tc.e, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := keysOf("c", "f", 0); ok {
		t.Error("a range inside an entry served to a read version before the entry's")
	}
	// A batch's write inside the entry reaches the reads inside it.
	ch := sets("c5", "4")
	c.published(2, &ch)
	if got, ok := keysOf("c2", "f", 2); !ok || got != "c5 d1" {
		t.Errorf("after a write inside the entry: get(c2, f) = %q, %v; want c5 d1", got, ok)
	}
	if _, ok := keysOf("c2", "f", 1); ok {
		t.Error("the changed entry served to a read version before the write")
	}
}
