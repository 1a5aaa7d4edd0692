package keys

import (
	"fmt"

	"zkfdb/shared/store"
)

// The due summary says, per tick, which shards of the timer indices
// (expiry, TTL, containers) got an entry at that tick, so that a sweeper
// reads only the shards with something due instead of all 256 every tick:
//
//	(0, 7, tick) → 32 bytes, bit s (byte s/8, bit s%8) set for shard s
//
// Writers set a shard's bit with an atomic BitOr (no read, no conflict)
// in the transaction that writes the entry. A sweeper clears a shard's bit
// with an atomic BitAnd (and the whole key with CompareAndClear once all
// bits are gone) only in a transaction that reads the shard's due entries
// again and finds none, so that a writer racing it makes it conflict.

// DueBitmapLen is the length of a due-summary value: one bit per shard.
const DueBitmapLen = Shards / 8

// Due returns the due-summary key of tick.
func (r Root) Due(tick int64) []byte {
	return r.system().Pack(Tuple{sysDue, tick})
}

// DueUpTo returns the due-summary keys of every tick ≤ tick.
func (r Root) DueUpTo(tick int64) store.Range {
	return dueRange(r.system().Sub(sysDue), tick)
}

// ParseDue returns the tick of a due-summary key.
func (r Root) ParseDue(key []byte) (int64, error) {
	tu, err := unpackAs(r.system(), key, "due", sysDue, kindInt)
	if err != nil {
		return 0, err
	}
	return tu[1].(int64), nil
}

// DueBit returns the bitmap with only shard's bit set: the BitOr param
// that marks the shard due.
func DueBit(shard int) []byte {
	b := make([]byte, DueBitmapLen)
	SetDueBit(b, shard)
	return b
}

// SetDueBit sets shard's bit in b, a due-summary bitmap: to mark many
// shards in one BitOr.
func SetDueBit(b []byte, shard int) { b[shard/8] |= 1 << (shard % 8) }

// DueMask returns the bitmap with every bit but shard's set: the BitAnd
// param that clears the shard's mark.
func DueMask(shard int) []byte {
	b := make([]byte, DueBitmapLen)
	for i := range b {
		b[i] = 0xff
	}
	b[shard/8] &^= 1 << (shard % 8)
	return b
}

// DueShards returns the shards a due-summary value marks.
func DueShards(v []byte) ([]int, error) {
	if len(v) != DueBitmapLen {
		return nil, fmt.Errorf("%w: due summary of %d bytes, want %d", ErrBadKey, len(v), DueBitmapLen)
	}
	var out []int
	for s := range Shards {
		if v[s/8]&(1<<(s%8)) != 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// ExpiryShard is Shard: the shard of session's expiry entries.
func (t Tenant) ExpiryShard(session int64) int { return Shard(session) }

// NodeShard returns the shard of node p's TTL and container entries.
func (t Tenant) NodeShard(p Path) int { return nodeShard(t.id, p) }
