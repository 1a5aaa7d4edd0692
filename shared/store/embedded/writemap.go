package embedded

import (
	"bytes"
	"slices"
	"sort"

	"github.com/google/btree"

	"zkfdb/shared/store"
)

// entryKind says what a transaction knows about a key it wrote.
type entryKind int

const (
	// known: the key's value at commit is known locally (set, clear, or an
	// atomic op over a known base). Reading it needs no storage read and
	// adds no read conflict: FDB calls these writes independent.
	known entryKind = iota
	// atomicOnUnknown: atomic ops over the stored value, which a read must
	// fetch (adding a read conflict, as FDB does).
	atomicOnUnknown
	// unreadable: the key of a SetVersionstampedValue; reads fail 1036.
	unreadable
)

type atomicOp struct {
	op    store.MutationType
	param []byte
}

type entry struct {
	key     []byte
	kind    entryKind
	value   []byte // known: the value, when present
	present bool   // known: whether the key exists
	ops     []atomicOp
}

func entryLess(a, b *entry) bool { return bytes.Compare(a.key, b.key) < 0 }

type mutationKind int

const (
	mSet mutationKind = iota
	mClear
	mClearRange
	mAtomic
	mVersionstampedKey   // key holds the template and its 4-byte offset
	mVersionstampedValue // value holds the template and its 4-byte offset
)

// mutation is one write, kept in order for the commit, which applies them
// on top of the latest state exactly as FDB's storage servers do.
type mutation struct {
	kind       mutationKind
	key, value []byte // mClearRange: [key, value)
	op         store.MutationType
}

// writeMap holds a transaction's writes: an overlay that reads merge into
// stored data (read-your-writes), and the mutation log the commit applies.
type writeMap struct {
	entries    *btree.BTreeG[*entry]
	cleared    []store.Range // sorted, disjoint, not adjacent
	unreadable []store.Range // candidate keys of versionstamped keys
	log        []mutation

	// touches' search key and what it finds.
	probe struct {
		pivot entry
		found *entry
	}
	firstAtOrAfter func(*entry) bool
}

// entryFreeList is shared by every transaction's write map (it is safe for
// concurrent use), so that a transaction does not allocate one of its own.
var entryFreeList = btree.NewFreeListG[*entry](btree.DefaultFreeListSize)

// newWriteMap returns an empty write map. Its B-tree is made at the
// first write (tree): most transactions only read, and two of a getData's
// allocations were an unused tree's.
func newWriteMap() *writeMap { return &writeMap{} }

// tree returns the entries' B-tree, made if it is not yet.
func (w *writeMap) tree() *btree.BTreeG[*entry] {
	if w.entries == nil {
		w.entries = btree.NewWithFreeListG(8, entryLess, entryFreeList)
	}
	return w.entries
}

func (w *writeMap) empty() bool { return len(w.log) == 0 }

// record appends m to the log, which starts with room for a write's
// usual mutations (growing it from one was a tenth of the bytes a setData
// allocated).
func (w *writeMap) record(m mutation) {
	if w.log == nil {
		w.log = make([]mutation, 0, 8)
	}
	w.log = append(w.log, m)
}

func (w *writeMap) lookup(k []byte) *entry {
	if w.entries == nil {
		return nil
	}
	e, _ := w.entries.Get(&entry{key: k})
	return e
}

// isCleared reports whether k lies in a range this transaction cleared.
func (w *writeMap) isCleared(k []byte) bool {
	return rangesContain(w.cleared, k)
}

func (w *writeMap) isUnreadable(k []byte) bool {
	for _, r := range w.unreadable {
		if bytes.Compare(k, r.Begin) >= 0 && bytes.Compare(k, r.End) < 0 {
			return true
		}
	}
	return false
}

func (w *writeMap) touchesUnreadable(r store.Range) bool {
	for _, u := range w.unreadable {
		if overlaps(r, u) {
			return true
		}
	}
	return false
}

// touches reports whether the transaction wrote anything in r: a key,
// a cleared range or a versionstamped key's candidates. A read of r that
// it does not touch is the stored rows alone.
func (w *writeMap) touches(r store.Range) bool {
	if w.empty() {
		return false
	}
	if len(r.End) == 0 {
		return true // unbounded: not worth the walk
	}
	if w.entries != nil {
		// A pivot and visitor made per call escaped: the map keeps
		// them (a write's reads after its writes each ask).
		if w.firstAtOrAfter == nil {
			w.firstAtOrAfter = func(e *entry) bool {
				w.probe.found = e
				return false
			}
		}
		w.probe.pivot.key = r.Begin
		w.entries.AscendGreaterOrEqual(&w.probe.pivot, w.firstAtOrAfter)
		found := w.probe.found
		w.probe.pivot.key, w.probe.found = nil, nil
		if found != nil && bytes.Compare(found.key, r.End) < 0 {
			return true
		}
	}
	for _, c := range w.cleared {
		if overlaps(c, r) {
			return true
		}
	}
	return w.touchesUnreadable(r)
}

func (w *writeMap) set(k, v []byte) {
	w.tree().ReplaceOrInsert(&entry{key: k, kind: known, value: v, present: true})
	w.record(mutation{kind: mSet, key: k, value: v})
}

func (w *writeMap) clear(k []byte) {
	w.tree().ReplaceOrInsert(&entry{key: k, kind: known})
	w.record(mutation{kind: mClear, key: k})
}

func (w *writeMap) clearRange(r store.Range) {
	if w.entries != nil {
		var doomed []*entry
		w.entries.AscendRange(&entry{key: r.Begin}, &entry{key: r.End}, func(e *entry) bool {
			doomed = append(doomed, e)
			return true
		})
		for _, e := range doomed {
			w.entries.Delete(e)
		}
	}
	w.cleared = addRange(w.cleared, r)
	w.record(mutation{kind: mClearRange, key: r.Begin, value: r.End})
}

func (w *writeMap) atomic(op store.MutationType, k, param []byte) {
	w.record(mutation{kind: mAtomic, key: k, value: param, op: op})
	e := w.lookup(k)
	switch {
	case e != nil && e.kind == known:
		base := e.value
		if !e.present {
			base = nil
		}
		v, present := applyAtomic(op, base, param)
		w.tree().ReplaceOrInsert(&entry{key: k, kind: known, value: v, present: present})
	case e == nil && w.isCleared(k):
		v, present := applyAtomic(op, nil, param)
		w.tree().ReplaceOrInsert(&entry{key: k, kind: known, value: v, present: present})
	case e != nil && e.kind == atomicOnUnknown:
		e.ops = append(e.ops, atomicOp{op, param})
	case e != nil && e.kind == unreadable:
		// Still unreadable: the stamped value is unknown until commit.
	default:
		w.tree().ReplaceOrInsert(&entry{key: k, kind: atomicOnUnknown, ops: []atomicOp{{op, param}}})
	}
}

// setVersionstampedKey records the write and makes every key the stamp
// could produce unreadable: the template with the stamp bytes anywhere
// from floor (the read version's first stamp, or all zeros before the read
// version is known, as FDB's getVersionstampKeyRange) to all 0xff.
func (w *writeMap) setVersionstampedKey(template []byte, offset int, v []byte, floor store.Versionstamp) {
	lo := clone(template)
	hi := clone(template)
	copy(lo[offset:offset+10], floor[:])
	for i := offset; i < offset+10; i++ {
		hi[i] = 0xff
	}
	w.unreadable = append(w.unreadable, store.Range{Begin: lo, End: store.KeyAfter(hi)})
	w.record(mutation{kind: mVersionstampedKey, key: store.AppendStampOffset(template, offset), value: v})
}

func (w *writeMap) setVersionstampedValue(k, template []byte, offset int) {
	w.tree().ReplaceOrInsert(&entry{key: k, kind: unreadable})
	w.record(mutation{kind: mVersionstampedValue, key: k, value: store.AppendStampOffset(template, offset)})
}

// appendWithoutIndependent appends to out r minus the keys this
// transaction wrote independently (known entries and cleared ranges): FDB
// adds no read conflict for those segments, since their values do not
// depend on what others commit.
func (w *writeMap) appendWithoutIndependent(out []store.Range, r store.Range) []store.Range {
	var holes []store.Range
	for _, c := range w.cleared {
		if overlaps(c, r) {
			holes = append(holes, c)
		}
	}
	if w.entries != nil {
		w.entries.AscendRange(&entry{key: r.Begin}, &entry{key: r.End}, func(e *entry) bool {
			if e.kind == known {
				holes = append(holes, store.Range{Begin: e.key, End: keyAfter(e.key)})
			}
			return true
		})
	}
	if out == nil {
		out = make([]store.Range, 0, 8) // a write's usual reads
	}
	if len(holes) == 0 {
		return append(out, r)
	}
	slices.SortFunc(holes, func(a, b store.Range) int { return bytes.Compare(a.Begin, b.Begin) })
	cur := r.Begin
	for _, h := range holes {
		if bytes.Compare(cur, h.Begin) < 0 {
			end := h.Begin
			if bytes.Compare(end, r.End) > 0 {
				end = r.End
			}
			out = append(out, store.Range{Begin: cur, End: end})
		}
		if bytes.Compare(h.End, cur) > 0 {
			cur = h.End
		}
		if bytes.Compare(cur, r.End) >= 0 {
			return out
		}
	}
	return append(out, store.Range{Begin: cur, End: r.End})
}

// size estimates the transaction's size as FDB counts it: mutations after
// merging writes to one key, key + value + overhead each, plus conflict
// ranges' endpoints.
func (w *writeMap) size() int {
	const overhead = 32 // FDB's per-mutation bookkeeping, roughly
	n := 0
	if w.entries != nil {
		w.entries.Ascend(func(e *entry) bool {
			switch e.kind {
			case known, unreadable:
				n += len(e.key) + len(e.value) + overhead
			case atomicOnUnknown:
				for _, op := range e.ops {
					n += len(e.key) + len(op.param) + overhead
				}
			}
			return true
		})
	}
	for _, c := range w.cleared {
		n += len(c.Begin) + len(c.End) + overhead
	}
	for _, m := range w.log {
		if m.kind == mVersionstampedKey {
			n += len(m.key) + len(m.value) + overhead
		}
	}
	return n
}

func rangesSize(rs []store.Range) int {
	n := 0
	for _, r := range rs {
		n += len(r.Begin) + len(r.End) + 16
	}
	return n
}

func overlaps(a, b store.Range) bool {
	return bytes.Compare(a.Begin, b.End) < 0 && bytes.Compare(b.Begin, a.End) < 0
}

// rangesContain reports whether k is in one of rs (sorted, disjoint).
func rangesContain(rs []store.Range, k []byte) bool {
	i := sort.Search(len(rs), func(i int) bool { return bytes.Compare(rs[i].End, k) > 0 })
	return i < len(rs) && bytes.Compare(rs[i].Begin, k) <= 0
}

// addRange inserts r into rs (sorted, disjoint), merging what it touches.
func addRange(rs []store.Range, r store.Range) []store.Range {
	if bytes.Compare(r.Begin, r.End) >= 0 {
		return rs
	}
	var out []store.Range
	merged := store.Range{Begin: r.Begin, End: r.End}
	placed := false
	for _, c := range rs {
		switch {
		case bytes.Compare(c.End, merged.Begin) < 0:
			out = append(out, c)
		case bytes.Compare(merged.End, c.Begin) < 0:
			if !placed {
				out = append(out, merged)
				placed = true
			}
			out = append(out, c)
		default:
			if bytes.Compare(c.Begin, merged.Begin) < 0 {
				merged.Begin = c.Begin
			}
			if bytes.Compare(c.End, merged.End) > 0 {
				merged.End = c.End
			}
		}
	}
	if !placed {
		out = append(out, merged)
	}
	return out
}

// mergeRanges sorts rs in place and merges overlapping or adjacent ranges
// (rs then holds the same union of keys, in ranges sorted or merged).
func mergeRanges(rs []store.Range) []store.Range {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b store.Range) int { return bytes.Compare(a.Begin, b.Begin) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if bytes.Compare(r.Begin, last.End) <= 0 {
			if bytes.Compare(r.End, last.End) > 0 {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
