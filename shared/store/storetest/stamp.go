package storetest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// testVersionstampOrder: versionstamped keys written by many concurrent
// transactions are unique, equal each transaction's GetVersionstamp, carry
// its commit version, and sort exactly in commit order (commit version,
// then batch order); a transaction started after another committed gets a
// larger stamp.
func testVersionstampOrder(t *testing.T, e *env) {
	workers, per := 8, 25
	if testing.Short() {
		workers, per = 4, 5
	}
	ctx := ctxFor(t, 2*time.Minute)
	prefix := e.key("vs/")
	type rec struct {
		stamp store.Versionstamp
		cv    int64
	}
	recs := make([][]rec, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tx, err := e.db.CreateTransaction(ctx)
			if err != nil {
				t.Errorf("CreateTransaction: %v", err)
				return
			}
			defer tx.Close()
			for i := range per {
				tx.Reset()
				for {
					id := binary.BigEndian.AppendUint32(nil, uint32(w*per+i))
					tx.SetVersionstampedKey(stampedKey(prefix, ""), id)
					f := tx.GetVersionstamp()
					err := tx.Commit()
					if err == nil {
						stamp, err := f.Get()
						if err != nil {
							t.Errorf("GetVersionstamp after commit: %v", err)
							return
						}
						cv, err := tx.GetCommittedVersion()
						if err != nil {
							t.Errorf("GetCommittedVersion: %v", err)
							return
						}
						recs[w] = append(recs[w], rec{stamp, cv})
						break
					}
					if err := tx.OnError(err); err != nil {
						t.Errorf("commit: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	byID := map[uint32]rec{}
	var all []rec
	for w, rs := range recs {
		for i, r := range rs {
			byID[uint32(w*per+i)] = r
			all = append(all, r)
			if r.stamp.Version() != r.cv {
				t.Errorf("stamp %x has version %d, GetCommittedVersion %d", r.stamp, r.stamp.Version(), r.cv)
			}
			if i > 0 && bytes.Compare(r.stamp[:], rs[i-1].stamp[:]) <= 0 {
				t.Errorf("worker %d: stamp %x of a later transaction is not after %x", w, r.stamp, rs[i-1].stamp)
			}
			if i > 0 && r.cv <= rs[i-1].cv {
				t.Errorf("worker %d: commit version %d of a later transaction is not after %d", w, r.cv, rs[i-1].cv)
			}
		}
	}
	// Commit order: by version, then batch order.
	slices.SortFunc(all, func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.cv, b.cv), cmp.Compare(a.stamp.Order(), b.stamp.Order()))
	})

	rows := e.all(t, store.PrefixRange(prefix))
	if len(rows) != workers*per {
		t.Fatalf("%d versionstamped keys, want %d", len(rows), workers*per)
	}
	versions := map[int64]bool{}
	for i, row := range rows {
		var stamp store.Versionstamp
		if len(row.Key) != len(prefix)+10 || copy(stamp[:], row.Key[len(prefix):]) != 10 {
			t.Fatalf("key %q is not prefix + 10-byte stamp", row.Key)
		}
		r, ok := byID[binary.BigEndian.Uint32(row.Value)]
		if !ok {
			t.Fatalf("key %x has unknown value %x", row.Key, row.Value)
		}
		if r.stamp != stamp {
			t.Errorf("key stamp %x, GetVersionstamp of its transaction %x", stamp, r.stamp)
		}
		if all[i].stamp != stamp {
			t.Errorf("key %d in key order has stamp %x; in commit order (version, batch order) it is %x", i, stamp, all[i].stamp)
		}
		if i > 0 && all[i].cv == all[i-1].cv && all[i].stamp.Order() == all[i-1].stamp.Order() {
			t.Errorf("two transactions share version %d and batch order %d", all[i].cv, all[i].stamp.Order())
		}
		versions[stamp.Version()] = true
	}
	t.Logf("%d transactions committed at %d distinct versions", len(rows), len(versions))
}

// testVersionstampedValue: SetVersionstampedValue writes the stamp at the
// offset in the value; both stamp ops of one transaction use the same stamp.
func testVersionstampedValue(t *testing.T, e *env) {
	tx := e.tx(t)
	val := append([]byte("x"), store.IncompleteVersionstamp[:]...)
	val = append(val, 'y')
	tx.SetVersionstampedValue(e.key("v"), store.AppendStampOffset(val, 1))
	tx.SetVersionstampedKey(stampedKey(e.key("k/"), "/suffix"), []byte("kv"))
	f := tx.GetVersionstamp()
	wantCode(t, "commit", tx.Commit(), 0)
	stamp, err := f.Get()
	if err != nil {
		t.Fatalf("GetVersionstamp: %v", err)
	}
	want := append(append([]byte("x"), stamp[:]...), 'y')
	wantValue(t, "versionstamped value", e.get(t, e.key("v")), want)
	wantKey := slices.Concat(e.key("k/"), stamp[:], []byte("/suffix"))
	wantValue(t, "value at versionstamped key", e.get(t, wantKey), []byte("kv"))
	if rows := e.all(t, store.PrefixRange(e.key("k/"))); len(rows) != 1 {
		t.Errorf("versionstamped keys %s, want exactly %q", e.showRows(rows), wantKey)
	}
}

// testVersionstampUnreadable: reading a key written with a versionstamp op in
// the same transaction fails with accessed_unreadable (1036); other keys
// stay readable.
func testVersionstampUnreadable(t *testing.T, e *env) {
	e.set(t, "other", "o")
	t.Run("versionstamped key", func(t *testing.T) {
		tx := e.tx(t)
		tx.SetVersionstampedKey(stampedKey(e.key("vk/"), ""), []byte("v"))
		placeholder := slices.Concat(e.key("vk/"), store.IncompleteVersionstamp[:])
		_, err := tx.Get(placeholder).Get()
		wantCode(t, "Get of the all-FF stamp key", err, 1036)
		_, err = tx.GetRange(store.PrefixRange(e.prefix), store.RangeOptions{}).GetSlice()
		wantCode(t, "range read over the candidate range", err, 1036)
		wantValue(t, "Get of another key", mustGet(t, tx, e.key("other")), []byte("o"))
	})
	t.Run("candidate range starts at the read version", func(t *testing.T) {
		// With no read version yet the candidate stamps start at all
		// zeros; with one, at the read version (FDB's
		// getVersionstampKeyRange), so an all-zero stamp key stays
		// readable.
		zero := slices.Concat(e.key("vz/"), make([]byte, 10))
		tx := e.tx(t)
		tx.SetVersionstampedKey(stampedKey(e.key("vz/"), ""), []byte("v"))
		_, err := tx.Get(zero).Get()
		wantCode(t, "Get of the all-zero stamp key, no read version before", err, 1036)

		tx = e.tx(t)
		mustRV(t, tx)
		tx.SetVersionstampedKey(stampedKey(e.key("vz/"), ""), []byte("v"))
		_, err = tx.Get(zero).Get()
		wantCode(t, "Get of the all-zero stamp key, read version known", err, 0)
	})
	t.Run("versionstamped value", func(t *testing.T) {
		tx := e.tx(t)
		val := store.AppendStampOffset(append([]byte(nil), store.IncompleteVersionstamp[:]...), 0)
		tx.SetVersionstampedValue(e.key("vv"), val)
		_, err := tx.Get(e.key("vv")).Get()
		wantCode(t, "Get", err, 1036)
		_, err = tx.Snapshot().Get(e.key("vv")).Get()
		wantCode(t, "snapshot Get", err, 1036)
		_, err = tx.GetRange(e.rng("vv", "vw"), store.RangeOptions{}).GetSlice()
		wantCode(t, "range read", err, 1036)
		wantValue(t, "Get of another key", mustGet(t, tx, e.key("other")), []byte("o"))
	})
}

// testVersionstampBadOffset: a stamp offset outside the argument fails with
// client_invalid_operation (2000), deferred to the next read or commit.
func testVersionstampBadOffset(t *testing.T, e *env) {
	k := e.key("k")
	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx)
	}{
		{"key offset past end", func(tx store.Tx) {
			tx.SetVersionstampedKey(store.AppendStampOffset(slices.Concat(k, make([]byte, 10)), len(k)+1), []byte("v"))
		}},
		{"key negative offset", func(tx store.Tx) {
			tx.SetVersionstampedKey(store.AppendStampOffset(slices.Concat(k, make([]byte, 10)), -1), []byte("v"))
		}},
		{"key too short", func(tx store.Tx) {
			tx.SetVersionstampedKey([]byte{1, 2}, []byte("v"))
		}},
		{"value offset past end", func(tx store.Tx) {
			tx.SetVersionstampedValue(k, store.AppendStampOffset(make([]byte, 10), 1))
		}},
		{"value too short", func(tx store.Tx) {
			tx.SetVersionstampedValue(k, []byte{1, 2})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := e.tx(t)
			tc.fn(tx)
			wantCode(t, "commit", tx.Commit(), 2000)

			tx2 := e.tx(t)
			tc.fn(tx2)
			_, err := tx2.Get(e.key("other")).Get()
			wantCode(t, "next Get", err, 2000)
		})
	}
	if rows := e.all(t, store.PrefixRange(e.prefix)); len(rows) != 0 {
		t.Errorf("failed transactions wrote %s", e.showRows(rows))
	}
}

// testVersionstampNoCommit: a read-only commit has no versionstamp (2021), a
// failed commit an invalid one (2020).
func testVersionstampNoCommit(t *testing.T, e *env) {
	ro := e.tx(t)
	mustGet(t, ro, e.key("k"))
	f := ro.GetVersionstamp()
	wantCode(t, "read-only commit", ro.Commit(), 0)
	_, err := f.Get()
	wantCode(t, "GetVersionstamp of a read-only commit", err, 2021)

	t1 := e.tx(t)
	mustGet(t, t1, e.key("k"))
	t1.Set(e.key("k"), []byte("t1"))
	f = t1.GetVersionstamp()
	e.set(t, "k", "t2")
	wantCode(t, "conflicting commit", t1.Commit(), 1020)
	_, err = f.Get()
	wantCode(t, "GetVersionstamp of a failed commit", err, 2020)
}
