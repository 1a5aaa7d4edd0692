// Package gcfloor keeps the Go garbage collector's heap goal at or above a
// floor. layerd's live heap is small (a few MB with 64 busy sessions)
// while each request allocates kilobytes, so with GOGC's default of 100
// the collector ran forty times a second under writes and took 6 % of the
// CPU, with mark assists and write barriers on top; a goal of 128 MiB
// runs it about once a second. Where the live heap is large (many
// sessions held), the goal is GOGC's default again. An operator who sets
// GOGC keeps it: the package then does nothing.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultFloor is the heap goal layerd keeps at least: 128 MiB.
const DefaultFloor = 128 << 20

// maxPercent bounds the GC percent set: with a live heap under 1.3 MB the
// goal stays under the floor.
const maxPercent = 10_000

// Run sets the GC percent so that the heap goal (live heap × (1 + percent
// / 100)) is at least floor, again every second as the live heap changes,
// until ctx ends; then it puts back the percent it found. With GOGC set in
// the environment, or a zero floor, it returns at once.
func Run(ctx context.Context, floor uint64) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return
	}
	found := debug.SetGCPercent(100)
	defer debug.SetGCPercent(found)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := 100
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := Percent(sample[0].Value.Uint64(), floor); p != set {
				debug.SetGCPercent(p)
				set = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// minHeap is the Go runtime's smallest heap goal: before the first
// collection the live heap is not known (0), and is below it.
const minHeap = 4 << 20

// Percent returns the GC percent that makes the goal of a live heap at
// least floor, or GOGC's default 100 when that does already. A live heap
// not known yet (0) counts as minHeap: an idle layerd may run no
// collection before its first requests, which then paid for dozens of
// collections in their first second.
func Percent(live, floor uint64) int {
	if live == 0 {
		live = minHeap
	}
	if 2*live >= floor {
		return 100
	}
	p := (floor - live) * 100 / live
	if (floor-live)*100%live != 0 {
		p++
	}
	return int(min(p, maxPercent))
}
