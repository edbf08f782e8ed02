package chart

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// A chart reads its events in one or two scans. columns gathers the
// properties a scan must read, each once; matchers, labels and numbers
// turn a batch's codes into what the chart counts, each code worked out
// once per scan.

// columns is the properties a scan reads.
type columns struct {
	refs []touchpoint.PropertyRef
}

// add returns the column of a property, adding it when new.
func (c *columns) add(r touchpoint.PropertyRef) int {
	if i := slices.Index(c.refs, r); i >= 0 {
		return i
	}
	c.refs = append(c.refs, r)
	return len(c.refs) - 1
}

// matcher tests events against an EventSpec.
type matcher struct {
	any     bool
	typ     string
	filters []filterCol
	// types[t] is 1 when TypeNames[t] is the spec's type, 2 when not, 0
	// not yet known.
	types []int8
}

type filterCol struct {
	col  int
	cond touchpoint.ValueCondition
	// known[code] is 1 when the value meets the condition, 2 when not, 0
	// not yet known.
	known []int8
}

func newMatcher(e *EventSpec, cols *columns) *matcher {
	m := &matcher{any: e.EventType == AnyEvent || e.EventType == AnyActive, typ: e.EventType}
	for i := range e.Where {
		f := &e.Where[i]
		m.filters = append(m.filters, filterCol{col: cols.add(f.ref()), cond: f.condition()})
	}
	return m
}

// types returns the event types a scan for these specs reads: none (every
// type) when one is for any event.
func scanTypes(specs ...*EventSpec) []string {
	var types []string
	for _, e := range specs {
		if e.EventType == AnyEvent || e.EventType == AnyActive {
			return nil
		}
		if !slices.Contains(types, e.EventType) {
			types = append(types, e.EventType)
		}
	}
	return types
}

// match reports whether event i of a batch meets the spec.
func (m *matcher) match(b *touchpoint.EventBatch, i int) bool {
	if !m.any {
		t := b.Type[i]
		if int(t) >= len(m.types) {
			m.types = append(m.types, make([]int8, len(b.TypeNames)-len(m.types))...)
		}
		if m.types[t] == 0 {
			m.types[t] = 2
			if b.TypeNames[t] == m.typ {
				m.types[t] = 1
			}
		}
		if m.types[t] != 1 {
			return false
		}
	}
	for j := range m.filters {
		f := &m.filters[j]
		c := b.Props[f.col][i]
		if int(c) >= len(f.known) {
			f.known = append(f.known, make([]int8, len(b.Dicts[f.col].Values)+1-len(f.known))...)
		}
		if f.known[c] == 0 {
			f.known[c] = 2
			if f.cond.Match(b.Dicts[f.col].Value(c)) {
				f.known[c] = 1
			}
		}
		if f.known[c] != 1 {
			return false
		}
	}
	return true
}

// labels gives the values of one column a label number each, the same
// number to values of the same text (1 and 1.0, say), 0 to none.
type labels struct {
	col    int
	names  []string // by number; names[0] is NoneLabel
	byName map[string]int32
	codes  []int32 // code → number+1; 0: not yet known
}

func newLabels(col int) *labels {
	return &labels{col: col, names: []string{NoneLabel}, byName: map[string]int32{}}
}

// of returns the label number of code c of a column whose dictionary is
// d.
func (l *labels) of(d *touchpoint.Dict, c int32) int32 {
	if int(c) >= len(l.codes) {
		l.codes = append(l.codes, make([]int32, len(d.Values)+1-len(l.codes))...)
	}
	if n := l.codes[c]; n != 0 {
		return n - 1
	}
	var n int32
	if v := d.Value(c); v != nil {
		text := touchpoint.ValueText(v)
		var ok bool
		if n, ok = l.byName[text]; !ok {
			l.names = append(l.names, text)
			n = int32(len(l.names) - 1)
			l.byName[text] = n
		}
	}
	l.codes[c] = n + 1
	return n
}

// numbers reads one column's values as numbers.
type numbers struct {
	col   int
	vals  []float64
	known []int8 // 1: a number, 2: not one, 0: not yet known
}

// of returns code c's value as a number, and whether it is one.
func (n *numbers) of(d *touchpoint.Dict, c int32) (float64, bool) {
	if int(c) >= len(n.known) {
		grow := len(d.Values) + 1 - len(n.known)
		n.known = append(n.known, make([]int8, grow)...)
		n.vals = append(n.vals, make([]float64, grow)...)
	}
	if n.known[c] == 0 {
		n.known[c] = 2
		if f, ok := touchpoint.NumberOf(d.Value(c)); ok {
			n.known[c], n.vals[c] = 1, f
		}
	}
	return n.vals[c], n.known[c] == 1
}

// buckets are consecutive intervals: bucket k is [bounds[k], bounds[k+1]).
type buckets struct {
	bounds []int64
	names  []string
}

// newBuckets cuts [start, end) into intervals of the zone of start (both
// the first moments of days there).
func newBuckets(start, end time.Time, interval string) buckets {
	var b buckets
	loc := start.Location()
	y, m, d := start.Date()
	first := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the date, as a date
	switch interval {
	case Week:
		// Weeks begin on Monday.
		first = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	case Month:
		first = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	for date := first; ; {
		at := dayStart(date, loc)
		if !at.Before(end) {
			break
		}
		b.names = append(b.names, date.Format(time.DateOnly))
		b.bounds = append(b.bounds, at.UnixMilli())
		switch interval {
		case Week:
			date = date.AddDate(0, 0, 7)
		case Month:
			date = date.AddDate(0, 1, 0)
		default:
			date = date.AddDate(0, 0, 1)
		}
	}
	b.bounds = append(b.bounds, end.UnixMilli())
	// The first interval counts from the range's start.
	b.bounds[0] = max(b.bounds[0], start.UnixMilli())
	return b
}

// of returns the bucket of a time within the buckets' span.
func (b *buckets) of(t int64) int {
	return sort.Search(len(b.bounds)-1, func(k int) bool { return b.bounds[k+1] > t }) // first bucket ending after t
}

// len is the number of buckets.
func (b *buckets) len() int { return len(b.names) }

// scanEvents runs one scan.
func scanEvents(ctx context.Context, src touchpoint.ChartSource, c Context, types []string, start, end int64, cols *columns, fn func(*touchpoint.EventBatch) error) error {
	return src.ScanEvents(ctx, c.Project, &touchpoint.EventScan{Start: start, End: end, Types: types, Props: cols.refs}, fn)
}

// group names a series' group: its labels.
func groupNames(ls []*labels, key [MaxGroupBy]int32) []string {
	if len(ls) == 0 {
		return []string{AllLabel}
	}
	g := make([]string, len(ls))
	for i, l := range ls {
		g[i] = l.names[key[i]]
	}
	return g
}

// topGroups orders groups (by label number) biggest first (by size),
// then by name, and keeps MaxSeries of them: the rest add up (merge) into
// a new one (fresh) named OtherLabel. It returns them with their names.
func topGroups[A any](groups map[int32]A, names []string, size func(A) int64, fresh func() A, merge func(into, from A)) ([]A, [][]string) {
	keys := slices.Collect(maps.Keys(groups))
	slices.SortFunc(keys, func(a, b int32) int {
		return cmp.Or(cmp.Compare(size(groups[b]), size(groups[a])), cmp.Compare(names[a], names[b]))
	})
	var out []A
	var labels [][]string
	for i, l := range keys {
		if i < MaxSeries {
			out, labels = append(out, groups[l]), append(labels, []string{names[l]})
			continue
		}
		if i == MaxSeries {
			out, labels = append(out, fresh()), append(labels, []string{OtherLabel})
		}
		merge(out[MaxSeries], groups[l])
	}
	return out, labels
}

// lessGroup orders groups by their labels.
func lessGroup(a, b []string) int { return slices.Compare(a, b) }

// rate is a over b, 0 when b is.
func rate(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
