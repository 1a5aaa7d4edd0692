package embedded

import (
	"errors"
	"testing"

	"zkfdb/shared/store"
	"zkfdb/shared/uringsync"
)

// On disk, each commit's fsync goes through the io_uring (syncfs.go),
// and what it committed is there after a reopen.
func TestCommitsSyncThroughTheRing(t *testing.T) {
	if r, err := uringsync.Open(1); errors.Is(err, uringsync.ErrUnsupported) {
		t.Skipf("this kernel gives the process no io_uring (%v): the engine syncs with plain system calls here", err)
	} else if err != nil {
		t.Fatal(err)
	} else {
		r.Close()
	}
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if db.ring == nil {
		db.Close()
		t.Fatal("an engine on disk has no sync ring where io_uring is available")
	}
	ctx := t.Context()
	for i := range 3 {
		before := db.ring.Completed()
		if _, err := store.Transact(ctx, db, func(tx store.Tx) (any, error) {
			tx.Set([]byte{'k', byte(i)}, []byte("v"))
			return nil, nil
		}); err != nil {
			db.Close()
			t.Fatal(err)
		}
		if after := db.ring.Completed(); after <= before {
			db.Close()
			t.Fatalf("commit %d synced nothing through the ring (%d syncs before, %d after)", i, before, after)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := store.ReadTransact(ctx, db, func(r store.Reader) ([]store.KeyValue, error) {
		return r.GetRange(store.Range{Begin: []byte("k"), End: []byte("l")}, store.RangeOptions{}).GetSlice()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("after reopening, %d of the 3 committed keys are there", len(rows))
	}
}
