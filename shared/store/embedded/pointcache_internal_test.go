package embedded

import (
	"testing"

	"zkfdb/shared/store"
)

// A batch that clears a range drops the cached keys inside it, and only
// those (and the keys it wrote): the rest stay usable at later versions.
func TestPointCacheDropsOnlyWhatABatchChanged(t *testing.T) {
	c := newPointCache(1)
	keys := []string{"a", "a\x00", "az\xff", "b", "c", "d"}
	for _, k := range keys {
		c.add([]byte(k), []byte("v"+k), 1)
	}
	c.published(2, &changes{
		keys:   [][]byte{[]byte("c")},
		ranges: []store.Range{{Begin: []byte("a"), End: []byte("b")}},
	})
	want := map[string]bool{"a": false, "a\x00": false, "az\xff": false, "b": true, "c": false, "d": true}
	for _, k := range keys {
		v, ok := c.get([]byte(k), 2)
		if ok != want[k] || (ok && string(v) != "v"+k) {
			t.Errorf("after the batch: %q cached = %v (%q), want %v", k, ok, v, want[k])
		}
	}
	if c.order.Len() != len(c.entries) || len(c.entries) != 2 {
		t.Errorf("%d keys in order, %d entries; want 2 and 2", c.order.Len(), len(c.entries))
	}

	// A key dropped and read again is cached again; a failed batch drops
	// everything.
	c.add([]byte("a"), nil, 2)
	if v, ok := c.get([]byte("a"), 2); !ok || v != nil {
		t.Errorf("a read again as absent: cached = %v (%q), want absent", ok, v)
	}
	c.published(3, nil)
	if len(c.entries) != 0 || c.order.Len() != 0 {
		t.Errorf("after a failed batch: %d entries, %d keys in order; want none", len(c.entries), c.order.Len())
	}
}
