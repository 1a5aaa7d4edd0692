//go:build fdb

package fdbstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
)

// BenchmarkCeiling is FoundationDB's own ceiling for what layerd asks of
// it per ZooKeeper operation, through this binding and the store
// contract, at the load tool's concurrencies (docs/benchmarks.md):
//
//   - commit: a blind write of 128 bytes to a key of the client's own,
//     one transaction each (the least a create or setData costs);
//   - read: a read of one of 1,000 keys, one transaction each (the least
//     a getData costs);
//   - hotkey: a read-modify-write of ONE key by every client (a lock
//     recipe's parent, which every contender's sequential create bumps),
//     with the 20 ms backoff cap layerd's writes use.
//
// ops/s is reported; layerd's figures divided by these are how close it
// comes to the ceiling.
func BenchmarkCeiling(b *testing.B) {
	db := openTestDB(b, fdbstore.Options{})
	p := []byte(fmt.Sprintf("fdbstore-ceiling/%d/", time.Now().UnixNano()))
	defer store.Transact(context.Background(), db, func(tx store.Tx) (struct{}, error) {
		tx.ClearRange(store.PrefixRange(p))
		return struct{}{}, nil
	})
	key := func(i int) []byte { return fmt.Appendf(append([]byte(nil), p...), "%06d", i) }
	value := make([]byte, 128)
	if _, err := store.Transact(b.Context(), db, func(tx store.Tx) (struct{}, error) {
		for i := range 1000 {
			tx.Set(key(i), value)
		}
		tx.Set(key(-1), keys.EncodeInt64(0))
		return struct{}{}, nil
	}); err != nil {
		b.Fatal(err)
	}
	ops := map[string]func(ctx context.Context, client, i int) error{
		"commit": func(ctx context.Context, client, i int) error {
			_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
				tx.Set(key(100_000+client*10_000+i%10_000), value)
				return struct{}{}, nil
			})
			return err
		},
		"read": func(ctx context.Context, client, i int) error {
			_, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]byte, error) {
				return r.Get(key((client*7919 + i) % 1000)).Get()
			})
			return err
		},
		"hotkey": func(ctx context.Context, client, i int) error {
			_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
				tx.SetMaxRetryDelay(20 * time.Millisecond)
				v, err := tx.Get(key(-1)).Get()
				if err != nil {
					return struct{}{}, err
				}
				n, _ := keys.DecodeInt64(v)
				tx.Set(key(-1), keys.EncodeInt64(n+1))
				return struct{}{}, nil
			})
			return err
		},
	}
	for _, name := range []string{"commit", "read", "hotkey"} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				for c := range clients {
					wg.Go(func() {
						for {
							i := int(next.Add(1))
							if i > b.N {
								return
							}
							if err := ops[name](b.Context(), c, i); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}
