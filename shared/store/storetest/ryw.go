package storetest

import (
	"slices"
	"testing"

	"zkfdb/shared/store"
)

// testReadYourWrites: reads see the transaction's own sets, clears and clear
// ranges, merged into stored data, with limit and reverse applied to the
// merged result; snapshot reads too (FDB-SEMANTICS §3).
func testReadYourWrites(t *testing.T, e *env) {
	e.set(t, "a", "1", "c", "3", "e", "5", "g", "7", "i", "9")
	tx := e.tx(t)
	tx.Set(e.key("b"), []byte("2"))
	tx.Clear(e.key("c"))
	tx.Set(e.key("d"), []byte{})
	tx.ClearRange(e.rng("f", "h")) // removes g
	tx.Set(e.key("g2"), []byte("8"))
	tx.Set(e.key("i"), []byte("9b"))

	for _, r := range []struct {
		name string
		rd   store.Reader
	}{{"serializable", tx}, {"snapshot", tx.Snapshot()}} {
		rd := r.rd
		wantValue(t, r.name+" Get after Set", mustGet(t, rd, e.key("b")), []byte("2"))
		wantValue(t, r.name+" Get after Clear", mustGet(t, rd, e.key("c")), nil)
		wantValue(t, r.name+" Get after ClearRange", mustGet(t, rd, e.key("g")), nil)
		wantValue(t, r.name+" Get of set-after-ClearRange", mustGet(t, rd, e.key("g2")), []byte("8"))
		wantValue(t, r.name+" Get of empty value", mustGet(t, rd, e.key("d")), []byte{})
		wantValue(t, r.name+" Get of overwritten", mustGet(t, rd, e.key("i")), []byte("9b"))
		wantValue(t, r.name+" Get of untouched", mustGet(t, rd, e.key("e")), []byte("5"))
		wantValue(t, r.name+" Get of absent", mustGet(t, rd, e.key("zz")), nil)

		all := []string{"a=1", "b=2", "d=", "e=5", "g2=8", "i=9b"}
		rev := slices.Clone(all)
		slices.Reverse(rev)
		for _, c := range []struct {
			opts store.RangeOptions
			want []string
		}{
			{store.RangeOptions{}, all},
			{store.RangeOptions{Limit: 2}, all[:2]},
			{store.RangeOptions{Limit: 4}, all[:4]},
			{store.RangeOptions{Reverse: true}, rev},
			{store.RangeOptions{Reverse: true, Limit: 3}, rev[:3]},
			{store.RangeOptions{Limit: 100}, all},
		} {
			e.wantRows(t, r.name+" merged range", mustRange(t, rd, e.rng("", "z"), c.opts), c.want...)
			var it []store.KeyValue
			iter := rd.GetRange(e.rng("", "z"), c.opts).Iterator()
			for iter.Next() {
				it = append(it, iter.KeyValue())
			}
			if err := iter.Err(); err != nil {
				t.Errorf("%s iterator %+v: %v", r.name, c.opts, err)
			}
			e.wantRows(t, r.name+" merged range iterator", it, c.want...)
		}
		e.wantRows(t, r.name+" range [b,e)", mustRange(t, rd, e.rng("b", "e"), store.RangeOptions{}), "b=2", "d=")
	}

	wantCode(t, "commit", tx.Commit(), 0)
	e.wantRows(t, "after commit", e.all(t, store.PrefixRange(e.prefix)), "a=1", "b=2", "d=", "e=5", "g2=8", "i=9b")
}

// testReadYourWritesAtomic: a Get or range read after an atomic op returns
// the op applied to the stored value (or to the transaction's own earlier
// write).
func testReadYourWritesAtomic(t *testing.T, e *env) {
	e.set(t, "n", string(le8(5)), "s", "x", "m", "b")
	tx := e.tx(t)
	tx.Atomic(store.Add, e.key("n"), le8(3))
	tx.Atomic(store.Add, e.key("absent"), le8(7))
	tx.Set(e.key("q"), le8(1))
	tx.Atomic(store.Add, e.key("q"), le8(1))
	tx.Atomic(store.CompareAndClear, e.key("s"), []byte("x"))
	tx.Atomic(store.ByteMax, e.key("m"), []byte("a"))
	tx.Atomic(store.Add, e.key("n"), le8(10))
	tx.Clear(e.key("r"))
	tx.Atomic(store.Add, e.key("r"), le8(4))

	check := func(what string, rd store.Reader) {
		t.Helper()
		for _, c := range []struct {
			key  string
			want []byte
		}{
			{"n", le8(18)},
			{"absent", le8(7)},
			{"q", le8(2)},
			{"s", nil},
			{"m", []byte("b")},
			{"r", le8(4)},
		} {
			wantValue(t, what+" Get "+c.key, mustGet(t, rd, e.key(c.key)), c.want)
		}
		e.wantRows(t, what+" range", mustRange(t, rd, e.rng("", "z"), store.RangeOptions{}),
			"absent="+string(le8(7)), "m=b", "n="+string(le8(18)), "q="+string(le8(2)), "r="+string(le8(4)))
	}
	check("in transaction", tx)
	check("snapshot in transaction", tx.Snapshot())
	wantCode(t, "commit", tx.Commit(), 0)
	tx2 := e.tx(t)
	check("after commit", tx2)
}
