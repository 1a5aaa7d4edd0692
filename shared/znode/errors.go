package znode

import "errors"

// Errors callers branch on. The protocol edge maps each to its ZooKeeper
// code in one table (layerd/zkserver).
var (
	ErrNoNode                  = errors.New("znode: no node")
	ErrNodeExists              = errors.New("znode: node exists")
	ErrBadVersion              = errors.New("znode: bad version")
	ErrNotEmpty                = errors.New("znode: directory not empty")
	ErrNoChildrenForEphemerals = errors.New("znode: ephemeral nodes may not have children")
	ErrBadArguments            = errors.New("znode: bad arguments")
	ErrInvalidACL              = errors.New("znode: invalid ACL")
	ErrNoAuth                  = errors.New("znode: not authorized")
	ErrSessionExpired          = errors.New("znode: session expired")
	ErrUnimplemented           = errors.New("znode: unimplemented")
	ErrMarshalling             = errors.New("znode: marshalling error")
	// ErrRuntimeInconsistency is the result of a multi's ops after the one
	// that failed.
	ErrRuntimeInconsistency = errors.New("znode: runtime inconsistency")
	// ErrAuthFailed is a failed addAuth (unknown scheme, bad credentials).
	ErrAuthFailed = errors.New("znode: authentication failed")
	// ErrSessionMoved: the session was resumed on another connection
	// since the caller's (ZooKeeper's SESSIONMOVED).
	ErrSessionMoved = errors.New("znode: session moved")
	// ErrNoWatcher: checkWatches or removeWatches found no such watch.
	ErrNoWatcher = errors.New("znode: no such watcher")
	// ErrTooLarge: the request needs more than one FoundationDB
	// transaction can do (10 MB, 10 kB keys, 100 kB values, 5 seconds),
	// limits ZooKeeper does not have; it is refused (BADARGUMENTS) and
	// applies nothing (docs/fdb.md, "ZooKeeper's limits on FoundationDB").
	ErrTooLarge = errors.New("znode: request beyond the store's transaction limits")
)
