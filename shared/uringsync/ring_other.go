//go:build !linux

package uringsync

// Ring is Linux only; elsewhere Open always fails.
type Ring struct{}

// Open fails with ErrUnsupported: io_uring is Linux's.
func Open(entries int) (*Ring, error) { return nil, ErrUnsupported }

// Sync is never reached: Open gives no Ring.
func (r *Ring) Sync(fd uintptr, dataOnly bool) error { return ErrUnsupported }

// Completed is 0: no ring syncs anything.
func (r *Ring) Completed() uint64 { return 0 }

// Close does nothing.
func (r *Ring) Close() error { return nil }
