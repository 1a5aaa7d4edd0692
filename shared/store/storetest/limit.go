package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"zkfdb/shared/store"
)

// sizedKey returns a key of exactly n bytes under the test's prefix.
func (e *env) sizedKey(t *testing.T, name string, n int) []byte {
	t.Helper()
	k := e.key(name + "/")
	if len(k) > n {
		t.Fatalf("prefix %q longer than %d", k, n)
	}
	return append(k, bytes.Repeat([]byte("k"), n-len(k))...)
}

// testLimitKeySize: keys up to 10,000 bytes are legal; a longer one fails
// key_too_large (2102), deferred to the next read or commit; a Get of one
// returns absent and a Clear of one is a no-op (FDB-SEMANTICS §7).
func testLimitKeySize(t *testing.T, e *env) {
	ok := e.sizedKey(t, "ok", store.MaxKeySize)
	big := e.sizedKey(t, "big", store.MaxKeySize+1)

	e.commit(t, func(tx store.Tx) { tx.Set(ok, []byte("v")) })
	wantValue(t, "10,000-byte key", e.get(t, ok), []byte("v"))

	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx)
	}{
		{"Set", func(tx store.Tx) { tx.Set(big, []byte("v")) }},
		{"Atomic", func(tx store.Tx) { tx.Atomic(store.Add, big, []byte{1}) }},
		{"SetVersionstampedValue", func(tx store.Tx) {
			tx.SetVersionstampedValue(big, store.AppendStampOffset(make([]byte, 10), 0))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := e.tx(t)
			tc.fn(tx)
			wantCode(t, "commit", tx.Commit(), 2102)

			tx2 := e.tx(t)
			tc.fn(tx2)
			_, err := tx2.Get(e.key("other")).Get()
			wantCode(t, "next Get", err, 2102)
			wantCode(t, "commit after the Get", tx2.Commit(), 2102)
		})
	}
	t.Run("Get and Clear", func(t *testing.T) {
		tx := e.tx(t)
		wantValue(t, "Get of a too-long key", mustGet(t, tx, big), nil)
		tx.Clear(big)
		tx.Set(e.key("x"), []byte("x"))
		wantCode(t, "commit after Clear of a too-long key", tx.Commit(), 0)
	})
	t.Run("Watch", func(t *testing.T) {
		tx := e.tx(t)
		w := tx.Watch(big)
		waitDone(t, w)
		wantCode(t, "Watch of a too-long key", w.Err(), 2102)
	})
}

// testLimitValueSize: values up to 100,000 bytes are legal; a longer one
// (or atomic param) fails value_too_large (2103), deferred.
func testLimitValueSize(t *testing.T, e *env) {
	k := e.key("k")
	e.commit(t, func(tx store.Tx) { tx.Set(k, make([]byte, store.MaxValueSize)) })
	if v := e.get(t, k); len(v) != store.MaxValueSize {
		t.Errorf("100,000-byte value read back as %d bytes", len(v))
	}
	big := make([]byte, store.MaxValueSize+1)
	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx)
	}{
		{"Set", func(tx store.Tx) { tx.Set(k, big) }},
		{"Atomic", func(tx store.Tx) { tx.Atomic(store.AppendIfFits, k, big) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := e.tx(t)
			tc.fn(tx)
			wantCode(t, "commit", tx.Commit(), 2103)

			tx2 := e.tx(t)
			tc.fn(tx2)
			_, err := tx2.Get(e.key("other")).Get()
			wantCode(t, "next Get", err, 2103)
		})
	}
}

// testLimitTransactionSize: a transaction over 10,000,000 bytes fails at
// commit with transaction_too_large (2101); size counts writes after
// merging writes to the same key.
func testLimitTransactionSize(t *testing.T, e *env) {
	val := bytes.Repeat([]byte("v"), store.MaxValueSize)
	t.Run("too large", func(t *testing.T) {
		tx := e.tx(t)
		for i := range 110 { // 11 MB
			tx.Set(e.key(fmt.Sprintf("big/%03d", i)), val)
		}
		wantCode(t, "commit of 11 MB", tx.Commit(), 2101)
		if rows := e.all(t, store.PrefixRange(e.key("big/"))); len(rows) != 0 {
			t.Errorf("failed commit wrote %d keys", len(rows))
		}
	})
	t.Run("8 MB fits", func(t *testing.T) {
		tx := e.tx(t)
		for i := range 80 {
			tx.Set(e.key(fmt.Sprintf("ok/%03d", i)), val)
		}
		wantCode(t, "commit of 8 MB", tx.Commit(), 0)
	})
	t.Run("rewrites of one key merge", func(t *testing.T) {
		tx := e.tx(t)
		for range 150 { // 15 MB written, 100 kB after merging
			tx.Set(e.key("same"), val)
		}
		wantCode(t, "commit of 150 rewrites of one 100 kB key", tx.Commit(), 0)
	})
}

// testSystemKeys: keys at or past \xff are out of bounds (2004): writes and
// atomic ops (deferred), Gets, range and conflict-range endpoints past \xff.
func testSystemKeys(t *testing.T, e *env) {
	sys := []byte{0xff, 's', 't', 'o', 'r', 'e', 't', 'e', 's', 't'}
	past := []byte{0xff, 0x00}
	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx)
	}{
		{"Set", func(tx store.Tx) { tx.Set(sys, []byte("v")) }},
		{"Set \\xff", func(tx store.Tx) { tx.Set([]byte{0xff}, []byte("v")) }},
		{"Clear", func(tx store.Tx) { tx.Clear(sys) }},
		{"ClearRange", func(tx store.Tx) { tx.ClearRange(store.Range{Begin: []byte{0xff}, End: past}) }},
		{"Atomic", func(tx store.Tx) { tx.Atomic(store.Add, sys, []byte{1}) }},
		{"SetVersionstampedValue", func(tx store.Tx) {
			tx.SetVersionstampedValue(sys, store.AppendStampOffset(make([]byte, 10), 0))
		}},
		{"AddReadConflictRange", func(tx store.Tx) {
			if err := tx.AddReadConflictRange(store.Range{Begin: e.key("a"), End: past}); err != nil {
				t.Errorf("AddReadConflictRange past \\xff returned %v at once; FDB defers it", err)
			}
			tx.Set(e.key("x"), []byte("x"))
		}},
		{"AddWriteConflictRange", func(tx store.Tx) {
			if err := tx.AddWriteConflictRange(store.Range{Begin: e.key("a"), End: past}); err != nil {
				t.Errorf("AddWriteConflictRange past \\xff returned %v at once; FDB defers it", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := e.tx(t)
			tc.fn(tx)
			wantCode(t, "commit", tx.Commit(), 2004)
		})
	}
	t.Run("reads", func(t *testing.T) {
		tx := e.tx(t)
		_, err := tx.Get(sys).Get()
		wantCode(t, "Get \\xff...", err, 2004)
		tx = e.tx(t)
		_, err = tx.GetRange(store.Range{Begin: e.key("a"), End: past}, store.RangeOptions{}).GetSlice()
		wantCode(t, "GetRange ending past \\xff", err, 2004)
		tx = e.tx(t)
		w := tx.Watch(sys)
		waitDone(t, w)
		wantCode(t, "Watch \\xff...", w.Err(), 2004)
	})
}

// testInvertedRange: ClearRange with begin > end fails inverted_range (2005),
// deferred; begin == end is a no-op.
func testInvertedRange(t *testing.T, e *env) {
	e.set(t, "b", "1")
	tx := e.tx(t)
	tx.ClearRange(e.rng("c", "a"))
	_, err := tx.Get(e.key("b")).Get()
	wantCode(t, "Get after inverted ClearRange", err, 2005)
	wantCode(t, "commit after inverted ClearRange", tx.Commit(), 2005)

	tx = e.tx(t)
	tx.ClearRange(e.rng("b", "b"))
	tx.Set(e.key("x"), []byte("x"))
	wantCode(t, "commit with empty ClearRange", tx.Commit(), 0)
	wantValue(t, "b after empty ClearRange", e.get(t, e.key("b")), []byte("1"))
}

// testNegativeLimit: a limit of -1 is FDB's ROW_LIMIT_UNLIMITED (every
// row, as 0); below -1 a range read fails range_limits_invalid (2012);
// exact mode without a limit fails exact_mode_without_limits (2210).
func testNegativeLimit(t *testing.T, e *env) {
	tx := e.tx(t)
	for _, k := range []string{"a", "b", "c"} {
		tx.Set(e.key(k), []byte(k))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx = e.tx(t)
	for _, rev := range []bool{false, true} {
		rows, err := tx.GetRange(e.rng("a", "z"), store.RangeOptions{Limit: -1, Reverse: rev}).GetSlice()
		if err != nil || len(rows) != 3 {
			t.Errorf("GetSlice with limit -1 (reverse %v): %d rows, %v; want 3", rev, len(rows), err)
		}
		n := 0
		it := tx.GetRange(e.rng("a", "z"), store.RangeOptions{Limit: -1, Reverse: rev}).Iterator()
		for it.Next() {
			n++
		}
		if it.Err() != nil || n != 3 {
			t.Errorf("iterator with limit -1 (reverse %v): %d rows, %v; want 3", rev, n, it.Err())
		}
	}
	for _, limit := range []int{-2, -100} {
		_, err := tx.GetRange(e.rng("a", "z"), store.RangeOptions{Limit: limit}).GetSlice()
		wantCode(t, fmt.Sprintf("GetSlice with limit %d", limit), err, 2012)
		it := tx.GetRange(e.rng("a", "z"), store.RangeOptions{Limit: limit}).Iterator()
		for it.Next() {
			t.Fatalf("iterator with limit %d returned a row", limit)
		}
		wantCode(t, fmt.Sprintf("iterator with limit %d", limit), it.Err(), 2012)
	}
	for _, limit := range []int{0, -1} {
		_, err := tx.GetRange(e.rng("a", "z"), store.RangeOptions{Limit: limit, Mode: store.StreamingExact}).GetSlice()
		wantCode(t, fmt.Sprintf("exact mode with limit %d", limit), err, 2210)
	}
}
