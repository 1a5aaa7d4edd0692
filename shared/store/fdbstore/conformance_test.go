//go:build fdb

package fdbstore_test

import (
	"os"
	"testing"

	"go.uber.org/zap/zaptest"

	"zkfdb/shared/store/fdbstore"
	"zkfdb/shared/store/storetest"
)

// openTestDB opens the cluster named by $FDB_CLUSTER_FILE, or skips the
// test when it is unset. The DB is closed when the test ends.
func openTestDB(t *testing.T, opts fdbstore.Options) *fdbstore.DB {
	t.Helper()
	cf := os.Getenv("FDB_CLUSTER_FILE")
	if cf == "" {
		t.Skip("FDB_CLUSTER_FILE is not set: skipping tests that need a FoundationDB 7.3 cluster " +
			"(see docs/fdb.md)")
	}
	opts.ClusterFile = cf
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	db, err := fdbstore.Open(opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", cf, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// TestConformance runs the storage contract's shared suite against a real
// FoundationDB cluster.
func TestConformance(t *testing.T) {
	db := openTestDB(t, fdbstore.Options{})
	storetest.Run(t, db)
}
