// Package storetest is the conformance suite of the storage contract: every
// engine runs it, and it fails where an engine bends FoundationDB 7.3's
// rules (../shared/FDB-SEMANTICS.md beside the repo).
//
// Each test works under its own key prefix ("storetest/<test>/<random>/")
// and clears it when it ends, so the suite can run against a shared
// FoundationDB cluster. The suite imports no engine.
//
//	func TestConformance(t *testing.T) {
//		db := openEngine(t)
//		storetest.Run(t, db)
//	}
//
// With -short, the heavy tests (contention, streaming, property) run
// smaller.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// Run runs every conformance test against db, each as a subtest in its own
// key prefix. Subtests run one after the other; db must be open for the
// whole call.
func Run(t *testing.T, db store.DB) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newEnv(t, db))
		})
	}
}

var tests = []struct {
	name string
	fn   func(*testing.T, *env)
}{
	{"IncrementNoLostUpdate", testIncrement},
	{"Phantom", testPhantom},
	{"PhantomLimit", testPhantomLimit},
	{"SnapshotReadsNoConflict", testSnapshotNoConflict},
	{"BlindWritesNoConflict", testBlindWrite},
	{"ReadOnlyCommit", testReadOnlyCommit},
	{"OwnWritesNoConflict", testOwnWrites},
	{"ExplicitConflictRanges", testExplicitConflicts},
	{"ReadYourWrites", testReadYourWrites},
	{"ReadYourWritesAtomic", testReadYourWritesAtomic},
	{"AtomicOps", testAtomicOps},
	{"VersionstampOrder", testVersionstampOrder},
	{"VersionstampedValue", testVersionstampedValue},
	{"VersionstampUnreadable", testVersionstampUnreadable},
	{"VersionstampBadOffset", testVersionstampBadOffset},
	{"VersionstampNoCommit", testVersionstampNoCommit},
	{"WatchFires", testWatchFires},
	{"WatchSameValue", testWatchSameValue},
	{"WatchCancel", testWatchCancel},
	{"WatchAfterDone", testWatchAfterDone},
	{"WatchFailedCommit", testWatchFailedCommit},
	{"WatchReadOnlyArmsAtReadVersion", testWatchReadOnly},
	{"WatchOwnWrites", testWatchOwnWrites},
	{"WatchReset", testWatchReset},
	{"LimitKeySize", testLimitKeySize},
	{"LimitValueSize", testLimitValueSize},
	{"LimitTransactionSize", testLimitTransactionSize},
	{"SystemKeys", testSystemKeys},
	{"InvertedRange", testInvertedRange},
	{"NegativeLimit", testNegativeLimit},
	{"TransactionTooOld", testTooOld},
	{"CommitTooOld", testCommitTooOld},
	{"FutureVersion", testFutureVersion},
	{"SetReadVersion", testSetReadVersion},
	{"ReadAtOldVersion", testReadAtOldVersion},
	{"CancelAndTimeout", testCancelAndTimeout},
	{"UsedAfterCommit", testUsedAfterCommit},
	{"Reset", testReset},
	{"TransactRetriesConflict", testTransactRetries},
	{"TransactOtherErrors", testTransactOtherErrors},
	{"TransactContext", testTransactContext},
	{"TransactRetryLimit", testTransactRetryLimit},
	{"RangeOrder", testRangeOrder},
	{"RangeStreaming", testRangeStreaming},
	{"RangeEmpty", testRangeEmpty},
	{"CommitVersions", testCommitVersions},
	{"Serializable", testSerializable},
}

// env is one test's view of the database: its key prefix and helpers that
// fail the test on unexpected errors.
type env struct {
	db     store.DB
	prefix []byte
}

func newEnv(t *testing.T, db store.DB) *env {
	name := t.Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	prefix := fmt.Appendf(nil, "storetest/%s/%016x/", name, rand.Uint64())
	t.Cleanup(func() {
		// t.Context() is already cancelled here.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
			tx.ClearRange(store.PrefixRange(prefix))
			return struct{}{}, nil
		})
		if err != nil {
			t.Errorf("clear prefix %q: %v", prefix, err)
		}
	})
	return &env{db: db, prefix: prefix}
}

// key returns the test's key named s.
func (e *env) key(s string) []byte {
	return append(append([]byte(nil), e.prefix...), s...)
}

// rng returns the range [key(b), key(end)).
func (e *env) rng(b, end string) store.Range {
	return store.Range{Begin: e.key(b), End: e.key(end)}
}

// ctxFor returns a context for one test, bounded by d.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// tx creates a transaction closed when the test ends.
func (e *env) tx(t *testing.T) store.Tx {
	t.Helper()
	tx, err := e.db.CreateTransaction(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	t.Cleanup(tx.Close)
	return tx
}

// commit runs fn in a transaction and commits it, retrying as OnError says,
// and returns the commit version.
func (e *env) commit(t *testing.T, fn func(tx store.Tx)) int64 {
	t.Helper()
	tx, err := e.db.CreateTransaction(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("CreateTransaction: %v", err)
	}
	defer tx.Close()
	for {
		fn(tx)
		err := tx.Commit()
		if err == nil {
			cv, err := tx.GetCommittedVersion()
			if err != nil {
				t.Fatalf("GetCommittedVersion: %v", err)
			}
			return cv
		}
		if err := tx.OnError(err); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
}

// set commits key/value pairs (names under the prefix) in one transaction.
func (e *env) set(t *testing.T, kv ...string) int64 {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("set: odd argument count")
	}
	return e.commit(t, func(tx store.Tx) {
		for i := 0; i < len(kv); i += 2 {
			tx.Set(e.key(kv[i]), []byte(kv[i+1]))
		}
	})
}

// get reads one key in a fresh transaction.
func (e *env) get(t *testing.T, key []byte) []byte {
	t.Helper()
	v, err := store.ReadTransact(ctxFor(t, time.Minute), e.db, func(r store.Reader) ([]byte, error) {
		return r.Get(key).Get()
	})
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return v
}

// all reads r in a fresh transaction.
func (e *env) all(t *testing.T, r store.Range) []store.KeyValue {
	t.Helper()
	kvs, err := store.ReadTransact(ctxFor(t, time.Minute), e.db, func(rd store.Reader) ([]store.KeyValue, error) {
		return rd.GetRange(r, store.RangeOptions{}).GetSlice()
	})
	if err != nil {
		t.Fatalf("range %q: %v", r, err)
	}
	return kvs
}

// mustGet reads key through r, failing the test on error.
func mustGet(t *testing.T, r store.Reader, key []byte) []byte {
	t.Helper()
	v, err := r.Get(key).Get()
	if err != nil {
		t.Fatalf("Get %q: %v", key, err)
	}
	return v
}

// mustRange reads a range through r, failing the test on error.
func mustRange(t *testing.T, r store.Reader, rg store.Range, opts store.RangeOptions) []store.KeyValue {
	t.Helper()
	kvs, err := r.GetRange(rg, opts).GetSlice()
	if err != nil {
		t.Fatalf("GetRange %q %+v: %v", rg, opts, err)
	}
	return kvs
}

// mustRV returns the transaction's read version.
func mustRV(t *testing.T, r store.Reader) int64 {
	t.Helper()
	v, err := r.GetReadVersion().Get()
	if err != nil {
		t.Fatalf("GetReadVersion: %v", err)
	}
	return v
}

// wantCode fails the test unless err carries the FDB code want (0: nil).
func wantCode(t *testing.T, what string, err error, want int) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Errorf("%s: got error %v, want success", what, err)
		}
		return
	}
	if got := store.Code(err); got != want {
		t.Errorf("%s: got %v, want %v", what, err, store.Error{Code: want})
	}
}

// sameValue compares values, telling absent (nil) from empty.
func sameValue(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// wantValue fails the test unless got equals want (nil: absent).
func wantValue(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !sameValue(got, want) {
		t.Errorf("%s = %s, want %s", what, show(got), show(want))
	}
}

// wantRows fails the test unless the rows are the test's keys named in
// want, in order, with the values in want ("name=value").
func (e *env) wantRows(t *testing.T, what string, got []store.KeyValue, want ...string) {
	t.Helper()
	if !e.rowsEqual(got, want) {
		t.Errorf("%s = %s, want %v", what, e.showRows(got), want)
	}
}

func (e *env) rowsEqual(got []store.KeyValue, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		k, v, _ := strings.Cut(w, "=")
		if !bytes.Equal(got[i].Key, e.key(k)) || !bytes.Equal(got[i].Value, []byte(v)) {
			return false
		}
	}
	return true
}

func (e *env) showRows(kvs []store.KeyValue) string {
	var b strings.Builder
	b.WriteString("[")
	for i, kv := range kvs {
		if i > 0 {
			b.WriteString(" ")
		}
		k, ok := bytes.CutPrefix(kv.Key, e.prefix)
		if !ok {
			fmt.Fprintf(&b, "%q", kv.Key)
		} else {
			fmt.Fprintf(&b, "%s", k)
		}
		b.WriteString("=")
		b.WriteString(show(kv.Value))
	}
	b.WriteString("]")
	return b.String()
}

func show(v []byte) string {
	switch {
	case v == nil:
		return "<absent>"
	case len(v) > 64:
		return fmt.Sprintf("<%d bytes %x…>", len(v), v[:16])
	}
	return fmt.Sprintf("%q", v)
}

// le8 encodes n as 8 bytes little-endian, the layout Add works on.
func le8(n int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(n)) }

// int8LE decodes a value written by le8 (absent: 0).
func int8LE(t *testing.T, v []byte) int64 {
	t.Helper()
	if v == nil {
		return 0
	}
	if len(v) != 8 {
		t.Fatalf("value %s is not 8 bytes", show(v))
	}
	return int64(binary.LittleEndian.Uint64(v))
}

// stampedKey returns prefix + placeholder stamp + suffix, followed by the
// 4-byte offset SetVersionstampedKey expects.
func stampedKey(prefix []byte, suffix string) []byte {
	k := append(append([]byte(nil), prefix...), store.IncompleteVersionstamp[:]...)
	k = append(k, suffix...)
	return store.AppendStampOffset(k, len(prefix))
}
