package load

import (
	"strings"
	"testing"
	"time"
)

// writes passes every write on to the test (unbuffered), so that the test
// waits for the progress goroutine's output instead of polling a buffer.
type writes chan string

func (w writes) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// await reads writes until one contains want, for at most 10 s, and
// returns it.
func (w writes) await(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-w:
			if strings.Contains(s, want) {
				return s
			}
		case <-timeout:
			t.Fatalf("no write containing %q", want)
		}
	}
}

// end ends p and returns the last thing it wrote. The channel is
// unbuffered, so once end has returned every write has been received.
func (w writes) end(p *progress) string {
	ended := make(chan struct{})
	go func() {
		p.end()
		close(ended)
	}()
	last := ""
	for {
		select {
		case s := <-w:
			last = s
		case <-ended:
			return last
		}
	}
}

// The progress line is redrawn with the requests done so far and cleared
// at the end.
func TestProgressLine(t *testing.T) {
	out := make(writes)
	p := startProgress(out, "setData against layerd", Config{Duration: 10 * time.Second}, time.Millisecond)
	p.ok.Add(42)
	line := out.await(t, "42 ok")
	if !strings.HasPrefix(line, "\r\033[KsetData against layerd: ") || !strings.Contains(line, " of 10s, 42 ok, ") {
		t.Errorf("progress line %q", line)
	}
	if last := out.end(p); last != "\r\033[K" {
		t.Errorf("the line is not cleared at the end: the last write is %q", last)
	}

	p = startProgress(out, "x", Config{Ops: 1000}, time.Millisecond)
	out.await(t, "of 1000 ops")
	out.end(p)
}
