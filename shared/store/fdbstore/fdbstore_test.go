//go:build fdb

package fdbstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
)

// testPrefix returns a key prefix of its own for the test and clears it
// when the test ends.
func testPrefix(t *testing.T, db store.DB) []byte {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	p := []byte("fdbstore-test/" + t.Name() + "/" + hex.EncodeToString(b) + "/")
	p = p[:len(p):len(p)] // appends to p copy
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
			tx.ClearRange(store.PrefixRange(p))
			return struct{}{}, nil
		})
		if err != nil {
			t.Errorf("clear test prefix: %v", err)
		}
	})
	return p
}

func TestLocality(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	keys, err := db.BoundaryKeys(ctx, store.Range{Begin: nil, End: []byte{store.SystemPrefix}}, 0)
	if err != nil {
		t.Fatalf("BoundaryKeys: %v", err)
	}
	if len(keys) == 0 || len(keys[0]) != 0 {
		t.Fatalf("BoundaryKeys = %q, want the first shard to start at \"\"", keys)
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Fatalf("BoundaryKeys out of order at %d: %q", i, keys)
		}
	}
	if one, err := db.BoundaryKeys(ctx, store.Range{End: []byte{store.SystemPrefix}}, 1); err != nil || len(one) != 1 {
		t.Fatalf("BoundaryKeys(limit 1) = %q, %v; want one key", one, err)
	}

	addrs, err := db.AddressesForKey(ctx, []byte("fdbstore-test/locality"))
	if err != nil {
		t.Fatalf("AddressesForKey: %v", err)
	}
	if len(addrs) == 0 {
		t.Fatalf("AddressesForKey = [], want at least one storage server")
	}
}

// TestStorageHostsHonoursContext: the locality lookup sweeperd makes
// returns when its context ends, also when no cluster answers (a SIGTERM
// must not hang on it), and answers with hosts when one does.
func TestStorageHostsHonoursContext(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hosts, err := db.StorageHosts(ctx, []byte("fdbstore-test/locality"))
	if err != nil || len(hosts) == 0 {
		t.Fatalf("StorageHosts = %q, %v; want at least one host", hosts, err)
	}

	dead := t.TempDir() + "/dead.cluster"
	if err := os.WriteFile(dead, []byte("dead:dead@127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable, err := fdbstore.Open(fdbstore.Options{ClusterFile: dead})
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	short, cancelShort := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, err := unreachable.StorageHosts(short, []byte("k")); err == nil {
		t.Fatal("StorageHosts of an unreachable cluster succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("StorageHosts of an unreachable cluster returned after %v, its context ended after 500ms", took)
	}
}

// TestContextCancelled: ending ctx cancels the transaction.
func TestContextCancelled(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	p := testPrefix(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	defer tx.Close()
	if _, err := tx.Get(append(p, 'k')).Get(); err != nil {
		t.Fatalf("Get before cancel: %v", err)
	}
	cancel()
	// The cancellation runs on the context's callback goroutine.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := tx.Get(append(p, 'k')).Get()
		if errors.Is(err, store.ErrTransactionCancelled) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get after cancel = %v, want %v", err, store.ErrTransactionCancelled)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A reset does not revive a transaction whose ctx is done.
	tx.Reset()
	if _, err := tx.Get(append(p, 'k')).Get(); !errors.Is(err, store.ErrTransactionCancelled) {
		t.Fatalf("Get after Reset = %v, want %v", err, store.ErrTransactionCancelled)
	}
}

// TestContextDeadline: ctx's deadline becomes the FDB timeout, and
// store.Transact reports the context's error.
func TestContextDeadline(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	p := testPrefix(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		time.Sleep(200 * time.Millisecond)
		_, err := tx.Get(append(p, 'k')).Get()
		if !errors.Is(err, store.ErrTransactionTimedOut) && !errors.Is(err, store.ErrTransactionCancelled) {
			t.Errorf("Get past the deadline = %v, want timed out or cancelled", err)
		}
		return struct{}{}, err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Transact = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestWatch(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	p := testPrefix(t, db)
	key := append(p, 'w')
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	w, err := store.Transact(ctx, db, func(tx store.Tx) (store.Watch, error) {
		return tx.Watch(key), nil
	})
	if err != nil {
		t.Fatalf("arm watch: %v", err)
	}
	select {
	case <-w.Done():
		t.Fatalf("watch fired before any change: %v", w.Err())
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		tx.Set(key, []byte("v"))
		return struct{}{}, nil
	}); err != nil {
		t.Fatalf("set: %v", err)
	}
	if err := w.Wait(ctx); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
}

// TestWatchUncommitted: a watch whose transaction closes without
// committing fails with transaction_cancelled.
func TestWatchUncommitted(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	p := testPrefix(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	w := tx.Watch(append(p, 'w'))
	tx.Close()
	if err := w.Wait(ctx); !errors.Is(err, store.ErrTransactionCancelled) {
		t.Fatalf("Wait = %v, want %v", err, store.ErrTransactionCancelled)
	}
}

// TestCloseCancelsWatches: DB.Close cancels pending watches and waits for
// their goroutines.
func TestCloseCancelsWatches(t *testing.T) {
	base := openTestDB(t, fdbstore.Options{})
	p := testPrefix(t, base)
	db, err := fdbstore.Open(fdbstore.Options{ClusterFile: os.Getenv("FDB_CLUSTER_FILE")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := store.Transact(ctx, db, func(tx store.Tx) (store.Watch, error) {
		return tx.Watch(append(p, 'w')), nil
	})
	if err != nil {
		t.Fatalf("arm watch: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-w.Done():
	default:
		t.Fatalf("watch still pending after Close")
	}
	if err := w.Err(); !errors.Is(err, store.ErrOperationCancelled) {
		t.Fatalf("watch Err = %v, want %v", err, store.ErrOperationCancelled)
	}
	if _, err := db.CreateTransaction(ctx); !errors.Is(err, fdbstore.ErrClosed) {
		t.Fatalf("CreateTransaction after Close = %v, want %v", err, fdbstore.ErrClosed)
	}
}
