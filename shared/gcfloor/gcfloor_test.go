package gcfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 128 * mib, 3100},        // not known yet: 4 MiB
		{4 * mib, 128 * mib, 3100},  // 4 MiB × 32 = 128 MiB
		{3 * mib, 128 * mib, 4167},  // rounded up: the goal reaches the floor
		{64 * mib, 128 * mib, 100},  // the default reaches it
		{500 * mib, 128 * mib, 100}, // above it
		{1, 128 * mib, maxPercent},  // bounded
		{60 * mib, 128 * mib, 114},  // 60 × 2.14 ≥ 128
	} {
		got := Percent(tc.live, tc.floor)
		if got != tc.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", tc.live, tc.floor, got, tc.want)
		}
		if tc.live > 0 && got < maxPercent && tc.live+tc.live*uint64(got)/100 < tc.floor && 2*tc.live < tc.floor {
			t.Errorf("Percent(%d, %d) = %d: goal %d under the floor", tc.live, tc.floor, got, tc.live+tc.live*uint64(got)/100)
		}
	}
}

// Run raises the percent while it runs (this test's heap is far below
// 1 GiB) and puts back what it found when its context ends.
func TestRunRaisesAndRestores(t *testing.T) {
	t.Setenv("GOGC", "") // an empty GOGC is no setting
	before := debug.SetGCPercent(77)
	defer debug.SetGCPercent(before)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); Run(ctx, 1<<30) }()
	runtime.GC() // the live heap is known from the first collection on
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := gogc()
		if p > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d after 10 s, want above 100", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if p := gogc(); p != 77 {
		t.Errorf("after Run: GC percent %d, want the 77 it found", p)
	}
}

// gogc reads the GC percent in force.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
