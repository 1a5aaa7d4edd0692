package keys

import (
	"encoding/binary"
	"hash/fnv"

	"zkfdb/shared/store"
)

// NodeTimer is a parsed entry of the TTL or the container index: at tick,
// the node at Path of tenant Tenant may be due for deletion.
type NodeTimer struct {
	Shard  int
	Tick   int64
	Tenant int64
	Path   Path
}

// The TTL index lists every TTL node by the tick from which it may expire,
// sharded like the expiry index (and in the system section for the same
// reason), so the sweeper reads only what is due, never all znodes:
//
//	(0, 5, shard, tick, tenant, path) → versionstamp (10 bytes)
//
// tick is the tick of the node's last modification plus its TTL rounded
// up to whole ticks (and one for the tick in progress). layerd writes an
// entry when it creates a TTL node and when setData moves its mtime, with
// the writing transaction's versionstamp as value: the node's new mzxid.
// The sweeper deletes the node when an entry is due, the node's mzxid is
// still the entry's (else the entry is stale: a later one is armed) and
// it has no children (else it looks again at the next tick).

// TTL returns the TTL-index entry for node p of t due at tick.
func (t Tenant) TTL(tick int64, p Path) []byte {
	return t.root.system().Pack(Tuple{sysTTL, nodeShard(t.id, p), tick, t.id, p.s})
}

// TTLDue returns the entries of shard with a tick ≤ tick.
func (r Root) TTLDue(shard int, tick int64) store.Range {
	return dueRange(r.system().Sub(sysTTL, shard), tick)
}

// ParseTTL parses a TTL-index key.
func (r Root) ParseTTL(key []byte) (NodeTimer, error) {
	return r.parseNodeTimer(key, "ttl", sysTTL)
}

// nodeShard returns the shard of a node's timer entries: FNV-1a (32-bit)
// of the tenant id (8 bytes, big-endian) and the path, modulo Shards; the
// tenant is hashed too so that the same path in many tenants spreads.
func nodeShard(tenant int64, p Path) int {
	h := fnv.New32a()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(tenant)))
	h.Write([]byte(p.s))
	return int(h.Sum32() % Shards)
}

func (r Root) parseNodeTimer(key []byte, what string, code int64) (NodeTimer, error) {
	tu, err := unpackAs(r.system(), key, what, code, kindInt, kindInt, kindInt, kindString)
	if err != nil {
		return NodeTimer{}, err
	}
	shard, err := parseShard(tu[1].(int64), what)
	if err != nil {
		return NodeTimer{}, err
	}
	p, err := NewPath(tu[4].(string))
	if err != nil {
		return NodeTimer{}, err
	}
	return NodeTimer{Shard: shard, Tick: tu[2].(int64), Tenant: tu[3].(int64), Path: p}, nil
}
