package cohort_test

import (
	"slices"
	"testing"

	"github.com/touchpointhq/touchpoint/cohort"
)

func setOf(lo, hi int64, ids ...int64) *cohort.Set {
	s := cohort.NewSet(lo, hi)
	for _, id := range ids {
		s.Add(id)
	}
	return s
}

// TestSetOperations checks the set algebra across word boundaries, and
// that ids outside a set's range are left out.
func TestSetOperations(t *testing.T) {
	const lo, hi = 100, 300
	a := setOf(lo, hi, 100, 163, 164, 200, 300)
	b := setOf(lo, hi, 163, 200, 250)
	if got := a.IDs(); !slices.Equal(got, []int64{100, 163, 164, 200, 300}) || a.Count() != 5 {
		t.Fatalf("a = %v (count %d)", got, a.Count())
	}
	// The range is whole words of 64 ids: [100, 356).
	out := setOf(lo, hi, 99, 356, 1000, -5)
	if out.Count() != 0 || out.Has(99) || out.Has(356) {
		t.Errorf("ids out of range kept: %v", out.IDs())
	}
	and := a.Clone()
	and.And(b)
	or := a.Clone()
	or.Or(b)
	andNot := a.Clone()
	andNot.AndNot(b)
	for name, c := range map[string]struct {
		got  *cohort.Set
		want []int64
	}{
		"and":    {and, []int64{163, 200}},
		"or":     {or, []int64{100, 163, 164, 200, 250, 300}},
		"andNot": {andNot, []int64{100, 164, 300}},
		"a kept": {a, []int64{100, 163, 164, 200, 300}},
	} {
		if got := c.got.IDs(); !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", name, got, c.want)
		}
	}
	var first []int64
	a.Each(func(id int64) bool { first = append(first, id); return len(first) < 2 })
	if !slices.Equal(first, []int64{100, 163}) {
		t.Errorf("Each stopped after %v, want [100 163]", first)
	}
	if e := cohort.NewSet(1, 0); e.Count() != 0 || e.Has(1) || len(e.IDs()) != 0 {
		t.Errorf("the set of no users: %v", e.IDs())
	}
}
