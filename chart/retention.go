package chart

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (q *Retention) validate() error {
	if err := q.StartEvent.validate("start_event"); err != nil {
		return err
	}
	if q.ReturnEvent != nil {
		if err := q.ReturnEvent.validate("return_event"); err != nil {
			return err
		}
	}
	if q.Interval == "" {
		q.Interval = Day
	}
	if q.Interval != Day && q.Interval != Week {
		return invalid("interval %q: day or week", q.Interval)
	}
	if q.Mode == "" {
		q.Mode = NDay
	}
	if q.Mode != NDay && q.Mode != Unbounded {
		return invalid("mode %q: n_day or unbounded", q.Mode)
	}
	if q.Periods == 0 {
		q.Periods = DefaultPeriods
	}
	if q.Periods < 1 || q.Periods > MaxPeriods {
		return invalid("periods %d is out of range: 1 to %d", q.Periods, MaxPeriods)
	}
	if q.GroupBy != nil {
		return q.GroupBy.validate("group_by")
	}
	return nil
}

// retained is a user of a retention chart.
type retained struct {
	start int64 // the first start event's time
	label int32
	// hits: bit k, a return event in period k (n_day); last: the latest
	// return event (unbounded).
	hits []uint64
	last int64
}

const day = int64(24 * time.Hour / time.Millisecond)

func (q *Retention) run(ctx context.Context, src touchpoint.ChartSource, c Context) (any, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	start, end, err := q.days(c)
	if err != nil {
		return nil, err
	}
	period := day
	if q.Interval == Week {
		period = 7 * day
	}
	from, to := start.UnixMilli(), end.UnixMilli()
	// First, each user's start.
	var cols columns
	sm := newMatcher(&q.StartEvent, &cols)
	var group *labels
	if q.GroupBy != nil {
		group = newLabels(cols.add(q.GroupBy.ref()))
	}
	users := map[int64]*retained{}
	err = scanEvents(ctx, src, c, scanTypes(&q.StartEvent), from, to, &cols, func(b *touchpoint.EventBatch) error {
		for i := range b.Len() {
			if !sm.match(b, i) {
				continue
			}
			u := users[b.User[i]]
			if u == nil {
				u = &retained{start: math.MaxInt64}
				users[b.User[i]] = u
			}
			if t := b.Time[i]; t < u.start {
				u.start = t
				if group != nil {
					u.label = group.of(b.Dicts[group.col], b.Props[group.col][i])
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Then their returns.
	ret := q.ReturnEvent
	if ret == nil {
		ret = &EventSpec{EventType: AnyEvent}
	}
	var rcols columns
	rm := newMatcher(ret, &rcols)
	words := (q.Periods + 1 + 63) / 64
	horizon := int64(math.MaxInt64)
	if q.Mode == NDay {
		horizon = to + int64(q.Periods+1)*period
	}
	err = scanEvents(ctx, src, c, scanTypes(ret), from+period, horizon, &rcols, func(b *touchpoint.EventBatch) error {
		for i := range b.Len() {
			u := users[b.User[i]]
			if u == nil || b.Time[i] < u.start+period || !rm.match(b, i) {
				continue
			}
			if q.Mode == Unbounded {
				u.last = max(u.last, b.Time[i])
				continue
			}
			k := (b.Time[i] - u.start) / period
			if k > int64(q.Periods) {
				continue
			}
			if u.hits == nil {
				u.hits = make([]uint64, words)
			}
			u.hits[k/64] |= 1 << (k % 64)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Rows by the interval of each user's start.
	bk := newBuckets(start, end, q.Interval)
	now := c.Now.UnixMilli()
	type rowKey struct {
		label int32
		row   int
	}
	rows := map[rowKey]*RetentionRow{}
	for _, u := range users {
		r := bk.of(u.start)
		key := rowKey{u.label, r}
		row := rows[key]
		if row == nil {
			if (len(rows)+1)*(q.Periods+1) > MaxCells {
				return nil, invalid("the query has more than %d groups × rows × periods: group by a property with fewer values, or ask for fewer periods", MaxCells)
			}
			// The periods begun by now for the row's first moment; period
			// 0, its users, always.
			n := 1
			for k := 1; k <= q.Periods && bk.bounds[r]+int64(k)*period <= now; k++ {
				n++
			}
			row = &RetentionRow{Date: bk.names[r], Retained: make([]int64, n)}
			rows[key] = row
		}
		row.Users++
		for k := range row.Retained {
			if k == 0 || q.Mode == NDay && u.hits != nil && u.hits[k/64]&(1<<(k%64)) != 0 ||
				q.Mode == Unbounded && u.last >= u.start+int64(k)*period {
				row.Retained[k]++
			}
		}
	}
	byLabel := map[int32]*RetentionGroup{}
	total := q.newGroup([]string{AllLabel})
	for key, row := range rows {
		if group != nil {
			g := byLabel[key.label]
			if g == nil {
				g = q.newGroup([]string{group.names[key.label]})
				byLabel[key.label] = g
			}
			g.addRow(*row)
		}
		total.addRow(*row)
	}
	// The total's rows: every group's of the day, added up.
	res := &RetentionResult{Interval: q.Interval, Mode: q.Mode, Periods: q.Periods, Total: q.collapse(total).done(), Groups: []RetentionGroup{}}
	if group != nil {
		gs, names := topGroups(byLabel, group.names, func(g *RetentionGroup) int64 { return g.Users[0] },
			func() *RetentionGroup { return q.newGroup(nil) }, func(into, from *RetentionGroup) {
				for _, row := range from.Cohorts {
					into.addRow(row)
				}
			})
		for i, g := range gs {
			if len(gs) > MaxSeries && i == MaxSeries {
				g = q.collapse(g) // the rows of one interval add up
			}
			g.Group = names[i]
			res.Groups = append(res.Groups, g.done())
		}
	}
	return res, nil
}

func (q *Retention) newGroup(name []string) *RetentionGroup {
	return &RetentionGroup{Group: name, Users: make([]int64, q.Periods+1), Retained: make([]int64, q.Periods+1), Cohorts: []RetentionRow{}}
}

// addRow adds a row to a group.
func (g *RetentionGroup) addRow(row RetentionRow) {
	g.Cohorts = append(g.Cohorts, row)
	for k, n := range row.Retained {
		g.Users[k] += row.Users
		g.Retained[k] += n
	}
}

// collapse adds up a group's rows of the same interval.
func (q *Retention) collapse(g *RetentionGroup) *RetentionGroup {
	out := q.newGroup(g.Group)
	byDate := map[string]*RetentionRow{}
	var dates []string
	for _, row := range g.Cohorts {
		m := byDate[row.Date]
		if m == nil {
			m = &RetentionRow{Date: row.Date, Retained: make([]int64, len(row.Retained))}
			byDate[row.Date] = m
			dates = append(dates, row.Date)
		}
		m.Users += row.Users
		for k, n := range row.Retained {
			m.Retained[k] += n
		}
	}
	for _, d := range dates {
		out.addRow(*byDate[d])
	}
	return out
}

// done sorts a group's rows and works out its rates; periods no row
// reaches are cut.
func (g *RetentionGroup) done() RetentionGroup {
	slices.SortFunc(g.Cohorts, func(a, b RetentionRow) int { return cmp.Compare(a.Date, b.Date) })
	n := len(g.Users)
	for n > 1 && g.Users[n-1] == 0 {
		n--
	}
	if len(g.Cohorts) == 0 {
		n = 0
	}
	g.Users, g.Retained = g.Users[:n], g.Retained[:n]
	g.Rates = make([]float64, n)
	for k := range n {
		g.Rates[k] = rate(float64(g.Retained[k]), float64(g.Users[k]))
	}
	return *g
}
