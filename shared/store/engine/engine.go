// Package engine opens the store a daemon runs on, by name: the embedded
// engine in a local directory, or a FoundationDB cluster (only in a build
// with -tags fdb; FDBCompiledIn says which). Open returns within a bounded
// time with one error that names the store and the cause, never a hang.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/store"
	"zkfdb/shared/store/embedded"
)

// Names of the engines, as the daemons' --store flag takes them.
const (
	Embedded = "embedded"
	FDB      = "fdb"
)

// DefaultStartTimeout bounds Open's check that the store answers.
const DefaultStartTimeout = 30 * time.Second

// ErrNotCompiledIn is Open's error for the FDB engine in a build without
// -tags fdb.
var ErrNotCompiledIn = errors.New("this build has no FoundationDB engine (build with -tags fdb: docs/fdb.md)")

// Config chooses and configures the engine. A zero field means the
// default.
type Config struct {
	// Engine is Embedded (the default) or FDB.
	Engine string
	// DataDir is the embedded engine's data directory (required for it).
	DataDir string
	// ClusterFile is FoundationDB's cluster file; empty means FDB's
	// default ($FDB_CLUSTER_FILE, then /etc/foundationdb/fdb.cluster).
	ClusterFile string
	// MaxWatches bounds the store watches the process holds (FDB's
	// max_watches); default the engine's (10,000).
	MaxWatches int
	// StartTimeout bounds the check that the store answers; default
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives the engine's logs; nil means none.
	Logger *zap.Logger
	// Registerer registers the engine's metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
}

// Place names the store in messages: its data directory or cluster file.
func (c Config) Place() string {
	if c.Engine == FDB {
		f := c.ClusterFile
		if f == "" {
			f = "the default cluster file"
		}
		return "FoundationDB cluster file " + f
	}
	return "embedded store in " + c.DataDir
}

// Open opens the engine cfg names and checks, within cfg.StartTimeout,
// that it answers. Its errors start with cfg.Place() and say why: a
// directory that cannot be used, a cluster file missing, a cluster that
// is unreachable, unconfigured or locked. The caller closes the DB.
func Open(ctx context.Context, cfg Config) (store.DB, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	var db store.DB
	var err error
	switch cfg.Engine {
	case "", Embedded:
		if cfg.DataDir == "" {
			return nil, errors.New("embedded store: no data directory")
		}
		db, err = embedded.Open(embedded.Options{Dir: cfg.DataDir, Logger: cfg.Logger, Registerer: cfg.Registerer, MaxWatches: cfg.MaxWatches})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Place(), err)
		}
		if err := Answers(ctx, db, cfg.StartTimeout); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", cfg.Place(), err)
		}
		return db, nil
	case FDB:
		return openFDB(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown store %q: want %s or %s", cfg.Engine, Embedded, FDB)
}

// Answers checks that db gives a read version within timeout; a store
// that does not fails with the last error it gave (or the timeout).
// Readiness probes use it too.
func Answers(parent context.Context, db store.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		return err
	}
	defer tx.Close()
	// A loop of our own rather than store.ReadTransact, so that a
	// retryable error (database_locked, say) is reported, not only the
	// timeout that ends its retries.
	var last error
	for {
		_, err := tx.GetReadVersion().Get()
		if err == nil {
			return nil
		}
		if perr := parent.Err(); perr != nil {
			return perr
		}
		if ctx.Err() != nil || errors.Is(err, store.ErrTransactionTimedOut) || errors.Is(err, store.ErrTransactionCancelled) {
			if last == nil {
				return fmt.Errorf("no answer within %v", timeout)
			}
			return fmt.Errorf("no answer within %v: %w", timeout, last)
		}
		last = err
		if oerr := tx.OnError(err); oerr != nil {
			if perr := parent.Err(); perr != nil {
				return perr
			}
			if ctx.Err() != nil {
				return fmt.Errorf("no answer within %v: %w", timeout, last)
			}
			return oerr
		}
	}
}
