//go:build fdb

package fdbstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apple/foundationdb/bindings/go/src/fdb"
	"go.uber.org/zap"

	"zkfdb/shared/store"
)

// APIVersion is the FoundationDB API version this package selects.
const APIVersion = 730

// Options configure Open. A zero field means the default.
type Options struct {
	// ClusterFile is the path of the cluster file; empty means FDB's
	// default ($FDB_CLUSTER_FILE, then /etc/foundationdb/fdb.cluster).
	// The FDB client rewrites this file when coordinators change, so it
	// must be writable.
	ClusterFile string
	// Tenant, if set, runs every transaction inside this FDB tenant. The
	// tenant must exist: a missing one fails operations with
	// store.ErrTenantNotFound (2131), which is not retryable.
	Tenant string
	// Timeout is the default timeout of new transactions (FDB's timeout
	// option, counted from creation across retries); 0 means none. A
	// context deadline that comes earlier wins.
	Timeout time.Duration
	// RetryLimit is the default retry limit of new transactions; 0 means no
	// limit (-1 in FDB's terms). Use Tx.SetRetryLimit(0) for no retries.
	RetryLimit int
	// MaxWatches bounds the pending watches of the FDB database handle
	// (FDB's max_watches; default 10,000, at most 1,000,000). Creating one
	// more fails the watch with store.ErrTooManyWatches. The handle is
	// shared by every DB opened on the same cluster file, so the last
	// non-zero value set wins.
	MaxWatches int
	// Logger receives the engine's logs; nil means none.
	Logger *zap.Logger
}

// DB is a FoundationDB database (or tenant) behind the store contract. It
// is safe for concurrent use.
//
// A DB owns one goroutine per pending watch and a context callback per
// open transaction; Close cancels both and waits for the watch goroutines.
type DB struct {
	db     fdb.Database
	tenant *fdb.Tenant // nil without Options.Tenant
	opts   Options
	log    *zap.Logger

	mu      sync.Mutex
	closed  bool
	txs     map[*transaction]struct{}
	watches map[*watch]struct{}
	wg      sync.WaitGroup // watch goroutines
}

var _ store.DB = (*DB)(nil)

var (
	apiOnce sync.Once
	apiErr  error

	// openMu serializes fdb.OpenDatabase: in the pinned binding it fills a
	// package-level cache map without a lock.
	openMu sync.Mutex
)

// selectAPIVersion selects API version 730 once per process. It tolerates
// the version having been selected already, as long as it is 730.
func selectAPIVersion() error {
	apiOnce.Do(func() {
		if err := fdb.APIVersion(APIVersion); err != nil {
			if v, gerr := fdb.GetAPIVersion(); gerr == nil && v != APIVersion {
				apiErr = fmt.Errorf("fdbstore: FDB API version already selected as %d, need %d", v, APIVersion)
				return
			}
			apiErr = fmt.Errorf("fdbstore: select FDB API version %d: %w", APIVersion, storeErr(err))
		}
	})
	return apiErr
}

// Open connects to the cluster named by opts.ClusterFile, selecting FDB API
// version 730 first if this process has not. Opening does not contact the
// cluster: an unreachable cluster shows up as operations that wait (or
// time out).
func Open(opts Options) (*DB, error) {
	if err := selectAPIVersion(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("fdbstore")

	openMu.Lock()
	fdbDB, err := fdb.OpenDatabase(opts.ClusterFile)
	openMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("fdbstore: open cluster file %q: %w", opts.ClusterFile, storeErr(err))
	}
	if opts.MaxWatches > 0 {
		if err := fdbDB.Options().SetMaxWatches(int64(opts.MaxWatches)); err != nil {
			return nil, fmt.Errorf("fdbstore: max watches %d: %w", opts.MaxWatches, storeErr(err))
		}
	}
	db := &DB{
		db:      fdbDB,
		opts:    opts,
		log:     log,
		txs:     make(map[*transaction]struct{}),
		watches: make(map[*watch]struct{}),
	}
	if opts.Tenant != "" {
		tn, err := fdbDB.OpenTenant(fdb.Key(opts.Tenant))
		if err != nil {
			return nil, fmt.Errorf("fdbstore: open tenant %q: %w", opts.Tenant, storeErr(err))
		}
		db.tenant = &tn
	}
	log.Info("fdb database opened",
		zap.String("cluster_file", opts.ClusterFile),
		zap.String("tenant", opts.Tenant),
		zap.Int("api_version", APIVersion))
	return db, nil
}

// CreateTransaction starts a transaction bound to ctx: ctx's deadline
// becomes the FDB timeout (store.ErrTransactionTimedOut) and, when ctx is
// done, the transaction is cancelled (store.ErrTransactionCancelled). A ctx
// that is already done gives a cancelled transaction. It fails with
// ErrClosed after Close.
func (db *DB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	t, err := db.newTransaction(ctx, false)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// newTransaction creates a transaction in the tenant, if any, or in the raw
// database when raw is set.
func (db *DB) newTransaction(ctx context.Context, raw bool) (*transaction, error) {
	var (
		tr  fdb.Transaction
		err error
	)
	if db.tenant != nil && !raw {
		tr, err = db.tenant.CreateTransaction()
	} else {
		tr, err = db.db.CreateTransaction()
	}
	if err != nil {
		return nil, fmt.Errorf("fdbstore: create transaction: %w", storeErr(err))
	}
	t := &transaction{
		db:            db,
		tr:            tr,
		ctx:           ctx,
		created:       time.Now(),
		timeout:       db.opts.Timeout,
		retryLimit:    -1,
		maxRetryDelay: -1,
	}
	t.reader = reader{t: t, rt: tr}
	if dl, ok := ctx.Deadline(); ok {
		t.deadline = dl
	}
	if db.opts.RetryLimit > 0 {
		t.retryLimit = db.opts.RetryLimit
	}
	t.applyOptions()

	// The callback runs on its own goroutine only once ctx is done;
	// Close unregisters it.
	t.stopCancel = context.AfterFunc(ctx, tr.Cancel)

	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		t.stopCancel()
		tr.Cancel()
		return nil, ErrClosed
	}
	db.txs[t] = struct{}{}
	db.mu.Unlock()
	return t, nil
}

// forget drops a closed transaction from the set Close cancels.
func (db *DB) forget(t *transaction) {
	db.mu.Lock()
	delete(db.txs, t)
	db.mu.Unlock()
}

// Close cancels every open transaction and every pending watch of this DB
// (they fail with store.ErrTransactionCancelled and
// store.ErrOperationCancelled), and returns once the watch goroutines have
// exited. The FDB database handle itself is left open: the binding caches
// one handle per cluster file for the whole process, shared with any other
// DB on the same file (and the pinned binding cannot destroy it safely).
// Close is idempotent.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	txs := make([]*transaction, 0, len(db.txs))
	for t := range db.txs {
		txs = append(txs, t)
	}
	watches := make([]*watch, 0, len(db.watches))
	for w := range db.watches {
		watches = append(watches, w)
	}
	db.mu.Unlock()

	for _, t := range txs {
		t.stopCancel()
		t.tr.Cancel()
	}
	for _, w := range watches {
		w.f.Cancel()
	}
	db.wg.Wait()
	db.log.Info("fdb database closed",
		zap.Int("transactions_cancelled", len(txs)),
		zap.Int("watches_cancelled", len(watches)))
	return nil
}

// keyServersPrefix starts FDB's shard map: \xff/keyServers/<shard begin>.
const keyServersPrefix = "\xff/keyServers/"

// BoundaryKeys returns the keys in [r.Begin, r.End) at which a new shard
// (a contiguous range held by one storage team) starts, in order; limit 0
// means all. Like fdb's Database.LocalityGetBoundaryKeys it is a snapshot
// read of the shard map (READ_SYSTEM_KEYS, LOCK_AWARE), not transactional
// and only an estimate, but it honours ctx and retries like ReadTransact.
// It fails with ErrTenantLocality on a tenant DB.
func (db *DB) BoundaryKeys(ctx context.Context, r store.Range, limit int) ([][]byte, error) {
	if db.tenant != nil {
		return nil, ErrTenantLocality
	}
	return readRaw(ctx, db, func(t *transaction) ([][]byte, error) {
		// Neither option survives OnError's reset: set them every try.
		o := t.tr.Options()
		if err := o.SetReadSystemKeys(); err != nil {
			return nil, storeErr(err)
		}
		if err := o.SetLockAware(); err != nil {
			return nil, storeErr(err)
		}
		kr := fdb.KeyRange{
			Begin: fdb.Key(append([]byte(keyServersPrefix), r.Begin...)),
			End:   fdb.Key(append([]byte(keyServersPrefix), r.End...)),
		}
		mode := fdb.StreamingModeWantAll
		if limit > 0 {
			mode = fdb.StreamingModeExact
		}
		kvs, err := t.tr.Snapshot().GetRange(kr, fdb.RangeOptions{Limit: limit, Mode: mode}).GetSliceWithError()
		if err != nil {
			return nil, storeErr(err)
		}
		keys := make([][]byte, len(kvs))
		for i, kv := range kvs {
			keys[i] = kv.Key[len(keyServersPrefix):]
		}
		return keys, nil
	})
}

// AddressesForKey returns the addresses ("ip:port", with ":tls" for TLS) of
// the storage servers that hold key, through the binding's
// LocalityGetAddressesForKey. It retries like ReadTransact and fails with
// ErrTenantLocality on a tenant DB.
func (db *DB) AddressesForKey(ctx context.Context, key []byte) ([]string, error) {
	if db.tenant != nil {
		return nil, ErrTenantLocality
	}
	return readRaw(ctx, db, func(t *transaction) ([]string, error) {
		addrs, err := t.tr.LocalityGetAddressesForKey(fdb.Key(key)).Get()
		return addrs, storeErr(err)
	})
}

// readRaw runs fn in a raw-database (never tenant) transaction bound to ctx
// with store.ReadTransact's retry loop.
func readRaw[T any](ctx context.Context, db *DB, fn func(*transaction) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	t, err := db.newTransaction(ctx, true)
	if err != nil {
		return zero, err
	}
	defer t.Close()
	for {
		v, err := fn(t)
		if err == nil {
			return v, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return zero, cerr
		}
		if oerr := t.OnError(err); oerr != nil {
			if cerr := ctx.Err(); cerr != nil {
				return zero, cerr
			}
			return zero, oerr
		}
	}
}
