// Package store is the storage contract: a small interface that mirrors
// FoundationDB's transaction model, so that all ZooKeeper semantics are
// written once and run on either engine (shared/store/embedded, the default,
// or shared/store/fdbstore, behind the build tag fdb).
//
// The model, as FoundationDB 7.3 defines it (../shared/FDB-SEMANTICS.md):
//
//   - A transaction reads at one read version and sees its own writes.
//   - Serializable reads add read-conflict ranges; snapshot reads add none.
//     At commit, a transaction whose read-conflict ranges meet a write
//     committed after its read version fails with ErrNotCommitted (1020).
//   - Writes (Set, Clear, ClearRange, atomic ops, versionstamp ops) return
//     nothing: their errors are deferred to the next read, Watch or Commit.
//   - A committed write transaction gets a commit version (shared by its
//     commit batch) and a unique 10-byte versionstamp ordered by commit.
//   - Limits: key 10,000 bytes (2102), value 100,000 bytes (2103),
//     transaction 10,000,000 bytes (2101), reads within 5e6 versions (about
//     5 s) of the newest version (1007).
//
// Transact and ReadTransact run FoundationDB's retry loop on any engine.
// Transaction bodies may run more than once, also after a commit whose
// result was unknown (1021) and which in fact committed: keep them
// idempotent and make IDs before the loop.
package store

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"time"
)

// Limits of FoundationDB 7.3, enforced by every engine.
const (
	MaxKeySize         = 10_000
	MaxValueSize       = 100_000
	MaxTransactionSize = 10_000_000
	// MVCCWindow is how far, in versions, a read version may trail the
	// newest version before reads fail with ErrTransactionTooOld.
	MVCCWindow = 5_000_000
	// VersionsPerSecond is the rate at which commit versions advance with
	// wall-clock time.
	VersionsPerSecond = 1_000_000
)

// SystemPrefix starts the system keyspace, which clients may not touch
// (ErrKeyOutsideLegalRange).
const SystemPrefix = 0xff

// DB opens transactions. Implementations are safe for concurrent use.
type DB interface {
	// CreateTransaction starts a transaction bound to ctx: when ctx is done
	// the transaction is cancelled, and ctx's deadline, if any, becomes its
	// timeout (ErrTransactionTimedOut).
	CreateTransaction(ctx context.Context) (Tx, error)
	// Close releases the engine. Transactions must not be used afterwards.
	Close() error
}

// Reader is the read half of a transaction. The reads of a Tx are
// serializable (they add read-conflict ranges); those of Tx.Snapshot() are
// not. A Reader is safe for concurrent use by the goroutines of one
// transaction, so reads can be issued in parallel.
type Reader interface {
	// Get reads one key. The value is nil if the key is absent, and a
	// non-nil empty slice if it is present and empty.
	Get(key []byte) FutureValue
	// GetRange reads the keys in [r.Begin, r.End) in order (or reverse).
	GetRange(r Range, opts RangeOptions) RangeResult
	// GetReadVersion returns the transaction's read version, fetching it
	// if no read did yet.
	GetReadVersion() FutureVersion
}

// Tx is one transaction. Its methods may be called from several goroutines
// (reads in parallel), but Commit, OnError, Reset and Close must not race
// with other calls.
type Tx interface {
	Reader

	// Snapshot returns a Reader whose reads add no read-conflict ranges.
	// Snapshot reads still see the transaction's own writes.
	Snapshot() Reader

	Set(key, value []byte)
	Clear(key []byte)
	// ClearRange clears [r.Begin, r.End). Begin == End is a no-op;
	// Begin > End fails (deferred) with ErrInvertedRange.
	ClearRange(r Range)
	// Atomic applies op with param to key at commit, without a read
	// conflict. See MutationType for each op's rule.
	Atomic(op MutationType, key, param []byte)
	// SetVersionstampedKey sets a key whose bytes [p, p+10) are replaced by
	// the transaction's versionstamp at commit, where p is the 4-byte
	// little-endian offset that ends key (and is removed from it).
	SetVersionstampedKey(key, value []byte)
	// SetVersionstampedValue sets key to value with its bytes [p, p+10)
	// replaced by the versionstamp, p being value's last 4 bytes (LE).
	SetVersionstampedValue(key, value []byte)

	AddReadConflictRange(r Range) error
	AddReadConflictKey(key []byte) error
	AddWriteConflictRange(r Range) error
	AddWriteConflictKey(key []byte) error

	// SetReadVersion makes the transaction read at v instead of fetching a
	// read version. It must come before any read; errors are deferred.
	SetReadVersion(v int64)

	// Watch returns a watch that fires when key's value differs from the
	// value this transaction could read for it (own writes included). It is
	// armed only when the transaction commits; a failed commit fails it with
	// the commit's error. It outlives the transaction.
	Watch(key []byte) Watch

	// GetVersionstamp returns the versionstamp this transaction will
	// commit with. It must be called before Commit; its result is ready
	// after Commit returns.
	GetVersionstamp() FutureVersionstamp

	// Commit commits the transaction and waits for the result. A
	// transaction with no writes and no write-conflict ranges commits as a
	// no-op and never conflicts.
	Commit() error
	// GetCommittedVersion returns the commit version after a successful
	// Commit; -1 for a read-only commit.
	GetCommittedVersion() (int64, error)

	// OnError decides what to do after err: for a retryable error it backs
	// off, resets the transaction (options that persist excepted) and
	// returns nil; otherwise it returns err. ctx ends the backoff early.
	OnError(err error) error
	// Reset returns the transaction to its initial state; options that
	// persist across OnError (timeout, retry limit, maximum retry delay)
	// are kept.
	Reset()
	// Cancel fails every pending and future operation with
	// ErrTransactionCancelled.
	Cancel()
	// Close releases the transaction's resources. Watches it armed survive.
	Close()

	// SetTimeout bounds the transaction's life, across retries, from its
	// creation; 0 means no limit. Past it operations fail with
	// ErrTransactionTimedOut. Persists across OnError.
	SetTimeout(d time.Duration)
	// SetRetryLimit bounds the number of retries OnError allows; -1 means
	// no limit (the default). Persists across OnError.
	SetRetryLimit(n int)
	// SetMaxRetryDelay caps OnError's backoff (FDB's max_retry_delay;
	// default 1 s). The backoff starts at 10 ms and doubles with each
	// retryable error, and each retry waits a random part of it. Persists
	// across OnError.
	SetMaxRetryDelay(d time.Duration)
}

// FutureValue is the result of Get.
type FutureValue interface {
	Get() ([]byte, error)
}

// FutureVersion is the result of GetReadVersion.
type FutureVersion interface {
	Get() (int64, error)
}

// FutureVersionstamp is the versionstamp of a transaction, ready after its
// commit. A read-only commit gives ErrNoCommitVersion, a failed one
// ErrInvalidVersion.
type FutureVersionstamp interface {
	Get() (Versionstamp, error)
}

// Watch is a pending watch on one key.
type Watch interface {
	// Done is closed when the watch fires or fails.
	Done() <-chan struct{}
	// Err is nil once the watch fired because the value changed; after a
	// failure it is the error (the commit's error, ErrOperationCancelled,
	// ErrTransactionCancelled, ErrTooManyWatches...). Before Done it is nil.
	Err() error
	// Wait blocks until the watch fires (nil) or fails (its error). If ctx
	// ends first, Wait cancels the watch and returns ctx.Err().
	Wait(ctx context.Context) error
	// Cancel cancels the watch: it fails with ErrOperationCancelled unless
	// it already fired.
	Cancel()
	// AfterDone runs f once, when the watch fires or fails: at once, on
	// the caller's goroutine, if it has; else on the goroutine that ends
	// it, which may hold the engine's locks, so f must not block or call
	// the store. It lets a watcher wait without a goroutine of its own
	// (an idle connection's notify key: layerd/zkserver).
	AfterDone(f func())
}

// KeyValue is one row of a range read.
type KeyValue struct {
	Key, Value []byte
}

// Range is the half-open key range [Begin, End).
type Range struct {
	Begin, End []byte
}

// PrefixRange returns the range of every key that starts with prefix.
func PrefixRange(prefix []byte) Range {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return Range{Begin: append([]byte(nil), prefix...), End: end[:i+1]}
		}
	}
	// All 0xff (or empty): everything from prefix to the end of the
	// user keyspace.
	return Range{Begin: append([]byte(nil), prefix...), End: []byte{SystemPrefix}}
}

// KeyAfter returns the first key after k: k followed by a zero byte.
func KeyAfter(k []byte) []byte {
	out := make([]byte, len(k)+1)
	copy(out, k)
	return out
}

// StreamingMode tells the engine how to batch a range read, as FDB's
// streaming modes do. It never changes the result, only its cost.
type StreamingMode int

const (
	StreamingIterator StreamingMode = iota // default: batches growing as the caller iterates
	StreamingWantAll                       // the caller wants the whole range soon
	StreamingExact                         // exactly Limit rows in one batch (Limit required)
	StreamingSmall
	StreamingMedium
	StreamingLarge
	StreamingSerial
)

// RangeOptions shape a range read. The zero value reads everything, in
// ascending order.
type RangeOptions struct {
	// Limit is the maximum number of rows; 0 or -1 (FDB's
	// ROW_LIMIT_UNLIMITED) mean no limit; below -1 is
	// ErrRangeLimitsInvalid. StreamingExact needs a limit
	// (ErrExactModeWithoutLimits).
	Limit   int
	Reverse bool
	Mode    StreamingMode
}

// RangeResult is a pending range read.
type RangeResult interface {
	// GetSlice reads the whole result.
	GetSlice() ([]KeyValue, error)
	// Iterator streams the result in batches. Read conflicts cover every
	// batch fetched, which may exceed what the caller consumed.
	Iterator() RangeIterator
}

// RangeIterator walks a range read.
//
//	it := tx.GetRange(r, store.RangeOptions{}).Iterator()
//	for it.Next() {
//		kv := it.KeyValue()
//	}
//	if err := it.Err(); err != nil { ... }
type RangeIterator interface {
	Next() bool
	KeyValue() KeyValue
	Err() error
}

// MutationType names an atomic operation, with FDB's mutation codes.
type MutationType int

const (
	// Add adds param to the value as little-endian integers of len(param)
	// bytes; carry past the end is dropped. Absent value: param.
	Add MutationType = 2
	// BitAnd, BitOr and BitXor combine bytewise over len(param) bytes.
	BitAnd MutationType = 6
	BitOr  MutationType = 7
	BitXor MutationType = 8
	// AppendIfFits appends param if the result fits in MaxValueSize,
	// otherwise leaves the value as it is.
	AppendIfFits MutationType = 9
	// Max and Min compare as unsigned little-endian integers of
	// len(param) bytes.
	Max MutationType = 12
	Min MutationType = 13
	// ByteMin and ByteMax compare lexicographically and store the winner
	// unchanged.
	ByteMin MutationType = 16
	ByteMax MutationType = 17
	// CompareAndClear clears the key if its value equals param.
	CompareAndClear MutationType = 20
)

func (m MutationType) String() string {
	switch m {
	case Add:
		return "add"
	case BitAnd:
		return "bit_and"
	case BitOr:
		return "bit_or"
	case BitXor:
		return "bit_xor"
	case AppendIfFits:
		return "append_if_fits"
	case Max:
		return "max"
	case Min:
		return "min"
	case ByteMin:
		return "byte_min"
	case ByteMax:
		return "byte_max"
	case CompareAndClear:
		return "compare_and_clear"
	}
	return "mutation(" + strconv.Itoa(int(m)) + ")"
}

// Versionstamp is FDB's 10-byte transaction stamp: the 8-byte big-endian
// commit version followed by the 2-byte big-endian order of the
// transaction in its commit batch. Versionstamps are unique and sort in
// commit order.
type Versionstamp [10]byte

// Version returns the commit version in the stamp.
func (v Versionstamp) Version() int64 { return int64(binary.BigEndian.Uint64(v[:8])) }

// Order returns the transaction's order within its commit batch.
func (v Versionstamp) Order() uint16 { return binary.BigEndian.Uint16(v[8:]) }

// IncompleteVersionstamp is the placeholder FDB's tuple layer writes where
// the commit will put the stamp.
var IncompleteVersionstamp = Versionstamp{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// AppendStampOffset appends the 4-byte little-endian offset that
// SetVersionstampedKey and SetVersionstampedValue expect after their
// argument.
func AppendStampOffset(b []byte, offset int) []byte {
	return binary.LittleEndian.AppendUint32(b, uint32(offset))
}

// DoneFuncs holds the functions of a watch's AfterDone, for the engines:
// Add runs f at once once Run has run, else Run runs it.
type DoneFuncs struct {
	mu    sync.Mutex
	ran   bool
	funcs []func()
}

// Add runs f now if Run has run, else keeps it for Run.
func (d *DoneFuncs) Add(f func()) {
	d.mu.Lock()
	if d.ran {
		d.mu.Unlock()
		f()
		return
	}
	d.funcs = append(d.funcs, f)
	d.mu.Unlock()
}

// Run runs the functions added, once; those added later run at once.
func (d *DoneFuncs) Run() {
	d.mu.Lock()
	funcs := d.funcs
	d.funcs, d.ran = nil, true
	d.mu.Unlock()
	for _, f := range funcs {
		f()
	}
}
