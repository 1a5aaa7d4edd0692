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
// above its read version.
//
// The segments are kept in generations, each an interval map of the
// writes of a span of versions (generationSpan, 0.1 s). Writes go into
// the newest generation only, so adding costs O(log n) in the writes of
// one span, not of the whole MVCC window; a check visits only the
// generations that hold writes newer than its read version (one or two
// for a transaction a few milliseconds old); and forgetting the versions
// that fell out of the window drops whole generations, instead of a pass
// over every segment that would stall the committer.
//
// Writes of a batch's accepted transactions are recorded at the batch's
// commit version as they are accepted, so later transactions of the same
// batch conflict with them, as in FDB. Only the committer goroutine uses
// history.
type history struct {
	gens []*generation // oldest first
}

// generationSpan is how many versions one generation covers: 0.1 s.
const generationSpan = store.VersionsPerSecond / 10

// generation holds the writes of versions first..last.
type generation struct {
	first, last int64
	segments    *btree.BTreeG[segment]
}

// segment says that keys from begin up to the next segment's begin were
// last written at version within its generation (0: not written there).
type segment struct {
	begin   []byte
	version int64
}

func segmentLess(a, b segment) bool { return bytes.Compare(a.begin, b.begin) < 0 }

func newHistory() *history { return &history{} }

func newGeneration(version int64) *generation {
	g := &generation{first: version, last: version, segments: btree.NewG(32, segmentLess)}
	g.segments.ReplaceOrInsert(segment{begin: []byte{}})
	return g
}

// floor returns the segment that holds k.
func (g *generation) floor(k []byte) segment {
	var s segment
	g.segments.DescendLessOrEqual(segment{begin: k}, func(x segment) bool {
		s = x
		return false
	})
	return s
}

// isPoint reports whether r holds one key, [k, k+"\x00"): no key lies
// strictly inside it, so only the segment holding k meets it.
func isPoint(r store.Range) bool {
	n := len(r.Begin)
	return len(r.End) == n+1 && r.End[n] == 0 && bytes.Equal(r.End[:n], r.Begin)
}

// add records that ranges were written at version, which is at least
// every version recorded before.
func (h *history) add(version int64, ranges []store.Range) {
	if len(ranges) == 0 {
		return
	}
	if n := len(h.gens); n == 0 || version-h.gens[n-1].first >= generationSpan {
		h.gens = append(h.gens, newGeneration(version))
	}
	g := h.gens[len(h.gens)-1]
	g.last = version
	var inside []segment
	for _, r := range ranges {
		if bytes.Compare(r.Begin, r.End) >= 0 {
			continue
		}
		// The segment at End keeps what held End before: its own
		// version when End already starts one, so putting it is always
		// right and needs no lookup of its own.
		atEnd := g.floor(r.End).version
		if !isPoint(r) {
			inside = inside[:0]
			g.segments.AscendRange(segment{begin: r.Begin}, segment{begin: r.End}, func(x segment) bool {
				inside = append(inside, x)
				return true
			})
			for _, x := range inside {
				g.segments.Delete(x)
			}
		}
		g.segments.ReplaceOrInsert(segment{begin: r.Begin, version: version})
		g.segments.ReplaceOrInsert(segment{begin: r.End, version: atEnd})
	}
}

// conflicts reports whether reads meet a write committed after
// readVersion.
func (h *history) conflicts(reads []store.Range, readVersion int64) bool {
	for i := len(h.gens) - 1; i >= 0; i-- {
		g := h.gens[i]
		if g.last <= readVersion {
			return false // this one and all older ones are at or below it
		}
		if g.conflicts(reads, readVersion) {
			return true
		}
	}
	return false
}

func (g *generation) conflicts(reads []store.Range, readVersion int64) bool {
	for _, r := range reads {
		start := g.floor(r.Begin)
		if start.version > readVersion && bytes.Compare(r.Begin, r.End) < 0 {
			return true
		}
		if isPoint(r) {
			continue // no other segment starts inside it
		}
		hit := false
		g.segments.AscendGreaterOrEqual(segment{begin: r.Begin}, func(x segment) bool {
			if bytes.Compare(x.begin, r.End) >= 0 {
				return false
			}
			hit = x.version > readVersion
			return !hit
		})
		if hit {
			return true
		}
	}
	return false
}

// trim forgets the generations whose writes are all at or below oldest:
// a transaction reading below oldest fails with transaction_too_old
// before the history matters, and one reading at or above it cannot
// conflict with them.
func (h *history) trim(oldest int64) {
	n := 0
	for n < len(h.gens) && h.gens[n].last <= oldest {
		n++
	}
	if n > 0 {
		h.gens = append(h.gens[:0], h.gens[n:]...)
	}
}

// len returns the number of segments held, for tests.
func (h *history) len() int {
	n := 0
	for _, g := range h.gens {
		n += g.segments.Len()
	}
	return n
}
