package embedded

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/store"
)

// Options configure Open. A zero field means the default.
type Options struct {
	// Dir is the data directory. Required unless InMemory is set.
	Dir string
	// InMemory keeps everything in Pebble's in-memory filesystem (tests).
	InMemory bool
	// FS, if set, is the filesystem that holds Dir. Tests pass Pebble's
	// crashable in-memory filesystem to simulate a power loss.
	FS vfs.FS
	// Logger receives the engine's logs; nil means none.
	Logger *zap.Logger
	// Registerer registers the engine's metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
	// RetryLimit is the default retry limit of new transactions; 0 means
	// none (-1 in FDB's terms).
	RetryLimit int
	// Timeout is the default timeout of new transactions; 0 means none.
	Timeout time.Duration
	// CacheSize is Pebble's block cache, in bytes; default 128 MiB.
	CacheSize int64
	// MaxWatches bounds pending watches (FDB's max_watches); default 10,000.
	MaxWatches int
	// Faults injects the failures FDB produces in production. Off by
	// default.
	Faults Faults
}

// Faults makes commits and reads fail the ways FDB's fail, so that tests
// can prove the layer correct under each. Probabilities are in [0, 1]; nil
// Decide and DecideRead and zero probabilities inject nothing.
type Faults struct {
	// UnknownResultApplied is the probability that a commit is applied and
	// then reported as commit_unknown_result (1021).
	UnknownResultApplied float64
	// UnknownResultDropped is the probability that a commit is not applied
	// and reported as commit_unknown_result (1021).
	UnknownResultDropped float64
	// NotCommitted is the probability of a spurious not_committed (1020).
	NotCommitted float64
	// Latency is added to every commit.
	Latency time.Duration
	// ReadLatency is the round trip of every read-version fetch and every
	// read that reaches storage (a Get, a batch of a range read; snapshot
	// reads too), counted from when the read was issued, as FDB's client
	// waits for a reply: reads issued together overlap (one round trip
	// for a batch of parallel reads), dependent reads add up. A read's
	// future waits; the first read of a transaction waits for its read
	// version too. Reads answered from the transaction's own writes do
	// not wait.
	ReadLatency time.Duration
	// Seed seeds the fault generator; 0 picks one from the clock.
	Seed int64
	// Decide, if set, chooses the fault of each commit instead of the
	// probabilities: it is called with the commit's sequence number
	// (1, 2, ...) and returns the fault to inject.
	Decide func(commit uint64) Fault
	// DecideRead, if set, chooses the fault of each read that reaches
	// storage (a Get or a batch of a range read; reads the transaction
	// answers from its own writes never fail, as on FDB): it is called
	// with the read's sequence number (1, 2, ...) and returns NoFault,
	// FaultTooOld, FaultFutureVersion or FaultProcessBehind, which the
	// read then returns (FDB's storage servers answer all three).
	DecideRead func(read uint64) Fault
}

// Fault is one injected commit failure.
type Fault int

const (
	NoFault             Fault = iota
	FaultUnknownApplied       // applied, reported 1021
	FaultUnknownDropped       // not applied, reported 1021
	FaultNotCommitted         // not applied, reported 1020
	FaultTooOld               // not applied, reported transaction_too_old (1007)
	FaultFutureVersion        // not applied, reported future_version (1009)
	FaultProcessBehind        // not applied, reported process_behind (1037)
)

// Err returns the error a commit or read failed by f reports, nil for
// NoFault.
func (f Fault) Err() error {
	switch f {
	case FaultUnknownApplied, FaultUnknownDropped:
		return store.ErrCommitUnknownResult
	case FaultNotCommitted:
		return store.ErrNotCommitted
	case FaultTooOld:
		return store.ErrTransactionTooOld
	case FaultFutureVersion:
		return store.ErrFutureVersion
	case FaultProcessBehind:
		return store.ErrProcessBehind
	}
	return nil
}
