package embedded

import (
	"zkfdb/shared/store"
)

// history is the resolver's memory: the write-conflict ranges of every
// batch committed within the MVCC window, oldest first. A transaction
// conflicts when one of its read-conflict ranges meets a range written by a
// batch whose commit version is above its read version (FDB's rule,
// fdbserver/Resolver.actor.cpp). Only the committer goroutine uses it.
type history struct {
	batches []committedWrites
}

type committedWrites struct {
	version int64
	ranges  []store.Range // sorted and merged
}

func (h *history) add(version int64, ranges []store.Range) {
	if len(ranges) == 0 {
		return
	}
	h.batches = append(h.batches, committedWrites{version: version, ranges: ranges})
}

// conflicts reports whether reads (sorted, merged) meet a write committed
// after readVersion.
func (h *history) conflicts(reads []store.Range, readVersion int64) bool {
	for i := len(h.batches) - 1; i >= 0; i-- {
		b := h.batches[i]
		if b.version <= readVersion {
			return false
		}
		if anyOverlap(reads, b.ranges) {
			return true
		}
	}
	return false
}

// trim forgets batches at or below oldest: a transaction reading below
// that version fails with transaction_too_old before the history matters.
func (h *history) trim(oldest int64) {
	i := 0
	for i < len(h.batches) && h.batches[i].version <= oldest {
		i++
	}
	if i > 0 {
		h.batches = append(h.batches[:0], h.batches[i:]...)
	}
}

func (h *history) len() int { return len(h.batches) }
