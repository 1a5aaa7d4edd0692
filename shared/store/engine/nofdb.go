//go:build !fdb

package engine

import (
	"context"
	"fmt"

	"zkfdb/shared/store"
)

// FDBCompiledIn reports whether this build has the FoundationDB engine.
const FDBCompiledIn = false

func openFDB(_ context.Context, cfg Config) (store.DB, error) {
	return nil, fmt.Errorf("%s: %w", cfg.Place(), ErrNotCompiledIn)
}
