package chart

import (
	"context"
	"math"

	"github.com/touchpointhq/touchpoint"
)

func (q *LTV) validate() error {
	if q.Days == 0 {
		q.Days = DefaultLTVDays
	}
	if q.Days < 1 || q.Days > MaxPeriods {
		return invalid("days %d is out of range: 1 to %d", q.Days, MaxPeriods)
	}
	if q.GroupBy != nil {
		if err := q.GroupBy.validate("group_by"); err != nil {
			return err
		}
		if q.GroupBy.Type != "user" {
			return invalid("group_by: a user property (LTV groups users by their current value)")
		}
	}
	return nil
}

// ltvUser is a user first seen in the range.
type ltvUser struct {
	first int64
	group int32
	last  int // the last day begun by now, at most Days; -1: none
}

func (q *LTV) run(ctx context.Context, src touchpoint.ChartSource, c Context) (any, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	start, end, err := q.days(c)
	if err != nil {
		return nil, err
	}
	from, to, now := start.UnixMilli(), end.UnixMilli(), c.Now.UnixMilli()
	var props []string
	var group *labels
	if q.GroupBy != nil {
		props = []string{q.GroupBy.Property}
		group = newLabels(0)
	}
	users := map[int64]*ltvUser{}
	groups := map[int32]*ltvAcc{}
	total := q.newAcc()
	err = src.ScanUsers(ctx, c.Project, props, func(b *touchpoint.UserBatch) error {
		for i, id := range b.User {
			first := b.FirstSeen[i]
			if first < from || first >= to {
				continue
			}
			u := &ltvUser{first: first, last: -1}
			if now >= first {
				u.last = int(min((now-first)/day, int64(q.Days)))
			}
			if group != nil {
				u.group = group.of(b.Dicts[0], b.Props[0][i])
			}
			users[id] = u
			total.join(u)
			if group != nil {
				g := groups[u.group]
				if g == nil {
					if (len(groups)+1)*(q.Days+2) > MaxCells {
						return invalid("the query has more than %d groups × days: group by a property with fewer values, or ask for fewer days", MaxCells)
					}
					g = q.newAcc()
					groups[u.group] = g
				}
				g.join(u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var cols columns
	col := cols.add(touchpoint.PropertyRef{Name: RevenueProp, Top: true})
	num := &numbers{col: col}
	scan := &touchpoint.EventScan{Start: from, End: to + int64(q.Days+1)*day, Props: cols.refs, Require: []int{col}}
	err = src.ScanEvents(ctx, c.Project, scan, func(b *touchpoint.EventBatch) error {
		for i := range b.Len() {
			code := b.Props[col][i]
			if code == 0 {
				continue
			}
			u := users[b.User[i]]
			if u == nil || b.Time[i] < u.first {
				continue
			}
			d := int((b.Time[i] - u.first) / day)
			if d > u.last {
				continue
			}
			r, ok := num.of(b.Dicts[col], code)
			if !ok {
				continue
			}
			total.earn(u, d, r)
			if group != nil {
				groups[u.group].earn(u, d, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &LTVResult{Days: q.Days, Total: total.result([]string{AllLabel}), Groups: []LTVGroup{}}
	if group != nil {
		accs, names := topGroups(groups, group.names, func(a *ltvAcc) int64 { return a.users[0] }, q.newAcc, (*ltvAcc).merge)
		for i, a := range accs {
			res.Groups = append(res.Groups, a.result(names[i]))
		}
	}
	return res, nil
}

// ltvAcc adds up a group's users and revenue by day, as differences: a
// user counts from day 0 to its last day begun, and revenue of day d
// from day d to that same last day.
type ltvAcc struct {
	users   []int64
	revenue []float64
}

func (q *LTV) newAcc() *ltvAcc {
	return &ltvAcc{users: make([]int64, q.Days+2), revenue: make([]float64, q.Days+2)}
}

func (a *ltvAcc) join(u *ltvUser) {
	if u.last < 0 {
		return
	}
	a.users[0]++
	a.users[u.last+1]--
}

func (a *ltvAcc) earn(u *ltvUser, d int, r float64) {
	a.revenue[d] += r
	a.revenue[u.last+1] -= r
}

func (a *ltvAcc) merge(o *ltvAcc) {
	for k := range a.users {
		a.users[k] += o.users[k]
		a.revenue[k] += o.revenue[k]
	}
}

func (a *ltvAcc) result(group []string) LTVGroup {
	n := len(a.users) - 1
	g := LTVGroup{Group: group, Users: make([]int64, n), Revenue: make([]float64, n), PerUser: make([]float64, n)}
	var users int64
	var revenue float64
	for k := range n {
		users += a.users[k]
		revenue += a.revenue[k]
		r := finite(roundOff(revenue))
		g.Users[k], g.Revenue[k], g.PerUser[k] = users, r, finite(rate(r, float64(users)))
	}
	return g
}

// roundOff rounds a sum added up as differences to a billionth: no
// 5.55e-17 of revenue on a day without any. Sums past a billion are left
// as they are.
func roundOff(v float64) float64 {
	if math.Abs(v) >= 1e9 {
		return v
	}
	return math.Round(v*1e9) / 1e9
}
