package znode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"zkfdb/shared/store"
)

// Stat is a znode's Stat as ZooKeeper shows it.
type Stat struct {
	Czxid, Mzxid   int64
	Ctime, Mtime   int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// Special ephemeralOwner values (EphemeralType): a container, and TTL
// nodes, whose owner is ttlOwnerMark | ttl in ms.
const (
	containerOwner int64  = math.MinInt64
	ttlOwnerMark   uint64 = 0xFF00000000000000
	// MaxTTL is the largest TTL a TTL node can have, in ms.
	MaxTTL int64 = 1<<40 - 1
)

func isContainer(owner int64) bool { return owner == containerOwner }
func isTTL(owner int64) bool {
	return owner != containerOwner && uint64(owner)&ttlOwnerMark == ttlOwnerMark
}

// isSessionEphemeral reports whether owner names a session.
func isSessionEphemeral(owner int64) bool {
	return owner != 0 && !isContainer(owner) && !isTTL(owner)
}

// zx is a zxid that may be this transaction's own, unknown until commit.
type zx struct {
	stamp   store.Versionstamp
	pending bool // this transaction's: resolved from its versionstamp
}

func (z zx) resolve(own store.Versionstamp) int64 {
	if z.pending {
		return Zxid(own)
	}
	return Zxid(z.stamp)
}

// record is the stored stat record of a node: its own fields. The child
// counters and pzxid live in keys of their own (keys.ChildCounts,
// keys.Pzxid) so that creating and deleting siblings never conflict.
type record struct {
	czxid, mzxid zx
	ctime, mtime int64
	version      int32
	aversion     int32
	owner        int64 // raw ephemeralOwner: session id, containerOwner or TTL
	dataLength   int32
	dataNull     bool
	acl          []ACL
}

const (
	recordFormat      = 1
	flagCzxidIsMzxid  = 1 // czxid is this record's mzxid (a create)
	flagDataNull      = 2
	mzxidOffset       = 2 // where SetVersionstampedValue writes the stamp
	recordFixedLength = 2 + 10 + 10 + 8 + 8 + 4 + 4 + 8 + 4 + 2
)

var errBadRecord = errors.New("znode: corrupt stat record")

// encode returns the stored form of r. When r's mzxid is this
// transaction's, the result is a SetVersionstampedValue template (with
// its offset appended) and stamped is true.
func (r *record) encode() (b []byte, stamped bool) {
	var flags byte
	if r.czxid.pending {
		flags |= flagCzxidIsMzxid
	}
	if r.dataNull {
		flags |= flagDataNull
	}
	n := recordFixedLength + 4 // and the stamp's offset, if any
	for _, a := range r.acl {
		n += 4 + 2 + len(a.ID.Scheme) + 2 + len(a.ID.ID)
	}
	b = make([]byte, 0, n)
	b = append(b, recordFormat, flags)
	b = append(b, r.mzxid.stamp[:]...)
	b = append(b, r.czxid.stamp[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.ctime))
	b = binary.BigEndian.AppendUint64(b, uint64(r.mtime))
	b = binary.BigEndian.AppendUint32(b, uint32(r.version))
	b = binary.BigEndian.AppendUint32(b, uint32(r.aversion))
	b = binary.BigEndian.AppendUint64(b, uint64(r.owner))
	b = binary.BigEndian.AppendUint32(b, uint32(r.dataLength))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.acl)))
	for _, a := range r.acl {
		b = binary.BigEndian.AppendUint32(b, uint32(a.Perms))
		b = appendString(b, a.ID.Scheme)
		b = appendString(b, a.ID.ID)
	}
	if r.mzxid.pending {
		return store.AppendStampOffset(b, mzxidOffset), true
	}
	return b, false
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < recordFixedLength || b[0] != recordFormat {
		return r, fmt.Errorf("%w: %d bytes", errBadRecord, len(b))
	}
	flags := b[1]
	copy(r.mzxid.stamp[:], b[2:12])
	copy(r.czxid.stamp[:], b[12:22])
	if flags&flagCzxidIsMzxid != 0 {
		r.czxid.stamp = r.mzxid.stamp
	}
	r.dataNull = flags&flagDataNull != 0
	p := 22
	u64 := func() uint64 { v := binary.BigEndian.Uint64(b[p:]); p += 8; return v }
	u32 := func() uint32 { v := binary.BigEndian.Uint32(b[p:]); p += 4; return v }
	r.ctime = int64(u64())
	r.mtime = int64(u64())
	r.version = int32(u32())
	r.aversion = int32(u32())
	r.owner = int64(u64())
	r.dataLength = int32(u32())
	n := int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	str := func() (string, bool) {
		if p+2 > len(b) {
			return "", false
		}
		l := int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if p+l > len(b) {
			return "", false
		}
		s := string(b[p : p+l])
		p += l
		return s, true
	}
	for range n {
		if p+4 > len(b) {
			return r, errBadRecord
		}
		perms := int32(u32())
		scheme, ok1 := str()
		id, ok2 := str()
		if !ok1 || !ok2 {
			return r, errBadRecord
		}
		r.acl = append(r.acl, ACL{perms, ID{scheme, id}})
	}
	return r, nil
}

// Child counters: numChildren in the low 32 bits, the stored cversion
// (children ever created) in the high 32 (keys.ChildCounts).
const (
	childCreated = 1<<32 + 1
	childDeleted = math.MaxUint64 // −1: numChildren − 1
)

func counterParam(delta uint64) []byte { return binary.LittleEndian.AppendUint64(nil, delta) }

func decodeCounts(b []byte) uint64 {
	if len(b) < 8 {
		var full [8]byte
		copy(full[:], b)
		return binary.LittleEndian.Uint64(full[:])
	}
	return binary.LittleEndian.Uint64(b)
}

func numChildren(counts uint64) int32    { return int32(uint32(counts)) }
func storedCversion(counts uint64) int32 { return int32(uint32(counts >> 32)) }

// visibleCversion is the cversion ZooKeeper shows: 2·stored − numChildren,
// so that every child create and every child delete raises it by one.
func visibleCversion(counts uint64) int32 {
	return 2*storedCversion(counts) - numChildren(counts)
}
