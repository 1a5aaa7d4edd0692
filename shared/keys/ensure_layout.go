package keys

import (
	"context"
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// ErrLayoutMismatch means the store holds keys of another LayoutVersion:
// a daemon must not read or write them before a migration.
var ErrLayoutMismatch = errors.New("keys: the store's key layout is not this build's")

// EnsureLayout records LayoutVersion under r.Layout() in a store that has
// none, and fails with ErrLayoutMismatch if the store holds another one.
// Every daemon calls it at start, before it touches any other key.
func (r Root) EnsureLayout(ctx context.Context, db store.DB) error {
	_, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		v, err := tx.Get(r.Layout()).Get()
		if err != nil {
			return struct{}{}, err
		}
		if v == nil {
			tx.Set(r.Layout(), EncodeInt64(LayoutVersion))
			return struct{}{}, nil
		}
		got, err := DecodeInt64(v)
		if err != nil {
			return struct{}{}, fmt.Errorf("%w: %w", ErrLayoutMismatch, err)
		}
		if got != LayoutVersion {
			return struct{}{}, fmt.Errorf("%w: store has layout %d, this build %d", ErrLayoutMismatch, got, LayoutVersion)
		}
		return struct{}{}, nil
	})
	return err
}
