// Package signals ends a daemon's context on SIGINT or SIGTERM, the way
// operators expect of a service under systemd: the first signal starts a
// graceful shutdown (the context ends; the daemon drains within its own
// deadline), and a second one, while that shutdown runs, ends the process
// at once, as the signal's default action does.
package signals

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Shutdown is the set of signals that stop a daemon.
var Shutdown = []os.Signal{os.Interrupt, syscall.SIGTERM}

// Context returns a context that ends at the first of Shutdown's signals.
// The signals' default action is restored before the context ends, so
// that a second one terminates the process however far the shutdown got.
// stop releases the signals early (at the daemon's exit).
func Context(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	got := make(chan os.Signal, 1)
	signal.Notify(got, Shutdown...)
	go func() {
		select {
		case <-got:
			signal.Reset(Shutdown...)
			cancel()
		case <-ctx.Done():
			signal.Stop(got)
		}
	}()
	return ctx, cancel
}

// OnHangup calls fn for every SIGHUP until stop is called, instead of
// letting it end the process (its default action): operators send it out
// of habit to make a daemon reload, and it must be harmless. fn runs on a
// goroutine of its own, one call at a time.
func OnHangup(fn func()) (stop func()) {
	got := make(chan os.Signal, 1)
	signal.Notify(got, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-got:
				fn()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(got)
		close(done)
		<-finished
	}
}
