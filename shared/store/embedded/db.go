package embedded

import (
	"errors"

	"zkfdb/shared/store"
)

// DB is the embedded engine. It is safe for concurrent use.
type DB struct{}

var _ = store.ErrNotCommitted

// Open opens (creating if needed) the engine in opts.Dir, or in memory.
func Open(opts Options) (*DB, error) { return nil, errors.New("embedded: not built yet") }

// Close closes the engine.
func (db *DB) Close() error { return nil }
