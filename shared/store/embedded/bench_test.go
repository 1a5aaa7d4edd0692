package embedded_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// BenchmarkFsync measures the raw rate of write+fsync of this disk for one
// writer: the physical limit of commits that do not share an fsync.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "fsyncs/s")
}

// BenchmarkCommit measures blind-write commits of distinct keys, fsync on,
// with 1, 16 and 256 concurrent committers.
func BenchmarkCommit(b *testing.B) {
	for _, committers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			db := openBench(b)
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for g := 0; g < committers; g++ {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
							tx.Set(fmt.Appendf(nil, "commit/%09d", i), []byte("value"))
							return nil, nil
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}

// BenchmarkPointRead measures one-key read transactions over 10,000 keys.
func BenchmarkPointRead(b *testing.B) {
	db := openBench(b)
	load(b, db, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Appendf(nil, "key/%06d", rand.IntN(10_000))
			v, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]byte, error) { return r.Get(k).Get() })
			if err != nil || v == nil {
				b.Errorf("get %s: %q, %v", k, v, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
}

// BenchmarkRangeRead measures read transactions of 100 consecutive keys.
func BenchmarkRangeRead(b *testing.B) {
	db := openBench(b)
	load(b, db, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			from := rand.IntN(10_000 - 100)
			r := store.Range{Begin: fmt.Appendf(nil, "key/%06d", from), End: fmt.Appendf(nil, "key/%06d", from+100)}
			kvs, err := store.ReadTransact(ctx, db, func(rd store.Reader) ([]store.KeyValue, error) {
				return rd.GetRange(r, store.RangeOptions{}).GetSlice()
			})
			if err != nil || len(kvs) != 100 {
				b.Errorf("range: %d rows, %v", len(kvs), err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ranges/s")
}

// BenchmarkRangeReadRewritten measures a read transaction of a 3-key range
// whose keys were each rewritten 1,000 times within the MVCC window (a
// znode under steady setData): the snapshots the window keeps hold every
// version, and a scan must not step through them.
func BenchmarkRangeReadRewritten(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	keys := [][]byte{[]byte("node/a"), []byte("node/b"), []byte("node/c")}
	for i := range 1_000 {
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
			for _, k := range keys {
				tx.Set(k, fmt.Appendf(nil, "value %d", i))
			}
			return struct{}{}, nil
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := store.ReadTransact(ctx, db, func(rd store.Reader) ([]byte, error) {
			return rd.Get(keys[0]).Get() // a reader between commits: each keeps a snapshot
		}); err != nil {
			b.Fatal(err)
		}
	}
	r := store.Range{Begin: []byte("node/"), End: []byte("node0")}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kvs, err := store.ReadTransact(ctx, db, func(rd store.Reader) ([]store.KeyValue, error) {
			return rd.GetRange(r, store.RangeOptions{}).GetSlice()
		})
		if err != nil || len(kvs) != 3 {
			b.Fatalf("range: %d rows, %v", len(kvs), err)
		}
	}
}

func openBench(b *testing.B) *embedded.DB {
	b.Helper()
	db, err := embedded.Open(embedded.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func load(b *testing.B, db store.DB, n int) {
	b.Helper()
	for from := 0; from < n; from += 1000 {
		_, err := store.Transact(context.Background(), db, func(tx store.Tx) (any, error) {
			for i := from; i < min(from+1000, n); i++ {
				tx.Set(fmt.Appendf(nil, "key/%06d", i), fmt.Appendf(nil, "value %d", i))
			}
			return nil, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHotKey measures read-modify-write increments of ONE key by 16
// and 64 clients (every lock recipe's parent node): all but one commit of
// each batch conflict and retry. Reports commits/s and attempts per commit.
func BenchmarkHotKey(b *testing.B) {
	for _, clients := range []int{16, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			db := openBench(b)
			ctx := context.Background()
			var next, attempts atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						_, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
							attempts.Add(1)
							v, err := tx.Get([]byte("hot")).Get()
							if err != nil {
								return nil, err
							}
							tx.Set([]byte("hot"), append(v, 'x')[:min(len(v)+1, 8)])
							return nil, nil
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
			b.ReportMetric(float64(attempts.Load())/float64(b.N), "attempts/commit")
		})
	}
}
