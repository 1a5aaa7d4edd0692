package keys

import (
	"slices"
	"testing"
)

func TestDueBitmap(t *testing.T) {
	for _, shard := range []int{0, 7, 8, 200, Shards - 1} {
		if got, err := DueShards(DueBit(shard)); err != nil || !slices.Equal(got, []int{shard}) {
			t.Errorf("DueShards(DueBit(%d)) = %v, %v", shard, got, err)
		}
		all := make([]byte, DueBitmapLen)
		for i := range all {
			all[i] = 0xff
		}
		m := DueMask(shard)
		for i := range all {
			all[i] &= m[i]
		}
		if got, _ := DueShards(all); len(got) != Shards-1 || slices.Contains(got, shard) {
			t.Errorf("every shard masked with DueMask(%d): %d shards, with it: %v", shard, len(got), slices.Contains(got, shard))
		}
	}
	if _, err := DueShards([]byte{1}); err == nil {
		t.Error("a short due summary was accepted")
	}
}
