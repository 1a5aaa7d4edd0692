package store

import (
	"context"
	"errors"
	"time"
)

// WaitUntil waits until at (a zero or past at: not at all), or fails as
// FoundationDB's operations fail when their transaction's context ends
// first: ErrTransactionTimedOut past its deadline, ErrTransactionCancelled
// otherwise. Engines and wrappers that hold a result back (an injected
// round trip) wait with it.
func WaitUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if at.IsZero() || d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrTransactionTimedOut
		}
		return ErrTransactionCancelled
	}
}
