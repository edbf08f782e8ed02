package chart

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 100, 70_000} {
		for _, max := range []uint64{1, 1 << 16, 1 << 40, 1<<64 - 1} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = rng.Uint64N(max)
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			sortKeys(keys, nil)
			if !slices.Equal(keys, want) {
				t.Fatalf("%d keys below %d: not sorted", n, max)
			}
		}
	}
}
