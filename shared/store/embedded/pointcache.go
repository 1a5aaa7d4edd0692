package embedded

import (
	"bytes"
	"sync"

	"github.com/google/btree"
)

// pointCache keeps the values of recently read keys that no commit has
// written since, so that a point read of such a key skips Pebble. A write
// reads some keys every time and seldom writes them (a session's record,
// the recursive-watch count): their Pebble lookups, through every memtable
// and level, were a tenth of layerd's CPU under setData.
//
// An entry holds a key's value as of version from and every later one, up
// to the newest commit: the committer drops the keys a batch wrote, and
// those inside the ranges it cleared (found through order: every delete
// of a node and every clearing of watch events clears a range, and
// dropping all entries for each made the cache useless under those
// loads), before it publishes the batch's snapshot. So a read at a
// version at or after from may use it; a read at an older version goes
// to its snapshot. An entry is only added from a read of the newest
// published snapshot, checked under the lock the committer drops entries
// under, so none can hold a value a commit replaced.
type pointCache struct {
	mu      sync.Mutex
	version int64 // the newest published snapshot's version
	entries map[string]cachedValue
	order   *btree.BTreeG[string] // the keys of entries, in order
}

type cachedValue struct {
	value   []byte // nil: absent
	from    int64
	present bool
}

// pointCacheEntries bounds the cache; when full it starts over.
const pointCacheEntries = 1 << 16

func newPointCache(version int64) *pointCache {
	return &pointCache{version: version, entries: make(map[string]cachedValue),
		order: btree.NewOrderedG[string](16)}
}

// get returns k's value as of version rv, if the cache holds it.
func (c *pointCache) get(k []byte, rv int64) (v []byte, ok bool) {
	c.mu.Lock()
	e, found := c.entries[string(k)]
	c.mu.Unlock()
	if !found || rv < e.from {
		return nil, false
	}
	if !e.present {
		return nil, true
	}
	return bytes.Clone(e.value), true
}

// add records k's value v (nil: absent) read from the snapshot of version
// snap, if that is still the newest.
func (c *pointCache) add(k, v []byte, snap int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap != c.version {
		return
	}
	if len(c.entries) >= pointCacheEntries {
		c.dropAllLocked()
	}
	if _, had := c.entries[string(k)]; !had {
		c.order.ReplaceOrInsert(string(k))
	}
	c.entries[string(k)] = cachedValue{value: bytes.Clone(v), from: snap, present: v != nil}
}

func (c *pointCache) dropAllLocked() {
	clear(c.entries)
	c.order.Clear(true)
}

// published drops what a batch committed at version changed; all of it
// if the batch failed (ch nil). (A key rewritten could take its new value
// instead, as the range cache's entries do; measured, that made creates
// with requests pipelined on each session a tenth slower, and kept
// nothing a setData needs: its node's rows are a range.)
func (c *pointCache) published(version int64, ch *changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = version
	if ch == nil {
		c.dropAllLocked()
		return
	}
	var inside []string
	for _, op := range ch.ops {
		if op.kind != changeClearRange {
			if _, had := c.entries[string(op.key)]; had {
				delete(c.entries, string(op.key))
				c.order.Delete(string(op.key))
			}
			continue
		}
		inside = inside[:0]
		visit := func(k string) bool { inside = append(inside, k); return true }
		if op.end == nil {
			c.order.AscendGreaterOrEqual(string(op.key), visit)
		} else {
			c.order.AscendRange(string(op.key), string(op.end), visit)
		}
		for _, k := range inside {
			delete(c.entries, k)
			c.order.Delete(k)
		}
	}
}
