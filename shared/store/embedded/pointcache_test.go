package embedded_test

import (
	"context"
	"encoding/binary"
	"strconv"
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	versions := []int64{set(t, db, "k", "0")} // versions[i]: the commit of value i
	const writes = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= writes && ctx.Err() == nil; i++ {
			v := set(t, db, "k", strconv.Itoa(i))
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
				v, err2 := tx.Get([]byte("k")).Get()
				tx.Close()
				if err1 != nil || err2 != nil {
					t.Error(err1, err2)
					return
				}
				i, err := strconv.Atoi(string(v))
				if err != nil {
					t.Errorf("k = %q", v)
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
