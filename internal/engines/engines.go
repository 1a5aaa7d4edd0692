// Package engines runs tests once per storage engine: the embedded engine
// always, and FoundationDB in a build with -tags fdb when FDB_CLUSTER_FILE
// names a cluster. Each test gets its own store: a fresh embedded engine,
// or, on FoundationDB, a key prefix of its own that is cleared when the
// test ends, so that tests and test binaries share one cluster.
//
// Where FoundationDB cannot be had, its subtests skip with the reason;
// with ZKFDB_REQUIRE_FDB=1 in the environment (scripts/test sets it under
// CI) they fail instead, so that no FDB test skips silently in CI.
package engines

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// Names of the engines, as subtests are named.
const (
	Embedded = "embedded"
	FDB      = "fdb"
)

// RequireEnv names the environment variable that makes a missing
// FoundationDB a failure.
const RequireEnv = "ZKFDB_REQUIRE_FDB"

// Engine is one storage engine a test can run on.
type Engine struct {
	Name string
	// unavailable says why the engine cannot be had here ("" if it can).
	unavailable string
	open        func(t testing.TB, o Options, r keys.Root) store.DB
}

// Options shape a test's store. A zero field means the default.
type Options struct {
	// Disk keeps the embedded engine's data on disk (t.TempDir(), fsync
	// on) instead of in memory; FoundationDB is what its cluster is.
	Disk bool
	// Faults injects commit failures: natively in the embedded engine,
	// by a wrapper of the transaction on FoundationDB.
	Faults embedded.Faults
	// Registerer registers the embedded engine's metrics.
	Registerer prometheus.Registerer
	// MaxWatches is the engine's max_watches (on FoundationDB it is the
	// process's, shared by every test in it).
	MaxWatches int
}

// Store is one test's store: the engine, and the root under which the
// test's keys lie (a fresh random prefix).
type Store struct {
	DB   store.DB
	Root keys.Root
	// Engine is the engine's name.
	Engine string
}

// All returns every engine, available or not.
func All() []Engine { return []Engine{EmbeddedEngine(), fdbEngine()} }

// EmbeddedEngine returns the embedded engine, always available.
func EmbeddedEngine() Engine {
	return Engine{Name: Embedded, open: openEmbedded}
}

// Each runs f as a subtest per engine, named by the engine. An engine
// that cannot be had here skips its subtest, or fails it under
// ZKFDB_REQUIRE_FDB=1.
func Each(t *testing.T, f func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range All() {
		t.Run(e.Name, func(t *testing.T) {
			e.Require(t)
			f(t, e)
		})
	}
}

// Require skips (or, under ZKFDB_REQUIRE_FDB=1, fails) t when the engine
// cannot be had here.
func (e Engine) Require(t testing.TB) {
	t.Helper()
	if e.unavailable == "" {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s engine required (%s=1) but unavailable: %s", e.Name, RequireEnv, e.unavailable)
	}
	t.Skipf("%s engine unavailable: %s", e.Name, e.unavailable)
}

// Available reports whether the engine can be had here, and if not why.
func (e Engine) Available() (bool, string) { return e.unavailable == "", e.unavailable }

// Open returns a store for t on the engine; it is closed, and on
// FoundationDB its keys cleared, when t ends.
func (e Engine) Open(t testing.TB, o Options) Store {
	t.Helper()
	e.Require(t)
	r := newRoot(t)
	return Store{DB: e.open(t, o, r), Root: r, Engine: e.Name}
}

// newRoot returns a root with a random prefix: tests sharing one cluster
// never see each other's keys.
func newRoot(t testing.TB) keys.Root {
	var b [6]byte
	rand.Read(b[:])
	r, err := keys.NewRoot([]byte("test-" + hex.EncodeToString(b[:]) + "/"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openEmbedded(t testing.TB, o Options, _ keys.Root) store.DB {
	eo := embedded.Options{InMemory: !o.Disk, Faults: o.Faults, Registerer: o.Registerer, MaxWatches: o.MaxWatches}
	if o.Disk {
		eo.Dir = t.TempDir()
	}
	db, err := embedded.Open(eo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clearRoot clears every key of r, for a test ending on a shared cluster.
func clearRoot(t testing.TB, db store.DB, r keys.Root) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		tx.ClearRange(r.Range())
		return struct{}{}, nil
	})
	if err != nil {
		t.Errorf("clear the test's keys: %v", err)
	}
}
