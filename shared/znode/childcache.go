package znode

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"zkfdb/shared/store"
)

// childCache keeps the children's names of recently listed nodes, with
// what identifies the node's children at the time: its czxid, its pzxid
// and its child counters (numChildren, cversion). Every create or delete
// of a child stamps the parent's pzxid with its own versionstamp and adds
// to its counters (txn.childChanged), and a node deleted and created
// again has a new czxid, so an equal token read in a later transaction
// means the same children then. A listing reads the node's stat first in
// any case (its Stat, its ACL); when the token matches, the 100-key scan
// of a stable parent's children, their parsing and their allocation are
// skipped (they were two thirds of getChildren's CPU). Each layerd keeps
// its own; the store decides, through the token, whether it is current.
type childCache struct {
	mu      sync.Mutex
	entries map[string]childEntry
	names   int // names held, over all entries
	// floorHits counts listings that started at their floor (tests).
	floorHits atomic.Int64
}

type childToken struct {
	czxid, pzxid store.Versionstamp
	hasPz        bool
	counts       uint64
}

type childEntry struct {
	token childToken
	names []string
	// floor is the key of the first child listed (nil: none), where the
	// next listing of the node starts (listChildren).
	floor []byte
}

// Bounds of the cache: when either is passed it starts over. A listing
// longer than childCacheLongest is not kept.
const (
	childCacheEntries = 4096
	childCacheNames   = 1 << 18
	childCacheLongest = 10_000
)

// errChildrenCached ends a listing's scan early: the cache holds the
// names (listChildren).
var errChildrenCached = errors.New("znode: children cached")

func tokenOf(n *node) childToken {
	return childToken{czxid: n.rec.czxid.stamp, pzxid: n.pzxid.stamp, hasPz: n.hasPz, counts: n.counts}
}

func (c *childCache) get(p string) (childEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[p]
	return e, ok
}

func (c *childCache) put(p string, token childToken, names []string, floor []byte) {
	if len(names) > childCacheLongest {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= childCacheEntries || c.names+len(names) > childCacheNames {
		c.entries, c.names = make(map[string]childEntry), 0
	}
	if old, ok := c.entries[p]; ok {
		c.names -= len(old.names)
	}
	c.entries[p] = childEntry{token: token, names: slices.Clone(names), floor: floor}
	c.names += len(names)
}
