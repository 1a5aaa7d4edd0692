package znode

import (
	"context"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// The due summary (keys.Root.Due): every transaction that writes a timer
// entry (a session's expiry, a TTL node's or a container's timer) marks
// its shard at the entry's tick, so that a sweeper reads, each tick, the
// summary and then only the shards marked, not all of them: a sweep costs
// work in proportion to what is due.

// markDue marks shard as having an entry due at tick (a session is due
// the tick after its expiry tick; a TTL or container timer at its tick):
// an atomic BitOr, blind, so that writers of one tick never conflict.
func markDue(tx store.Tx, root keys.Root, tick int64, shard int) {
	tx.Atomic(store.BitOr, root.Due(tick), keys.DueBit(shard))
}

// dueMarks gathers the due marks of many index entries, one bitmap per
// tick, so that a transaction marking thousands sets each tick's once: a
// heartbeat of 5,000 sessions made 5,000 BitOrs of one key, each applied
// over the one before by a read of the commit's batch (a quarter of the
// heartbeat's CPU, BenchmarkHeartbeat).
type dueMarks map[int64]*[keys.DueBitmapLen]byte

// add marks shard due at tick.
func (m dueMarks) add(tick int64, shard int) {
	b := m[tick]
	if b == nil {
		b = new([keys.DueBitmapLen]byte)
		m[tick] = b
	}
	keys.SetDueBit(b[:], shard)
}

// write sets the marks in tx, as markDue does one.
func (m dueMarks) write(tx store.Tx, root keys.Root) {
	for tick, b := range m {
		tx.Atomic(store.BitOr, root.Due(tick), b[:])
	}
}

// MarkedShards reads the due summary up to now and returns the shards
// marked at any tick ≤ now.
func MarkedShards(ctx context.Context, db store.DB, root keys.Root, now int64) ([]int, error) {
	return store.ReadTransact(ctx, db, func(r store.Reader) ([]int, error) {
		rows, err := r.GetRange(root.DueUpTo(now), rangeOpts).GetSlice()
		if err != nil {
			return nil, err
		}
		var union [keys.DueBitmapLen]byte
		for _, kv := range rows {
			if len(kv.Value) != keys.DueBitmapLen {
				continue // not ours; a full sweep covers its shards
			}
			for i, b := range kv.Value {
				union[i] |= b
			}
		}
		return keys.DueShards(union[:])
	})
}

// ClearDue clears the marks of shards at ticks ≤ now whose due entries
// (those ReadDue reads at now) are all gone, in one transaction that reads
// them again, so that a writer racing it with an entry due by now makes
// it conflict and start over instead of losing the mark. A tick's key goes
// when its last mark does.
func ClearDue(ctx context.Context, db store.DB, root keys.Root, shards []int, now int64) error {
	if len(shards) == 0 {
		return nil
	}
	_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		one := store.RangeOptions{Limit: 1, Mode: store.StreamingExact}
		pending := make([][3]store.RangeResult, len(shards))
		for i, shard := range shards {
			pending[i] = [3]store.RangeResult{
				tx.GetRange(root.ExpiryDue(shard, now-1), one),
				tx.GetRange(root.ContainersDue(shard, now), one),
				tx.GetRange(root.TTLDue(shard, now), one),
			}
		}
		ticks, err := tx.Snapshot().GetRange(root.DueUpTo(now), rangeOpts).GetSlice()
		if err != nil {
			return struct{}{}, err
		}
		mask := make([]byte, keys.DueBitmapLen)
		for i := range mask {
			mask[i] = 0xff
		}
		cleared := false
		for i, shard := range shards {
			empty := true
			for _, f := range pending[i] {
				rows, err := f.GetSlice()
				if err != nil {
					return struct{}{}, err
				}
				empty = empty && len(rows) == 0
			}
			if empty {
				m := keys.DueMask(shard)
				for j := range mask {
					mask[j] &= m[j]
				}
				cleared = true
			}
		}
		if !cleared {
			return struct{}{}, nil
		}
		zero := make([]byte, keys.DueBitmapLen)
		for _, kv := range ticks {
			tx.Atomic(store.BitAnd, kv.Key, mask)
			tx.Atomic(store.CompareAndClear, kv.Key, zero)
		}
		return struct{}{}, nil
	})
	return err
}
