package znode

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A wait for a parent's queue ends with its request's context, holding
// nothing; creates under other parents and other ops do not wait.
func TestSeqQueueWaitEndsWithContext(t *testing.T) {
	q := newSeqQueue()
	seq := func(p string) Op { return CreateOp{Path: p, Flags: 2, TTL: -1} }
	leave, err := q.enter(t.Context(), []Op{seq("/a/x-")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := q.enter(ctx, []Op{seq("/a/y-")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second sequential create under /a: %v, want it to wait until its deadline", err)
	}
	// Not sequential, or a parent in another queue: no wait.
	other := "/b"
	for i := 0; q.index(other) == q.index("/a"); i++ {
		other = "/b" + string(rune('a'+i))
	}
	for _, ops := range [][]Op{
		{CreateOp{Path: "/a/plain", TTL: -1}, DeleteOp{Path: "/a/x", Version: -1}},
		{seq(other + "/n-")},
	} {
		l, err := q.enter(t.Context(), ops)
		if err != nil {
			t.Fatalf("%v waited: %v", ops, err)
		}
		l()
	}
	leave()
	l, err := q.enter(t.Context(), []Op{seq("/a/y-"), seq("/a/z-")})
	if err != nil {
		t.Fatalf("after the first left: %v", err)
	}
	l()
}
