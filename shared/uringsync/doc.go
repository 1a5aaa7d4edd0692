// Package uringsync syncs files to stable storage through an io_uring,
// so that the goroutine waiting for an fsync is parked and its P runs
// other goroutines.
//
// A goroutine in a blocking system call keeps its P until the runtime's
// monitor takes it back, which takes from 20 µs to 10 ms; layerd runs
// with one P per core it is given, and on one core an fsync of the
// embedded engine's write-ahead log (0.4 ms at p50 on the CI machines'
// disks) stalled every connection for as long as the monitor let it.
// Here the fsync runs on the kernel's io_uring worker thread; the
// caller waits on a channel.
package uringsync

import "errors"

// ErrUnsupported is wrapped by Open's error where this kernel gives the
// process no io_uring; a caller then syncs with plain system calls.
var ErrUnsupported = errors.New("io_uring is not available")

// ErrClosed is returned by Sync after Close.
var ErrClosed = errors.New("uringsync: ring closed")
