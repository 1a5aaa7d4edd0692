package keys

import "zkfdb/shared/store"

// ChunkSize is the most data bytes one chunk key holds. FDB values are
// limited to 100,000 bytes; 90,000 leaves room should a chunk ever carry a
// small header, and splits ZooKeeper's default 1 MiB maximum into 12
// chunks. Changing it needs a migration (LayoutVersion), as readers take
// the chunk count from the data length.
const ChunkSize = 90_000

// A znode is stored under (tenant, 2, path):
//
//	(2, path)     → stat record
//	(2, path, i)  → bytes [i*ChunkSize, (i+1)*ChunkSize) of the data, i ≥ 0
//
// so one node's keys are contiguous and nothing else lies between them:
// getData is one range read (Node) that returns the stat first and the
// chunks in order, and it never touches a child's keys, which sort after
// the node's range ("/a/b" is another string element than "/a"). Empty data
// has no chunk keys. The parent's sequence counter for sequential children
// is its cversion, inside the stat record: there is no separate key.

// Stat returns the key of p's stat record (czxid, mzxid, version,
// cversion, ephemeral owner, data length...). layerd writes it on create,
// setData, setACL and on every change of p's children; layerd and the
// sweeper read it.
func (t Tenant) Stat(p Path) []byte {
	return t.nodeKey(p, 0).b
}

// nodeKey starts p's keys: (tenantNodes, p), with room for more.
func (t Tenant) nodeKey(p Path, room int) keyBuilder {
	return t.space.build(intRoom + strRoom(p.s) + room).int(tenantNodes).str(p.s)
}

// Node elements after the path that are not chunk indexes. Strings sort
// before integers in the tuple order, so these keys lie between the stat
// record and chunk 0: NodeStat reads them with the stat, and ChunksFrom
// never clears them.
const (
	nodeChildren = "c"
	nodePzxid    = "p"
)

// ChildCounts returns the key of p's child counters: one 8-byte
// little-endian integer whose low 32 bits are numChildren and high 32 bits
// the stored cversion (children ever created). A child create adds
// 1<<32 + 1, a child delete adds −1, both with FDB's atomic add, so creates
// and deletes of siblings never conflict on their parent. Absent means
// zero.
func (t Tenant) ChildCounts(p Path) []byte {
	return t.nodeKey(p, len(childCountsSuffix)).str(nodeChildren).b
}

// Pzxid returns the key of p's pzxid: the versionstamp of the last
// transaction that created or deleted one of p's children, written with
// SetVersionstampedValue (a blind write, so siblings never conflict).
// Absent means pzxid = czxid.
func (t Tenant) Pzxid(p Path) []byte {
	return t.nodeKey(p, len(pzxidSuffix)).str(nodePzxid).b
}

// NodeStat returns the range of p's stat record, child counters and pzxid:
// everything a Stat needs, without the data chunks.
func (t Tenant) NodeStat(p Path) store.Range {
	// A tuple's encoding is its elements' in turn: the keys after the
	// path are the stat key and their elements' encodings (NodeRowOf).
	return t.statTo(p, chunk0Suffix)
}

// statTo returns the range from p's stat key to that key followed by
// suffix, both bounds in one allocation.
func (t Tenant) statTo(p Path, suffix []byte) store.Range {
	k := t.nodeKey(p, len(t.space.prefix)+intRoom+strRoom(p.s)+len(suffix))
	stat := k.b
	end := append(stat[len(stat):], stat...) // after stat, in its buffer
	end = append(end, suffix...)
	return store.Range{Begin: stat[:len(stat):len(stat)], End: end}
}

// The encodings of the elements that follow the path in a node's keys
// other than its stat record (tuple encodings concatenate).
var (
	childCountsSuffix = mustPack(Tuple{nodeChildren})
	pzxidSuffix       = mustPack(Tuple{nodePzxid})
	chunk0Suffix      = mustPack(Tuple{0})
)

func mustPack(t Tuple) []byte {
	b, err := t.AppendPack(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// A NodeRow is which of a node's keys a key is (NodeRowOf).
type NodeRow int

const (
	RowStat        NodeRow = iota // Stat(p)
	RowChildCounts                // ChildCounts(p)
	RowPzxid                      // Pzxid(p)
	RowChunk                      // any other key: a chunk of p's data
)

// NodeRowOf tells which of p's keys key is, given stat = Stat(p): the
// rows of p's Node or NodeStat range, read without encoding p's other
// keys to compare them.
func NodeRowOf(stat, key []byte) NodeRow {
	if len(key) < len(stat) || string(key[:len(stat)]) != string(stat) {
		return RowChunk
	}
	switch rest := key[len(stat):]; {
	case len(rest) == 0:
		return RowStat
	case string(rest) == string(childCountsSuffix):
		return RowChildCounts
	case string(rest) == string(pzxidSuffix):
		return RowPzxid
	}
	return RowChunk
}

// Chunk returns the key of chunk i of p's data.
func (t Tenant) Chunk(p Path, i int) []byte {
	return t.nodeKey(p, intRoom).int(int64(i)).b
}

// ChunkKeys returns the keys of the chunks that hold dataLen bytes of p's
// data, in order.
func (t Tenant) ChunkKeys(p Path, dataLen int) [][]byte {
	n := ChunkCount(dataLen)
	out := make([][]byte, n)
	for i := range n {
		out[i] = t.Chunk(p, i)
	}
	return out
}

// Chunks returns the range of all of p's chunk keys, the stat excluded.
func (t Tenant) Chunks(p Path) store.Range {
	return t.ChunksFrom(p, 0)
}

// ChunksFrom returns the range of p's chunks i and later. setData clears
// ChunksFrom(p, ChunkCount(len(newData))) to drop the chunks of longer old
// data without reading how long it was.
func (t Tenant) ChunksFrom(p Path, i int) store.Range {
	stat := t.Stat(p)
	// Chunk indexes are non-negative integers of at most 8 bytes, type
	// codes 0x14..0x1c, so stat+0x1d is above every chunk of p.
	end := append(stat, codePosBig)
	return store.Range{Begin: t.Chunk(p, i), End: end}
}

// Node returns the range of every key of p: its stat record and all its
// chunks, stat first.
func (t Tenant) Node(p Path) store.Range {
	return t.statTo(p, []byte{0xff})
}

// ChunkCount returns the number of chunks that hold n bytes of data.
func ChunkCount(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + ChunkSize - 1) / ChunkSize
}

// SplitData cuts data into the values of its chunks, in order (sub-slices
// of data, not copies).
func SplitData(data []byte) [][]byte {
	out := make([][]byte, 0, ChunkCount(len(data)))
	for len(data) > 0 {
		n := min(len(data), ChunkSize)
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}
