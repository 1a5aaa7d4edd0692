package store

import (
	"errors"
	"fmt"
)

// Error is a storage error carrying FoundationDB's numeric code. Both
// engines return these (wrapped or not), so the layer handles every engine
// the same way: match with errors.Is against the values below, or with
// errors.As to read the code.
//
// Error is comparable, so errors.Is(err, ErrNotCommitted) matches any
// Error with code 1020.
type Error struct {
	Code int
}

// The codes the layer can meet, with FoundationDB's names
// (fdbclient/vexillographer and flow/error_definitions.h).
var (
	ErrTransactionTooOld      = Error{1007} // read version older than the MVCC window
	ErrFutureVersion          = Error{1009} // read version not yet reached
	ErrNotCommitted           = Error{1020} // conflict: retry
	ErrCommitUnknownResult    = Error{1021} // may or may not have committed
	ErrTransactionCancelled   = Error{1025}
	ErrTransactionTimedOut    = Error{1031}
	ErrTooManyWatches         = Error{1032}
	ErrWatchesDisabled        = Error{1034}
	ErrAccessedUnreadable     = Error{1036} // read of a key written with a versionstamp op
	ErrProcessBehind          = Error{1037}
	ErrDatabaseLocked         = Error{1038}
	ErrClusterVersionChanged  = Error{1039}
	ErrOperationCancelled     = Error{1101} // a future (a watch) was cancelled
	ErrClientInvalidOperation = Error{2000} // API misuse, e.g. a bad versionstamp offset
	ErrKeyOutsideLegalRange   = Error{2004} // key at or past \xff
	ErrInvertedRange          = Error{2005}
	ErrInvalidOptionValue     = Error{2006}
	ErrReadVersionAlreadySet  = Error{2010}
	ErrVersionInvalid         = Error{2011}
	ErrRangeLimitsInvalid     = Error{2012}
	ErrUsedDuringCommit       = Error{2017}
	ErrInvalidVersion         = Error{2020} // versionstamp of a failed commit
	ErrNoCommitVersion        = Error{2021} // versionstamp of a read-only commit
	ErrTransactionTooLarge    = Error{2101}
	ErrKeyTooLarge            = Error{2102}
	ErrValueTooLarge          = Error{2103}
	ErrTenantNotFound         = Error{2131}
	ErrExactModeWithoutLimits = Error{2210} // StreamingExact with no limit
)

var errorNames = map[int]string{
	1007: "transaction_too_old",
	1009: "future_version",
	1020: "not_committed",
	1021: "commit_unknown_result",
	1025: "transaction_cancelled",
	1031: "transaction_timed_out",
	1032: "too_many_watches",
	1034: "watches_disabled",
	1036: "accessed_unreadable",
	1037: "process_behind",
	1038: "database_locked",
	1039: "cluster_version_changed",
	1042: "proxy_memory_limit_exceeded",
	1051: "batch_transaction_throttled",
	1078: "commit_proxy_memory_limit_exceeded",
	1101: "operation_cancelled",
	1213: "tag_throttled",
	1223: "grv_proxy_memory_limit_exceeded",
	1515: "no_cluster_file_found",
	2000: "client_invalid_operation",
	2004: "key_outside_legal_range",
	2005: "inverted_range",
	2006: "invalid_option_value",
	2010: "read_version_already_set",
	2011: "version_invalid",
	2012: "range_limits_invalid",
	2017: "used_during_commit",
	2020: "transaction_invalid_version",
	2021: "no_commit_version",
	2101: "transaction_too_large",
	2102: "key_too_large",
	2103: "value_too_large",
	2104: "connection_string_invalid",
	2131: "tenant_not_found",
	2210: "exact_mode_without_limits",
}

func (e Error) Error() string {
	if name, ok := errorNames[e.Code]; ok {
		return fmt.Sprintf("store: %s (%d)", name, e.Code)
	}
	return fmt.Sprintf("store: error %d", e.Code)
}

// Retryable reports whether FDB's OnError retries this code without the
// transaction possibly having committed (RETRYABLE_NOT_COMMITTED).
func (e Error) Retryable() bool {
	switch e.Code {
	case 1007, 1009, 1020, 1037, 1038, 1042, 1051, 1078, 1213, 1223:
		return true
	}
	return false
}

// MaybeCommitted reports whether the transaction may have committed although
// it failed (MAYBE_COMMITTED: commit_unknown_result, cluster_version_changed).
// OnError retries these too, so transaction bodies must be idempotent.
func (e Error) MaybeCommitted() bool {
	return e.Code == 1021 || e.Code == 1039
}

// Code returns the FDB error code of err, or 0 if err carries none.
func Code(err error) int {
	var e Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsRetryable reports whether the retry loop reruns a transaction after err:
// true for Retryable and MaybeCommitted codes.
func IsRetryable(err error) bool {
	var e Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Retryable() || e.MaybeCommitted()
}
