package keys_test

import (
	"errors"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

func TestEnsureLayout(t *testing.T) { engines.Each(t, testEnsureLayout) }

func testEnsureLayout(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db, root := st.DB, st.Root
	for range 2 { // records it, then finds it
		if err := root.EnsureLayout(t.Context(), db); err != nil {
			t.Fatalf("EnsureLayout: %v", err)
		}
	}
	v, err := store.ReadTransact(t.Context(), db, func(r store.Reader) ([]byte, error) { return r.Get(root.Layout()).Get() })
	if got, _ := keys.DecodeInt64(v); err != nil || got != keys.LayoutVersion {
		t.Fatalf("stored layout %d, %v; want %d", got, err, keys.LayoutVersion)
	}
	_, err = store.Transact(t.Context(), db, func(tx store.Tx) (struct{}, error) {
		tx.Set(root.Layout(), keys.EncodeInt64(keys.LayoutVersion+1))
		return struct{}{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.EnsureLayout(t.Context(), db); !errors.Is(err, keys.ErrLayoutMismatch) {
		t.Fatalf("EnsureLayout on another layout = %v, want ErrLayoutMismatch", err)
	}
}
