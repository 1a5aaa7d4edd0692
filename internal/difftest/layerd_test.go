package difftest

import (
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/internal/zkref"
	"zkfdb/layerd/zkserver/zkservertest"
)

// awaitingSweeper lists the cases layerd cannot pass yet. It is empty
// now; the list must only shrink.
var awaitingSweeper = map[string]bool{}

// TestLayerdVsZooKeeper runs every case against Apache ZooKeeper and
// layerd on each storage engine, but those awaiting the sweeper.
func TestLayerdVsZooKeeper(t *testing.T) {
	var cases []Case
	for _, c := range Cases() {
		if !awaitingSweeper[c.Name] {
			cases = append(cases, c)
		}
	}
	t.Logf("comparing %d of %d cases; %d await the sweeper", len(cases), len(Cases()), len(awaitingSweeper))
	engines.Each(t, func(t *testing.T, e engines.Engine) {
		// A fresh reference each: cases on "/" see what earlier ones did.
		ref := zkref.StartT(t, refOptions)
		CompareCases(t, ref.Addr(), zkservertest.Start(t, e), cases)
	})
}

func TestAwaitingWatchesAreCases(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Cases() {
		names[c.Name] = true
	}
	for name := range awaitingSweeper {
		if !names[name] {
			t.Errorf("awaitingSweeper names %q, which is no case", name)
		}
	}
}
