package store_test

import (
	"context"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/store"
)

// ReadVersions collects the read version of each transaction run under
// its context, the highest kept: at least the version of every commit
// that finished before the transaction began, the property a layerd
// dates requests by.
func TestReadVersions(t *testing.T) { engines.Each(t, testReadVersions) }

func testReadVersions(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	key := append(st.Root.Clock(), "readversions-test"...) // inside the test's root
	var rvs store.ReadVersions
	ctx := store.WithReadVersions(t.Context(), &rvs)

	seen, err := store.ReadTransact(ctx, st.DB, func(r store.Reader) (int64, error) {
		if _, err := r.Get(key).Get(); err != nil {
			return 0, err
		}
		return r.GetReadVersion().Get()
	})
	if err != nil {
		t.Fatal(err)
	}
	if rvs.Max() != seen {
		t.Fatalf("after one read transaction Max = %d, want its read version %d", rvs.Max(), seen)
	}

	// A write commits; a transaction begun after it reads at its version
	// or later.
	tx, err := st.DB.CreateTransaction(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	tx.Set(key, []byte("x"))
	stamp := tx.GetVersionstamp()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	vs, err := stamp.Get()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Transact(ctx, st.DB, func(tx store.Tx) (struct{}, error) {
		_, err := tx.Get(key).Get()
		tx.Set(key, []byte("y"))
		return struct{}{}, err
	}); err != nil {
		t.Fatal(err)
	}
	if rvs.Max() < vs.Version() {
		t.Errorf("a transaction begun after a commit at %d: Max = %d", vs.Version(), rvs.Max())
	}

	rvs.Reset()
	if _, err := store.ReadTransact(store.WithReadVersions(ctx, nil), st.DB, func(r store.Reader) ([]byte, error) {
		return r.Get(key).Get()
	}); err != nil {
		t.Fatal(err)
	}
	if rvs.Max() != 0 {
		t.Errorf("a context that stopped collecting collected %d", rvs.Max())
	}
	if _, err := store.ReadTransact(context.Background(), st.DB, func(r store.Reader) ([]byte, error) {
		return r.Get(key).Get()
	}); err != nil || rvs.Max() != 0 {
		t.Errorf("a context without ReadVersions collected %d (%v)", rvs.Max(), err)
	}
}
