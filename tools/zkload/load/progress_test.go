package load

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the
// test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The progress line is redrawn with the requests done so far and cleared
// at the end.
func TestProgressLine(t *testing.T) {
	var out syncBuffer
	p := startProgress(&out, "setData against layerd", Config{Duration: 10 * time.Second}, time.Millisecond)
	p.ok.Add(42)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "42 ok") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line with 42 ok: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.end()
	s := out.String()
	if !strings.Contains(s, "\r\033[KsetData against layerd: ") || !strings.Contains(s, " of 10s, 42 ok, ") {
		t.Errorf("progress line %q", s)
	}
	if !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("the line is not cleared at the end: %q", s)
	}
	p = startProgress(&out, "x", Config{Ops: 1000}, time.Millisecond)
	for !strings.Contains(out.String(), "of 1000 ops") {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line of 1000 ops: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.end()
}
