package touchpoint_test

import (
	"slices"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

func TestCutPage(t *testing.T) {
	id := func(v int64) int64 { return v }
	for _, c := range []struct {
		items    []int64
		limit    int
		want     []int64
		wantNext int64
	}{
		{nil, 2, nil, 0},
		{[]int64{9, 8}, 2, []int64{9, 8}, 0},          // all there is: no next page
		{[]int64{9, 8, 7}, 2, []int64{9, 8}, 8},       // one past the limit: next after 8
		{[]int64{1, 2, 3, 4}, 3, []int64{1, 2, 3}, 3}, // ascending cursors too
	} {
		got, next := touchpoint.CutPage(c.items, c.limit, id)
		if !slices.Equal(got, c.want) || next != c.wantNext {
			t.Errorf("CutPage(%v, %d) = %v, %d; want %v, %d", c.items, c.limit, got, next, c.want, c.wantNext)
		}
	}
}
