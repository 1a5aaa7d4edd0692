package embedded

import (
	"bytes"

	"github.com/google/btree"

	"zkfdb/shared/store"
)

// history is the resolver's memory, kept as FDB's resolver keeps it
// (fdbserver/SkipList.cpp): the keyspace cut into segments, each holding
// the newest commit version that wrote into it. A transaction conflicts
// when one of its read-conflict ranges meets a segment whose version is
// above its read version. Checking a range costs O(log n + segments it
// spans), however many write sets are in the window.
//
// Writes of a batch's accepted transactions are recorded at the batch's
// commit version as they are accepted, so later transactions of the same
// batch conflict with them, as in FDB. Only the committer goroutine uses
// history.
type history struct {
	segments  *btree.BTreeG[segment]
	trimmedAt int64
}

// segment says that keys from begin up to the next segment's begin were
// last written at version (0: not within the window).
type segment struct {
	begin   []byte
	version int64
}

func segmentLess(a, b segment) bool { return bytes.Compare(a.begin, b.begin) < 0 }

func newHistory() *history {
	h := &history{segments: btree.NewG(32, segmentLess)}
	h.segments.ReplaceOrInsert(segment{begin: []byte{}})
	return h
}

// floor returns the segment that holds k.
func (h *history) floor(k []byte) segment {
	var s segment
	h.segments.DescendLessOrEqual(segment{begin: k}, func(x segment) bool {
		s = x
		return false
	})
	return s
}

// add records that ranges were written at version, which is at least
// every version recorded before.
func (h *history) add(version int64, ranges []store.Range) {
	for _, r := range ranges {
		if bytes.Compare(r.Begin, r.End) >= 0 {
			continue
		}
		atEnd := h.floor(r.End).version
		var inside []segment
		h.segments.AscendRange(segment{begin: r.Begin}, segment{begin: r.End}, func(x segment) bool {
			inside = append(inside, x)
			return true
		})
		for _, x := range inside {
			h.segments.Delete(x)
		}
		h.segments.ReplaceOrInsert(segment{begin: r.Begin, version: version})
		if _, ok := h.segments.Get(segment{begin: r.End}); !ok {
			h.segments.ReplaceOrInsert(segment{begin: r.End, version: atEnd})
		}
	}
}

// conflicts reports whether reads meet a write committed after
// readVersion.
func (h *history) conflicts(reads []store.Range, readVersion int64) bool {
	for _, r := range reads {
		start := h.floor(r.Begin)
		hit := false
		h.segments.AscendGreaterOrEqual(start, func(x segment) bool {
			if bytes.Compare(x.begin, r.End) >= 0 {
				return false
			}
			if x.version > readVersion {
				hit = true
				return false
			}
			return true
		})
		if hit {
			return true
		}
	}
	return false
}

// trim forgets versions at or below oldest, merging the segments they
// leave: a transaction reading below oldest fails with transaction_too_old
// before the history matters. It does the O(n) pass at most once per
// second of versions.
func (h *history) trim(oldest int64) {
	if oldest-h.trimmedAt < store.VersionsPerSecond {
		return
	}
	h.trimmedAt = oldest
	var doomed []segment
	var updated []segment
	prevOld := false
	h.segments.Ascend(func(x segment) bool {
		old := x.version <= oldest
		switch {
		case old && prevOld && len(x.begin) > 0:
			doomed = append(doomed, x)
		case old && x.version != 0:
			updated = append(updated, segment{begin: x.begin})
		}
		prevOld = old
		return true
	})
	for _, x := range doomed {
		h.segments.Delete(x)
	}
	for _, x := range updated {
		h.segments.ReplaceOrInsert(x)
	}
}

func (h *history) len() int { return h.segments.Len() }
