package znode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Rows a node's range may hold, for FuzzDecodeNode's present mask.
const (
	rowStat = 1 << iota
	rowCounts
	rowPzxid
)

// FuzzDecodeNode: a node is read from its rows (stat record, child
// counters, pzxid, data chunks, in key order) as each part's own decoder
// reads it, or refused when its stat record is; never a panic. What is read
// written back with the encoders reads back the same.
func FuzzDecodeNode(f *testing.F) {
	root, err := keys.NewRoot([]byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	tn := root.Tenant(3)
	kp, err := keys.NewPath("/a/b")
	if err != nil {
		f.Fatal(err)
	}
	stamp := store.Versionstamp{0, 0, 0, 0, 0, 0x01, 0x23, 0x45, 0, 3}
	pz := store.Versionstamp{0, 0, 0, 0, 0, 0x01, 0x23, 0x46, 0, 0}
	for i, r := range seedRecords() {
		stat, counts, data := stored(r, stamp), counterParam(3<<32|2), []byte("hello, world")
		if r.dataNull {
			data = nil
		}
		n, got, err := decodeNode(tn.Stat(kp), kp, nodeRows(tn, kp, rowStat|rowCounts|rowPzxid, stat, counts, pz[:], data, 4))
		want := node{exists: true, rec: resolved(r, stamp), counts: 3<<32 | 2, pzxid: zx{stamp: pz}, hasPz: true}
		if err != nil || !reflect.DeepEqual(*n, want) || !bytes.Equal(got, data) {
			f.Fatalf("decodeNode of seed %d = %+v, %q, %v; want %+v, %q", i, n, got, err, want, data)
		}
		f.Add(stat, counts, pz[:], data, uint8(rowStat|rowCounts|rowPzxid), uint8(i))
		f.Add(stat, []byte(nil), []byte(nil), data, uint8(rowStat), uint8(0))
	}
	f.Add([]byte(nil), []byte(nil), []byte(nil), []byte(nil), uint8(0), uint8(0)) // no node
	f.Fuzz(func(t *testing.T, stat, counts, pzxid, data []byte, present, chunk uint8) {
		rows := nodeRows(tn, kp, present, stat, counts, pzxid, data, int(chunk)+1)
		n, got, err := decodeNode(tn.Stat(kp), kp, rows)
		var want node
		if present&rowStat != 0 {
			rec, recErr := decodeRecord(stat)
			if recErr != nil {
				if !errors.Is(err, errBadRecord) || n != nil || got != nil {
					t.Fatalf("decodeNode with stat % x = %+v, %q, %v; want errBadRecord", stat, n, got, err)
				}
				return
			}
			want.exists, want.rec = true, rec
		}
		if err != nil {
			t.Fatalf("decodeNode(%v) = %v", rows, err)
		}
		if present&rowCounts != 0 {
			want.counts = decodeCounts(counts)
		}
		if present&rowPzxid != 0 && len(pzxid) == len(want.pzxid.stamp) {
			want.pzxid.stamp, want.hasPz = store.Versionstamp(pzxid), true
		}
		if !reflect.DeepEqual(*n, want) {
			t.Fatalf("decodeNode(%v) = %+v, want %+v", rows, *n, want)
		}
		// Data is nil only when there is none to show: no node, or null.
		if !bytes.Equal(got, data) || (got == nil) != (len(data) == 0 && (!want.exists || want.rec.dataNull)) {
			t.Fatalf("decodeNode(%v) has data %#v, want %q", rows, got, data)
		}

		var stat2, pz2 []byte
		present2 := rowCounts
		if n.exists {
			var stamped bool
			if stat2, stamped = n.rec.encode(); stamped {
				t.Fatalf("decodeNode(%v) = %+v, with a pending mzxid", rows, *n)
			}
			present2 |= rowStat
		}
		if n.hasPz {
			pz2, present2 = n.pzxid.stamp[:], present2|rowPzxid
		}
		rows2 := nodeRows(tn, kp, uint8(present2), stat2, counterParam(n.counts), pz2, got, keys.ChunkSize)
		n2, got2, err := decodeNode(tn.Stat(kp), kp, rows2)
		if err != nil || !reflect.DeepEqual(n2, n) || !bytes.Equal(got2, got) || (got2 == nil) != (got == nil) {
			t.Fatalf("decodeNode(%v) = %+v, %#v, %v; want %+v, %#v", rows2, n2, got2, err, *n, got)
		}
	})
}

// nodeRows returns the rows of p's keys.Node range, in key order: those
// of present, then data in chunks of chunk bytes.
func nodeRows(t keys.Tenant, p keys.Path, present uint8, stat, counts, pzxid, data []byte, chunk int) []store.KeyValue {
	var rows []store.KeyValue
	if present&rowStat != 0 {
		rows = append(rows, store.KeyValue{Key: t.Stat(p), Value: stat})
	}
	if present&rowCounts != 0 {
		rows = append(rows, store.KeyValue{Key: t.ChildCounts(p), Value: counts})
	}
	if present&rowPzxid != 0 {
		rows = append(rows, store.KeyValue{Key: t.Pzxid(p), Value: pzxid})
	}
	for i := 0; len(data) > 0; i++ {
		n := min(len(data), chunk)
		rows = append(rows, store.KeyValue{Key: t.Chunk(p, i), Value: data[:n]})
		data = data[n:]
	}
	return rows
}
