//go:build fdb

package engines

import (
	"os"
	"testing"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
)

// ClusterFileEnv names the cluster file the FoundationDB tests use.
const ClusterFileEnv = "FDB_CLUSTER_FILE"

func fdbEngine() Engine {
	e := Engine{Name: FDB, open: openFDB}
	if os.Getenv(ClusterFileEnv) == "" {
		e.unavailable = ClusterFileEnv + " is not set (scripts/test starts a cluster and sets it)"
	}
	return e
}

func openFDB(t testing.TB, o Options, r keys.Root) store.DB {
	db, err := fdbstore.Open(fdbstore.Options{ClusterFile: os.Getenv(ClusterFileEnv), MaxWatches: o.MaxWatches})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		clearRoot(t, db, r)
		db.Close()
	})
	if o.Faults.Injector().Enabled() || o.Faults.Latency > 0 {
		return withFaults(db, o.Faults)
	}
	return db
}
