//go:build fdb

package fdbstore_test

import (
	"os"
	"testing"

	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/shared/store/fdbstore"
	"zkfdb/shared/store/storetest"
)

// openTestDB opens the cluster named by $FDB_CLUSTER_FILE, or skips the
// test when it is unset (fails it under ZKFDB_REQUIRE_FDB=1). The DB is closed when the test ends.
func openTestDB(t testing.TB, opts fdbstore.Options) *fdbstore.DB {
	t.Helper()
	cf := os.Getenv("FDB_CLUSTER_FILE")
	if cf == "" {
		// Skips, or fails under ZKFDB_REQUIRE_FDB=1 (CI).
		engines.All()[1].Require(t)
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
