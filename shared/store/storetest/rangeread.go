package storetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"zkfdb/shared/store"
)

var allModes = []store.StreamingMode{
	store.StreamingIterator, store.StreamingWantAll, store.StreamingSmall,
	store.StreamingMedium, store.StreamingLarge, store.StreamingSerial,
}

// testRangeOrder: range reads return keys in byte order (binary keys
// included), reversed with Reverse, cut by Limit, whatever the streaming
// mode.
func testRangeOrder(t *testing.T, e *env) {
	r := rand.New(rand.NewPCG(1, 2))
	var want []store.KeyValue
	seen := map[string]bool{}
	for len(want) < 200 {
		suffix := make([]byte, 1+r.IntN(6))
		for i := range suffix {
			suffix[i] = []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 'a', 'b'}[r.IntN(8)]
		}
		if seen[string(suffix)] {
			continue
		}
		seen[string(suffix)] = true
		want = append(want, store.KeyValue{Key: e.key("r/" + string(suffix)), Value: fmt.Append(nil, len(want))})
	}
	e.commit(t, func(tx store.Tx) { // inserted in random order
		for _, kv := range want {
			tx.Set(kv.Key, kv.Value)
		}
	})
	slices.SortFunc(want, func(a, b store.KeyValue) int { return bytes.Compare(a.Key, b.Key) })
	rev := slices.Clone(want)
	slices.Reverse(rev)

	tx := e.tx(t)
	rg := store.PrefixRange(e.key("r/"))
	for _, mode := range allModes {
		for _, limit := range []int{0, 1, 7, 199, 200, 500} {
			n := len(want)
			if limit > 0 {
				n = min(limit, n)
			}
			got := mustRange(t, tx, rg, store.RangeOptions{Limit: limit, Mode: mode})
			wantKVs(t, fmt.Sprintf("mode %d limit %d", mode, limit), got, want[:n])
			got = mustRange(t, tx, rg, store.RangeOptions{Limit: limit, Reverse: true, Mode: mode})
			wantKVs(t, fmt.Sprintf("mode %d limit %d reverse", mode, limit), got, rev[:n])
		}
	}
	got := mustRange(t, tx, rg, store.RangeOptions{Limit: 10, Mode: store.StreamingExact})
	wantKVs(t, "exact limit 10", got, want[:10])
	sub := store.Range{Begin: want[10].Key, End: want[50].Key}
	wantKVs(t, "sub-range", mustRange(t, tx, sub, store.RangeOptions{}), want[10:50])
	wantKVs(t, "sub-range reverse limit 5", mustRange(t, tx, sub, store.RangeOptions{Reverse: true, Limit: 5}),
		rev[len(want)-50:len(want)-45])
}

func wantKVs(t *testing.T, what string, got, want []store.KeyValue) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Errorf("%s: row %d = %q=%q, want %q=%q", what, i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
			return
		}
	}
}

// testRangeStreaming: the iterator over thousands of keys returns what
// GetSlice does, in every mode, forward and reverse, with and without limit.
func testRangeStreaming(t *testing.T, e *env) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	var want []store.KeyValue
	for i := range n {
		want = append(want, store.KeyValue{
			Key:   e.key(fmt.Sprintf("s/%06d", i)),
			Value: bytes.Repeat(fmt.Append(nil, i%10), 100),
		})
	}
	for i := 0; i < n; i += 1000 {
		e.commit(t, func(tx store.Tx) {
			for _, kv := range want[i:min(i+1000, n)] {
				tx.Set(kv.Key, kv.Value)
			}
		})
	}
	rev := slices.Clone(want)
	slices.Reverse(rev)
	rg := store.PrefixRange(e.key("s/"))
	tx := e.tx(t)
	for _, mode := range allModes {
		for _, c := range []struct {
			opts store.RangeOptions
			want []store.KeyValue
		}{
			{store.RangeOptions{Mode: mode}, want},
			{store.RangeOptions{Mode: mode, Reverse: true}, rev},
			{store.RangeOptions{Mode: mode, Limit: n / 3}, want[:n/3]},
			{store.RangeOptions{Mode: mode, Limit: n / 3, Reverse: true}, rev[:n/3]},
		} {
			what := fmt.Sprintf("mode %d limit %d reverse %v", mode, c.opts.Limit, c.opts.Reverse)
			wantKVs(t, what+" GetSlice", mustRange(t, tx, rg, c.opts), c.want)
			var got []store.KeyValue
			it := tx.GetRange(rg, c.opts).Iterator()
			for it.Next() {
				got = append(got, it.KeyValue())
			}
			if err := it.Err(); err != nil {
				t.Errorf("%s iterator: %v", what, err)
			}
			if it.Next() {
				t.Errorf("%s: Next after the end returned true", what)
			}
			wantKVs(t, what+" iterator", got, c.want)
		}
	}
}

// testRangeEmpty: empty ranges and ranges with begin ≥ end return nothing,
// without error, and begin > end adds no read conflict.
func testRangeEmpty(t *testing.T, e *env) {
	e.set(t, "m", "1")
	tx := e.tx(t)
	e.wantRows(t, "begin == end", mustRange(t, tx, e.rng("m", "m"), store.RangeOptions{}))
	e.wantRows(t, "begin > end", mustRange(t, tx, e.rng("z", "a"), store.RangeOptions{}))
	e.wantRows(t, "begin > end reverse", mustRange(t, tx, e.rng("z", "a"), store.RangeOptions{Reverse: true}))
	e.wantRows(t, "range with no keys", mustRange(t, tx, e.rng("n", "z"), store.RangeOptions{}))
	it := tx.GetRange(e.rng("z", "a"), store.RangeOptions{}).Iterator()
	if it.Next() || it.Err() != nil {
		t.Errorf("iterator over begin > end: Next true or Err %v", it.Err())
	}
	// An inverted range read is no read: a write inside [a, z) does not
	// conflict.
	tx.Set(e.key("~t1"), []byte("t1"))
	e.set(t, "b", "t2")
	wantCode(t, "commit after inverted range read", tx.Commit(), 0)
}
