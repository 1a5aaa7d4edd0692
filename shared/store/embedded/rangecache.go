package embedded

import (
	"bytes"
	"sync"

	"github.com/google/btree"

	"zkfdb/shared/store"
)

// rangeCache keeps the rows of small forward range reads that no commit
// has changed since, so that such a read skips Pebble: a node's keys
// (its stat, counters, pzxid and data chunks, one range). Positioning a
// Pebble iterator over every memtable and level and copying the rows
// out was most of what a getData cost in the
// store, and a multiRead of 8 nodes paid it 8 times (a quarter of
// layerd's CPU under that workload).
//
// Only transactions that will not commit (store.HintReadOnly: a read
// request's) add entries: a write reads what it is about to change, and
// adding those only for its own commit to drop them is work for nothing.
// Any transaction that has written nothing reads from them.
//
// Entries follow pointCache's rules: an entry holds a range's rows as of
// version from and every later one, up to the newest commit; the
// committer drops the entries a batch changed (a written key inside, a
// cleared range that overlaps) before it publishes the batch's snapshot;
// entries are added only from reads of the newest published snapshot,
// under the lock the committer drops them under.
//
// To find the entries a key falls in without a scan, entries with
// different begins never overlap: an entry is added only if it overlaps
// no entry of another begin (a node's stat range and its whole range
// share their begin and may both be kept). The entries that can hold a
// key k are then those with the greatest begin at or below k.
type rangeCache struct {
	mu      sync.Mutex
	version int64 // the newest published snapshot's version
	entries *btree.BTreeG[*rangeEntry]
}

type rangeEntry struct {
	begin, end []byte
	rows       []store.KeyValue
	from       int64
}

// rangeEntryLess orders entries by begin, then end.
func rangeEntryLess(a, b *rangeEntry) bool {
	if c := bytes.Compare(a.begin, b.begin); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.end, b.end) < 0
}

// Bounds of what the cache keeps: ranges of at most rangeCacheRows rows
// and rangeCacheBytes bytes, at most rangeCacheEntries of them (when full
// it starts over).
const (
	rangeCacheRows    = 16
	rangeCacheBytes   = 4 << 10
	rangeCacheEntries = 1 << 13
)

func newRangeCache(version int64) *rangeCache {
	return &rangeCache{version: version, entries: btree.NewG(16, rangeEntryLess)}
}

// get returns the rows of [begin, end) as of version rv, if the cache
// holds them: copies, which the caller may keep.
func (c *rangeCache) get(begin, end []byte, rv int64) ([]store.KeyValue, bool) {
	c.mu.Lock()
	e, found := c.entries.Get(&rangeEntry{begin: begin, end: end})
	c.mu.Unlock()
	if !found || rv < e.from {
		return nil, false
	}
	return copyRows(e.rows), true
}

// add records that [begin, end) holds rows as of snapshot snap, if that is
// still the newest, the rows are few and small, and the range overlaps no
// entry of another begin.
func (c *rangeCache) add(begin, end []byte, rows []store.KeyValue, snap int64) {
	if len(rows) > rangeCacheRows || len(end) == 0 || bytes.Compare(begin, end) >= 0 {
		return
	}
	size := 0
	for _, kv := range rows {
		size += len(kv.Key) + len(kv.Value)
	}
	if size > rangeCacheBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap != c.version {
		return
	}
	overlaps := false
	// The entries of the greatest begin below begin must end at or before
	// it; none may begin inside (begin, end).
	// The pivot (no end) sorts before every entry of this begin, and the
	// first entry below it is the one of the greatest begin with the
	// greatest end.
	c.entries.DescendLessOrEqual(&rangeEntry{begin: begin}, func(e *rangeEntry) bool {
		overlaps = bytes.Compare(e.end, begin) > 0
		return false
	})
	if overlaps {
		return
	}
	c.entries.AscendGreaterOrEqual(&rangeEntry{begin: begin}, func(e *rangeEntry) bool {
		if bytes.Compare(e.begin, end) >= 0 {
			return false
		}
		if !bytes.Equal(e.begin, begin) {
			overlaps = true
			return false
		}
		return true
	})
	if overlaps {
		return
	}
	if c.entries.Len() >= rangeCacheEntries {
		c.entries.Clear(false)
	}
	c.entries.ReplaceOrInsert(&rangeEntry{begin: clone(begin), end: clone(end), rows: copyRows(rows), from: snap})
}

// published drops what a batch committed at version changed; everything
// if the batch failed (ch nil).
func (c *rangeCache) published(version int64, ch *changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = version
	if ch == nil {
		c.entries.Clear(false)
		return
	}
	if c.entries.Len() == 0 {
		return
	}
	var drop []*rangeEntry
	for _, k := range ch.keys {
		drop = c.holdingKeyLocked(k, drop)
	}
	for _, r := range ch.ranges {
		drop = c.holdingLocked(r.Begin, r.End, drop)
	}
	for _, e := range drop {
		c.entries.Delete(e)
	}
}

// holdingLocked appends to drop the entries that overlap [lo, hi): those
// that hold lo, and those that begin after it, inside.
func (c *rangeCache) holdingLocked(lo, hi []byte, drop []*rangeEntry) []*rangeEntry {
	drop = c.holdingKeyLocked(lo, drop)
	// The pivot sorts after every entry that begins at lo.
	c.entries.AscendGreaterOrEqual(&rangeEntry{begin: store.KeyAfter(lo)}, func(e *rangeEntry) bool {
		if hi != nil && bytes.Compare(e.begin, hi) >= 0 {
			return false
		}
		drop = append(drop, e)
		return true
	})
	return drop
}

// holdingKeyLocked appends to drop the entries that hold k: those of the
// greatest begin at or below k that end after it (one walk, where a range
// takes two; a batch writes many keys and every one is looked up).
func (c *rangeCache) holdingKeyLocked(k []byte, drop []*rangeEntry) []*rangeEntry {
	var first []byte
	// The pivot sorts after every entry that begins at k.
	c.entries.DescendLessOrEqual(&rangeEntry{begin: store.KeyAfter(k)}, func(e *rangeEntry) bool {
		if first == nil {
			first = e.begin
		} else if !bytes.Equal(e.begin, first) {
			return false
		}
		if bytes.Compare(e.end, k) > 0 {
			drop = append(drop, e)
		}
		return true
	})
	return drop
}

// copyRows copies rows into one arena.
func copyRows(rows []store.KeyValue) []store.KeyValue {
	if rows == nil {
		return nil
	}
	size := 0
	for _, kv := range rows {
		size += len(kv.Key) + len(kv.Value)
	}
	arena := make([]byte, 0, size)
	out := make([]store.KeyValue, len(rows))
	for i, kv := range rows {
		start := len(arena)
		arena = append(arena, kv.Key...)
		mid := len(arena)
		arena = append(arena, kv.Value...)
		out[i] = store.KeyValue{Key: arena[start:mid:mid], Value: arena[mid:len(arena):len(arena)]}
	}
	return out
}
