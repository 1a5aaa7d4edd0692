package embedded

import (
	"fmt"
	"strings"
	"testing"

	"zkfdb/shared/store"
)

// openInMemory opens an in-memory engine for the range cache's tests.
func openInMemory(t *testing.T) *DB {
	t.Helper()
	db, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rowsText renders rows as "k=v k=v".
func rowsText(rows []store.KeyValue) string {
	var out []string
	for _, kv := range rows {
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return strings.Join(out, " ")
}

// cached reports whether the range cache holds an entry for exactly
// [begin, end).
func cached(db *DB, begin, end string) bool {
	c := db.ranges
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries.Get(&rangeEntry{begin: []byte(begin), end: []byte(end)})
	return ok
}

// A transaction that has written reads a range it wrote nothing in from
// the cache (the watchers of a node a write changed, read when it fires
// them), and a range it wrote in (a key, a cleared range, a
// versionstamped key's candidates) from storage and its own writes.
func TestWritesReadUntouchedRangesFromTheCache(t *testing.T) {
	db := openInMemory(t)
	ctx := t.Context()
	commit := func(body func(tx store.Tx) error) {
		t.Helper()
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) { return nil, body(tx) }); err != nil {
			t.Fatal(err)
		}
	}
	commit(func(tx store.Tx) error {
		tx.Set([]byte("n/a"), []byte("1"))
		tx.Set([]byte("n/b"), []byte("2"))
		return nil
	})
	rg := store.Range{Begin: []byte("n/"), End: []byte("n0")}
	if _, err := store.ReadTransact(ctx, db, func(r store.Reader) (any, error) {
		return r.GetRange(rg, store.RangeOptions{}).GetSlice()
	}); err != nil {
		t.Fatal(err)
	}
	if !cached(db, "n/", "n0") {
		t.Fatal("a read-only scan of two rows left no entry")
	}
	// Mark the entry, so that a read it serves shows: the cache's rows,
	// not storage's.
	c := db.ranges
	c.mu.Lock()
	e, _ := c.entries.Get(&rangeEntry{begin: []byte("n/"), end: []byte("n0")})
	c.putLocked(&rangeEntry{begin: e.begin, end: e.end, from: e.from,
		rows: []store.KeyValue{{Key: []byte("n/a"), Value: []byte("from-cache")}}})
	c.mu.Unlock()

	const stored = "n/a=1 n/b=2"
	for _, tc := range []struct {
		name  string
		write func(tx store.Tx)
		want  string // "": accessed_unreadable
	}{
		{"a key outside", func(tx store.Tx) { tx.Set([]byte("o/x"), []byte("w")) }, "n/a=from-cache"},
		{"a range cleared outside, ending at its begin", func(tx store.Tx) {
			tx.ClearRange(store.Range{Begin: []byte("m"), End: []byte("n/")})
		}, "n/a=from-cache"},
		{"a key inside", func(tx store.Tx) { tx.Set([]byte("n/c"), []byte("w")) }, stored + " n/c=w"},
		{"a key inside, cleared", func(tx store.Tx) { tx.Clear([]byte("n/a")) }, "n/b=2"},
		{"a range cleared across its begin", func(tx store.Tx) {
			tx.ClearRange(store.Range{Begin: []byte("m"), End: []byte("n/b")})
		}, "n/b=2"},
		{"an atomic add inside", func(tx store.Tx) { tx.Atomic(store.Add, []byte("n/z"), []byte{1}) }, stored + " n/z=\x01"},
		{"a versionstamped key inside", func(tx store.Tx) {
			tx.SetVersionstampedKey(fmt.Appendf(nil, "n/v%s\x03\x00\x00\x00", make([]byte, 10)), []byte("s"))
		}, ""},
	} {
		tx, err := db.CreateTransaction(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tc.write(tx)
		rows, err := tx.GetRange(rg, store.RangeOptions{}).GetSlice()
		tx.Close()
		switch {
		case tc.want == "" && store.Code(err) != store.ErrAccessedUnreadable.Code:
			t.Errorf("after %s: %q, %v; want accessed_unreadable", tc.name, rowsText(rows), err)
		case tc.want != "" && (err != nil || rowsText(rows) != tc.want):
			t.Errorf("after %s: %q, %v; want %q", tc.name, rowsText(rows), err, tc.want)
		}
	}
}

// A transaction that writes adds a range it found empty the second time
// such a transaction finds it empty, not the first (a node a create makes
// is empty once; the watchers of a node a setData changes are empty at
// each); a read-only one adds it at once.
func TestEmptyRangesOfWritesCachedWhenSeenTwice(t *testing.T) {
	db := openInMemory(t)
	ctx := t.Context()
	writeAfterReading := func(b, e string) {
		t.Helper()
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
			rows, err := tx.GetRange(store.Range{Begin: []byte(b), End: []byte(e)}, store.RangeOptions{}).GetSlice()
			if err == nil && len(rows) != 0 {
				t.Errorf("[%s, %s) has %d rows, want none", b, e, len(rows))
			}
			tx.Set([]byte("x"), []byte("1"))
			return nil, err
		}); err != nil {
			t.Fatal(err)
		}
	}
	writeAfterReading("w/", "w0")
	if cached(db, "w/", "w0") {
		t.Fatal("an empty range a write found once is cached")
	}
	writeAfterReading("w/", "w0")
	if !cached(db, "w/", "w0") {
		t.Fatal("an empty range writes found twice is not cached")
	}
	if _, err := store.ReadTransact(ctx, db, func(r store.Reader) (any, error) {
		return r.GetRange(store.Range{Begin: []byte("v/"), End: []byte("v0")}, store.RangeOptions{}).GetSlice()
	}); err != nil {
		t.Fatal(err)
	}
	if !cached(db, "v/", "v0") {
		t.Fatal("an empty range a read-only transaction found is not cached")
	}
	// The entry follows the write that fills it.
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
		tx.Set([]byte("w/a"), []byte("1"))
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(store.Range{Begin: []byte("w/"), End: []byte("w0")}, store.RangeOptions{}).GetSlice()
	})
	if err != nil || rowsText(rows) != "w/a=1" {
		t.Fatalf("after a write into the empty entry: %q, %v; want w/a=1", rowsText(rows), err)
	}
}

// The range cache keeps ranges of up to rangeCacheRows rows (a lock
// recipe's listing of 64 contenders), counts every entry's bytes as it is
// added, changed and dropped, and starts over rather than pass
// rangeCacheTotal.
func TestRangeCacheBudget(t *testing.T) {
	c := newRangeCache(1)
	check := func(when string) {
		t.Helper()
		sum := 0
		c.entries.Ascend(func(e *rangeEntry) bool {
			sum += entrySize(e)
			return true
		})
		if sum != c.size {
			t.Fatalf("%s: size %d, entries' bytes %d", when, c.size, sum)
		}
		if c.size > rangeCacheTotal {
			t.Fatalf("%s: size %d over the budget %d", when, c.size, rangeCacheTotal)
		}
	}
	listing := make([]store.KeyValue, 64)
	for i := range listing {
		listing[i] = store.KeyValue{Key: fmt.Appendf(nil, "l/lock-%010d", i), Value: []byte{}}
	}
	c.add([]byte("l/"), []byte("l0"), listing, 1)
	if rows, ok := c.get([]byte("l/lock-0000000010"), []byte("l0"), 1); !ok || len(rows) != 54 {
		t.Fatalf("a 64-row listing from its 11th row: %d rows, cached %v; want 54", len(rows), ok)
	}
	check("after a listing")
	ch := sets("l/lock-0000000064", "", "l/lock-0000000065", "")
	c.published(2, &ch)
	check("after two children created")
	ch = clears("l/lock-0000000000")
	c.published(3, &ch)
	check("after one deleted")
	if rows, ok := c.get([]byte("l/"), []byte("l0"), 3); !ok || len(rows) != 65 {
		t.Fatalf("after the changes: %d rows, cached %v; want 65", len(rows), ok)
	}

	// Full-size entries until the budget is passed: the cache starts
	// over, and stays within it.
	value := strings.Repeat("v", rangeCacheBytes-16)
	for i := range rangeCacheTotal/rangeCacheBytes + 8 {
		b := fmt.Appendf(nil, "big/%06d", i)
		c.add(b, append(b, 0), []store.KeyValue{{Key: b, Value: []byte(value)}}, 3)
		check(fmt.Sprintf("after %d large entries", i+1))
	}
	if n := c.entries.Len(); n >= rangeCacheTotal/rangeCacheBytes {
		t.Fatalf("%d large entries kept; the budget holds fewer", n)
	}
	c.published(4, nil)
	if c.size != 0 || c.entries.Len() != 0 {
		t.Fatalf("after a failed batch: size %d, %d entries; want none", c.size, c.entries.Len())
	}
}
