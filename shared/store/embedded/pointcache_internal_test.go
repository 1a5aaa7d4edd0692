package embedded

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/delayed"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// A batch that clears a range drops the cached keys inside it, and only
// those (and the keys it wrote): the rest stay usable at later versions.
func TestPointCacheDropsOnlyWhatABatchChanged(t *testing.T) {
	c := newPointCache(1)
	keys := []string{"a", "a\x00", "az\xff", "b", "c", "d"}
	for _, k := range keys {
		c.add([]byte(k), []byte("v"+k), 1)
	}
	c.published(2, &changes{
		keys:   [][]byte{[]byte("c")},
		ranges: []store.Range{{Begin: []byte("a"), End: []byte("b")}},
	})
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

// The range cache drops an entry when a batch writes a key inside it or
// clears a range that meets it, keeps it otherwise (a key at its end is
// outside), and refuses an entry that would overlap one of another begin.
func TestRangeCacheDropsOnlyWhatABatchChanged(t *testing.T) {
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
	for _, tc := range []struct {
		name string
		ch   changes
		kept []string // begin+end of the entries left
	}{
		{"a key inside the nested pair", changes{keys: [][]byte{[]byte("bx")}}, []string{"fh", "jl"}},
		{"a key inside only the outer one", changes{keys: [][]byte{[]byte("c")}}, []string{"bc", "fh", "jl"}},
		{"a key at a begin", changes{keys: [][]byte{[]byte("f")}}, []string{"bc", "bd", "jl"}},
		{"a key at an end", changes{keys: [][]byte{[]byte("h")}}, []string{"bc", "bd", "fh", "jl"}},
		{"a key between entries", changes{keys: [][]byte{[]byte("e")}}, []string{"bc", "bd", "fh", "jl"}},
		{"a range meeting two entries", changes{ranges: []store.Range{{Begin: []byte("cz"), End: []byte("g")}}}, []string{"bc", "jl"}},
		{"a range ending at a begin", changes{ranges: []store.Range{{Begin: []byte("d"), End: []byte("f")}}}, []string{"bc", "bd", "fh", "jl"}},
		{"a range inside an entry", changes{ranges: []store.Range{{Begin: []byte("ja"), End: []byte("jb")}}}, []string{"bc", "bd", "fh"}},
		{"a range over everything", changes{ranges: []store.Range{{Begin: []byte(""), End: []byte("z")}}}, nil},
	} {
		fill()
		c.published(c.version+1, &tc.ch)
		var kept []string
		c.entries.Ascend(func(e *rangeEntry) bool {
			kept = append(kept, string(e.begin)+string(e.end))
			return true
		})
		if fmt.Sprint(kept) != fmt.Sprint(tc.kept) {
			t.Errorf("%s: kept %v, want %v", tc.name, kept, tc.kept)
		}
	}
	// An entry read at an older snapshot than the newest is not added; one
	// is not served to a read version before its own.
	c.entries.Clear(false)
	c.add([]byte("x"), []byte("y"), kv("x"), c.version-1)
	c.add([]byte("p"), []byte("q"), kv("p"), c.version)
	if has("x", "y") || !has("p", "q") {
		t.Errorf("stale add kept or fresh one lost: %d entries", c.entries.Len())
	}
	if _, ok := c.get([]byte("p"), []byte("q"), c.version-1); ok {
		t.Error("an entry served to a read version before it")
	}
}

// store.ReadTransact's hint reaches the engine through the wrappers
// layerd puts around it (metered, delayed): a read request's range read is
// cached; a transaction that commits adds nothing.
func TestReadOnlyHintThroughWrappers(t *testing.T) {
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	wrapped := delayed.Wrap(metered.New(db, "test", nil), delayed.Delays{Read: time.Microsecond})
	rg := store.Range{Begin: []byte("a"), End: []byte("b")}
	if _, err := store.Transact(ctx, wrapped, func(tx store.Tx) (any, error) {
		// The read first: a transaction that has written is never cached.
		_, err := tx.GetRange(rg, store.RangeOptions{}).GetSlice()
		tx.Set([]byte("x"), []byte("1"))
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if n := db.ranges.entries.Len(); n != 0 {
		t.Fatalf("a committed transaction's read added %d entries", n)
	}
	if _, err := store.ReadTransact(ctx, wrapped, func(r store.Reader) (any, error) {
		_, err := r.GetRange(rg, store.RangeOptions{}).GetSlice()
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if n := db.ranges.entries.Len(); n != 1 {
		t.Fatalf("a read request's range read added %d entries, want 1", n)
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
	before := db.ranges.entries.Len()
	if _, err := tree.GetData(ctx, znode.Auth{}, "/"); err != nil {
		t.Fatal(err)
	}
	if after := db.ranges.entries.Len(); after <= before {
		t.Fatalf("a getData added no entry (%d before, %d after)", before, after)
	}
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
