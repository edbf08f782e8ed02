package chart

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
)

func (q *Segmentation) validate() error {
	switch {
	case len(q.Events) == 0 || len(q.Events) > MaxEvents:
		return invalid("events: give 1 to %d events", MaxEvents)
	case len(q.GroupBy) > MaxGroupBy:
		return invalid("group_by: at most %d properties", MaxGroupBy)
	}
	for i := range q.Events {
		if err := q.Events[i].validate(fmt.Sprintf("events[%d]", i)); err != nil {
			return err
		}
	}
	for i := range q.GroupBy {
		if err := q.GroupBy[i].validate(fmt.Sprintf("group_by[%d]", i)); err != nil {
			return err
		}
	}
	if q.Metric == "" {
		q.Metric = Totals
	}
	switch q.Metric {
	case Totals, Uniques, Average:
		if q.Property != "" {
			return invalid("property is for the metrics sum, property_average and distribution, not %s", q.Metric)
		}
	case Sum, PropertyAverage, Distribution:
		if q.Property == "" || len(q.Property) > 1024 || !utf8.ValidString(q.Property) {
			return invalid("property is required for %s, up to 1024 bytes (an event property, or revenue)", q.Metric)
		}
	default:
		return invalid("metric %q: totals, uniques, average, sum, property_average or distribution", q.Metric)
	}
	if q.Interval == "" {
		q.Interval = Day
	}
	switch q.Interval {
	case Day, Week, Month:
	default:
		return invalid("interval %q: day, week or month", q.Interval)
	}
	return nil
}

// metricRef is the column a metric reads.
func (q *Segmentation) metricRef() touchpoint.PropertyRef {
	return propertyRef(q.Property, false)
}

// segCell accumulates one series' events in one interval (or, at index
// nb, over the whole range).
type segCell struct {
	events int64   // matched events
	n      int64   // of those, with the property (a number but for distribution)
	sum    float64 // the property's numbers
}

// segSeries is one event's group.
type segSeries struct {
	spec  int
	key   [MaxGroupBy]int32
	cells []segCell
	dist  map[int32]int64 // distribution: events by the property's label
}

func (q *Segmentation) run(ctx context.Context, src touchpoint.ChartSource, c Context) (any, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	start, end, err := q.days(c)
	if err != nil {
		return nil, err
	}
	bk := newBuckets(start, end, q.Interval)
	nb := bk.len()
	var cols columns
	specs := make([]*EventSpec, len(q.Events))
	ms := make([]*matcher, len(q.Events))
	for i := range q.Events {
		specs[i] = &q.Events[i]
		ms[i] = newMatcher(specs[i], &cols)
	}
	ls := make([]*labels, len(q.GroupBy))
	for i := range q.GroupBy {
		ls[i] = newLabels(cols.add(q.GroupBy[i].ref()))
	}
	var num *numbers
	var distLabels *labels
	if q.Property != "" {
		col := cols.add(q.metricRef())
		num = &numbers{col: col}
		if q.Metric == Distribution {
			distLabels = newLabels(col)
		}
	}
	distinct := q.Metric == Uniques || q.Metric == Average
	index := map[[MaxGroupBy + 1]int32]int32{}
	var series []*segSeries
	var seen []userCell // (series × interval, user) of each event, for distinct users
	err = scanEvents(ctx, src, c, scanTypes(specs...), start.UnixMilli(), end.UnixMilli(), &cols, func(b *touchpoint.EventBatch) error {
		for i := range b.Len() {
			var key [MaxGroupBy]int32
			for j, l := range ls {
				key[j] = l.of(b.Dicts[l.col], b.Props[l.col][i])
			}
			k := bk.of(b.Time[i])
			for s, m := range ms {
				if !m.match(b, i) {
					continue
				}
				id := [MaxGroupBy + 1]int32{int32(s), key[0], key[1]}
				si, ok := index[id]
				if !ok {
					if (len(series)+1)*nb > MaxCells {
						return invalid("the query has more than %d groups × intervals: group by properties with fewer values, or use a longer interval", MaxCells)
					}
					si = int32(len(series))
					index[id] = si
					series = append(series, &segSeries{spec: s, key: key, cells: make([]segCell, nb)})
				}
				ser := series[si]
				cell := &ser.cells[k]
				cell.events++
				switch {
				case distLabels != nil:
					code := b.Props[num.col][i]
					if code != 0 {
						cell.n++
						if ser.dist == nil {
							ser.dist = map[int32]int64{}
						}
						ser.dist[distLabels.of(b.Dicts[num.col], code)]++
					}
				case num != nil:
					if v, ok := num.of(b.Dicts[num.col], b.Props[num.col][i]); ok {
						cell.n++
						cell.sum += v
					}
				}
				if distinct {
					u, err := userNumber(b.User[i])
					if err != nil {
						return err
					}
					if len(seen) == MaxDistinct {
						return invalid("more than %d events to count distinct users of: narrow the range or the events", MaxDistinct)
					}
					seen = append(seen, userCell{cell: uint32(int(si)*nb + k), user: u})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &SegmentationResult{Metric: q.Metric, Interval: q.Interval, XValues: bk.names, Series: []Series{}}
	// Each series' totals, to rank them by.
	perSeries := func(m []int32, n int) ([]float64, [][]float64) {
		return q.values(series, m, n, nb, seen)
	}
	ident := make([]int32, len(series))
	for i := range ident {
		ident[i] = int32(i)
	}
	totals, values := perSeries(ident, len(series))
	// Of each event, the biggest MaxSeries; the rest add up to one.
	order := make([]int, len(series))
	for i := range order {
		order[i] = i
	}
	name := func(i int) []string { return groupNames(ls, series[i].key) }
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(series[a].spec, series[b].spec), cmp.Compare(totals[b], totals[a]), lessGroup(name(a), name(b)))
	})
	final := make([]int32, len(series)) // series → output place
	var out []Series
	kept := map[int]int{} // per spec, series kept
	other := map[int]int32{}
	for _, i := range order {
		s := series[i].spec
		if kept[s] < MaxSeries {
			kept[s]++
			final[i] = int32(len(out))
			out = append(out, Series{Event: q.Events[s].EventType, Index: s, Group: name(i)})
			continue
		}
		o, ok := other[s]
		if !ok {
			o = int32(len(out))
			other[s] = o
			g := make([]string, max(1, len(ls)))
			for j := range g {
				g[j] = OtherLabel
			}
			out = append(out, Series{Event: q.Events[s].EventType, Index: s, Group: g})
		}
		final[i] = o
	}
	if len(other) > 0 {
		totals, values = perSeries(final, len(out))
	} else {
		t, v := make([]float64, len(out)), make([][]float64, len(out))
		for i := range series {
			t[final[i]], v[final[i]] = totals[i], values[i]
		}
		totals, values = t, v
	}
	for i := range out {
		out[i].Total, out[i].Values = totals[i], values[i]
	}
	if distLabels != nil {
		// Each output series' counts by label, its series' added up.
		counts := make([]map[int32]int64, len(out))
		for i, ser := range series {
			o := final[i]
			if counts[o] == nil {
				counts[o] = map[int32]int64{}
			}
			for l, n := range ser.dist {
				counts[o][l] += n
			}
		}
		for i := range out {
			d := make([]ValueCount, 0, len(counts[i]))
			for l, n := range counts[i] {
				d = append(d, ValueCount{Value: distLabels.names[l], Count: n})
			}
			slices.SortFunc(d, func(a, b ValueCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value)) })
			out[i].Distribution = d[:min(len(d), MaxDistribution)]
		}
	}
	if out != nil {
		res.Series = out
	}
	return res, nil
}

// values works out the metric of series merged by m (series i into m[i],
// n of them): per interval, and over the range.
func (q *Segmentation) values(series []*segSeries, m []int32, n, nb int, seen []userCell) ([]float64, [][]float64) {
	cells := make([]segCell, n*(nb+1))
	for i, s := range series {
		for k, c := range s.cells {
			for _, at := range []int{int(m[i])*(nb+1) + k, int(m[i])*(nb+1) + nb} {
				cells[at].events += c.events
				cells[at].n += c.n
				cells[at].sum += c.sum
			}
		}
	}
	var users []int64
	if q.Metric == Uniques || q.Metric == Average {
		// Distinct (cell, user) keys, sorted: per interval, then over the
		// range, in one buffer.
		users = make([]int64, n*(nb+1))
		keys := make([]uint64, len(seen))
		var tmp []uint64
		for _, whole := range []bool{false, true} {
			for i, s := range seen {
				si, k := int(s.cell)/nb, int(s.cell)%nb
				if whole {
					k = nb
				}
				keys[i] = uint64(int(m[si])*(nb+1)+k)<<32 | uint64(s.user)
			}
			tmp = sortKeys(keys, tmp)
			for i, key := range keys {
				if i == 0 || key != keys[i-1] {
					users[key>>32]++
				}
			}
		}
	}
	totals := make([]float64, n)
	values := make([][]float64, n)
	for o := range n {
		values[o] = make([]float64, nb)
		for k := 0; k <= nb; k++ {
			at := o*(nb+1) + k
			c := cells[at]
			var v float64
			switch q.Metric {
			case Totals:
				v = float64(c.events)
			case Uniques:
				v = float64(users[at])
			case Average:
				v = rate(float64(c.events), float64(users[at]))
			case Sum:
				v = c.sum
			case PropertyAverage:
				v = rate(c.sum, float64(c.n))
			case Distribution:
				v = float64(c.n)
			}
			v = finite(v)
			if k == nb {
				totals[o] = v
			} else {
				values[o][k] = v
			}
		}
	}
	return totals, values
}

// finite is v, or 0 for a sum past float64's range (JSON has no
// infinity).
func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// userCell is a user seen in a series' interval.
type userCell struct {
	cell uint32
	user uint32
}

// userNumber is a user's id as 32 bits, which stores give (and charts
// then count distinct users in half the memory).
func userNumber(id int64) (uint32, error) {
	if id < 0 || id > math.MaxUint32 {
		return 0, fmt.Errorf("user id %d is beyond the charts' 32 bits", id)
	}
	return uint32(id), nil
}
