package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// sub returns an env for a part of a test, under its own prefix inside the
// test's (cleared with it).
func (e *env) sub(name string) *env {
	return &env{db: e.db, prefix: e.key(name + "/")}
}

// testIncrement: 64 goroutines × 500 read-modify-write increments of one key
// through store.Transact end at exactly 32,000, and every committed
// increment saw a distinct value (no lost update).
func testIncrement(t *testing.T, e *env) {
	workers, per := 64, 500
	if testing.Short() {
		workers, per = 16, 50
	}
	ctx := ctxFor(t, 5*time.Minute)
	k := e.key("counter")
	got := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range per {
				n, err := store.Transact(ctx, e.db, func(tx store.Tx) (int64, error) {
					v, err := tx.Get(k).Get()
					if err != nil {
						return 0, err
					}
					var n int64
					if v != nil {
						if len(v) != 8 {
							t.Errorf("counter %s is not 8 bytes", show(v))
						}
						n = int64FromLE(v)
					}
					tx.Set(k, le8(n+1))
					return n + 1, nil
				})
				if err != nil {
					t.Errorf("increment: %v", err)
					return
				}
				got[w] = append(got[w], n)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := int64(workers * per)
	if n := int8LE(t, e.get(t, k)); n != want {
		t.Errorf("counter = %d after %d×%d increments, want %d", n, workers, per, want)
	}
	var all []int64
	for _, g := range got {
		all = append(all, g...)
	}
	slices.Sort(all)
	for i, n := range all {
		if n != int64(i+1) {
			t.Errorf("committed increments returned %d at position %d, want %d (an increment was lost or duplicated)", n, i, i+1)
			break
		}
	}
}

func int64FromLE(v []byte) int64 {
	var n uint64
	for i := len(v) - 1; i >= 0; i-- {
		n = n<<8 | uint64(v[i])
	}
	return int64(n)
}

// testPhantom: a serializable range read conflicts with a key later inserted
// inside the range by another transaction, even when the range was empty
// (FDB-SEMANTICS §2: GetRange [b,e) exhausted adds [b,e)); an insert outside
// the range does not conflict.
func testPhantom(t *testing.T, e *env) {
	for _, tc := range []struct {
		name     string
		seed     []string
		write    string
		conflict bool
	}{
		{"empty range insert inside", nil, "m", true},
		{"range with rows insert inside", []string{"b", "x"}, "m", true},
		{"insert at begin", nil, "a", true},
		{"update a row read", []string{"b"}, "b", true},
		{"clear a row read", []string{"b"}, "-b", true},
		{"insert before begin", []string{"b"}, "0", false},
		{"insert at end (exclusive)", []string{"b"}, "z", false},
		{"insert after end", nil, "zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.sub(tc.name)
			for _, k := range tc.seed {
				s.set(t, k, "seed")
			}
			t1 := s.tx(t)
			rows := mustRange(t, t1, s.rng("a", "z"), store.RangeOptions{})
			if len(rows) != len(tc.seed) {
				t.Fatalf("range read %s, want %d rows", s.showRows(rows), len(tc.seed))
			}
			s.commit(t, func(tx store.Tx) {
				if k, ok := cutMinus(tc.write); ok {
					tx.Clear(s.key(k))
				} else {
					tx.Set(s.key(tc.write), []byte("t2"))
				}
			})
			t1.Set(s.key("~t1"), []byte("t1"))
			err := t1.Commit()
			if tc.conflict {
				wantCode(t, "T1 commit after T2 wrote "+tc.write+" inside [a,z) T1 read", err, 1020)
			} else {
				wantCode(t, "T1 commit after T2 wrote "+tc.write+" outside [a,z) T1 read", err, 0)
			}
		})
	}
}

func cutMinus(s string) (string, bool) {
	if len(s) > 0 && s[0] == '-' {
		return s[1:], true
	}
	return "", false
}

// testPhantomLimit: a range read that hits its row limit adds [b, last\0)
// (forward) or [smallest returned, e) (reverse), even when nothing follows
// the last row (FDB-SEMANTICS §2 table; NativeAPI sets more = limit reached).
func testPhantomLimit(t *testing.T, e *env) {
	for _, tc := range []struct {
		name     string
		limit    int
		reverse  bool
		write    string
		conflict bool
	}{
		{"forward limit 2 insert before last", 2, false, "c", true},
		{"forward limit 2 update last", 2, false, "d", true},
		{"forward limit 2 insert at begin", 2, false, "a", true},
		{"forward limit 2 insert after last", 2, false, "e", false},
		{"forward limit 2 insert last+\\0", 2, false, "d\x00", false},
		{"forward limit 2 update unread row", 2, false, "f", false},
		{"forward limit = rows insert after last", 3, false, "g", false},
		{"forward limit = rows insert before last", 3, false, "e", true},
		{"forward limit not hit insert after last", 4, false, "g", true},
		{"reverse limit 2 insert after smallest", 2, true, "e", true},
		{"reverse limit 2 insert near end", 2, true, "y", true},
		{"reverse limit 2 update smallest", 2, true, "d", true},
		{"reverse limit 2 insert before smallest", 2, true, "c", false},
		{"reverse limit = rows insert before smallest", 3, true, "a", false},
		{"reverse limit not hit insert before smallest", 4, true, "a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.sub(tc.name)
			s.set(t, "b", "1", "d", "2", "f", "3")
			t1 := s.tx(t)
			rows := mustRange(t, t1, s.rng("a", "z"), store.RangeOptions{Limit: tc.limit, Reverse: tc.reverse})
			want := []string{"b=1", "d=2", "f=3"}
			if tc.reverse {
				slices.Reverse(want)
			}
			s.wantRows(t, "range read", rows, want[:min(tc.limit, 3)]...)
			s.set(t, tc.write, "t2")
			t1.Set(s.key("~t1"), []byte("t1"))
			err := t1.Commit()
			if tc.conflict {
				wantCode(t, "T1 commit after T2 wrote "+tc.write, err, 1020)
			} else {
				wantCode(t, "T1 commit after T2 wrote "+tc.write, err, 0)
			}
		})
	}
}

// testSnapshotNoConflict: snapshot reads add no read-conflict ranges, and
// they see the transaction's own writes.
func testSnapshotNoConflict(t *testing.T, e *env) {
	e.set(t, "k", "1", "m", "1")
	t1 := e.tx(t)
	snap := t1.Snapshot()
	wantValue(t, "snapshot Get k", mustGet(t, snap, e.key("k")), []byte("1"))
	e.wantRows(t, "snapshot range", mustRange(t, snap, e.rng("a", "z"), store.RangeOptions{}), "k=1", "m=1")
	wantValue(t, "snapshot Get absent", mustGet(t, snap, e.key("q")), nil)

	e.set(t, "k", "2", "n", "2", "q", "2")
	t1.Set(e.key("own"), []byte("x"))
	wantValue(t, "snapshot Get of own write", mustGet(t, snap, e.key("own")), []byte("x"))
	wantCode(t, "commit after snapshot reads of keys others changed", t1.Commit(), 0)

	// A serializable read after a snapshot read of the same key or range
	// adds its conflict, even if the engine answers it from a cache.
	for _, tc := range []struct {
		name string
		read func(rd store.Reader) error
	}{
		{"Get", func(rd store.Reader) error { _, err := rd.Get(e.key("k")).Get(); return err }},
		{"GetRange", func(rd store.Reader) error {
			_, err := rd.GetRange(e.rng("a", "z"), store.RangeOptions{}).GetSlice()
			return err
		}},
	} {
		t.Run("snapshot then serializable "+tc.name, func(t *testing.T) {
			t1 := e.tx(t)
			if err := tc.read(t1.Snapshot()); err != nil {
				t.Fatalf("snapshot read: %v", err)
			}
			if err := tc.read(t1); err != nil {
				t.Fatalf("serializable read: %v", err)
			}
			t1.Set(e.key("~t1"), []byte("t1"))
			e.set(t, "k", "changed-"+tc.name)
			wantCode(t, "commit", t1.Commit(), 1020)
		})
	}
}

// testBlindWrite: a transaction that only writes never conflicts, even with
// writes committed after its read version; the later commit wins.
func testBlindWrite(t *testing.T, e *env) {
	e.set(t, "c", string(le8(1)))
	t1 := e.tx(t)
	mustRV(t, t1)
	t1.Set(e.key("k"), []byte("t1"))
	t1.Atomic(store.Add, e.key("c"), le8(10))
	t1.ClearRange(e.rng("a", "b"))

	e.commit(t, func(tx store.Tx) {
		tx.Set(e.key("k"), []byte("t2"))
		tx.Set(e.key("c"), le8(100))
		tx.Set(e.key("am"), []byte("t2"))
	})
	wantCode(t, "blind write commit", t1.Commit(), 0)
	wantValue(t, "k", e.get(t, e.key("k")), []byte("t1"))
	if n := int8LE(t, e.get(t, e.key("c"))); n != 110 {
		t.Errorf("c = %d, want 110 (T1's add applied at commit on T2's value)", n)
	}
	wantValue(t, "am (cleared by T1's later commit)", e.get(t, e.key("am")), nil)
}

// testReadOnlyCommit: a transaction with no writes commits as a no-op: it
// never conflicts, reports commit version -1, and has no versionstamp.
func testReadOnlyCommit(t *testing.T, e *env) {
	e.set(t, "k", "1")
	t1 := e.tx(t)
	mustGet(t, t1, e.key("k"))
	mustRange(t, t1, e.rng("a", "z"), store.RangeOptions{})
	vs := t1.GetVersionstamp()
	e.set(t, "k", "2", "m", "2")
	wantCode(t, "read-only commit after its reads changed", t1.Commit(), 0)
	cv, err := t1.GetCommittedVersion()
	if err != nil || cv != -1 {
		t.Errorf("GetCommittedVersion of a read-only commit = %d, %v; want -1, nil", cv, err)
	}
	_, err = vs.Get()
	wantCode(t, "GetVersionstamp of a read-only commit", err, 2021)

	empty := e.tx(t)
	wantCode(t, "commit of an empty transaction", empty.Commit(), 0)
	if cv, err := empty.GetCommittedVersion(); err != nil || cv != -1 {
		t.Errorf("GetCommittedVersion of an empty commit = %d, %v; want -1, nil", cv, err)
	}
}

// testOwnWrites: reads served from the transaction's own writes add no read
// conflict (FDB-SEMANTICS §2, §3); reads before the write, or of a key with a
// pending atomic op on an unknown base, do.
func testOwnWrites(t *testing.T, e *env) {
	t.Run("get after set", func(t *testing.T) {
		s := e.sub("set")
		s.set(t, "k", "0")
		t1 := s.tx(t)
		t1.Set(s.key("k"), []byte("t1"))
		wantValue(t, "Get own write", mustGet(t, t1, s.key("k")), []byte("t1"))
		s.set(t, "k", "t2")
		wantCode(t, "commit", t1.Commit(), 0)
		wantValue(t, "k", s.get(t, s.key("k")), []byte("t1"))
	})
	t.Run("range after clear range", func(t *testing.T) {
		s := e.sub("clearrange")
		t1 := s.tx(t)
		t1.ClearRange(s.rng("a", "z"))
		s.wantRows(t, "range over own clear", mustRange(t, t1, s.rng("a", "z"), store.RangeOptions{}))
		s.set(t, "m", "t2")
		t1.Set(s.key("~t1"), []byte("t1"))
		wantCode(t, "commit", t1.Commit(), 0)
	})
	t.Run("get before set conflicts", func(t *testing.T) {
		s := e.sub("before")
		t1 := s.tx(t)
		mustGet(t, t1, s.key("k"))
		t1.Set(s.key("k"), []byte("t1"))
		s.set(t, "k", "t2")
		wantCode(t, "commit", t1.Commit(), 1020)
	})
	t.Run("get after atomic on unknown base conflicts", func(t *testing.T) {
		s := e.sub("atomic")
		s.set(t, "k", string(le8(1)))
		t1 := s.tx(t)
		t1.Atomic(store.Add, s.key("k"), le8(1))
		if n := int8LE(t, mustGet(t, t1, s.key("k"))); n != 2 {
			t.Errorf("Get after add = %d, want 2", n)
		}
		s.set(t, "k", string(le8(5)))
		wantCode(t, "commit", t1.Commit(), 1020)
	})
	t.Run("snapshot get after atomic does not conflict", func(t *testing.T) {
		s := e.sub("atomicsnap")
		s.set(t, "k", string(le8(1)))
		t1 := s.tx(t)
		t1.Atomic(store.Add, s.key("k"), le8(1))
		if n := int8LE(t, mustGet(t, t1.Snapshot(), s.key("k"))); n != 2 {
			t.Errorf("snapshot Get after add = %d, want 2", n)
		}
		s.set(t, "k", string(le8(5)))
		wantCode(t, "commit", t1.Commit(), 0)
		if n := int8LE(t, s.get(t, s.key("k"))); n != 6 {
			t.Errorf("k = %d, want 6 (add applied at commit)", n)
		}
	})
	t.Run("get after set and atomic does not conflict", func(t *testing.T) {
		s := e.sub("setatomic")
		t1 := s.tx(t)
		t1.Set(s.key("k"), le8(1))
		t1.Atomic(store.Add, s.key("k"), le8(1))
		if n := int8LE(t, mustGet(t, t1, s.key("k"))); n != 2 {
			t.Errorf("Get after set+add = %d, want 2", n)
		}
		s.set(t, "k", string(le8(5)))
		wantCode(t, "commit", t1.Commit(), 0)
		if n := int8LE(t, s.get(t, s.key("k"))); n != 2 {
			t.Errorf("k = %d, want 2", n)
		}
	})
}

// testExplicitConflicts: AddReadConflictRange/Key and AddWriteConflictRange/
// Key act like reads and writes of the range for conflict detection.
func testExplicitConflicts(t *testing.T, e *env) {
	readCase := func(t *testing.T, s *env, add func(tx store.Tx) error, write string, conflict bool) {
		t.Helper()
		t1 := s.tx(t)
		mustRV(t, t1)
		if err := add(t1); err != nil {
			t.Fatalf("add conflict range: %v", err)
		}
		t1.Set(s.key("~t1"), []byte("t1"))
		s.set(t, write, "t2")
		want := 0
		if conflict {
			want = 1020
		}
		wantCode(t, "T1 commit after T2 wrote "+write, t1.Commit(), want)
	}
	for _, tc := range []struct {
		name     string
		write    string
		conflict bool
	}{
		{"b", "b", true},
		{"a", "a", true},
		{"c end exclusive", "c", false},
		{"0 before", "0", false},
	} {
		t.Run("read range "+tc.name, func(t *testing.T) {
			s := e.sub("rr-" + tc.name)
			readCase(t, s, func(tx store.Tx) error { return tx.AddReadConflictRange(s.rng("a", "c")) }, tc.write, tc.conflict)
		})
	}
	t.Run("read key", func(t *testing.T) {
		s := e.sub("rk")
		readCase(t, s, func(tx store.Tx) error { return tx.AddReadConflictKey(s.key("k")) }, "k", true)
	})
	t.Run("read key next", func(t *testing.T) {
		s := e.sub("rk2")
		readCase(t, s, func(tx store.Tx) error { return tx.AddReadConflictKey(s.key("k")) }, "k\x00", false)
	})
	t.Run("read range skips own write", func(t *testing.T) {
		// Segments the transaction wrote independently add no read
		// conflict, for AddReadConflictRange too (FDB-SEMANTICS §2).
		s := e.sub("rr-own")
		readCase(t, s, func(tx store.Tx) error {
			tx.Set(s.key("b"), []byte("t1"))
			return tx.AddReadConflictRange(s.rng("a", "c"))
		}, "b", false)
	})
	t.Run("read range around own write", func(t *testing.T) {
		s := e.sub("rr-own2")
		readCase(t, s, func(tx store.Tx) error {
			tx.Set(s.key("b"), []byte("t1"))
			return tx.AddReadConflictRange(s.rng("a", "c"))
		}, "a", true)
	})
	for _, tc := range []struct {
		name     string
		add      func(s *env, tx store.Tx) error
		read     string
		conflict bool
	}{
		{"write range", func(s *env, tx store.Tx) error { return tx.AddWriteConflictRange(s.rng("a", "c")) }, "b", true},
		{"write range end exclusive", func(s *env, tx store.Tx) error { return tx.AddWriteConflictRange(s.rng("a", "c")) }, "c", false},
		{"write key", func(s *env, tx store.Tx) error { return tx.AddWriteConflictKey(s.key("k")) }, "k", true},
		{"write key next", func(s *env, tx store.Tx) error { return tx.AddWriteConflictKey(s.key("k")) }, "k\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.sub(tc.name)
			reader := s.tx(t)
			mustGet(t, reader, s.key(tc.read))
			reader.Set(s.key("~reader"), []byte("r"))
			// A transaction with only a write-conflict range is not
			// read-only: it commits with a real version.
			w := s.tx(t)
			if err := tc.add(s, w); err != nil {
				t.Fatalf("add write conflict: %v", err)
			}
			wantCode(t, "commit of conflict-range-only transaction", w.Commit(), 0)
			if cv, err := w.GetCommittedVersion(); err != nil || cv <= 0 {
				t.Errorf("GetCommittedVersion of a transaction with a write-conflict range = %d, %v; want > 0", cv, err)
			}
			want := 0
			if tc.conflict {
				want = 1020
			}
			wantCode(t, "reader commit", reader.Commit(), want)
		})
	}
	t.Run("inverted", func(t *testing.T) {
		s := e.sub("inv")
		tx := s.tx(t)
		wantCode(t, "AddReadConflictRange(c, a)", tx.AddReadConflictRange(s.rng("c", "a")), 2005)
		wantCode(t, "AddWriteConflictRange(c, a)", tx.AddWriteConflictRange(s.rng("c", "a")), 2005)
	})
}
