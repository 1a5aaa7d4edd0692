package keys

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"zkfdb/shared/store"
)

// Shards is the number of shards of the session-expiry index and of the
// TTL and container indices. Each shard is one contiguous key range,
// owned by one sweeperd at a time (rendezvous hashing over live members,
// preferring the FDB host that stores the range). It is fixed: every
// entry's key holds its shard, so changing Shards needs a migration that
// rewrites the three indices (and a LayoutVersion bump).
const Shards = 256

// Shard returns the expiry-index shard of a session: FNV-1a (32-bit) of its
// id as 8 big-endian bytes, modulo Shards. FNV is fully specified, so the
// mapping cannot drift with a Go release; the golden test pins it.
func Shard(session int64) int {
	h := fnv.New32a()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(session)))
	return int(h.Sum32() % Shards)
}

// Expiry is a parsed entry of the session-expiry index.
type Expiry struct {
	Shard   int
	Tick    int64 // the clock tick at which the session expires
	Tenant  int64
	Session int64
}

// The session-expiry index lives in the system section, not in the
// tenants, so that a shard is ONE key range for all tenants: a sweeper
// reads each owned shard once per tick whatever the number of tenants, and
// FDB's locality API can name the host that stores it.
//
//	(0, 4, shard, expiry tick, tenant, session) → empty

// Expiry returns the expiry-index entry saying that session expires after
// tick. layerd writes one when it creates or refreshes a session, blind,
// and clears, blind, the one it wrote before for the session; entries
// another layerd wrote stay (clearing them would need a read, and make two
// layerds refreshing one session conflict): the session's own expiry tick
// (SessionExpiry) tells the sweeper which entries are stale, and the
// sweeper clears every entry it reads.
func (t Tenant) Expiry(tick, session int64) []byte {
	return t.root.system().Pack(Tuple{sysExpiry, Shard(session), tick, t.id, session})
}

// ExpiryDue returns the entries of shard with an expiry tick ≤ tick: what
// the shard's owner reads each tick. ExpiryDue(s, math.MaxInt64) is the
// whole shard.
func (r Root) ExpiryDue(shard int, tick int64) store.Range {
	return dueRange(r.system().Sub(sysExpiry, shard), tick)
}

// ParseExpiry parses an expiry-index key.
func (r Root) ParseExpiry(key []byte) (Expiry, error) {
	tu, err := unpackAs(r.system(), key, "expiry", sysExpiry, kindInt, kindInt, kindInt, kindInt)
	if err != nil {
		return Expiry{}, err
	}
	shard, err := parseShard(tu[1].(int64), "expiry")
	if err != nil {
		return Expiry{}, err
	}
	return Expiry{Shard: shard, Tick: tu[2].(int64), Tenant: tu[3].(int64), Session: tu[4].(int64)}, nil
}

// dueRange returns the keys of shard (a subspace whose next element is the
// tick) with a tick ≤ tick.
func dueRange(shard Subspace, tick int64) store.Range {
	return store.Range{Begin: shard.Range().Begin, End: shard.Sub(tick).Range().End}
}

func parseShard(s int64, what string) (int, error) {
	if s < 0 || s >= Shards {
		return 0, fmt.Errorf("%w: %s key with shard %d", ErrBadKey, what, s)
	}
	return int(s), nil
}
