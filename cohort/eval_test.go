package cohort_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

type fakeEvent struct {
	user  int64
	typ   string
	at    time.Time
	props map[string]any
}

// fakeStore answers the set queries from lists, as a store would, and
// keeps one cohort's membership.
type fakeStore struct {
	touchpoint.CohortStore                 // the methods the tests do not use
	merged                 map[int64]int64 // every user: the user it was merged into (0: none)
	first                  map[int64]time.Time
	props                  map[int64]map[string]any
	events                 []fakeEvent

	cohort    *touchpoint.Cohort
	members   []int64
	base      int64
	conflicts int // PutMembership calls to refuse
	reads     int // ReadCohortSets calls
	windows   [][2]int64
}

func (f *fakeStore) ReadCohortSets(ctx context.Context, project int64) (touchpoint.CohortSets, error) {
	if project != 1 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", project)
	}
	f.reads++
	return fakeSets{f}, nil
}

func (f *fakeStore) FindCohort(ctx context.Context, id int64) (*touchpoint.Cohort, error) {
	if f.cohort == nil || id != f.cohort.ID {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
	}
	return f.cohort, nil
}

func (f *fakeStore) CohortMembership(ctx context.Context, id int64) ([]int64, int64, error) {
	return slices.Clone(f.members), f.base, nil
}

func (f *fakeStore) PutMembership(ctx context.Context, m *touchpoint.Membership, base int64) error {
	if f.conflicts > 0 {
		f.conflicts--
		// Another computation stored first: user 4 is a member now.
		f.members, f.base = []int64{4}, f.base+1
		return touchpoint.Errorf(touchpoint.ECONFLICT, "computed meanwhile")
	}
	if base != f.base {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "stale base %d", base)
	}
	members := slices.DeleteFunc(slices.Clone(f.members), func(u int64) bool { return slices.Contains(m.Left, u) })
	f.members, f.base = slices.Sorted(slices.Values(append(members, m.Entered...))), f.base+1
	return nil
}

type fakeSets struct{ f *fakeStore }

func (s fakeSets) Users(fn func(user, mergedInto int64)) error {
	for u, m := range s.f.merged {
		fn(u, m)
	}
	return nil
}

func (s fakeSets) EventCounts(c *touchpoint.EventCondition, start, end int64, fn func(user, n int64)) error {
	s.f.windows = append(s.f.windows, [2]int64{start, end})
	counts := map[int64]int64{}
	for _, e := range s.f.events {
		ok := e.typ == c.EventType && e.at.UnixMilli() >= start && e.at.UnixMilli() < end
		for _, w := range c.Where {
			ok = ok && w.Match(e.props[w.Property])
		}
		if ok {
			counts[e.user]++
		}
	}
	for u, n := range counts {
		fn(u, n)
	}
	return nil
}

func (s fakeSets) UserProperty(name string, fn func(user int64, value any)) error {
	for u, p := range s.f.props {
		if v, ok := p[name]; ok && s.f.merged[u] == 0 {
			fn(u, v)
		}
	}
	return nil
}

func (s fakeSets) FirstSeen(fn func(user, first int64)) error {
	for u, t := range s.f.first {
		fn(u, t.UnixMilli())
	}
	return nil
}

func (s fakeSets) Close() error { return nil }

var evalNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return evalNow.AddDate(0, 0, -n) }

// newFake: users 1 to 4; 5 merged into 1, 6 into 2.
func newFake() *fakeStore {
	return &fakeStore{
		merged: map[int64]int64{1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 2},
		first:  map[int64]time.Time{1: daysAgo(5), 5: daysAgo(40), 2: daysAgo(3), 6: daysAgo(4), 3: daysAgo(50), 4: daysAgo(1)},
		props:  map[int64]map[string]any{1: {"plan": "pro"}, 2: {"plan": "free"}, 5: {"plan": "free"}},
		events: []fakeEvent{
			{1, "buy", daysAgo(1), map[string]any{"price": 50.0}},
			{5, "buy", daysAgo(2), map[string]any{"price": 1.0}},
			{2, "buy", daysAgo(10), map[string]any{"price": 20.0}},
			{3, "buy", daysAgo(1), map[string]any{"price": 10.0}},
			{6, "open", daysAgo(1), nil},
		},
	}
}

func cond(tb testing.TB, s string) touchpoint.Condition {
	tb.Helper()
	var c touchpoint.Condition
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestEvaluate checks each kind of condition and their combinations:
// merged users' events and first times count for the user they were
// merged into, who alone is a member; users with no events or no property
// meet the conditions that hold for none.
func TestEvaluate(t *testing.T) {
	for _, c := range []struct {
		name, def string
		want      []int64
	}{
		{"2+ buys in 7 days (one by a merged user)", `{"event":{"event_type":"buy","op":"at_least","count":2,"within_days":7}}`, []int64{1}},
		{"a buy in 7 days", `{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":7}}`, []int64{1, 3}},
		{"no buy in 7 days", `{"event":{"event_type":"buy","op":"at_most","count":0,"within_days":7}}`, []int64{2, 4}},
		{"exactly one buy in 30 days", `{"event":{"event_type":"buy","op":"exactly","count":1,"within_days":30}}`, []int64{2, 3}},
		{"fixed dates", `{"event":{"event_type":"buy","op":"at_least","count":1,"from":"2026-11-14","to":"2026-11-14"}}`, []int64{2}},
		{"where", `{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":30,"where":[{"property":"price","op":">","value":15}]}}`, []int64{1, 2}},
		{"opened (by a merged user)", `{"event":{"event_type":"open","op":"at_least","count":1,"within_days":7}}`, []int64{2}},
		{"not", `{"not":{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":7}}}`, []int64{2, 4}},
		{"plan = pro", `{"user_property":{"property":"plan","op":"=","value":"pro"}}`, []int64{1}},
		{"plan != pro (none set counts)", `{"user_property":{"property":"plan","op":"!=","value":"pro"}}`, []int64{2, 3, 4}},
		{"first seen in 30 days (a merged user's earlier)", `{"first_seen":{"within_days":30}}`, []int64{2, 4}},
		{"and", `{"and":[{"first_seen":{"within_days":30}},{"user_property":{"property":"plan","op":"=","value":"free"}}]}`, []int64{2}},
		{"or", `{"or":[{"user_property":{"property":"plan","op":"=","value":"pro"}},{"first_seen":{"within_days":2}}]}`, []int64{1, 4}},
	} {
		def := cond(t, c.def)
		set, err := cohort.Evaluate(context.Background(), newFake(), 1, &def, evalNow)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := set.IDs(); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestEvaluateAtNow: windows are the caller's now, as [start, end) in ms.
func TestEvaluateAtNow(t *testing.T) {
	f := newFake()
	def := cond(t, `{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":7}}`)
	later := evalNow.AddDate(0, 0, 6)
	set, err := cohort.Evaluate(context.Background(), f, 1, &def, later)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.IDs(); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("six days on: %v, want [1 3] (bought a day before)", got)
	}
	set, _ = cohort.Evaluate(context.Background(), f, 1, &def, evalNow.AddDate(0, 0, 7))
	if got := set.IDs(); len(got) != 0 {
		t.Errorf("seven days on: %v, want none", got)
	}
	if w := f.windows[0]; w != [2]int64{later.AddDate(0, 0, -7).UnixMilli(), later.UnixMilli() + 1} {
		t.Errorf("window %v, want the 7 days up to now included", w)
	}
}

// TestPreview: the size, a sample of the lowest members, and the errors.
func TestPreview(t *testing.T) {
	ctx := context.Background()
	def := cond(t, `{"event":{"event_type":"buy","op":"at_most","count":0,"within_days":7}}`)
	p, err := cohort.Preview(ctx, newFake(), 1, def, 1, evalNow)
	if err != nil || p.Size != 2 || !slices.Equal(p.Sample, []int64{2}) {
		t.Errorf("Preview = %+v, %v; want size 2, sample [2]", p, err)
	}
	if p, err := cohort.Preview(ctx, newFake(), 1, def, 0, evalNow); err != nil || p.Sample == nil || len(p.Sample) != 0 {
		t.Errorf("Preview with no sample = %+v, %v", p, err)
	}
	f := newFake()
	if _, err := cohort.Preview(ctx, f, 1, touchpoint.Condition{}, 10, evalNow); touchpoint.ErrorCode(err) != touchpoint.EINVALID || f.reads != 0 {
		t.Errorf("Preview of an empty definition: %v (%d reads), want EINVALID before reading", err, f.reads)
	}
	if _, err := cohort.Preview(ctx, f, 2, def, 10, evalNow); touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		t.Errorf("Preview of a missing project: %v, want ENOTFOUND", err)
	}
}

// TestCompute: a computation diffs against the stored membership; one
// refused because another stored first starts over from the new one.
func TestCompute(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.cohort = &touchpoint.Cohort{ID: 7, Project: 1, Version: 3,
		Definition: cond(t, `{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":7}}`)}
	f.members = []int64{2, 3}
	m, err := cohort.Compute(ctx, f, 7, evalNow.Add(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	if m.Cohort != 7 || m.Version != 3 || m.Size != 2 || !m.ComputedAt.Equal(evalNow) ||
		!slices.Equal(m.Entered, []int64{1}) || !slices.Equal(m.Left, []int64{2}) {
		t.Errorf("computed %+v, want size 2, 1 in, 2 out, at now in ms", m)
	}
	if !slices.Equal(f.members, []int64{1, 3}) {
		t.Errorf("stored %v, want [1 3]", f.members)
	}
	f.conflicts = 1
	if m, err = cohort.Compute(ctx, f, 7, evalNow); err != nil || !slices.Equal(m.Entered, []int64{1, 3}) || !slices.Equal(m.Left, []int64{4}) {
		t.Errorf("after a conflict: %+v, %v; want 1 and 3 in, 4 (stored meanwhile) out", m, err)
	}
	f.conflicts = 100
	if _, err := cohort.Compute(ctx, f, 7, evalNow); touchpoint.ErrorCode(err) != touchpoint.ECONFLICT {
		t.Errorf("always refused: %v, want ECONFLICT", err)
	}
	if _, err := cohort.Compute(ctx, f, 8, evalNow); touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		t.Errorf("a missing cohort: %v, want ENOTFOUND", err)
	}
}
