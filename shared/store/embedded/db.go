package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/zap"

	"zkfdb/shared/store"
)

// DB is the embedded engine. It is safe for concurrent use.
//
// How it keeps FDB's semantics:
//   - Versions come from a clock that advances 1,000,000 per second (one per
//     microsecond) and never goes back across restarts: on open it resumes
//     1e8 past the last persisted commit version, as an FDB recovery does.
//   - Every commit batch is applied to Pebble with one fsync and then
//     published as a Pebble snapshot tagged with its commit version. A read
//     version v reads the newest snapshot at or below v. Snapshots are kept
//     for the MVCC window (5e6 versions), so reads stay exact while commits
//     go on; older read versions fail with transaction_too_old.
//   - One committer goroutine resolves conflicts batch by batch against the
//     write sets of batches committed after each transaction's read version
//     (history), and within a batch against the transactions accepted before
//     it, as FDB's resolver does.
type DB struct {
	opts    Options
	log     *zap.Logger
	pdb     *pebble.DB
	clock   versionClock
	metrics *metrics
	faults  *FaultInjector
	watches *watchRegistry
	points  *pointCache
	ranges  *rangeCache

	mu        sync.Mutex
	committed int64 // newest version whose state is published
	inflight  bool  // a batch has a commit version but is not published yet
	snaps     []*snapEntry
	published chan struct{} // closed and replaced at every publish
	closed    bool

	commits chan *commitRequest
	stop    chan struct{} // closed by Close: no new commits
	stopped chan struct{} // closed when the committer has exited
	history *history      // committer only
}

var _ store.DB = (*DB)(nil)

// metaVersion holds the newest commit version, written with every batch so
// that versions never go back across restarts. It sits in the system
// keyspace, which clients cannot read or write.
var metaVersion = []byte("\xff\x02/embedded/version")

// recoveryJump is how far versions jump on open, as an FDB recovery jumps
// them: far enough that no version handed out before is reused.
const recoveryJump = 100_000_000

// maxSnapshots bounds the snapshots kept for the MVCC window under very
// high commit rates; reads at versions whose snapshot was dropped early
// fail with transaction_too_old.
const maxSnapshots = 50_000

// versionClock maps wall-clock time to versions: one per microsecond.
type versionClock struct {
	base  int64
	start time.Time
}

func (c versionClock) now() int64 { return c.base + time.Since(c.start).Microseconds() }

// snapEntry is the state as of one commit version.
type snapEntry struct {
	version int64
	mu      sync.RWMutex // readers hold it shared; closing takes it
	snap    *pebble.Snapshot
	closed  bool

	// idle holds iterators over snap whose scans have ended, for the next
	// scan to reposition instead of building its own: building one
	// (Snapshot.NewIter) sets up an iterator per memtable and level, and
	// a write's few small scans (a node's stat, its watchers) paid that
	// each time. Most transactions read the newest snapshot, so only it
	// keeps idle iterators: publishing the next one retires it, closing
	// them, so that the MVCC window's thousands of older snapshots hold
	// none (an iterator pins its memtables and tables).
	idleMu  sync.Mutex
	idle    []*pebble.Iterator
	retired bool
}

// maxIdleIters bounds the idle iterators of a snapshot: about as many as
// scans run at once.
const maxIdleIters = 16

// iter returns an iterator over [lo, hi) of the snapshot; the caller
// holds e.mu shared and hands it back with release.
func (e *snapEntry) iter(lo, hi []byte) (*pebble.Iterator, error) {
	e.idleMu.Lock()
	if n := len(e.idle); n > 0 {
		it := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.idleMu.Unlock()
		it.SetBounds(lo, hi) // copies the bounds; the caller must reposition
		return it, nil
	}
	e.idleMu.Unlock()
	return e.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
}

// release takes back an iterator from iter, keeping it for the next scan
// unless the snapshot is retired or keeps enough already.
func (e *snapEntry) release(it *pebble.Iterator) {
	e.idleMu.Lock()
	if !e.retired && len(e.idle) < maxIdleIters && it.Error() == nil {
		e.idle = append(e.idle, it)
		e.idleMu.Unlock()
		return
	}
	e.idleMu.Unlock()
	it.Close()
}

// retire closes the idle iterators and keeps no more: a newer snapshot
// serves most reads now.
func (e *snapEntry) retire() {
	e.idleMu.Lock()
	idle := e.idle
	e.idle, e.retired = nil, true
	e.idleMu.Unlock()
	for _, it := range idle {
		it.Close()
	}
}

// ErrLocked is Open's error when another process has the data directory
// open.
var ErrLocked = errors.New("data directory locked")

// Open opens (creating if needed) the engine in opts.Dir, or in memory.
func Open(opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if opts.MaxWatches == 0 {
		opts.MaxWatches = 10_000
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 128 << 20
	}
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref() // Pebble holds its own reference
	popts := &pebble.Options{Logger: pebbleLogger{log.Sugar()}, Cache: cache}
	// Bloom filters on every level: a create looks up its node, which does
	// not exist, and without filters that lookup searches every level's
	// index and data blocks that span the key.
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	dir := opts.Dir
	switch {
	case opts.InMemory:
		popts.FS = vfs.NewMem()
		dir = "mem"
	case opts.FS != nil:
		popts.FS = opts.FS
	}
	if dir == "" {
		return nil, errors.New("embedded: no data directory")
	}
	m := newMetrics(opts.Registerer)
	popts.EventListener = &pebble.EventListener{
		// A stall holds every commit back: operators see it in the
		// commit latency, and here why.
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			m.stalls.WithLabelValues(stallReason(info.Reason)).Inc()
			log.Debug("write stall", zap.String("reason", info.Reason))
		},
	}
	pdb, err := pebble.Open(dir, popts)
	if errors.Is(err, syscall.EAGAIN) {
		// Pebble's LOCK file is held: flock says only "resource
		// temporarily unavailable".
		return nil, fmt.Errorf("embedded: %s is in use by another process (it holds %s): stop that one, or give this one another data directory: %w", dir, filepath.Join(dir, "LOCK"), ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", dir, err)
	}
	last, err := readMetaVersion(pdb)
	if err != nil {
		pdb.Close()
		return nil, err
	}
	base := last + recoveryJump
	db := &DB{
		opts:      opts,
		log:       log,
		pdb:       pdb,
		clock:     versionClock{base: base, start: time.Now()},
		metrics:   m,
		faults:    opts.Faults.Injector(),
		committed: base,
		published: make(chan struct{}),
		commits:   make(chan *commitRequest, 1024),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
		history:   newHistory(),
	}
	db.watches = newWatchRegistry(db, opts.MaxWatches)
	db.snaps = []*snapEntry{{version: base, snap: pdb.NewSnapshot()}}
	db.points = newPointCache(base)
	db.ranges = newRangeCache(base)
	go db.runCommitter()
	log.Info("embedded engine opened", zap.String("dir", dir), zap.Int64("version", base))
	return db, nil
}

func readMetaVersion(pdb *pebble.DB) (int64, error) {
	v, closer, err := pdb.Get(metaVersion)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("embedded: read version: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("embedded: corrupt version record (%d bytes)", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// Close stops the committer, fails pending watches and closes Pebble.
// Transactions must not be used afterwards.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	close(db.stop)
	<-db.stopped
	db.watches.closeAll()
	db.mu.Lock()
	snaps := db.snaps
	db.snaps = nil
	db.mu.Unlock()
	for _, e := range snaps {
		e.close()
	}
	return db.pdb.Close()
}

// CreateTransaction starts a transaction bound to ctx.
func (db *DB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	db.mu.Lock()
	closed := db.closed
	db.mu.Unlock()
	if closed {
		return nil, errors.New("embedded: database closed")
	}
	return newTx(ctx, db), nil
}

// Version returns the newest published commit version (for metrics and
// tests; transactions use GetReadVersion).
func (db *DB) Version() int64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.committed
}

// readVersion hands out a read version and the snapshot for it. When no
// batch is in flight it advances the version with the clock, as FDB's
// proxies do with empty batches, so that an idle database's read versions
// stay inside the MVCC window.
func (db *DB) readVersion() (int64, *snapEntry, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return 0, nil, store.ErrTransactionCancelled
	}
	if !db.inflight {
		if now := db.clock.now(); now > db.committed {
			db.committed = now
		}
	}
	return db.committed, db.snaps[len(db.snaps)-1], nil
}

// snapshotAt returns the snapshot that holds the state as of version v,
// waiting up to a second for v to be reached (FDB's future_version).
func (db *DB) snapshotAt(v int64) (*snapEntry, error) {
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	for {
		db.mu.Lock()
		if db.closed {
			db.mu.Unlock()
			return nil, store.ErrTransactionCancelled
		}
		if v > db.committed && !db.inflight && v <= db.clock.now() {
			db.committed = v
		}
		if v <= db.committed {
			e, err := db.snapshotAtLocked(v)
			db.mu.Unlock()
			return e, err
		}
		wait := db.published
		db.mu.Unlock()
		select {
		case <-wait:
		case <-deadline.C:
			return nil, store.ErrFutureVersion
		}
	}
}

func (db *DB) snapshotAtLocked(v int64) (*snapEntry, error) {
	if v < db.clock.now()-store.MVCCWindow {
		return nil, store.ErrTransactionTooOld
	}
	i := sort.Search(len(db.snaps), func(i int) bool { return db.snaps[i].version > v })
	if i == 0 {
		return nil, store.ErrTransactionTooOld
	}
	return db.snaps[i-1], nil
}

// current returns the newest snapshot.
func (db *DB) current() *snapEntry {
	db.mu.Lock()
	defer db.mu.Unlock()
	if len(db.snaps) == 0 {
		return nil
	}
	return db.snaps[len(db.snaps)-1]
}

// publish makes the state as of version v visible, and drops snapshots
// that fell out of the MVCC window.
func (db *DB) publish(v int64) *snapEntry {
	e := &snapEntry{version: v, snap: db.pdb.NewSnapshot()}
	var doomed []*snapEntry
	db.mu.Lock()
	prev := db.snaps[len(db.snaps)-1]
	db.snaps = append(db.snaps, e)
	db.committed = v
	db.inflight = false
	oldest := db.clock.now() - store.MVCCWindow
	n := 0
	// Keep the newest snapshot at or below the oldest readable version:
	// it holds the state for reads between it and the next one.
	for n+1 < len(db.snaps) && (db.snaps[n+1].version <= oldest || len(db.snaps)-n > maxSnapshots) {
		n++
	}
	if n > 0 {
		doomed = append(doomed, db.snaps[:n]...)
		db.snaps = append(db.snaps[:0], db.snaps[n:]...)
	}
	close(db.published)
	db.published = make(chan struct{})
	db.mu.Unlock()
	prev.retire()
	for _, d := range doomed {
		d.close()
	}
	db.metrics.version.Set(float64(v))
	return e
}

func (e *snapEntry) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.retire() // no scan runs: they hold mu shared
		e.snap.Close()
	}
}

// get reads one key from the snapshot: nil when absent, non-nil when
// present (empty values included).
func (e *snapEntry) get(k []byte) ([]byte, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, store.ErrTransactionTooOld
	}
	v, closer, err := e.snap.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: get: %w", err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	closer.Close()
	return out, nil
}

// stallReason maps Pebble's stall reason to a label of few values.
func stallReason(reason string) string {
	switch {
	case strings.Contains(reason, "memtable"):
		return "memtables"
	case strings.Contains(reason, "L0"):
		return "l0_files"
	}
	return "other"
}

// pebbleLogger sends Pebble's own logs to zap.
type pebbleLogger struct{ s *zap.SugaredLogger }

func (l pebbleLogger) Infof(format string, args ...any)  { l.s.Debugf(format, args...) }
func (l pebbleLogger) Errorf(format string, args ...any) { l.s.Errorf(format, args...) }
func (l pebbleLogger) Fatalf(format string, args ...any) { l.s.Fatalf(format, args...) }
