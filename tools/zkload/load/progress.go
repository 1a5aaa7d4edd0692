package load

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = time.Second

// progress redraws one line on out while a measured phase runs: the
// workload and target, the time or requests done of the total, the
// successful requests and their rate so far. The line is cleared when the
// phase ends, so that the report starts on a clean line.
type progress struct {
	out   io.Writer
	label string
	total string // "10s" or "100000 ops"
	ok    atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func startProgress(out io.Writer, label string, cfg Config, every time.Duration) *progress {
	p := &progress{out: out, label: label, stop: make(chan struct{}), done: make(chan struct{})}
	p.total = cfg.Duration.String()
	if cfg.Ops > 0 {
		p.total = fmt.Sprintf("%d ops", cfg.Ops)
	}
	start := time.Now()
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.out, "\r\033[K")
				return
			case <-t.C:
				el := time.Since(start)
				n := p.ok.Load()
				fmt.Fprintf(p.out, "\r\033[K%s: %v of %s, %d ok, %.0f ops/s", p.label, el.Round(time.Second), p.total, n, float64(n)/el.Seconds())
			}
		}
	}()
	return p
}

// end clears the line and returns once the redrawing has stopped.
func (p *progress) end() {
	close(p.stop)
	<-p.done
}
