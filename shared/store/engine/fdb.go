//go:build fdb

package engine

import (
	"context"
	"errors"
	"fmt"

	"zkfdb/shared/store"
	"zkfdb/shared/store/fdbstore"
)

// FDBCompiledIn reports whether this build has the FoundationDB engine.
const FDBCompiledIn = true

// openFDB opens the cluster and checks it answers within a third of
// cfg.StartTimeout; when it does not, it spends the rest reading the
// cluster's status to say why (an unconfigured cluster's status takes
// about 15 s to come).
func openFDB(ctx context.Context, cfg Config) (store.DB, error) {
	db, err := fdbstore.Open(fdbstore.Options{ClusterFile: cfg.ClusterFile, MaxWatches: cfg.MaxWatches, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Place(), err)
	}
	err = Answers(ctx, db, cfg.StartTimeout/3)
	if err == nil {
		return db, nil
	}
	defer db.Close()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Place(), ctx.Err())
	}
	var se store.Error
	if errors.As(err, &se) && !se.Retryable() {
		// No cluster file, a malformed one, ...: the status would say
		// no more.
		return nil, fmt.Errorf("%s: %w", cfg.Place(), err)
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout-cfg.StartTimeout/3)
	defer cancel()
	st, serr := db.Status(sctx)
	if serr != nil {
		return nil, fmt.Errorf("%s: %w; its status did not come either: %v", cfg.Place(), err, serr)
	}
	return nil, fmt.Errorf("%s: %w: %s", cfg.Place(), err, st.Cause())
}
