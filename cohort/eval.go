package cohort

import (
	"context"
	"errors"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// A definition is evaluated condition by condition: the store answers
// each condition's query (touchpoint.CohortSets), and the answers combine
// here as sets of the project's users. Users merged into another count as
// that one: their events are its events, the earliest first event of them
// all is its first, and only users not merged are members.

// Evaluate returns the users who meet a definition at now, in one
// snapshot of the project.
func Evaluate(ctx context.Context, src touchpoint.CohortSource, project int64, def *touchpoint.Condition, now time.Time) (*Set, error) {
	sets, err := src.ReadCohortSets(ctx, project)
	if err != nil {
		return nil, err
	}
	defer sets.Close()
	e := &evaluator{ctx: ctx, sets: sets, now: now, merged: map[int64]int64{}}
	if err := e.readUsers(); err != nil {
		return nil, err
	}
	return e.eval(def)
}

// Preview evaluates a definition at now without storing anything: its
// size and up to sample members, lowest first. EINVALID, ENOTFOUND
// (project).
func Preview(ctx context.Context, src touchpoint.CohortSource, project int64, def touchpoint.Condition, sample int, now time.Time) (*touchpoint.CohortPreview, error) {
	probe := touchpoint.Cohort{Name: "preview", Definition: def}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	set, err := Evaluate(ctx, src, project, &def, now)
	if err != nil {
		return nil, err
	}
	p := &touchpoint.CohortPreview{Size: set.Count(), Sample: []int64{}}
	set.Each(func(id int64) bool {
		if len(p.Sample) == sample {
			return false
		}
		p.Sample = append(p.Sample, id)
		return true
	})
	return p, nil
}

// evaluator evaluates a definition over one snapshot.
type evaluator struct {
	ctx  context.Context
	sets touchpoint.CohortSets
	now  time.Time
	// users holds the project's users not merged; merged maps the others
	// to the user they were merged into.
	users  *Set
	merged map[int64]int64
}

// readUsers reads the project's users.
func (e *evaluator) readUsers() error {
	var ids []int64
	lo, hi := int64(1), int64(0)
	err := e.sets.Users(func(id, merged int64) {
		if merged != 0 {
			e.merged[id] = merged
			return
		}
		if len(ids) == 0 || id < lo {
			lo = id
		}
		hi = max(hi, id)
		ids = append(ids, id)
	})
	if err != nil {
		return err
	}
	e.users = NewSet(lo, hi)
	for _, id := range ids {
		e.users.Add(id)
	}
	return nil
}

// canonical is the user whose events a user's are.
func (e *evaluator) canonical(id int64) int64 {
	if m, ok := e.merged[id]; ok {
		return m
	}
	return id
}

// eval returns the users meeting c.
func (e *evaluator) eval(c *touchpoint.Condition) (*Set, error) {
	if err := e.ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case c.And != nil || c.Or != nil:
		list := c.And
		if c.Or != nil {
			list = c.Or
		}
		var out *Set
		for i := range list {
			s, err := e.eval(&list[i])
			if err != nil {
				return nil, err
			}
			switch {
			case out == nil:
				out = s
			case c.And != nil:
				out.And(s)
			default:
				out.Or(s)
			}
		}
		return out, nil
	case c.Not != nil:
		s, err := e.eval(c.Not)
		if err != nil {
			return nil, err
		}
		out := e.users.Clone()
		out.AndNot(s)
		return out, nil
	case c.Event != nil:
		return e.event(c.Event)
	case c.UserProperty != nil:
		return e.userProperty(c.UserProperty)
	case c.FirstSeen != nil:
		return e.firstSeen(c.FirstSeen)
	}
	return nil, errors.New("empty condition")
}

// CountOK reports whether n events meet an event condition's count.
func CountOK(c *touchpoint.EventCondition, n int64) bool {
	switch c.Op {
	case touchpoint.AtLeast:
		return n >= c.Count
	case touchpoint.AtMost:
		return n <= c.Count
	}
	return n == c.Count
}

// event evaluates an event condition: each user's matching events in the
// range, its merged users' included, against the count.
func (e *evaluator) event(c *touchpoint.EventCondition) (*Set, error) {
	start, end := c.TimeRange.Bounds(e.now)
	counts := map[int64]int64{}
	if err := e.sets.EventCounts(c, start, end, func(user, n int64) { counts[e.canonical(user)] += n }); err != nil {
		return nil, err
	}
	out, failing := e.users.emptyLike(), e.users.emptyLike()
	for user, n := range counts {
		if CountOK(c, n) {
			out.Add(user)
		} else {
			failing.Add(user)
		}
	}
	return e.withMissing(out, failing, CountOK(c, 0)), nil
}

// withMissing finishes a condition's set from the users found meeting it
// (out) and failing it: the users not found meet it too when missing does,
// and only users not merged are members.
func (e *evaluator) withMissing(out, failing *Set, missing bool) *Set {
	if missing {
		out = e.users.Clone()
		out.AndNot(failing)
	} else {
		out.And(e.users)
	}
	return out
}

// userProperty evaluates a user property condition on the users' current
// properties.
func (e *evaluator) userProperty(c *touchpoint.ValueCondition) (*Set, error) {
	out, failing := e.users.emptyLike(), e.users.emptyLike()
	err := e.sets.UserProperty(c.Property, func(user int64, v any) {
		if c.Match(v) {
			out.Add(user)
		} else {
			failing.Add(user)
		}
	})
	if err != nil {
		return nil, err
	}
	return e.withMissing(out, failing, c.Match(nil)), nil
}

// firstSeen evaluates a first-seen range: a user is first seen with the
// earliest of its own and its merged users' first events.
func (e *evaluator) firstSeen(r *touchpoint.TimeRange) (*Set, error) {
	start, end := r.Bounds(e.now)
	first := map[int64]int64{}
	err := e.sets.FirstSeen(func(user, at int64) {
		u := e.canonical(user)
		if t, ok := first[u]; !ok || at < t {
			first[u] = at
		}
	})
	if err != nil {
		return nil, err
	}
	out := e.users.emptyLike()
	for u, at := range first {
		if at >= start && at < end {
			out.Add(u)
		}
	}
	out.And(e.users)
	return out, nil
}
