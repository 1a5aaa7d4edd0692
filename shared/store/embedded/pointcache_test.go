package embedded_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

func get(t *testing.T, db store.DB, rv int64, k string) []byte {
	t.Helper()
	tx, err := db.CreateTransaction(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if rv != 0 {
		tx.SetReadVersion(rv)
	}
	v, err := tx.Get([]byte(k)).Get()
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	return v
}

// Point reads of keys read before (the engine caches them, pointcache.go)
// see every kind of write at once, and the old value at an old read
// version.
func TestPointReadsAfterWrites(t *testing.T) {
	db := open(t, embedded.Options{})
	ctx := context.Background()
	v1 := set(t, db, "k", "one")
	if v := get(t, db, 0, "k"); string(v) != "one" {
		t.Fatalf("k = %q, want one", v)
	}
	set(t, db, "k", "two")
	if v := get(t, db, 0, "k"); string(v) != "two" {
		t.Fatalf("after set: k = %q, want two", v)
	}
	if v := get(t, db, v1, "k"); string(v) != "one" {
		t.Fatalf("at the first version: k = %q, want one", v)
	}

	// An absent key read, then written by an atomic add.
	if v := get(t, db, 0, "n"); v != nil {
		t.Fatalf("n = %q, want absent", v)
	}
	for want := uint64(1); want <= 3; want++ {
		_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
			tx.Atomic(store.Add, []byte("n"), binary.LittleEndian.AppendUint64(nil, 1))
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if v := get(t, db, 0, "n"); len(v) != 8 || binary.LittleEndian.Uint64(v) != want {
			t.Fatalf("after %d adds: n = %x", want, v)
		}
	}

	// A versionstamped value, then a cleared range.
	_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
		tx.SetVersionstampedValue([]byte("k"), make([]byte, 14))
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := get(t, db, 0, "k"); len(v) != 10 {
		t.Fatalf("after a versionstamped value: k = %x, want a stamp", v)
	}
	_, err = store.Transact(ctx, db, func(tx store.Tx) (any, error) {
		tx.ClearRange(store.Range{Begin: []byte("a"), End: []byte("z")})
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", "n"} {
		if v := get(t, db, 0, k); v != nil {
			t.Fatalf("after clearing the range: %s = %q", k, v)
		}
	}
}

// A cleared range hides every key inside it from reads that cached them,
// from its begin up to but not including its end, in the same batch as
// other writes; keys outside keep their values.
func TestPointReadsAfterRangeClears(t *testing.T) {
	db := open(t, embedded.Options{})
	ctx := context.Background()
	keys := []string{"a", "a\x00", "aa", "az\xff", "b", "c"}
	for _, k := range keys {
		set(t, db, k, "v"+k)
		if v := get(t, db, 0, k); string(v) != "v"+k {
			t.Fatalf("%q = %q", k, v)
		}
	}
	_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
		tx.ClearRange(store.Range{Begin: []byte("a"), End: []byte("b")})
		tx.Set([]byte("c"), []byte("new"))
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"b": "vb", "c": "new"}
	for _, k := range keys {
		if v := get(t, db, 0, k); string(v) != want[k] || (want[k] == "" && v != nil) {
			t.Errorf("after clearing [a, b): %q = %q, want %q", k, v, want[k])
		}
	}
	set(t, db, "aa", "again")
	if v := get(t, db, 0, "aa"); string(v) != "again" {
		t.Errorf("aa written after the clear = %q, want again", v)
	}
}

// While one writer rewrites a key, concurrent readers read it at their
// read versions: each sees the value of the newest commit at or before its
// read version, never an older or a newer one.
func TestPointReadsUnderConcurrentWrites(t *testing.T) {
	db := open(t, embedded.Options{})
	readsAgainstWriter(t, db,
		func(ctx context.Context, i int) (int64, error) {
			return set(t, db, "k", strconv.Itoa(i)), nil
		},
		func(tx store.Tx) (int, error) {
			v, err := tx.Get([]byte("k")).Get()
			if err != nil {
				return 0, err
			}
			i, err := strconv.Atoi(string(v))
			if err != nil {
				return 0, fmt.Errorf("k = %q", v)
			}
			return i, nil
		})
}

// readsAgainstWriter runs write(i) for i = 0 … 300 in order, each
// returning its commit version, while four readers each read at their
// read version (read returns the i of the write it saw); every read must
// see the newest write committed at or before its read version.
func readsAgainstWriter(t *testing.T, db store.DB, write func(ctx context.Context, i int) (int64, error), read func(tx store.Tx) (int, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first, err := write(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	versions := []int64{first} // versions[i]: the commit of write i
	const writes = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= writes && ctx.Err() == nil; i++ {
			v, err := write(ctx, i)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			versions = append(versions, v)
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-done:
					return
				default:
				}
				tx, err := db.CreateTransaction(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				rv, err1 := tx.GetReadVersion().Get()
				i, err2 := read(tx)
				tx.Close()
				if err1 != nil || err2 != nil {
					t.Errorf("read at %d: %v, %v", rv, err1, err2)
					return
				}
				mu.Lock()
				known := append([]int64(nil), versions...)
				mu.Unlock()
				if i >= len(known) {
					continue // its commit is not recorded yet
				}
				if known[i] > rv {
					t.Errorf("at read version %d: value %d, committed at %d, after it", rv, i, known[i])
				}
				if i+1 < len(known) && known[i+1] <= rv {
					t.Errorf("at read version %d: value %d, but %d committed at %d", rv, i, i+1, known[i+1])
				}
			}
		})
	}
	wg.Wait()
	<-done
	if n := len(versions); n != writes+1 {
		t.Fatalf("%d writes done, want %d", n-1, writes)
	}
}

// scan reads [b, e) at rv (0: the newest) as "k=v" pairs.
func scan(t *testing.T, db store.DB, rv int64, b, e string) string {
	t.Helper()
	rows, err := store.ReadTransact(context.Background(), db, func(r store.Reader) ([]store.KeyValue, error) {
		if rv != 0 {
			r.(store.Tx).SetReadVersion(rv)
		}
		return r.GetRange(store.Range{Begin: []byte(b), End: []byte(e)}, store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
	})
	if err != nil {
		t.Fatalf("scan [%s, %s): %v", b, e, err)
	}
	var out []string
	for _, kv := range rows {
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return strings.Join(out, " ")
}

// Range reads of ranges read before (the engine caches small ones,
// rangecache.go) see every kind of write inside them at once, the old rows
// at an old read version, and the transaction's own writes.
func TestRangeReadsAfterWrites(t *testing.T) {
	db := open(t, embedded.Options{})
	ctx := context.Background()
	v1 := set(t, db, "n/a", "1")
	set(t, db, "n/b", "2")
	set(t, db, "o/a", "other")
	check := func(when, want string) {
		t.Helper()
		for range 2 { // the second read may come from the cache
			if got := scan(t, db, 0, "n/", "n0"); got != want {
				t.Fatalf("%s: [n/, n0) = %q, want %q", when, got, want)
			}
		}
	}
	check("at first", "n/a=1 n/b=2")
	set(t, db, "o/b", "outside")
	check("after a write outside", "n/a=1 n/b=2")
	set(t, db, "n/c", "3")
	check("after a new key", "n/a=1 n/b=2 n/c=3")
	if got := scan(t, db, v1, "n/", "n0"); got != "n/a=1" {
		t.Fatalf("at the first version: %q, want n/a=1", got)
	}
	writes := []struct {
		name string
		do   func(tx store.Tx)
		want string
	}{
		{"a cleared key", func(tx store.Tx) { tx.Clear([]byte("n/b")) }, "n/a=1 n/c=3"},
		{"an atomic add", func(tx store.Tx) { tx.Atomic(store.Add, []byte("n/a"), []byte{1}) }, "n/a=2 n/c=3"},
		{"a range cleared across its begin", func(tx store.Tx) { tx.ClearRange(store.Range{Begin: []byte("m"), End: []byte("n/b")}) }, "n/c=3"},
		{"a versionstamped key", func(tx store.Tx) {
			// The stamp at offset 3, after "n/v" (FDB's 4-byte offset suffix).
			tx.SetVersionstampedKey(binary.LittleEndian.AppendUint32(append([]byte("n/v"), make([]byte, 10)...), 3), []byte("s"))
		}, ""},
	}
	for _, w := range writes {
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) { w.do(tx); return nil, nil }); err != nil {
			t.Fatal(err)
		}
		got := scan(t, db, 0, "n/", "n0")
		if w.want != "" && got != w.want {
			t.Fatalf("after %s: %q, want %q", w.name, got, w.want)
		}
		if w.want == "" && !strings.Contains(got, "=s") {
			t.Fatalf("after %s: %q, want the stamped key", w.name, got)
		}
	}
	// A transaction's own writes show in its reads of a cached range.
	scan(t, db, 0, "o/", "o0")
	_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
		tx.Set([]byte("o/c"), []byte("mine"))
		rows, err := tx.GetRange(store.Range{Begin: []byte("o/"), End: []byte("o0")}, store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
		if err == nil && len(rows) != 3 {
			t.Errorf("own write: %d rows, want 3", len(rows))
		}
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// While one writer rewrites two keys of a range together, concurrent
// readers scan the range: each sees both keys from one commit, the newest
// at or before its read version.
func TestRangeReadsUnderConcurrentWrites(t *testing.T) {
	db := open(t, embedded.Options{})
	readsAgainstWriter(t, db,
		func(ctx context.Context, i int) (int64, error) {
			tx, err := db.CreateTransaction(ctx)
			if err != nil {
				return 0, err
			}
			defer tx.Close()
			tx.Set([]byte("r/a"), []byte(strconv.Itoa(i)))
			tx.Set([]byte("r/b"), []byte(strconv.Itoa(i)))
			if err := tx.Commit(); err != nil {
				return 0, err
			}
			return tx.GetCommittedVersion()
		},
		func(tx store.Tx) (int, error) {
			store.HintReadOnly(tx) // as a read request's
			rows, err := tx.GetRange(store.Range{Begin: []byte("r/"), End: []byte("r0")}, store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
			if err != nil {
				return 0, err
			}
			if len(rows) != 2 || string(rows[0].Value) != string(rows[1].Value) {
				return 0, fmt.Errorf("rows %q, want r/a and r/b from one write", rows)
			}
			return strconv.Atoi(string(rows[0].Value))
		})
}
