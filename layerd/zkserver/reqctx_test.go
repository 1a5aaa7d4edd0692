package zkserver

import (
	"context"
	"testing"
	"time"
)

// TestRequestContext: the request context a connection shares among its
// requests always leaves at least the session timeout to the request
// that gets it; one with less left is cancelled and replaced, and the
// connection's end cancels the last one and those made from it.
func TestRequestContext(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &conn{s: &Server{base: base}, timeout: 2 * time.Second}
	leaves := func(ctx context.Context) time.Duration {
		t.Helper()
		d, ok := ctx.Deadline()
		if !ok {
			t.Fatal("a request context without a deadline")
		}
		return time.Until(d)
	}

	first := c.ctx()
	if left := leaves(first); left < c.timeout {
		t.Fatalf("a fresh request context leaves %v, want at least %v", left, c.timeout)
	}
	if again := c.ctx(); again != first {
		t.Error("a second request at once got a context of its own")
	}
	op := c.opCtx("getData")
	if c.opCtx("getData") != op {
		t.Error("a second request of an op got a context of its own")
	}
	if other := c.opCtx("setData"); other == op || other.Done() != first.Done() {
		t.Error("another op's request got the first op's context, or one not made from the request context")
	}
	op = c.opCtx("getData")

	// As if reqCtxReuse had passed: less than the timeout is left.
	c.reqDeadline = time.Now().Add(c.timeout - time.Millisecond)
	next := c.ctx()
	if next == first || first.Err() == nil || op.Err() == nil {
		t.Fatalf("past its reuse: same context %v, old one cancelled %v, its op context cancelled %v", next == first, first.Err() != nil, op.Err() != nil)
	}
	if left := leaves(next); left < c.timeout {
		t.Errorf("the replacement leaves %v, want at least %v", left, c.timeout)
	}
	if c.opCtx("getData") == op {
		t.Error("an op context outlived its request context")
	}

	c.endReqCtx()
	if next.Err() == nil {
		t.Error("the connection's end left its request context running")
	}
	cancel()
	if c.ctx().Err() == nil {
		t.Error("a request context of a stopped server is not cancelled")
	}
}
