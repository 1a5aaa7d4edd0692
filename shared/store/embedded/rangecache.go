package embedded

import (
	"bytes"
	"hash/maphash"
	"slices"
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
// Any transaction reads from the entries, and adds them, where it has
// written nothing inside the range; a transaction that writes adds an
// empty range the second time it is found empty (addEmpty): the watchers
// of a node a write changes, most often none, read after the write's
// own mutations when it fires them. A write reads what it is about to
// change: the committer gives the entries a batch changed their new
// rows, so that the next write of the same node (a setData's stat, a
// parent's) finds them; until it did, reading a node past the older
// versions of its rows that the MVCC window keeps in Pebble was a fifth
// of a setData's CPU.
//
// Entries follow pointCache's rules: an entry holds a range's rows as of
// version from and every later one, up to the newest commit; the
// committer brings the entries a batch changed (a written key inside, a
// cleared range that overlaps) up to date, or drops them, before it
// publishes the batch's snapshot (published); entries are added only from
// reads of the newest published snapshot, under the lock the committer
// changes them under.
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
	size    int // the entries' bytes (entrySize), at most rangeCacheTotal
	// missed holds hashes of ranges a write found empty once and did
	// not add (addEmpty), one per slot.
	missed [rangeCacheMissed]uint64
	seed   maphash.Seed
	// get's search key and what it finds, under mu: a search key made
	// per get escaped, and so did a visitor made per get.
	pivot     rangeEntry
	floor     *rangeEntry
	takeFloor func(*rangeEntry) bool
	// The same for the committer's look-ups of the entries a batch
	// changed (holdingKeyLocked, holdingLocked), one per key it wrote:
	// what a walk looks for, and what it found.
	walk                   rangeWalk
	holdsKey, beginsBefore func(*rangeEntry) bool
}

// rangeWalk is a look-up's state (rangeCache.walk).
type rangeWalk struct {
	pivot   rangeEntry
	key, hi []byte
	first   []byte
	started bool
	hit     []*rangeEntry
}

type rangeEntry struct {
	begin, end []byte
	rows       []store.KeyValue
	from       int64
	// pivotAfter: a search pivot that sorts after every entry of its
	// begin (one without end sorts before them); never in the tree.
	pivotAfter bool
}

// rangeEntryLess orders entries by begin, then end.
func rangeEntryLess(a, b *rangeEntry) bool {
	if c := bytes.Compare(a.begin, b.begin); c != 0 {
		return c < 0
	}
	if a.pivotAfter || b.pivotAfter {
		return b.pivotAfter && !a.pivotAfter
	}
	return bytes.Compare(a.end, b.end) < 0
}

// Bounds of what the cache keeps: ranges of at most rangeCacheRows rows
// and rangeCacheBytes bytes, at most rangeCacheEntries of them and
// rangeCacheTotal bytes in all (when full it starts over). A lock
// recipe's waiters list a parent of one child per contender: with 16
// rows at most, 64 contenders' listings each went to Pebble.
const (
	rangeCacheRows    = 256
	rangeCacheBytes   = 16 << 10
	rangeCacheEntries = 1 << 14
	rangeCacheTotal   = 32 << 20
)

// entrySize is what an entry costs the cache's budget: its keys and rows
// and their headers.
func entrySize(e *rangeEntry) int {
	const (
		entryHeader = 112 // the rangeEntry and its slot in the tree, about
		rowHeader   = 48  // a row's store.KeyValue
	)
	n := entryHeader + len(e.begin) + len(e.end) + rowHeader*len(e.rows)
	for _, kv := range e.rows {
		n += len(kv.Key) + len(kv.Value)
	}
	return n
}

// putLocked inserts e, or replaces the entry of its begin and end.
func (c *rangeCache) putLocked(e *rangeEntry) {
	if old, ok := c.entries.ReplaceOrInsert(e); ok {
		c.size -= entrySize(old)
	}
	c.size += entrySize(e)
}

// deleteLocked removes e.
func (c *rangeCache) deleteLocked(e *rangeEntry) {
	if _, ok := c.entries.Delete(e); ok {
		c.size -= entrySize(e)
	}
}

// clearLocked drops every entry.
func (c *rangeCache) clearLocked() {
	c.entries.Clear(false)
	c.size = 0
}

func newRangeCache(version int64) *rangeCache {
	c := &rangeCache{version: version, entries: btree.NewG(16, rangeEntryLess), seed: maphash.MakeSeed()}
	c.takeFloor = func(e *rangeEntry) bool {
		c.floor = e
		return false
	}
	w := &c.walk
	c.holdsKey = func(e *rangeEntry) bool {
		if !w.started {
			w.first, w.started = e.begin, true
		} else if !bytes.Equal(e.begin, w.first) {
			return false
		}
		if bytes.Compare(e.end, w.key) > 0 {
			w.hit = append(w.hit, e)
		}
		return true
	}
	c.beginsBefore = func(e *rangeEntry) bool {
		if w.hi != nil && bytes.Compare(e.begin, w.hi) >= 0 {
			return false
		}
		w.hit = append(w.hit, e)
		return true
	}
	return c
}

// get returns the rows of [begin, end) as of version rv, if the cache
// holds them: copies, which the caller may keep. An entry holds every
// range inside its own, so that a read of part of one is served too: a
// connection reads its session's event log from its cursor on, which
// moves past each event it delivers, while the entry it read first
// follows every event logged after (published); a node's stat range is
// the start of its whole range.
func (c *rangeCache) get(begin, end []byte, rv int64) ([]store.KeyValue, bool) {
	c.mu.Lock()
	// The entry of the greatest begin at or below begin and, of those,
	// the greatest end: the only one that may hold begin (entries of
	// different begins never overlap).
	c.pivot.begin, c.pivot.pivotAfter = begin, true
	c.entries.DescendLessOrEqual(&c.pivot, c.takeFloor)
	e := c.floor
	c.pivot.begin, c.floor = nil, nil
	c.mu.Unlock()
	if e == nil || len(end) == 0 || bytes.Compare(e.end, end) < 0 || rv < e.from {
		return nil, false
	}
	rows := e.rows
	if !bytes.Equal(e.begin, begin) {
		i, _ := slices.BinarySearchFunc(rows, begin, compareRowKey)
		rows = rows[i:]
	}
	if !bytes.Equal(e.end, end) {
		j, _ := slices.BinarySearchFunc(rows, end, compareRowKey)
		rows = rows[:j]
	}
	if len(rows) == 0 {
		return nil, true
	}
	return copyRows(rows), true
}

func compareRowKey(kv store.KeyValue, k []byte) int { return bytes.Compare(kv.Key, k) }

// rangeCacheMissed is how many ranges addEmpty remembers.
const rangeCacheMissed = 1 << 12

// addEmpty records that [begin, end) holds no rows as of snapshot snap,
// as add does, for a transaction that writes: the second time such a
// transaction finds the range empty, not the first. A write reads ranges
// that are empty again at its next write (the watchers of a node it
// changes) and ranges that are empty once (those of a node it creates,
// which it fills): adding those made a create allocate and insert two
// entries that no read used.
func (c *rangeCache) addEmpty(begin, end []byte, snap int64) {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.Write(begin)
	h.WriteByte(0)
	h.Write(end)
	sum := h.Sum64() | 1 // never 0, an empty slot
	slot := &c.missed[sum%rangeCacheMissed]
	c.mu.Lock()
	seen := *slot == sum
	*slot = sum
	c.mu.Unlock()
	if seen {
		c.add(begin, end, nil, snap)
	}
}

// add records that [begin, end) holds rows as of snapshot snap, if that is
// still the newest, the rows are few and small, and the range overlaps no
// entry of another begin.
func (c *rangeCache) add(begin, end []byte, rows []store.KeyValue, snap int64) {
	if !rowsFit(rows) || len(end) == 0 || bytes.Compare(begin, end) >= 0 {
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
	e := &rangeEntry{begin: clone(begin), end: clone(end), rows: copyRows(rows), from: snap}
	if c.entries.Len() >= rangeCacheEntries || c.size+entrySize(e) > rangeCacheTotal {
		c.clearLocked()
	}
	c.putLocked(e)
}

// published brings the entries a batch committed at version changed up
// to date: an entry gets its range's rows after the batch, held from
// version on, or is dropped if none are left (most often a node
// deleted, which its writer does not read again) or they no longer fit
// the cache's bounds. An empty entry stays empty through clears. An
// empty entry a batch writes into keeps its new rows: a session's event
// log read empty by its connection's arming gets the event a write logs
// there, which the connection reads next. It drops everything if the
// batch failed (ch nil).
func (c *rangeCache) published(version int64, ch *changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = version
	if ch == nil {
		c.clearLocked()
		return
	}
	if c.entries.Len() == 0 {
		return
	}
	// The rows of every entry the batch touches, changed op by op; the
	// entries themselves are never changed (get copies their rows
	// outside the lock): new ones replace them at the end.
	var touched map[*rangeEntry][]store.KeyValue
	var hit []*rangeEntry
	for _, op := range ch.ops {
		if op.kind == changeClearRange {
			hit = c.holdingLocked(op.key, op.end, hit[:0])
		} else {
			hit = c.holdingKeyLocked(op.key, hit[:0])
		}
		for _, e := range hit {
			rows, ok := touched[e]
			if !ok {
				if len(e.rows) == 0 && op.kind != changeSet {
					continue // an empty entry cleared: as it was
				}
				rows = append([]store.KeyValue(nil), e.rows...)
			}
			if touched == nil {
				touched = make(map[*rangeEntry][]store.KeyValue)
			}
			touched[e] = changeRows(rows, op)
		}
	}
	for e, rows := range touched {
		if len(rows) == 0 || !rowsFit(rows) {
			c.deleteLocked(e)
			continue
		}
		c.putLocked(&rangeEntry{begin: e.begin, end: e.end, rows: copyRows(rows), from: version})
	}
	// Entries that grew may take it past its budget: it starts over, as
	// add does.
	if c.size > rangeCacheTotal {
		c.clearLocked()
	}
}

// changeRows applies op to rows, in key order, which it may reorder in
// place; the rows may then share op's key and value.
func changeRows(rows []store.KeyValue, op change) []store.KeyValue {
	i, found := slices.BinarySearchFunc(rows, op.key, func(kv store.KeyValue, k []byte) int {
		return bytes.Compare(kv.Key, k)
	})
	switch op.kind {
	case changeSet:
		v := op.value
		if v == nil {
			v = []byte{} // present, empty
		}
		if found {
			rows[i].Value = v
			return rows
		}
		return slices.Insert(rows, i, store.KeyValue{Key: op.key, Value: v})
	case changeClear:
		if found {
			return slices.Delete(rows, i, i+1)
		}
		return rows
	default: // changeClearRange
		j := len(rows)
		if op.end != nil {
			j, _ = slices.BinarySearchFunc(rows, op.end, func(kv store.KeyValue, k []byte) int {
				return bytes.Compare(kv.Key, k)
			})
		}
		if j > i {
			return slices.Delete(rows, i, j)
		}
		return rows
	}
}

// rowsFit tells whether rows are few and small enough to be kept.
func rowsFit(rows []store.KeyValue) bool {
	if len(rows) > rangeCacheRows {
		return false
	}
	size := 0
	for _, kv := range rows {
		size += len(kv.Key) + len(kv.Value)
	}
	return size <= rangeCacheBytes
}

// holdingLocked appends to hit the entries that overlap [lo, hi): those
// that hold lo, and those that begin after it, before hi (nil: the end of
// the keyspace).
func (c *rangeCache) holdingLocked(lo, hi []byte, hit []*rangeEntry) []*rangeEntry {
	hit = c.holdingKeyLocked(lo, hit)
	w := &c.walk
	// The pivot sorts after every entry that begins at lo.
	w.pivot = rangeEntry{begin: lo, pivotAfter: true}
	w.hi, w.hit = hi, hit
	c.entries.AscendGreaterOrEqual(&w.pivot, c.beginsBefore)
	hit = w.hit
	*w = rangeWalk{} // holding nothing of this walk's keys or entries
	return hit
}

// holdingKeyLocked appends to hit the entries that hold k: those of the
// greatest begin at or below k that end after it (one walk, where a range
// takes two; a batch writes many keys and every one is looked up).
func (c *rangeCache) holdingKeyLocked(k []byte, hit []*rangeEntry) []*rangeEntry {
	w := &c.walk
	// The pivot sorts after every entry that begins at k.
	w.pivot = rangeEntry{begin: k, pivotAfter: true}
	w.key, w.hit = k, hit
	c.entries.DescendLessOrEqual(&w.pivot, c.holdsKey)
	hit = w.hit
	*w = rangeWalk{} // holding nothing of this walk's keys or entries
	return hit
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
