package chart

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/touchpointhq/touchpoint"
)

func (q *Funnel) validate() error {
	if len(q.Steps) < MinSteps || len(q.Steps) > MaxSteps {
		return invalid("steps: give %d to %d steps", MinSteps, MaxSteps)
	}
	for i := range q.Steps {
		if err := q.Steps[i].validate(fmt.Sprintf("steps[%d]", i)); err != nil {
			return err
		}
	}
	if q.ConversionSeconds == 0 {
		q.ConversionSeconds = DefaultConversion
	}
	if q.ConversionSeconds < 1 || q.ConversionSeconds > MaxConversion {
		return invalid("conversion_seconds %d is out of range: 1 to %d", q.ConversionSeconds, MaxConversion)
	}
	if q.GroupBy != nil {
		return q.GroupBy.validate("group_by")
	}
	return nil
}

// funnelEvent is an event that matches one step or more.
type funnelEvent struct {
	user  int64
	time  int64
	steps uint16 // bit k: matches step k
	label int32  // the group-by property's label
}

func (q *Funnel) run(ctx context.Context, src touchpoint.ChartSource, c Context) (any, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	start, end, err := q.days(c)
	if err != nil {
		return nil, err
	}
	var cols columns
	specs := make([]*EventSpec, len(q.Steps))
	ms := make([]*matcher, len(q.Steps))
	for i := range q.Steps {
		specs[i] = &q.Steps[i]
		ms[i] = newMatcher(specs[i], &cols)
	}
	var group *labels
	if q.GroupBy != nil {
		group = newLabels(cols.add(q.GroupBy.ref()))
	}
	window := q.ConversionSeconds * 1000
	from, to := start.UnixMilli(), end.UnixMilli()
	var evs []funnelEvent
	err = scanEvents(ctx, src, c, scanTypes(specs...), from, to+window, &cols, func(b *touchpoint.EventBatch) error {
		for i := range b.Len() {
			var steps uint16
			for k, m := range ms {
				if m.match(b, i) {
					steps |= 1 << k
				}
			}
			// A first step counts only within the range.
			if b.Time[i] >= to {
				steps &^= 1
			}
			if steps == 0 {
				continue
			}
			e := funnelEvent{user: b.User[i], time: b.Time[i], steps: steps}
			if group != nil {
				e.label = group.of(b.Dicts[group.col], b.Props[group.col][i])
			}
			evs = append(evs, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(evs, func(a, b funnelEvent) int { return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.time, b.time)) })
	n := len(q.Steps)
	total := newFunnelAcc(n)
	groups := map[int32]*funnelAcc{}
	walk := newWalker(n, window)
	best := make([]int64, n)
	for lo := 0; lo < len(evs); {
		hi := lo + 1
		for hi < len(evs) && evs[hi].user == evs[lo].user {
			hi++
		}
		depth, first := walk.walk(evs[lo:hi], best)
		lo = hi
		if depth == 0 {
			continue
		}
		total.add(depth, best)
		if group != nil {
			g := groups[first.label]
			if g == nil {
				g = newFunnelAcc(n)
				groups[first.label] = g
			}
			g.add(depth, best)
		}
	}
	res := &FunnelResult{ConversionSeconds: q.ConversionSeconds, Total: total.result([]string{AllLabel}), Groups: []FunnelGroup{}}
	for i := range q.Steps {
		res.Steps = append(res.Steps, q.Steps[i].EventType)
	}
	if group != nil {
		accs, names := topGroups(groups, group.names, func(f *funnelAcc) int64 { return f.users[0] },
			func() *funnelAcc { return newFunnelAcc(n) }, (*funnelAcc).merge)
		for i, f := range accs {
			res.Groups = append(res.Groups, f.result(names[i]))
		}
	}
	return res, nil
}

// walker finds users' furthest paths, reusing its tables from user to
// user.
type walker struct {
	n      int
	window int64
	// after[i] is the first event later than event i's time; next[k][i]
	// the first event from i on that matches step k (len: none).
	after []int32
	next  [][]int32
	path  []int64
}

func newWalker(n int, window int64) *walker {
	return &walker{n: n, window: window, next: make([][]int32, n), path: make([]int64, n)}
}

// walk finds a user's furthest path (events sorted by time): its depth,
// its first event, and in best the time of each step reached. Each start
// is tried in turn, the later steps taken as early as they come: the
// earliest event of a step after the previous one leaves the most room
// for the rest. The tables make each step one lookup, so a user with
// many events costs their number times the steps.
func (w *walker) walk(evs []funnelEvent, best []int64) (int, funnelEvent) {
	m := int32(len(evs))
	w.after = resize(w.after, len(evs))
	for i := m - 1; i >= 0; i-- {
		if i+1 < m && evs[i+1].time == evs[i].time {
			w.after[i] = w.after[i+1]
		} else {
			w.after[i] = i + 1
		}
	}
	for k := range w.n {
		nk := resize(w.next[k], len(evs)+1)
		nk[m] = m
		for i := m - 1; i >= 0; i-- {
			if evs[i].steps&(1<<k) != 0 {
				nk[i] = i
			} else {
				nk[i] = nk[i+1]
			}
		}
		w.next[k] = nk
	}
	depth := 0
	var first funnelEvent
	for a := range m {
		if evs[a].steps&1 == 0 {
			continue
		}
		t0 := evs[a].time
		w.path[0] = t0
		d, at := 1, a
		for d < w.n {
			j := w.next[d][w.after[at]]
			if j == m || evs[j].time > t0+w.window {
				break
			}
			w.path[d], at = evs[j].time, j
			d++
		}
		if d > depth {
			depth, first = d, evs[a]
			copy(best, w.path[:d])
			if d == w.n {
				break
			}
		}
	}
	return depth, first
}

// resize returns s with length n, reusing its room.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// funnelAcc counts users by step and keeps their times between steps.
type funnelAcc struct {
	users []int64
	gaps  [][]int64 // per step from the second, ms
}

func newFunnelAcc(n int) *funnelAcc {
	return &funnelAcc{users: make([]int64, n), gaps: make([][]int64, n)}
}

func (f *funnelAcc) add(depth int, times []int64) {
	for k := range depth {
		f.users[k]++
		if k > 0 {
			f.gaps[k] = append(f.gaps[k], times[k]-times[k-1])
		}
	}
}

func (f *funnelAcc) merge(o *funnelAcc) {
	for k := range f.users {
		f.users[k] += o.users[k]
		f.gaps[k] = append(f.gaps[k], o.gaps[k]...)
	}
}

func (f *funnelAcc) result(group []string) FunnelGroup {
	n := len(f.users)
	g := FunnelGroup{Group: group, Users: f.users, FromPrevious: make([]float64, n), FromFirst: make([]float64, n), MedianSeconds: make([]*float64, n)}
	for k := range n {
		prev := f.users[0]
		if k > 0 {
			prev = f.users[k-1]
		}
		g.FromPrevious[k] = rate(float64(f.users[k]), float64(prev))
		g.FromFirst[k] = rate(float64(f.users[k]), float64(f.users[0]))
		if k > 0 && len(f.gaps[k]) > 0 {
			m := median(f.gaps[k]) / 1000
			g.MedianSeconds[k] = &m
		}
	}
	return g
}

// median is the middle value (the mean of the two middle ones of an even
// count).
func median(v []int64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return float64(v[len(v)/2])
	}
	return float64(v[len(v)/2-1]+v[len(v)/2]) / 2
}
