package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// cohOpt changes an event cohEvent builds: the event and its stored form.
type cohOpt func(e *touchpoint.IncomingEvent, data map[string]any)

// cohEvent builds a track event as package analytics would, at a time.
func cohEvent(userID, deviceID, eventType string, at time.Time, opts ...cohOpt) *touchpoint.IncomingEvent {
	e := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: userID, DeviceID: deviceID, EventType: eventType, Time: at.UnixMilli()}
	data := map[string]any{"device_id": deviceID, "event_type": eventType, "time": e.Time}
	if userID != "" {
		data["user_id"] = userID
	}
	for _, o := range opts {
		o(e, data)
	}
	e.Data, _ = json.Marshal(data)
	return e
}

// cohIdentify builds an identify that sets user properties.
func cohIdentify(userID, deviceID string, at time.Time, set map[string]any) *touchpoint.IncomingEvent {
	e := cohEvent(userID, deviceID, "$identify", at, cohSet(set))
	e.Kind = touchpoint.IdentifyEvent
	return e
}

// cohProps gives an event its event_properties.
func cohProps(m map[string]any) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) { data["event_properties"] = m }
}

// cohTop adds a top-level field to an event's stored form.
func cohTop(k string, v any) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) { data[k] = v }
}

// cohSet makes an event $set user properties.
func cohSet(m map[string]any) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) {
		e.UserProperties = map[string]any{touchpoint.OpSet: m}
	}
}

// cohUnset makes an event $unset user properties.
func cohUnset(names ...string) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) {
		m := map[string]any{}
		for _, n := range names {
			m[n] = "-"
		}
		e.UserProperties = map[string]any{touchpoint.OpUnset: m}
	}
}

// cohOn gives an event a platform and a country ("": none).
func cohOn(platform, country string) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) {
		e.Platform, e.Country = platform, country
		if platform != "" {
			data["platform"] = platform
		}
		if country != "" {
			data["country"] = country
		}
	}
}

// cohIDs gives an event advertising ids.
func cohIDs(ids touchpoint.AdIDs) cohOpt {
	return func(e *touchpoint.IncomingEvent, data map[string]any) {
		e.AdIDs = ids
		for k, v := range map[string]string{"idfa": ids.IDFA, "idfv": ids.IDFV, "adid": ids.ADID} {
			if v != "" {
				data[k] = v
			}
		}
	}
}

// cohRecord records events received at a time.
func cohRecord(tb testing.TB, s touchpoint.Store, p *touchpoint.Project, received time.Time, events ...*touchpoint.IncomingEvent) {
	tb.Helper()
	if err := s.RecordEvents(ctxb(), []*touchpoint.EventUpload{{Project: p.ID, Received: received, Events: events}}); err != nil {
		tb.Fatalf("RecordEvents: %v", err)
	}
}

// cohUser returns the amplitude id of a user id or, when empty, a device.
func cohUser(tb testing.TB, s touchpoint.Store, p *touchpoint.Project, userID, deviceID string) int64 {
	tb.Helper()
	u, err := s.LookupUser(ctxb(), p.ID, userID, deviceID)
	if err != nil {
		tb.Fatalf("LookupUser(%q, %q): %v", userID, deviceID, err)
	}
	return u.AmplitudeID
}

func cohDays(n int) touchpoint.TimeRange { return touchpoint.TimeRange{WithinDays: n} }

func cohDates(from, to string) touchpoint.TimeRange { return touchpoint.TimeRange{From: from, To: to} }

// cohDid is an event condition.
func cohDid(eventType, op string, n int64, r touchpoint.TimeRange, where ...touchpoint.ValueCondition) touchpoint.Condition {
	return touchpoint.Condition{Event: &touchpoint.EventCondition{EventType: eventType, Op: op, Count: n, TimeRange: r, Where: where}}
}

// cohVal is a value condition; for in, v is the []any of values.
func cohVal(name, op string, v any) touchpoint.ValueCondition {
	if op == touchpoint.OpIn {
		return touchpoint.ValueCondition{Property: name, Op: op, Values: v.([]any)}
	}
	return touchpoint.ValueCondition{Property: name, Op: op, Value: v}
}

// cohUP is a user property condition.
func cohUP(name, op string, v any) touchpoint.Condition {
	c := cohVal(name, op, v)
	return touchpoint.Condition{UserProperty: &c}
}

func cohFirstSeen(r touchpoint.TimeRange) touchpoint.Condition {
	return touchpoint.Condition{FirstSeen: &r}
}

func cohAnd(cs ...touchpoint.Condition) touchpoint.Condition { return touchpoint.Condition{And: cs} }

func cohOr(cs ...touchpoint.Condition) touchpoint.Condition { return touchpoint.Condition{Or: cs} }

func cohNot(c touchpoint.Condition) touchpoint.Condition { return touchpoint.Condition{Not: &c} }

// cohCreate creates a cohort.
func cohCreate(tb testing.TB, s touchpoint.Store, p *touchpoint.Project, name string, def touchpoint.Condition) *touchpoint.Cohort {
	tb.Helper()
	co := &touchpoint.Cohort{Project: p.ID, Name: name, Definition: def}
	if err := s.CreateCohort(ctxb(), co); err != nil {
		tb.Fatalf("CreateCohort(%s): %v", name, err)
	}
	return co
}

// cohCompute computes a cohort.
func cohCompute(tb testing.TB, s touchpoint.Store, id int64) *touchpoint.Membership {
	tb.Helper()
	m, err := cohort.Compute(ctxb(), s, id, s.Now())
	if err != nil {
		tb.Fatalf("Compute(%d): %v", id, err)
	}
	return m
}

// cohAllMembers reads a cohort's stored membership, a page of two at a
// time.
func cohAllMembers(tb testing.TB, s touchpoint.Store, id int64) []touchpoint.CohortMember {
	tb.Helper()
	var out []touchpoint.CohortMember
	var cursor int64
	for {
		page, err := s.CohortMembers(ctxb(), id, cursor, 2)
		if err != nil {
			tb.Fatalf("CohortMembers(%d): %v", id, err)
		}
		if len(page) > 2 {
			tb.Fatalf("CohortMembers(%d) returned %d members, limit 2", id, len(page))
		}
		out = append(out, page...)
		if len(page) < 2 {
			return out
		}
		cursor = page[len(page)-1].AmplitudeID
	}
}

func cohMemberIDs(ms []touchpoint.CohortMember) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.AmplitudeID)
	}
	return out
}

func cohSorted(ids []int64) []int64 {
	out := append([]int64{}, ids...)
	slices.Sort(out)
	return out
}

// cohWant checks a definition's members at the store's now: previewed,
// and computed as a new cohort.
func cohWant(t *testing.T, s touchpoint.Store, p *touchpoint.Project, label string, def touchpoint.Condition, want ...int64) {
	t.Helper()
	want = cohSorted(want)
	pr, err := cohort.Preview(ctxb(), s, p.ID, def, 1000, s.Now())
	if err != nil {
		t.Errorf("%s: Preview: %v", label, err)
		return
	}
	if pr.Size != int64(len(want)) || !slices.Equal(pr.Sample, want) {
		t.Errorf("%s: preview size %d sample %v, want %v", label, pr.Size, pr.Sample, want)
	}
	co := &touchpoint.Cohort{Project: p.ID, Name: label, Definition: def}
	if err := s.CreateCohort(ctxb(), co); err != nil {
		t.Errorf("%s: CreateCohort: %v", label, err)
		return
	}
	m, err := cohort.Compute(ctxb(), s, co.ID, s.Now())
	if err != nil {
		t.Errorf("%s: Compute: %v", label, err)
		return
	}
	if m.Size != int64(len(want)) || !slices.Equal(cohSorted(m.Entered), want) || len(m.Left) != 0 {
		t.Errorf("%s: computed size %d entered %v left %v, want %v", label, m.Size, m.Entered, m.Left, want)
	}
	if got := cohMemberIDs(cohAllMembers(t, s, co.ID)); !slices.Equal(got, want) {
		t.Errorf("%s: CohortMembers %v, want %v", label, got, want)
	}
}

func cohJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// cohDevice lists a sync diff's devices as user:id.
func cohDevices(ds []touchpoint.SyncDevice) string {
	l := []string{}
	for _, d := range ds {
		l = append(l, fmt.Sprintf("%d:%s", d.User, d.ID))
	}
	return strings.Join(l, ",")
}

func cohDev(user int64, id string) string { return fmt.Sprintf("%d:%s", user, id) }

// cohDiff returns a sync's diff.
func cohDiff(tb testing.TB, s touchpoint.Store, sync int64, mapping string) *touchpoint.SyncDiff {
	tb.Helper()
	d, err := cohort.DiffCohortSync(ctxb(), s, sync, mapping)
	if err != nil {
		tb.Fatalf("DiffCohortSync(%d, %s): %v", sync, mapping, err)
	}
	return d
}

// cohCheckDiff checks a diff's add, remove (as cohDevices lists them) and
// skipped.
func cohCheckDiff(t *testing.T, label string, d *touchpoint.SyncDiff, add, remove string, skipped int64) {
	t.Helper()
	if cohDevices(d.Add) != add || cohDevices(d.Remove) != remove || d.Skipped != skipped {
		t.Errorf("%s: diff add [%s] remove [%s] skipped %d, want add [%s] remove [%s] skipped %d",
			label, cohDevices(d.Add), cohDevices(d.Remove), d.Skipped, add, remove, skipped)
	}
}

func cohTimeIs(p *time.Time, want time.Time) bool { return p != nil && p.Equal(want) }

const (
	cohIDFA1 = "11111111-1111-4111-8111-111111111111"
	cohIDFA2 = "22222222-2222-4222-8222-222222222222"
	cohIDFA3 = "33333333-3333-4333-8333-333333333333"
	cohIDFA4 = "55555555-5555-4555-8555-555555555555"
	cohGAID1 = "44444444-4444-4444-8444-444444444444"
)

var cohortTests = []subtest{
	{"Cohort/CRUDAndVersions", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		buyers := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30))
		if err := s.CreateCohort(ctxb(), &touchpoint.Cohort{Project: 999, Name: "Buyers", Definition: buyers}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("cohort of a missing project: %v, want ENOTFOUND", err)
		}
		deep := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30))
		for range touchpoint.MaxConditionDepth {
			deep = cohNot(deep)
		}
		var many []touchpoint.Condition
		for range touchpoint.MaxConditionLeaves + 1 {
			many = append(many, buyers)
		}
		ev := func(f func(e *touchpoint.EventCondition)) touchpoint.Condition {
			e := touchpoint.EventCondition{EventType: "purchase", Op: touchpoint.AtLeast, Count: 1, TimeRange: cohDays(30)}
			f(&e)
			return touchpoint.Condition{Event: &e}
		}
		where := func(w touchpoint.ValueCondition) touchpoint.Condition {
			return cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30), w)
		}
		fs := cohDays(7)
		for name, def := range map[string]touchpoint.Condition{
			"two fields in one node": {Event: buyers.Event, FirstSeen: &fs},
			"and and or in one node": {And: []touchpoint.Condition{buyers}, Or: []touchpoint.Condition{buyers}},
			"an empty node":          {},
			"an empty and":           {And: []touchpoint.Condition{}},
			"an empty or":            {Or: []touchpoint.Condition{}},
			"an empty node in and":   cohAnd(buyers, touchpoint.Condition{}),
			"an empty node in not":   {Not: &touchpoint.Condition{}},
			"too deep":               deep,
			"too many conditions":    cohOr(many...),
			"no event type":          ev(func(e *touchpoint.EventCondition) { e.EventType = "" }),
			"a bad op":               ev(func(e *touchpoint.EventCondition) { e.Op = "more_than" }),
			"at_least 0":             ev(func(e *touchpoint.EventCondition) { e.Count = 0 }),
			"a negative count":       ev(func(e *touchpoint.EventCondition) { e.Op, e.Count = touchpoint.AtMost, -1 }),
			"within_days with from":  ev(func(e *touchpoint.EventCondition) { e.From = "2026-11-01" }),
			"within_days with to":    ev(func(e *touchpoint.EventCondition) { e.To = "2026-11-01" }),
			"within_days too long":   ev(func(e *touchpoint.EventCondition) { e.WithinDays = touchpoint.MaxWithinDays + 1 }),
			"negative within_days":   ev(func(e *touchpoint.EventCondition) { e.WithinDays = -1 }),
			"no time range":          ev(func(e *touchpoint.EventCondition) { e.TimeRange = touchpoint.TimeRange{} }),
			"from without to":        ev(func(e *touchpoint.EventCondition) { e.TimeRange = cohDates("2026-11-01", "") }),
			"to before from":         ev(func(e *touchpoint.EventCondition) { e.TimeRange = cohDates("2026-11-02", "2026-11-01") }),
			"a bad date":             ev(func(e *touchpoint.EventCondition) { e.TimeRange = cohDates("2026-11-01", "2026/11/02") }),
			"where without property": where(cohVal("", touchpoint.OpEq, "x")),
			"where with a bad op":    where(cohVal("item", "like", "x")),
			"= without a value":      where(touchpoint.ValueCondition{Property: "item", Op: touchpoint.OpEq}),
			"= with an object":       where(cohVal("item", touchpoint.OpEq, map[string]any{"a": "b"})),
			"in without values":      where(touchpoint.ValueCondition{Property: "item", Op: touchpoint.OpIn}),
			"in with an object":      where(cohVal("item", touchpoint.OpIn, []any{"a", map[string]any{}})),
			"> with a string":        where(cohVal("price", touchpoint.OpGt, "ten")),
			"< without a value":      where(touchpoint.ValueCondition{Property: "price", Op: touchpoint.OpLt}),
			"a quote in a property":  cohUP(`say "hi"`, touchpoint.OpEq, "x"),
			"a user property bad op": cohUP("plan", "is", "x"),
			"> on a user property":   cohUP("level", touchpoint.OpGt, "high"),
			"first_seen both ranges": cohFirstSeen(touchpoint.TimeRange{WithinDays: 3, From: "2026-11-01", To: "2026-11-02"}),
			"first_seen no range":    cohFirstSeen(touchpoint.TimeRange{}),
			"first_seen to < from":   cohFirstSeen(cohDates("2026-11-02", "2026-11-01")),
		} {
			if err := s.CreateCohort(ctxb(), &touchpoint.Cohort{Project: p.ID, Name: "Bad", Definition: def}); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateCohort with %s: %v, want EINVALID", name, err)
			}
			if _, err := cohort.Preview(ctxb(), s, p.ID, def, 10, s.Now()); code(err) != touchpoint.EINVALID {
				t.Errorf("Preview with %s: %v, want EINVALID", name, err)
			}
		}
		for name, co := range map[string]touchpoint.Cohort{
			"no name":            {Project: p.ID, Name: "  ", Definition: buyers},
			"a long name":        {Project: p.ID, Name: strings.Repeat("n", 201), Definition: buyers},
			"a long description": {Project: p.ID, Name: "Buyers", Description: strings.Repeat("d", 2001), Definition: buyers},
			"no definition":      {Project: 999, Name: "Buyers"},
		} {
			if err := s.CreateCohort(ctxb(), &co); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateCohort with %s: %v, want EINVALID", name, err)
			}
		}
		if _, err := cohort.Preview(ctxb(), s, 999, buyers, 10, s.Now()); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("Preview of a missing project: %v, want ENOTFOUND", err)
		}
		if l, err := s.ListCohorts(ctxb(), p.ID); err != nil || len(l) != 0 {
			t.Fatalf("refused cohorts were stored: %v, %v", l, err)
		}

		// Create and find.
		a := &touchpoint.Cohort{Project: p.ID, Name: "  Buyers ", Description: "bought lately", Definition: buyers}
		if err := s.CreateCohort(ctxb(), a); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Name != "Buyers" || a.Version != 1 || !a.CreatedAt.Equal(Start) || !a.UpdatedAt.Equal(Start) || a.Size != 0 || a.ComputedAt != nil {
			t.Fatalf("created %+v", a)
		}
		got, err := s.FindCohort(ctxb(), a.ID)
		if err != nil || got.ID != a.ID || got.Project != p.ID || got.Name != "Buyers" || got.Description != "bought lately" || got.Version != 1 ||
			cohJSON(got.Definition) != cohJSON(buyers) || !got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start) || got.Size != 0 || got.ComputedAt != nil {
			t.Fatalf("FindCohort = %+v, %v", got, err)
		}
		nested := cohAnd(cohUP("[AppsFlyer] media source", touchpoint.OpEq, "examplenet_int"),
			cohNot(cohDid("tutorial_complete", touchpoint.AtLeast, 1, cohDates("2026-11-01", "2026-11-30"),
				cohVal("step", touchpoint.OpIn, []any{"a", 2.0, true}))),
			cohFirstSeen(cohDays(7)))
		b := cohCreate(t, s, p, "Examplenet, no tutorial", nested)
		if got, err := s.FindCohort(ctxb(), b.ID); err != nil || cohJSON(got.Definition) != cohJSON(nested) {
			t.Fatalf("nested definition came back as %s (%v), want %s", cohJSON(got.Definition), err, cohJSON(nested))
		}
		o := cohCreate(t, s, other, "Other's", buyers)
		if l, err := s.ListCohorts(ctxb(), p.ID); err != nil || len(l) != 2 || l[0].ID != a.ID || l[1].ID != b.ID || l[0].Name != "Buyers" {
			t.Fatalf("ListCohorts = %+v, %v", l, err)
		}
		if l, err := s.ListCohorts(ctxb(), other.ID); err != nil || len(l) != 1 || l[0].ID != o.ID {
			t.Fatalf("ListCohorts(other) = %+v, %v", l, err)
		}
		if l, err := s.ListCohorts(ctxb(), 999); err != nil || len(l) != 0 {
			t.Fatalf("ListCohorts(missing) = %+v, %v", l, err)
		}
		if _, err := s.FindCohort(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindCohort(999): %v", err)
		}

		// Updates: the description alone is no new version.
		c.Add(time.Hour)
		t1 := Start.Add(time.Hour)
		up, err := s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Description: ptr("buyers of the month")})
		if err != nil || up.Version != 1 || up.Description != "buyers of the month" || up.Name != "Buyers" || !up.UpdatedAt.Equal(t1) || !up.CreatedAt.Equal(Start) {
			t.Fatalf("description update = %+v, %v", up, err)
		}
		// The same definition again is no new version either.
		if up, err := s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Definition: &buyers, Name: ptr("Buyers")}); err != nil || up.Version != 1 {
			t.Fatalf("unchanged update = %+v, %v", up, err)
		}
		c.Add(time.Hour)
		t2 := Start.Add(2 * time.Hour)
		big := cohDid("purchase", touchpoint.AtLeast, 3, cohDays(30))
		up, err = s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Definition: &big})
		if err != nil || up.Version != 2 || cohJSON(up.Definition) != cohJSON(big) || !up.UpdatedAt.Equal(t2) || up.Description != "buyers of the month" {
			t.Fatalf("definition update = %+v, %v", up, err)
		}
		c.Add(time.Hour)
		t3 := Start.Add(3 * time.Hour)
		up, err = s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Name: ptr("Big buyers ")})
		if err != nil || up.Version != 3 || up.Name != "Big buyers" || cohJSON(up.Definition) != cohJSON(big) {
			t.Fatalf("name update = %+v, %v", up, err)
		}
		// Refused updates change nothing.
		bad := touchpoint.Condition{}
		if _, err := s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Definition: &bad}); code(err) != touchpoint.EINVALID {
			t.Errorf("empty definition update: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Name: ptr("")}); code(err) != touchpoint.EINVALID {
			t.Errorf("nameless update: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohort(ctxb(), 999, touchpoint.CohortUpdate{Name: ptr("x")}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UpdateCohort(999): %v, want ENOTFOUND", err)
		}
		got, err = s.FindCohort(ctxb(), a.ID)
		if err != nil || got.Version != 3 || got.Name != "Big buyers" || got.Description != "buyers of the month" ||
			cohJSON(got.Definition) != cohJSON(big) || !got.UpdatedAt.Equal(t3) || !got.CreatedAt.Equal(Start) {
			t.Fatalf("after updates %+v, %v", got, err)
		}
		vs, err := s.CohortVersions(ctxb(), a.ID)
		if err != nil || len(vs) != 3 {
			t.Fatalf("CohortVersions = %v, %v", vs, err)
		}
		for i, want := range []struct {
			name string
			def  touchpoint.Condition
			at   time.Time
		}{{"Buyers", buyers, Start}, {"Buyers", big, t2}, {"Big buyers", big, t3}} {
			v := vs[i]
			if v.Version != i+1 || v.Name != want.name || cohJSON(v.Definition) != cohJSON(want.def) || !v.CreatedAt.Equal(want.at) {
				t.Errorf("version %d: %+v, want %s %s at %s", i+1, v, want.name, cohJSON(want.def), want.at)
			}
		}
		if vs, err := s.CohortVersions(ctxb(), b.ID); err != nil || len(vs) != 1 || cohJSON(vs[0].Definition) != cohJSON(nested) {
			t.Errorf("versions of b: %v, %v", vs, err)
		}
		if _, err := s.CohortVersions(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortVersions(999): %v, want ENOTFOUND", err)
		}

		// Delete.
		cohCompute(t, s, a.ID)
		if err := s.DeleteCohort(ctxb(), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCohort(ctxb(), a.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindCohort after delete: %v", err)
		}
		if err := s.DeleteCohort(ctxb(), a.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("DeleteCohort twice: %v", err)
		}
		if _, err := s.CohortVersions(ctxb(), a.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortVersions after delete: %v", err)
		}
		if _, err := cohort.Compute(ctxb(), s, a.ID, s.Now()); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("Compute after delete: %v", err)
		}
		if _, err := s.CohortMembers(ctxb(), a.ID, 0, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembers after delete: %v", err)
		}
		if _, err := s.UpdateCohort(ctxb(), a.ID, touchpoint.CohortUpdate{Name: ptr("x")}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UpdateCohort after delete: %v", err)
		}
		if l, err := s.ListCohorts(ctxb(), p.ID); err != nil || len(l) != 1 || l[0].ID != b.ID {
			t.Errorf("ListCohorts after delete = %+v, %v", l, err)
		}
		if got, err := s.FindCohort(ctxb(), b.ID); err != nil || got.Name != "Examplenet, no tutorial" {
			t.Errorf("the other cohort after delete: %+v, %v", got, err)
		}
	}},
	{"Cohort/EventCounts", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		day := func(d int) time.Time { return Start.AddDate(0, 0, d) }
		evs := []*touchpoint.IncomingEvent{
			cohIdentify("", "none", day(-3), map[string]any{"plan": "free"}), // a user without events
			cohEvent("", "opener", "open", day(-3)),
			cohEvent("", "opener", "open", day(-2)),
		}
		for n, device := range []string{"one", "two", "three"} {
			for i := range n + 1 {
				evs = append(evs, cohEvent("", device, "purchase", day(-1-i)), cohEvent("", device, "open", day(-1-i)))
			}
		}
		cohRecord(t, s, p, Start, evs...)
		none, opener := cohUser(t, s, p, "", "none"), cohUser(t, s, p, "", "opener")
		one, two, three := cohUser(t, s, p, "", "one"), cohUser(t, s, p, "", "two"), cohUser(t, s, p, "", "three")
		// Another project's users count for it alone.
		q := MustCreateProject(t, s, "Other")
		cohRecord(t, s, q, Start, cohEvent("", "one", "purchase", day(-1)), cohEvent("", "one", "purchase", day(-1)),
			cohEvent("", "q-opener", "open", day(-1)))
		qOne, qOpener := cohUser(t, s, q, "", "one"), cohUser(t, s, q, "", "q-opener")

		month := cohDays(30)
		cohWant(t, s, p, "at_least 1", cohDid("purchase", touchpoint.AtLeast, 1, month), one, two, three)
		cohWant(t, s, p, "at_least 2", cohDid("purchase", touchpoint.AtLeast, 2, month), two, three)
		cohWant(t, s, p, "at_least 4", cohDid("purchase", touchpoint.AtLeast, 4, month))
		cohWant(t, s, p, "at_most 1", cohDid("purchase", touchpoint.AtMost, 1, month), none, opener, one)
		cohWant(t, s, p, "at_most 0", cohDid("purchase", touchpoint.AtMost, 0, month), none, opener)
		cohWant(t, s, p, "at_most 3", cohDid("purchase", touchpoint.AtMost, 3, month), none, opener, one, two, three)
		cohWant(t, s, p, "exactly 0", cohDid("purchase", touchpoint.Exactly, 0, month), none, opener)
		cohWant(t, s, p, "exactly 2", cohDid("purchase", touchpoint.Exactly, 2, month), two)
		cohWant(t, s, p, "exactly 3", cohDid("purchase", touchpoint.Exactly, 3, month), three)
		cohWant(t, s, p, "opens exactly 2", cohDid("open", touchpoint.Exactly, 2, month), opener, two)
		// An event type never seen.
		cohWant(t, s, p, "never at_least 1", cohDid("never", touchpoint.AtLeast, 1, month))
		cohWant(t, s, p, "never exactly 0", cohDid("never", touchpoint.Exactly, 0, month), none, opener, one, two, three)
		cohWant(t, s, p, "never at_most 2", cohDid("never", touchpoint.AtMost, 2, month), none, opener, one, two, three)
		// Event types are names within a project: the other project's.
		cohWant(t, s, q, "other at_least 2", cohDid("purchase", touchpoint.AtLeast, 2, month), qOne)
		cohWant(t, s, q, "other at_most 1", cohDid("purchase", touchpoint.AtMost, 1, month), qOpener)
		// A narrower window counts fewer: purchases 1, 2 and 3 days ago.
		cohWant(t, s, p, "2 days at_least 2", cohDid("purchase", touchpoint.AtLeast, 2, cohDays(2)), two, three)
		cohWant(t, s, p, "2 days exactly 1", cohDid("purchase", touchpoint.Exactly, 1, cohDays(2)), one)
		cohWant(t, s, p, "2 days at_most 1", cohDid("purchase", touchpoint.AtMost, 1, cohDays(2)), none, opener, one)

		// A preview's sample is the lowest members, its size all of them.
		pr, err := cohort.Preview(ctxb(), s, p.ID, cohDid("purchase", touchpoint.AtMost, 3, month), 2, s.Now())
		if want := cohSorted([]int64{none, opener, one, two, three})[:2]; err != nil || pr.Size != 5 || !slices.Equal(pr.Sample, want) {
			t.Errorf("preview with a sample of 2: %+v, %v; want size 5, sample %v", pr, err, want)
		}
		if pr, err := cohort.Preview(ctxb(), s, p.ID, cohDid("never", touchpoint.AtLeast, 1, month), 10, s.Now()); err != nil || pr.Size != 0 || pr.Sample == nil {
			t.Errorf("empty preview: %+v, %v; want size 0, sample []", pr, err)
		}
	}},
	{"Cohort/WithinDays", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		week := 7 * 24 * time.Hour
		cohRecord(t, s, p, Start,
			cohEvent("", "old", "purchase", Start.Add(-week-time.Minute)),
			cohEvent("", "edge", "purchase", Start.Add(-week+time.Minute)),
			cohEvent("", "new", "purchase", Start.Add(-time.Hour)),
			cohEvent("", "future", "purchase", Start.Add(time.Hour)), // a clock ahead of ours
			cohEvent("", "other", "open", Start.Add(-time.Hour)))
		old, edge, recent := cohUser(t, s, p, "", "old"), cohUser(t, s, p, "", "edge"), cohUser(t, s, p, "", "new")
		future, other := cohUser(t, s, p, "", "future"), cohUser(t, s, p, "", "other")
		did := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(7))
		didNot := cohDid("purchase", touchpoint.Exactly, 0, cohDays(7))
		cohWant(t, s, p, "7 days at Start", did, edge, recent)
		cohWant(t, s, p, "none in 7 days at Start", didNot, old, future, other)
		cohWant(t, s, p, "8 days at Start", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(8)), old, edge, recent)
		// Two minutes on, the edge's purchase is older than the window.
		c.Add(2 * time.Minute)
		cohWant(t, s, p, "7 days at +2m", did, recent)
		cohWant(t, s, p, "none in 7 days at +2m", didNot, old, edge, future, other)
		// An hour on, the event from the future is in the window.
		c.Add(time.Hour)
		cohWant(t, s, p, "7 days at +1h2m", did, recent, future)
		// A week on, only it is.
		c.Add(week - time.Hour)
		cohWant(t, s, p, "7 days at +7d2m", did, future)
		cohWant(t, s, p, "none in 7 days at +7d2m", didNot, old, edge, recent, other)
		c.Add(2 * time.Hour)
		cohWant(t, s, p, "7 days at +7d2h2m", did)
	}},
	{"Cohort/DateRange", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		at := func(v string) time.Time {
			t, err := time.Parse("2006-01-02T15:04:05.000", v)
			if err != nil {
				panic(err)
			}
			return t
		}
		cohRecord(t, s, p, Start,
			cohEvent("", "before", "purchase", at("2026-11-19T23:59:59.999")),
			cohEvent("", "first", "purchase", at("2026-11-20T00:00:00.000")),
			cohEvent("", "last", "purchase", at("2026-11-21T23:59:59.999")),
			cohEvent("", "last", "purchase", at("2026-11-21T10:00:00.000")),
			cohEvent("", "after", "purchase", at("2026-11-22T00:00:00.000")))
		before, first, last, after := cohUser(t, s, p, "", "before"), cohUser(t, s, p, "", "first"), cohUser(t, s, p, "", "last"), cohUser(t, s, p, "", "after")
		r := cohDates("2026-11-20", "2026-11-21")
		cohWant(t, s, p, "20 to 21", cohDid("purchase", touchpoint.AtLeast, 1, r), first, last)
		cohWant(t, s, p, "20 to 21 twice", cohDid("purchase", touchpoint.AtLeast, 2, r), last)
		cohWant(t, s, p, "not 20 to 21", cohDid("purchase", touchpoint.Exactly, 0, r), before, after)
		cohWant(t, s, p, "22 alone", cohDid("purchase", touchpoint.AtLeast, 1, cohDates("2026-11-22", "2026-11-22")), after)
		cohWant(t, s, p, "19 alone", cohDid("purchase", touchpoint.AtLeast, 1, cohDates("2026-11-19", "2026-11-19")), before)
		cohWant(t, s, p, "21 to 22", cohDid("purchase", touchpoint.AtLeast, 1, cohDates("2026-11-21", "2026-11-22")), last, after)
		// Dates do not move with the clock.
		c.Add(90 * 24 * time.Hour)
		cohWant(t, s, p, "20 to 21 later", cohDid("purchase", touchpoint.AtLeast, 1, r), first, last)
		cohWant(t, s, p, "30 days later", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
	}},
	{"Cohort/EventWhere", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		at := Start.Add(-time.Hour)
		cohRecord(t, s, p, Start,
			cohEvent("", "a", "purchase", at, cohProps(map[string]any{"item": "Gold Pack", "price": 12.5, "tags": []any{"sale", "new"}, "first": true}),
				cohTop("revenue", 12.5), cohOn("iOS", "US")),
			cohEvent("", "a", "purchase", at, cohProps(map[string]any{"item": "Gold Pack", "price": 1})),
			cohEvent("", "b", "purchase", at, cohProps(map[string]any{"item": "silver pack", "price": 3, "tags": []any{"old"}}), cohTop("revenue", 3)),
			cohEvent("", "c", "purchase", at, cohProps(map[string]any{"item": "Bronze", "price": "7", "platform": "web"}), cohOn("iOS", "")),
			cohEvent("", "d", "purchase", at, cohTop("revenue", 100), cohTop("productId", "com.example.coins")),
			cohEvent("", "e", "open", at, cohProps(map[string]any{"item": "Gold Pack", "price": 50})))
		a, b, cc, d, e := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b"), cohUser(t, s, p, "", "c"), cohUser(t, s, p, "", "d"), cohUser(t, s, p, "", "e")
		bought := func(where ...touchpoint.ValueCondition) touchpoint.Condition {
			return cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30), where...)
		}
		v := cohVal
		cohWant(t, s, p, "item = Gold Pack", bought(v("item", touchpoint.OpEq, "Gold Pack")), a)
		cohWant(t, s, p, "item = gold pack", bought(v("item", touchpoint.OpEq, "gold pack")))
		cohWant(t, s, p, "item != Gold Pack", bought(v("item", touchpoint.OpNe, "Gold Pack")), b, cc, d)
		cohWant(t, s, p, "item contains PACK", bought(v("item", touchpoint.OpContains, "PACK")), a, b)
		cohWant(t, s, p, "item in", bought(v("item", touchpoint.OpIn, []any{"Bronze", "silver pack", "Gold"})), b, cc)
		cohWant(t, s, p, "price > 5", bought(v("price", touchpoint.OpGt, 5.0)), a, cc)
		cohWant(t, s, p, "price < 5", bought(v("price", touchpoint.OpLt, 5.0)), a, b)
		cohWant(t, s, p, "price > 12.5", bought(v("price", touchpoint.OpGt, 12.5)))
		cohWant(t, s, p, "price = 3", bought(v("price", touchpoint.OpEq, 3.0)), b)
		cohWant(t, s, p, "price = \"3\"", bought(v("price", touchpoint.OpEq, "3")), b)
		cohWant(t, s, p, "price in", bought(v("price", touchpoint.OpIn, []any{"12.5", 7.0})), a, cc)
		cohWant(t, s, p, "first = true", bought(v("first", touchpoint.OpEq, true)), a)
		// Top-level fields.
		cohWant(t, s, p, "revenue > 50", bought(v("revenue", touchpoint.OpGt, 50.0)), d)
		cohWant(t, s, p, "revenue = 12.5", bought(v("revenue", touchpoint.OpEq, 12.5)), a)
		cohWant(t, s, p, "revenue < 50", bought(v("revenue", touchpoint.OpLt, 50.0)), a, b)
		cohWant(t, s, p, "productId contains coins", bought(v("productId", touchpoint.OpContains, "Coins")), d)
		// An event property goes before the top-level field of its name.
		cohWant(t, s, p, "platform = iOS", bought(v("platform", touchpoint.OpEq, "iOS")), a)
		cohWant(t, s, p, "platform = web", bought(v("platform", touchpoint.OpEq, "web")), cc)
		// A missing property: only != holds.
		cohWant(t, s, p, "coupon = x", bought(v("coupon", touchpoint.OpEq, "x")))
		cohWant(t, s, p, "coupon contains empty", bought(v("coupon", touchpoint.OpContains, "")))
		cohWant(t, s, p, "coupon in", bought(v("coupon", touchpoint.OpIn, []any{"x", ""})))
		cohWant(t, s, p, "coupon > -1", bought(v("coupon", touchpoint.OpGt, -1.0)))
		cohWant(t, s, p, "coupon < 1", bought(v("coupon", touchpoint.OpLt, 1.0)))
		cohWant(t, s, p, "coupon != x", bought(v("coupon", touchpoint.OpNe, "x")), a, b, cc, d)
		// A list: =, in and contains hold when an item does, != when none is equal.
		cohWant(t, s, p, "tags = sale", bought(v("tags", touchpoint.OpEq, "sale")), a)
		cohWant(t, s, p, "tags = new", bought(v("tags", touchpoint.OpEq, "new")), a)
		cohWant(t, s, p, "tags contains OL", bought(v("tags", touchpoint.OpContains, "OL")), b)
		cohWant(t, s, p, "tags in", bought(v("tags", touchpoint.OpIn, []any{"new", "x"})), a)
		cohWant(t, s, p, "tags != sale", bought(v("tags", touchpoint.OpNe, "sale")), a, b, cc, d) // a's second purchase has no tags
		cohWant(t, s, p, "tags != old", bought(v("tags", touchpoint.OpNe, "old")), a, cc, d)
		// Every condition holds for an event counted, and counts count
		// those events.
		cohWant(t, s, p, "pack and > 5", bought(v("item", touchpoint.OpContains, "pack"), v("price", touchpoint.OpGt, 5.0)), a)
		cohWant(t, s, p, "pack and < 5", bought(v("item", touchpoint.OpContains, "pack"), v("price", touchpoint.OpLt, 5.0)), a, b)
		cohWant(t, s, p, "pack and revenue > 10", bought(v("item", touchpoint.OpContains, "pack"), v("revenue", touchpoint.OpGt, 10.0)), a)
		cohWant(t, s, p, "revenue and price", bought(v("revenue", touchpoint.OpLt, 50.0), v("price", touchpoint.OpGt, 10.0)), a)
		cohWant(t, s, p, "Gold Pack twice", cohDid("purchase", touchpoint.AtLeast, 2, cohDays(30), v("item", touchpoint.OpEq, "Gold Pack")), a)
		cohWant(t, s, p, "sale tags twice", cohDid("purchase", touchpoint.AtLeast, 2, cohDays(30), v("tags", touchpoint.OpEq, "sale")))
		cohWant(t, s, p, "Gold Pack > 5 exactly 1", cohDid("purchase", touchpoint.Exactly, 1, cohDays(30),
			v("item", touchpoint.OpEq, "Gold Pack"), v("price", touchpoint.OpGt, 5.0)), a)
		cohWant(t, s, p, "no Gold Pack", cohDid("purchase", touchpoint.AtMost, 0, cohDays(30), v("item", touchpoint.OpEq, "Gold Pack")), b, cc, d, e)
		cohWant(t, s, p, "at most 1 pack", cohDid("purchase", touchpoint.AtMost, 1, cohDays(30), v("item", touchpoint.OpContains, "pack")), b, cc, d, e)
		// Another event type's properties do not count.
		cohWant(t, s, p, "open price > 20", cohDid("open", touchpoint.AtLeast, 1, cohDays(30), v("price", touchpoint.OpGt, 20.0)), e)
		// The window applies with conditions too.
		c.Add(31 * 24 * time.Hour)
		cohWant(t, s, p, "item = Gold Pack a month on", bought(v("item", touchpoint.OpEq, "Gold Pack")))
	}},
	{"Cohort/PreviewSample", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// A preview holds up to sample members: none for 0.
		p := MustCreateProject(t, s, "Game")
		cohRecord(t, s, p, Start, cohEvent("", "a", "open", Start), cohEvent("", "b", "open", Start), cohEvent("", "c", "open", Start))
		a, b := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b")
		opened := cohDid("open", touchpoint.AtLeast, 1, cohDays(1))
		for n, want := range map[int][]int64{0: {}, 1: {a}, 2: {a, b}} {
			pr, err := cohort.Preview(ctxb(), s, p.ID, opened, n, s.Now())
			if err != nil || pr.Size != 3 || !slices.Equal(pr.Sample, want) {
				t.Errorf("Preview(sample %d) = %+v, %v; want size 3, sample %v", n, pr, err, want)
			}
		}
	}},
	{"Cohort/EventWhereSameProperty", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// Every where condition holds for an event counted, two on one
		// property too (a range).
		p := MustCreateProject(t, s, "Game")
		at := Start.Add(-time.Hour)
		cohRecord(t, s, p, Start,
			cohEvent("", "a", "purchase", at, cohProps(map[string]any{"item": "Gold Pack", "price": 12.5}), cohTop("revenue", 12.5)),
			cohEvent("", "b", "purchase", at, cohProps(map[string]any{"item": "silver pack", "price": 3}), cohTop("revenue", 3)),
			cohEvent("", "c", "purchase", at, cohProps(map[string]any{"item": "Bronze", "price": "7"}), cohTop("revenue", 7)))
		a, b, cc := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b"), cohUser(t, s, p, "", "c")
		bought := func(where ...touchpoint.ValueCondition) touchpoint.Condition {
			return cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30), where...)
		}
		v := cohVal
		cohWant(t, s, p, "2 < price < 10", bought(v("price", touchpoint.OpGt, 2.0), v("price", touchpoint.OpLt, 10.0)), b, cc)
		cohWant(t, s, p, "item neither", bought(v("item", touchpoint.OpNe, "Gold Pack"), v("item", touchpoint.OpNe, "Bronze")), b)
		cohWant(t, s, p, "item pack, not silver", bought(v("item", touchpoint.OpContains, "pack"), v("item", touchpoint.OpNe, "silver pack")), a)
		cohWant(t, s, p, "5 < revenue < 10", bought(v("revenue", touchpoint.OpGt, 5.0), v("revenue", touchpoint.OpLt, 10.0)), cc)
	}},
	{"Cohort/EventWhereBlocks", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// Events recorded apart, among other projects' events.
		p := MustCreateProject(t, s, "Game")
		q := MustCreateProject(t, s, "Other")
		at := Start.Add(-time.Hour)
		item := func(v string) cohOpt { return cohProps(map[string]any{"item": v}) }
		cohRecord(t, s, p, Start, cohEvent("", "f", "purchase", at, item("x")))
		cohRecord(t, s, q, Start, cohEvent("", "q1", "purchase", at, item("x")), cohEvent("", "q2", "purchase", at, item("x")),
			cohEvent("", "q1", "purchase", at, item("x")))
		cohRecord(t, s, p, Start, cohEvent("", "g", "open", at, item("x")), cohEvent("", "h", "purchase", at, item("y")))
		cohRecord(t, s, p, Start, cohEvent("", "i", "open", at), cohEvent("", "f", "purchase", at, item("y")), cohEvent("", "i", "open", at),
			cohEvent("", "g", "purchase", at, item("x")), cohEvent("", "i", "open", at), cohEvent("", "h", "purchase", at, item("x")))
		cohRecord(t, s, p, Start, cohEvent("", "i", "open", at, item("x")))
		cohRecord(t, s, q, Start, cohEvent("", "q2", "purchase", at, item("y")))
		// One commit of both projects' events.
		if err := s.RecordEvents(ctxb(), []*touchpoint.EventUpload{
			{Project: q.ID, Received: Start, Events: []*touchpoint.IncomingEvent{cohEvent("", "q2", "purchase", at, item("x"))}},
			{Project: p.ID, Received: Start, Events: []*touchpoint.IncomingEvent{cohEvent("", "f", "purchase", at, item("x"))}},
			{Project: q.ID, Received: Start, Events: []*touchpoint.IncomingEvent{cohEvent("", "q2", "open", at, item("x"))}},
		}); err != nil {
			t.Fatal(err)
		}
		f, g, h, i := cohUser(t, s, p, "", "f"), cohUser(t, s, p, "", "g"), cohUser(t, s, p, "", "h"), cohUser(t, s, p, "", "i")
		q1, q2 := cohUser(t, s, q, "", "q1"), cohUser(t, s, q, "", "q2")
		x, y := cohVal("item", touchpoint.OpEq, "x"), cohVal("item", touchpoint.OpEq, "y")
		month := cohDays(30)
		cohWant(t, s, p, "x twice", cohDid("purchase", touchpoint.AtLeast, 2, month, x), f)
		cohWant(t, s, p, "x once", cohDid("purchase", touchpoint.Exactly, 1, month, x), g, h)
		cohWant(t, s, p, "no x", cohDid("purchase", touchpoint.Exactly, 0, month, x), i)
		cohWant(t, s, p, "y", cohDid("purchase", touchpoint.AtLeast, 1, month, y), f, h)
		cohWant(t, s, p, "opened x", cohDid("open", touchpoint.AtLeast, 1, month, x), g, i)
		cohWant(t, s, q, "other x twice", cohDid("purchase", touchpoint.AtLeast, 2, month, x), q1, q2)
		cohWant(t, s, q, "other x exactly 2", cohDid("purchase", touchpoint.Exactly, 2, month, x), q1, q2)
		cohWant(t, s, q, "other y", cohDid("purchase", touchpoint.AtLeast, 1, month, y), q2)
		cohWant(t, s, q, "other opened x", cohDid("open", touchpoint.AtLeast, 1, month, x), q2)
	}},
	{"Cohort/UserProperties", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		const ms = "[AppsFlyer] media source"
		// First seen is the earliest event's time: a's events are from 10
		// days ago, b's from 3.
		cohRecord(t, s, p, Start.AddDate(0, 0, -10),
			cohIdentify("", "a", Start.AddDate(0, 0, -10), map[string]any{ms: "examplenet_int", "level": json.Number("12"), "plan": "gold", "ad.network": "x"}),
			cohEvent("", "a", "open", Start.AddDate(0, 0, -10), cohOn("iOS", "US")))
		cohRecord(t, s, p, Start.AddDate(0, 0, -3),
			cohEvent("", "b", "open", Start.AddDate(0, 0, -3), cohSet(map[string]any{ms: "othernet_int", "level": json.Number("3"), "plan": "silver"}), cohOn("Android", "DE")))
		cohRecord(t, s, p, Start,
			cohIdentify("", "c", Start, map[string]any{"level": "25"}),
			cohEvent("", "d", "open", Start, cohOn("iOS", "FR")),
			cohEvent("", "d", "open", Start, cohOn("Android", "")),
			cohEvent("", "e", "open", Start, cohSet(map[string]any{"interests": []any{"games", "music"}})))
		a, b, cc, d, e := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b"), cohUser(t, s, p, "", "c"), cohUser(t, s, p, "", "d"), cohUser(t, s, p, "", "e")
		up := cohUP
		cohWant(t, s, p, "media source = examplenet_int", up(ms, touchpoint.OpEq, "examplenet_int"), a)
		cohWant(t, s, p, "media source = Examplenet_int", up(ms, touchpoint.OpEq, "Examplenet_int"))
		cohWant(t, s, p, "media source contains NET", up(ms, touchpoint.OpContains, "NET"), a, b)
		cohWant(t, s, p, "media source != examplenet_int", up(ms, touchpoint.OpNe, "examplenet_int"), b, cc, d, e)
		cohWant(t, s, p, "media source in", up(ms, touchpoint.OpIn, []any{"othernet_int", "x"}), b)
		cohWant(t, s, p, "ad.network = x", up("ad.network", touchpoint.OpEq, "x"), a)
		cohWant(t, s, p, "level > 10", up("level", touchpoint.OpGt, 10.0), a, cc)
		cohWant(t, s, p, "level < 10", up("level", touchpoint.OpLt, 10.0), b)
		cohWant(t, s, p, "level = 12", up("level", touchpoint.OpEq, 12.0), a)
		cohWant(t, s, p, "level in", up("level", touchpoint.OpIn, []any{"3", 25.0}), b, cc)
		cohWant(t, s, p, "plan = gold", up("plan", touchpoint.OpEq, "gold"), a)
		cohWant(t, s, p, "interests = music", up("interests", touchpoint.OpEq, "music"), e)
		cohWant(t, s, p, "interests != music", up("interests", touchpoint.OpNe, "music"), a, b, cc, d)
		cohWant(t, s, p, "missing = x", up("missing", touchpoint.OpEq, "x"))
		cohWant(t, s, p, "missing != x", up("missing", touchpoint.OpNe, "x"), a, b, cc, d, e)
		// Platform and country: of the latest event that had them.
		cohWant(t, s, p, "platform = iOS", up("platform", touchpoint.OpEq, "iOS"), a)
		cohWant(t, s, p, "platform = Android", up("platform", touchpoint.OpEq, "Android"), b, d)
		cohWant(t, s, p, "platform contains os", up("platform", touchpoint.OpContains, "os"), a)
		cohWant(t, s, p, "platform != iOS", up("platform", touchpoint.OpNe, "iOS"), b, cc, d, e)
		cohWant(t, s, p, "country = FR", up("country", touchpoint.OpEq, "FR"), d)
		cohWant(t, s, p, "country in", up("country", touchpoint.OpIn, []any{"US", "DE"}), a, b)
		cohWant(t, s, p, "country != US", up("country", touchpoint.OpNe, "US"), b, cc, d, e)
		// Conditions are on current properties.
		cohRecord(t, s, p, Start,
			cohEvent("", "a", "open", Start, cohUnset("plan"), cohOn("", "GB")),
			cohIdentify("", "b", Start, map[string]any{"level": json.Number("30")}),
			cohEvent("", "d", "open", Start, cohOn("iOS", "")))
		cohWant(t, s, p, "plan = gold after unset", up("plan", touchpoint.OpEq, "gold"))
		cohWant(t, s, p, "plan != gold after unset", up("plan", touchpoint.OpNe, "gold"), a, b, cc, d, e)
		cohWant(t, s, p, "level > 10 after set", up("level", touchpoint.OpGt, 10.0), a, b, cc)
		cohWant(t, s, p, "platform = iOS later", up("platform", touchpoint.OpEq, "iOS"), a, d)
		cohWant(t, s, p, "country = US later", up("country", touchpoint.OpEq, "US"))
		cohWant(t, s, p, "country = GB later", up("country", touchpoint.OpEq, "GB"), a)
		// First seen: a was first seen 10 days ago, b 3 days ago.
		cohWant(t, s, p, "first seen within 5 days", cohFirstSeen(cohDays(5)), b, cc, d, e)
		cohWant(t, s, p, "first seen within 2 days", cohFirstSeen(cohDays(2)), cc, d, e)
		cohWant(t, s, p, "first seen on the 13th", cohFirstSeen(cohDates("2026-11-13", "2026-11-13")), a)
		cohWant(t, s, p, "first seen 13th to 20th", cohFirstSeen(cohDates("2026-11-13", "2026-11-20")), a, b)
		cohWant(t, s, p, "first seen before", cohFirstSeen(cohDates("2026-01-01", "2026-11-12")))
		c.Add(3 * 24 * time.Hour)
		cohWant(t, s, p, "first seen within 5 days, later", cohFirstSeen(cohDays(5)), cc, d, e)
	}},
	{"Cohort/Combinations", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		const ms = "[AppsFlyer] media source"
		at := Start.Add(-time.Hour)
		cohRecord(t, s, p, Start,
			cohEvent("", "a", "tutorial_complete", at, cohSet(map[string]any{ms: "examplenet_int"})),
			cohEvent("", "b", "open", at, cohSet(map[string]any{ms: "examplenet_int"})),
			cohEvent("", "c", "open", at, cohSet(map[string]any{ms: "othernet_int"})),
			cohEvent("", "d", "tutorial_complete", at),
			cohIdentify("", "e", at, map[string]any{ms: "examplenet_int"}))
		a, b, cc, d, e := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b"), cohUser(t, s, p, "", "c"), cohUser(t, s, p, "", "d"), cohUser(t, s, p, "", "e")
		fromExamplenet := cohUP(ms, touchpoint.OpContains, "examplenet")
		tutorial := cohDid("tutorial_complete", touchpoint.AtLeast, 1, cohDays(touchpoint.MaxWithinDays))
		cohWant(t, s, p, "examplenet and no tutorial", cohAnd(fromExamplenet, cohNot(tutorial)), b, e)
		cohWant(t, s, p, "examplenet and tutorial exactly 0", cohAnd(fromExamplenet,
			cohDid("tutorial_complete", touchpoint.Exactly, 0, cohDays(touchpoint.MaxWithinDays))), b, e)
		cohWant(t, s, p, "examplenet and tutorial", cohAnd(fromExamplenet, tutorial), a)
		cohWant(t, s, p, "tutorial or othernet", cohOr(tutorial, cohUP(ms, touchpoint.OpEq, "othernet_int")), a, cc, d)
		cohWant(t, s, p, "not examplenet", cohNot(cohUP(ms, touchpoint.OpEq, "examplenet_int")), cc, d)
		cohWant(t, s, p, "not not examplenet", cohNot(cohNot(cohUP(ms, touchpoint.OpEq, "examplenet_int"))), a, b, e)
		cohWant(t, s, p, "not tutorial", cohNot(tutorial), b, cc, e)
		cohWant(t, s, p, "and of one", cohAnd(tutorial), a, d)
		cohWant(t, s, p, "or of one", cohOr(fromExamplenet), a, b, e)
		cohWant(t, s, p, "nested", cohOr(cohAnd(fromExamplenet, tutorial), cohAnd(cohNot(fromExamplenet), cohNot(tutorial))), a, cc)
		cohWant(t, s, p, "and of three", cohAnd(fromExamplenet, cohNot(tutorial), cohDid("open", touchpoint.AtLeast, 1, cohDays(1))), b)
		cohWant(t, s, p, "or of nothing matched", cohOr(cohUP(ms, touchpoint.OpEq, "nope"), cohDid("never", touchpoint.AtLeast, 1, cohDays(1))))
		cohWant(t, s, p, "not of nothing", cohNot(cohUP(ms, touchpoint.OpEq, "nope")), a, b, cc, d, e)
		cohWant(t, s, p, "a contradiction", cohAnd(tutorial, cohNot(tutorial)))
		cohWant(t, s, p, "a tautology", cohOr(tutorial, cohNot(tutorial)), a, b, cc, d, e)
	}},
	{"Cohort/MergedUsers", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		gem := cohProps(map[string]any{"item": "gem"})
		// The known user buys once from its own device, 2 days ago.
		cohRecord(t, s, p, Start.AddDate(0, 0, -2), cohEvent("user-1", "device-k", "purchase", Start.AddDate(0, 0, -2)))
		// An anonymous device buys twice, 5 days ago.
		cohRecord(t, s, p, Start.AddDate(0, 0, -5),
			cohEvent("", "device-c", "purchase", Start.AddDate(0, 0, -5), gem),
			cohEvent("", "device-c", "purchase", Start.AddDate(0, 0, -5), gem))
		cohRecord(t, s, p, Start, cohEvent("", "device-x", "open", Start))
		user1, anon, x := cohUser(t, s, p, "user-1", ""), cohUser(t, s, p, "", "device-c"), cohUser(t, s, p, "", "device-x")
		twice := cohCreate(t, s, p, "twice", cohDid("purchase", touchpoint.AtLeast, 2, cohDays(30)))
		if m := cohCompute(t, s, twice.ID); m.Size != 1 || !slices.Equal(m.Entered, []int64{anon}) {
			t.Fatalf("before the merge: %+v, want the anonymous user %d", m, anon)
		}
		// The device logs in as user-1: its user is merged into user-1.
		cohRecord(t, s, p, Start, cohEvent("user-1", "device-c", "login", Start))
		if u, err := s.FindUser(ctxb(), p.ID, anon); err != nil || u.MergedInto != user1 {
			t.Fatalf("anonymous user %+v, %v: want merged into %d", u, err, user1)
		}
		if m := cohCompute(t, s, twice.ID); m.Size != 1 || !slices.Equal(m.Entered, []int64{user1}) || !slices.Equal(m.Left, []int64{anon}) {
			t.Errorf("after the merge: size %d entered %v left %v; want user-1 %d in, the merged %d out", m.Size, m.Entered, m.Left, user1, anon)
		}
		if got := cohMemberIDs(cohAllMembers(t, s, twice.ID)); !slices.Equal(got, []int64{user1}) {
			t.Errorf("members after the merge %v, want [%d]", got, user1)
		}
		month := cohDays(30)
		cohWant(t, s, p, "purchases at_least 3", cohDid("purchase", touchpoint.AtLeast, 3, month), user1)
		cohWant(t, s, p, "purchases exactly 2", cohDid("purchase", touchpoint.Exactly, 2, month))
		cohWant(t, s, p, "purchases exactly 3", cohDid("purchase", touchpoint.Exactly, 3, month), user1)
		cohWant(t, s, p, "purchases at_most 1", cohDid("purchase", touchpoint.AtMost, 1, month), x)
		cohWant(t, s, p, "purchases exactly 0", cohDid("purchase", touchpoint.Exactly, 0, month), x)
		cohWant(t, s, p, "no purchase", cohNot(cohDid("purchase", touchpoint.AtLeast, 1, month)), x)
		cohWant(t, s, p, "no login", cohDid("login", touchpoint.Exactly, 0, month), x)
		cohWant(t, s, p, "gems twice", cohDid("purchase", touchpoint.AtLeast, 2, month, cohVal("item", touchpoint.OpEq, "gem")), user1)
		cohWant(t, s, p, "purchases 4 to 6 days ago", cohDid("purchase", touchpoint.AtLeast, 2, cohDates("2026-11-17", "2026-11-19")), user1)
		cohWant(t, s, p, "anyone", cohFirstSeen(cohDays(touchpoint.MaxWithinDays)), user1, x)
		cohWant(t, s, p, "missing property", cohUP("plan", touchpoint.OpNe, "gold"), user1, x)
		// user-1 was first seen with its merged device, 5 days ago.
		cohWant(t, s, p, "first seen 5 days ago", cohFirstSeen(cohDates("2026-11-18", "2026-11-18")), user1)
		cohWant(t, s, p, "first seen within 3 days", cohFirstSeen(cohDays(3)), x)
		// The merged device's later events are user-1's.
		cohRecord(t, s, p, Start, cohEvent("", "device-c", "purchase", Start))
		cohWant(t, s, p, "purchases exactly 4", cohDid("purchase", touchpoint.Exactly, 4, month), user1)
	}},
	{"Cohort/MergedUsersPlatform", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// platform and country are those of the user's latest event that
		// had them; a merged user's events are the user's.
		p := MustCreateProject(t, s, "Game")
		cohRecord(t, s, p, Start.Add(-time.Hour), cohEvent("user-1", "device-k", "open", Start.Add(-time.Hour)))
		cohRecord(t, s, p, Start.Add(-time.Minute), cohEvent("", "device-c", "open", Start.Add(-time.Minute), cohOn("iOS", "JP")))
		anon := cohUser(t, s, p, "", "device-c")
		cohRecord(t, s, p, Start, cohEvent("user-1", "device-c", "login", Start))
		user1 := cohUser(t, s, p, "user-1", "")
		if u, err := s.FindUser(ctxb(), p.ID, anon); err != nil || u.MergedInto != user1 {
			t.Fatalf("anonymous user %+v, %v: want merged into %d", u, err, user1)
		}
		cohWant(t, s, p, "platform = iOS", cohUP("platform", touchpoint.OpEq, "iOS"), user1)
		cohWant(t, s, p, "country = JP", cohUP("country", touchpoint.OpEq, "JP"), user1)
		cohWant(t, s, p, "platform != iOS", cohUP("platform", touchpoint.OpNe, "iOS"))
	}},
	{"Cohort/Compute", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		day := func(d int) time.Time { return Start.AddDate(0, 0, d) }
		cohRecord(t, s, p, Start,
			cohEvent("user-1", "device-1", "purchase", day(-6), cohOn("iOS", "US"), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA1, IDFV: "V-1"})),
			cohEvent("", "device-2", "purchase", day(-1), cohOn("Android", "DE"), cohIDs(touchpoint.AdIDs{ADID: cohGAID1})),
			cohEvent("", "device-3", "purchase", day(-2)),
			cohEvent("user-4", "device-4", "open", day(-1)),
			cohEvent("", "device-5", "purchase", day(-3), cohOn("web", "")))
		u1, u2, u3, u4, u5 := cohUser(t, s, p, "user-1", ""), cohUser(t, s, p, "", "device-2"), cohUser(t, s, p, "", "device-3"),
			cohUser(t, s, p, "user-4", ""), cohUser(t, s, p, "", "device-5")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(7)))
		if ms, err := s.CohortMembers(ctxb(), co.ID, 0, 10); err != nil || len(ms) != 0 {
			t.Fatalf("members before any computation: %v, %v", ms, err)
		}
		m := cohCompute(t, s, co.ID)
		want := []int64{u1, u2, u3, u5}
		if m.Cohort != co.ID || m.Version != 1 || m.Size != 4 || !m.ComputedAt.Equal(Start) ||
			!slices.Equal(cohSorted(m.Entered), want) || m.Left == nil || len(m.Left) != 0 {
			t.Fatalf("first computation %+v, want %v entered", m, want)
		}
		got, err := s.FindCohort(ctxb(), co.ID)
		if err != nil || got.Size != 4 || !cohTimeIs(got.ComputedAt, Start) {
			t.Fatalf("after computing: %+v, %v", got, err)
		}
		if l, err := s.ListCohorts(ctxb(), p.ID); err != nil || len(l) != 1 || l[0].Size != 4 || !cohTimeIs(l[0].ComputedAt, Start) {
			t.Fatalf("listed after computing: %+v, %v", l, err)
		}
		// Members by page, with their ids.
		page, err := s.CohortMembers(ctxb(), co.ID, 0, 3)
		if err != nil || len(page) != 3 {
			t.Fatalf("first page %+v, %v", page, err)
		}
		rest, err := s.CohortMembers(ctxb(), co.ID, page[2].AmplitudeID, 3)
		if err != nil || len(rest) != 1 {
			t.Fatalf("second page %+v, %v", rest, err)
		}
		if end, err := s.CohortMembers(ctxb(), co.ID, rest[0].AmplitudeID, 3); err != nil || len(end) != 0 {
			t.Fatalf("past the end %+v, %v", end, err)
		}
		all := append(page, rest...)
		if !slices.Equal(cohMemberIDs(all), cohSorted(want)) {
			t.Fatalf("members %v, want %v", cohMemberIDs(all), cohSorted(want))
		}
		byID := map[int64]touchpoint.CohortMember{}
		for _, m := range all {
			byID[m.AmplitudeID] = m
		}
		for id, want := range map[int64]touchpoint.CohortMember{
			u1: {AmplitudeID: u1, UserID: "user-1", IDFA: cohIDFA1, IDFV: "V-1", Platform: "iOS", Country: "US"},
			u2: {AmplitudeID: u2, ADID: cohGAID1, Platform: "Android", Country: "DE"},
			u3: {AmplitudeID: u3},
			u5: {AmplitudeID: u5, Platform: "web"},
		} {
			if byID[id] != want {
				t.Errorf("member %d: %+v, want %+v", id, byID[id], want)
			}
		}
		// Nothing changed: nobody enters or leaves.
		if m := cohCompute(t, s, co.ID); m.Size != 4 || len(m.Entered) != 0 || len(m.Left) != 0 {
			t.Errorf("second computation %+v", m)
		}
		// A day and a half on, user 1's purchase is 7.5 days old; user 4
		// buys.
		c.Add(36 * time.Hour)
		cohRecord(t, s, p, c.Now(), cohEvent("user-4", "device-4", "purchase", c.Now()))
		m = cohCompute(t, s, co.ID)
		if m.Size != 4 || !slices.Equal(m.Entered, []int64{u4}) || !slices.Equal(m.Left, []int64{u1}) || !m.ComputedAt.Equal(c.Now()) {
			t.Errorf("third computation size %d entered %v left %v at %s; want [%d] in, [%d] out", m.Size, m.Entered, m.Left, m.ComputedAt, u4, u1)
		}
		if got := cohMemberIDs(cohAllMembers(t, s, co.ID)); !slices.Equal(got, cohSorted([]int64{u2, u3, u4, u5})) {
			t.Errorf("members %v", got)
		}
		if got, _ := s.FindCohort(ctxb(), co.ID); got.Size != 4 || !cohTimeIs(got.ComputedAt, c.Now()) {
			t.Errorf("after the third computation %+v", got)
		}
		// A new definition: version 2, diffed against the last membership.
		narrow := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(3))
		if _, err := s.UpdateCohort(ctxb(), co.ID, touchpoint.CohortUpdate{Definition: &narrow}); err != nil {
			t.Fatal(err)
		}
		m = cohCompute(t, s, co.ID)
		if m.Version != 2 || m.Size != 2 || len(m.Entered) != 0 || !slices.Equal(cohSorted(m.Left), cohSorted([]int64{u3, u5})) {
			t.Errorf("after the new version: %+v, want %d and %d out", m, u3, u5)
		}
		if got := cohMemberIDs(cohAllMembers(t, s, co.ID)); !slices.Equal(got, cohSorted([]int64{u2, u4})) {
			t.Errorf("members of version 2: %v", got)
		}
		// Everyone leaves.
		c.Add(10 * 24 * time.Hour)
		m = cohCompute(t, s, co.ID)
		if m.Size != 0 || len(m.Entered) != 0 || !slices.Equal(cohSorted(m.Left), cohSorted([]int64{u2, u4})) {
			t.Errorf("all left: %+v", m)
		}
		if got, _ := s.FindCohort(ctxb(), co.ID); got.Size != 0 || !cohTimeIs(got.ComputedAt, c.Now()) {
			t.Errorf("after all left %+v", got)
		}
		if got := cohAllMembers(t, s, co.ID); len(got) != 0 {
			t.Errorf("members after all left: %v", got)
		}
		if _, err := cohort.Compute(ctxb(), s, 999, s.Now()); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("Compute(999): %v", err)
		}
		if _, err := s.CohortMembers(ctxb(), 999, 0, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembers(999): %v", err)
		}
	}},
	{"CohortSync/Storage", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		q := MustCreateProject(t, s, "Other")
		cohortDest := func(project int64, appID string) *touchpoint.Destination {
			return &touchpoint.Destination{Project: project, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
				AppsFlyerAppID: appID, APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
		}
		dest := cohortDest(p.ID, "id123456789")
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDestination(ctxb(), cohortDest(p.ID, "id123456789")); code(err) != touchpoint.ECONFLICT {
			t.Errorf("a second cohort destination for the app: %v, want ECONFLICT", err)
		}
		android := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "Android audiences",
			AppsFlyerAppID: "com.example.game", APIToken: "token", Platform: touchpoint.Android, Identifier: touchpoint.MapGAID, Enabled: true}
		if err := s.CreateDestination(ctxb(), android); err != nil {
			t.Errorf("a cohort destination for another app: %v", err)
		}
		if _, err := s.UpdateDestination(ctxb(), android.ID, touchpoint.DestinationUpdate{AppsFlyerAppID: ptr("id123456789"),
			Platform: ptr(touchpoint.IOS), Identifier: ptr(touchpoint.MapIDFA)}); code(err) != touchpoint.ECONFLICT {
			t.Errorf("moving a cohort destination onto the app of another: %v, want ECONFLICT", err)
		}
		qDest := cohortDest(q.ID, "id123456789")
		if err := s.CreateDestination(ctxb(), qDest); err != nil {
			t.Errorf("the app's cohort destination in another project: %v", err)
		}
		events := &touchpoint.Destination{Project: p.ID, Name: "Events", AppsFlyerAppID: "id123456789", Key: "dev-key", Enabled: true}
		if err := s.CreateDestination(ctxb(), events); err != nil {
			t.Fatal(err)
		}

		// Members: u1 and u2 with an idfa, u3 with a gaid alone, u4 not a member.
		day := func(d int) time.Time { return Start.AddDate(0, 0, d) }
		cohRecord(t, s, p, Start,
			cohEvent("user-1", "device-1", "purchase", day(-1), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA1})),
			cohEvent("", "device-2", "purchase", day(-20), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA2})),
			cohEvent("user-3", "device-3", "purchase", day(-1), cohIDs(touchpoint.AdIDs{ADID: cohGAID1})),
			cohEvent("", "device-4", "open", day(-1), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA3})))
		u1, u2, u3 := cohUser(t, s, p, "user-1", ""), cohUser(t, s, p, "", "device-2"), cohUser(t, s, p, "user-3", "")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		qCo := cohCreate(t, s, q, "Other buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))

		// Refused syncs.
		for name, bad := range map[string]touchpoint.CohortSync{
			"an events destination":         {Cohort: co.ID, Destination: events.ID},
			"another project's destination": {Cohort: co.ID, Destination: qDest.ID},
			"no destination":                {Cohort: co.ID},
			"a bad cadence":                 {Cohort: co.ID, Destination: dest.ID, Cadence: "weekly"},
			"a negative batch size":         {Cohort: co.ID, Destination: dest.ID, BatchSize: -1},
			"too big a batch":               {Cohort: co.ID, Destination: dest.ID, BatchSize: touchpoint.MaxSyncBatch + 1},
			"another project's cohort":      {Cohort: qCo.ID, Destination: dest.ID},
		} {
			bad.Enabled = true
			if err := s.CreateCohortSync(ctxb(), &bad); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateCohortSync with %s: %v, want EINVALID", name, err)
			}
		}
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: 999, Destination: dest.ID, Enabled: true}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CreateCohortSync of a missing cohort: %v, want ENOTFOUND", err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || len(l) != 0 {
			t.Fatalf("refused syncs were stored: %+v, %v", l, err)
		}

		// A sync is due at once.
		hourly := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), hourly); err != nil {
			t.Fatal(err)
		}
		if hourly.ID == 0 || hourly.BatchSize != touchpoint.DefaultSyncBatch || !cohTimeIs(hourly.NextRun, Start) || hourly.LastRun != nil ||
			!hourly.CreatedAt.Equal(Start) || hourly.AudienceID != 0 {
			t.Fatalf("created %+v", hourly)
		}
		once := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, BatchSize: 500, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), once); err != nil {
			t.Fatal(err)
		}
		if once.Cadence != touchpoint.CadenceOnce || once.BatchSize != 500 {
			t.Fatalf("created %+v", once)
		}
		qSync := &touchpoint.CohortSync{Cohort: qCo.ID, Destination: qDest.ID, Cadence: touchpoint.CadenceDaily, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), qSync); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindCohortSync(ctxb(), hourly.ID)
		if err != nil || got.ID != hourly.ID || got.Cohort != co.ID || got.Destination != dest.ID || got.Cadence != touchpoint.CadenceHourly ||
			got.BatchSize != touchpoint.DefaultSyncBatch || !got.Enabled || !cohTimeIs(got.NextRun, Start) || got.LastRun != nil {
			t.Fatalf("FindCohortSync = %+v, %v", got, err)
		}
		if _, err := s.FindCohortSync(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindCohortSync(999): %v", err)
		}
		syncIDs := func(l []*touchpoint.CohortSync) []int64 {
			out := []int64{}
			for _, s := range l {
				out = append(out, s.ID)
			}
			return out
		}
		if l, err := s.ListCohortSyncs(ctxb(), co.ID); err != nil || !slices.Equal(syncIDs(l), []int64{hourly.ID, once.ID}) {
			t.Errorf("ListCohortSyncs(cohort) = %v, %v", syncIDs(l), err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || !slices.Equal(syncIDs(l), []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("ListCohortSyncs(0) = %v, %v", syncIDs(l), err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 999); err != nil || len(l) != 0 {
			t.Errorf("ListCohortSyncs(999) = %v, %v", syncIDs(l), err)
		}
		due := func(at time.Time) []int64 {
			t.Helper()
			// Claimed and released at once: the next claim gets the same
			// syncs.
			l, err := s.ClaimCohortSyncs(ctxb(), at, at.Add(time.Minute))
			if err != nil {
				t.Fatalf("ClaimCohortSyncs: %v", err)
			}
			for _, sy := range l {
				if err := s.ReleaseCohortSync(ctxb(), sy.ID); err != nil {
					t.Fatalf("ReleaseCohortSync: %v", err)
				}
			}
			return cohSorted(syncIDs(l))
		}
		if got := due(Start); !slices.Equal(got, []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("due at Start: %v", got)
		}
		if got := due(Start.Add(-time.Millisecond)); len(got) != 0 {
			t.Errorf("due before Start: %v", got)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); code(err) != touchpoint.ECONFLICT {
			t.Errorf("deleting a destination a sync uses: %v, want ECONFLICT", err)
		}
		if _, err := s.FindDestination(ctxb(), dest.ID); err != nil {
			t.Errorf("the destination after a refused delete: %v", err)
		}

		// The audience.
		if err := s.SetSyncAudience(ctxb(), hourly.ID, 42, "Buyers (touchpoint)", "import-key-1"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), hourly.ID); err != nil || got.AudienceID != 42 || got.AudienceName != "Buyers (touchpoint)" ||
			got.ImportKey != "import-key-1" || !cohTimeIs(got.NextRun, Start) {
			t.Errorf("after SetSyncAudience %+v, %v", got, err)
		}

		// Diffs follow the stored membership.
		cohCheckDiff(t, "before computing", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 0)
		cohCompute(t, s, co.ID)
		d := cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "first", d, cohDev(u1, cohIDFA1)+","+cohDev(u2, cohIDFA2), "", 1)
		cohCheckDiff(t, "by gaid", cohDiff(t, s, hourly.ID, touchpoint.MapGAID), cohDev(u3, cohGAID1), "", 2)
		cohCheckDiff(t, "by user id", cohDiff(t, s, hourly.ID, touchpoint.MapUserID), cohDev(u1, "user-1")+","+cohDev(u3, "user-3"), "", 1)
		cohCheckDiff(t, "by cuid", cohDiff(t, s, hourly.ID, touchpoint.MapCUID), cohDev(u1, "user-1")+","+cohDev(u3, "user-3"), "", 1)
		if _, err := cohort.DiffCohortSync(ctxb(), s, hourly.ID, "email"); code(err) != touchpoint.EINVALID {
			t.Errorf("a diff by email: %v, want EINVALID", err)
		}
		if _, err := cohort.DiffCohortSync(ctxb(), s, 999, touchpoint.MapIDFA); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("DiffCohortSync(999): %v, want ENOTFOUND", err)
		}
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, nil); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, nil); err != nil {
			t.Errorf("marking again: %v", err)
		}
		cohCheckDiff(t, "after marking again", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)
		// Each sync keeps what it sent.
		cohCheckDiff(t, "the other sync", cohDiff(t, s, once.ID, touchpoint.MapIDFA), cohDev(u1, cohIDFA1)+","+cohDev(u2, cohIDFA2), "", 1)

		// A member's idfa changes: the old one goes, the new one comes.
		cohRecord(t, s, p, Start, cohEvent("user-1", "device-1", "open", Start, cohIDs(touchpoint.AdIDs{IDFA: cohIDFA4})))
		cohCompute(t, s, co.ID)
		d = cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "new idfa", d, cohDev(u1, cohIDFA4), cohDev(u1, cohIDFA1), 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, d.Remove); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking the new idfa", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)

		// A member leaves: its idfa goes.
		c.Add(15 * 24 * time.Hour)
		if m := cohCompute(t, s, co.ID); !slices.Equal(m.Left, []int64{u2}) || len(m.Entered) != 0 {
			t.Fatalf("computed %+v, want %d out", m, u2)
		}
		d = cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "a member left", d, "", cohDev(u2, cohIDFA2), 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, nil, d.Remove); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking the removal", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)

		// Runs.
		now := c.Now()
		run1 := &touchpoint.SyncRun{Sync: hourly.ID, StartedAt: now, FinishedAt: now.Add(time.Second), Status: touchpoint.RunOK,
			Size: 2, Added: 2, Skipped: 1, Responses: []touchpoint.SyncResponse{{Action: "create", Status: 200, Body: `{"audience_id":42}`, Tries: 1}}}
		next := now.Add(time.Hour)
		if err := s.RecordSyncRun(ctxb(), run1, &next); err != nil {
			t.Fatal(err)
		}
		if run1.ID == 0 {
			t.Fatalf("run %+v", run1)
		}
		got, err = s.FindCohortSync(ctxb(), hourly.ID)
		if err != nil || !cohTimeIs(got.LastRun, now) || !cohTimeIs(got.NextRun, next) || got.AudienceID != 42 {
			t.Fatalf("after a run %+v, %v", got, err)
		}
		if got := due(now); !slices.Equal(got, []int64{once.ID, qSync.ID}) {
			t.Errorf("due after the run: %v", got)
		}
		if got := due(next); !slices.Equal(got, []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("due at the next run: %v", got)
		}
		c.Add(time.Hour)
		run2 := &touchpoint.SyncRun{Sync: hourly.ID, StartedAt: c.Now(), FinishedAt: c.Now().Add(time.Second), Status: touchpoint.RunPartial,
			Size: 2, Added: 1, Removed: 1, Failed: 3, Error: "add: 500"}
		next2 := c.Now().Add(time.Hour)
		if err := s.RecordSyncRun(ctxb(), run2, &next2); err != nil {
			t.Fatal(err)
		}
		runs, err := s.SyncRuns(ctxb(), hourly.ID, 10)
		if err != nil || len(runs) != 2 || runs[0].ID != run2.ID || runs[1].ID != run1.ID {
			t.Fatalf("SyncRuns = %+v, %v", runs, err)
		}
		if r := runs[1]; r.Sync != hourly.ID || r.Status != touchpoint.RunOK || !r.StartedAt.Equal(now) || !r.FinishedAt.Equal(now.Add(time.Second)) ||
			r.Size != 2 || r.Added != 2 || r.Skipped != 1 || len(r.Responses) != 1 || r.Responses[0] != run1.Responses[0] {
			t.Errorf("first run stored as %+v", r)
		}
		if r := runs[0]; r.Status != touchpoint.RunPartial || r.Removed != 1 || r.Failed != 3 || r.Error != "add: 500" || r.Responses == nil || len(r.Responses) != 0 {
			t.Errorf("second run stored as %+v", r)
		}
		if runs, err := s.SyncRuns(ctxb(), hourly.ID, 1); err != nil || len(runs) != 1 || runs[0].ID != run2.ID {
			t.Errorf("SyncRuns(limit 1) = %+v, %v", runs, err)
		}
		if runs, err := s.SyncRuns(ctxb(), once.ID, 10); err != nil || len(runs) != 0 {
			t.Errorf("runs of a sync never run: %+v, %v", runs, err)
		}
		if _, err := s.SyncRuns(ctxb(), 999, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("SyncRuns(999): %v", err)
		}
		if got, _ := s.FindCohortSync(ctxb(), hourly.ID); !cohTimeIs(got.LastRun, c.Now()) || !cohTimeIs(got.NextRun, next2) {
			t.Errorf("after the second run %+v", got)
		}
		// A one-time sync is done once it ran.
		run3 := &touchpoint.SyncRun{Sync: once.ID, StartedAt: c.Now(), FinishedAt: c.Now(), Status: touchpoint.RunOK}
		if err := s.RecordSyncRun(ctxb(), run3, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), once.ID); err != nil || got.NextRun != nil || !cohTimeIs(got.LastRun, c.Now()) {
			t.Errorf("one-time sync after its run %+v, %v", got, err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{hourly.ID, qSync.ID}) {
			t.Errorf("due a year on: %v", got)
		}
		if err := s.RecordSyncRun(ctxb(), &touchpoint.SyncRun{Sync: 999, StartedAt: c.Now(), Status: touchpoint.RunOK}, nil); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("RecordSyncRun of a missing sync: %v", err)
		}

		// Updates: a disabled sync is not due; enabled again, or given a
		// new cadence, it is due at once.
		c.Add(time.Minute)
		up, err := s.UpdateCohortSync(ctxb(), hourly.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(false)})
		if err != nil || up.Enabled || up.Cadence != touchpoint.CadenceHourly {
			t.Fatalf("disable: %+v, %v", up, err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{qSync.ID}) {
			t.Errorf("due with the sync disabled: %v", got)
		}
		up, err = s.UpdateCohortSync(ctxb(), hourly.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(true)})
		if err != nil || !up.Enabled || !cohTimeIs(up.NextRun, c.Now()) {
			t.Fatalf("enable: %+v, %v", up, err)
		}
		if got := due(c.Now()); !slices.Equal(got, []int64{hourly.ID, qSync.ID}) {
			t.Errorf("due once enabled again: %v", got)
		}
		up, err = s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{Cadence: ptr(touchpoint.CadenceDaily), BatchSize: ptr(2000)})
		if err != nil || up.Cadence != touchpoint.CadenceDaily || up.BatchSize != 2000 || !cohTimeIs(up.NextRun, c.Now()) {
			t.Fatalf("new cadence: %+v, %v", up, err)
		}
		if got, err := s.FindCohortSync(ctxb(), once.ID); err != nil || got.Cadence != touchpoint.CadenceDaily || got.BatchSize != 2000 || !cohTimeIs(got.LastRun, c.Now().Add(-time.Minute)) {
			t.Errorf("after the update %+v, %v", got, err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{Cadence: ptr("weekly")}); code(err) != touchpoint.EINVALID {
			t.Errorf("a bad cadence: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{BatchSize: ptr(touchpoint.MaxSyncBatch + 1)}); code(err) != touchpoint.EINVALID {
			t.Errorf("too big a batch: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), 999, touchpoint.CohortSyncUpdate{Enabled: ptr(true)}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UpdateCohortSync(999): %v, want ENOTFOUND", err)
		}

		// Deleting a sync removes its runs; deleting the cohort its syncs.
		if err := s.DeleteCohortSync(ctxb(), hourly.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCohortSync(ctxb(), hourly.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindCohortSync after delete: %v", err)
		}
		if _, err := s.SyncRuns(ctxb(), hourly.ID, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("SyncRuns after delete: %v", err)
		}
		if err := s.DeleteCohortSync(ctxb(), hourly.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("DeleteCohortSync twice: %v", err)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); code(err) != touchpoint.ECONFLICT {
			t.Errorf("deleting a destination the one-time sync uses: %v, want ECONFLICT", err)
		}
		if err := s.DeleteCohort(ctxb(), co.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCohortSync(ctxb(), once.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a deleted cohort's sync: %v, want ENOTFOUND", err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || !slices.Equal(syncIDs(l), []int64{qSync.ID}) {
			t.Errorf("syncs after deleting the cohort: %v, %v", syncIDs(l), err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{qSync.ID}) {
			t.Errorf("due after deleting the cohort: %v", got)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); err != nil {
			t.Errorf("deleting the destination once no sync uses it: %v", err)
		}
		// Another project's sync was left alone.
		if got, err := s.FindCohortSync(ctxb(), qSync.ID); err != nil || got.Cohort != qCo.ID {
			t.Errorf("the other project's sync %+v, %v", got, err)
		}
	}},
	{"CohortSync/Claims", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// ClaimCohortSyncs hands a due sync to one claim until the claim
		// expires, RecordSyncRun sets the next due time and ends the
		// claim, ReleaseCohortSync ends it without a run.
		p := MustCreateProject(t, s, "Game")
		dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
			AppsFlyerAppID: "id123456789", APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		sy := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), sy); err != nil {
			t.Fatal(err)
		}
		claim := func(at, until time.Time) []int64 {
			t.Helper()
			l, err := s.ClaimCohortSyncs(ctxb(), at, until)
			if err != nil {
				t.Fatalf("ClaimCohortSyncs: %v", err)
			}
			out := []int64{}
			for _, x := range l {
				out = append(out, x.ID)
			}
			return out
		}
		now := c.Now()
		lease := 10 * time.Minute
		if got := claim(now, now.Add(lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Fatalf("first claim: %v, want the sync", got)
		}
		if got := claim(now.Add(lease-time.Millisecond), now.Add(2*lease)); len(got) != 0 {
			t.Errorf("a claim before the first expires: %v, want none", got)
		}
		if got := claim(now.Add(lease), now.Add(2*lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("a claim once the first expired: %v, want the sync", got)
		}
		if got := claim(now.Add(lease), now.Add(2*lease)); len(got) != 0 {
			t.Errorf("a claim while the second holds: %v, want none", got)
		}

		// A run ends the claim; the sync is due at its next run.
		next := now.Add(time.Hour)
		run := &touchpoint.SyncRun{Sync: sy.ID, StartedAt: now.Add(lease), FinishedAt: now.Add(lease), Status: touchpoint.RunOK}
		if err := s.RecordSyncRun(ctxb(), run, &next); err != nil {
			t.Fatal(err)
		}
		if got := claim(next.Add(-time.Millisecond), next.Add(lease)); len(got) != 0 {
			t.Errorf("a claim before the next run: %v, want none", got)
		}
		if got := claim(next, next.Add(lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("a claim at the next run, within the old claim's time: %v, want the sync", got)
		}
		// A release ends it without a run.
		if err := s.ReleaseCohortSync(ctxb(), sy.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), sy.ID); err != nil || !cohTimeIs(got.NextRun, next) {
			t.Errorf("after the release %+v, %v; want next run %v", got, err, next)
		}

		// Claims at once: one of them gets the sync.
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := s.ClaimCohortSyncs(ctxb(), next, next.Add(lease))
				if err != nil {
					t.Errorf("ClaimCohortSyncs: %v", err)
				}
				mu.Lock()
				for _, x := range l {
					got = append(got, x.ID)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("four claims at once got %v, want the sync once", got)
		}

		// A disabled sync is never claimed.
		if _, err := s.UpdateCohortSync(ctxb(), sy.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if got := claim(next.Add(24*time.Hour), next.Add(25*time.Hour)); len(got) != 0 {
			t.Errorf("a disabled sync claimed: %v", got)
		}
	}},
	{"Cohort/MembershipBase", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// PutMembership refuses a computation diffed against a membership
		// another computation changed since (ECONFLICT); Compute then
		// starts over.
		p := MustCreateProject(t, s, "Game")
		cohRecord(t, s, p, Start, cohEvent("user-1", "device-1", "purchase", Start.AddDate(0, 0, -1)))
		u1 := cohUser(t, s, p, "user-1", "")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		old, base, err := s.CohortMembership(ctxb(), co.ID)
		if err != nil || len(old) != 0 {
			t.Fatalf("CohortMembership = %v, %v", old, err)
		}
		if m := cohCompute(t, s, co.ID); !slices.Equal(m.Entered, []int64{u1}) {
			t.Fatalf("computed %+v, want %d in", m, u1)
		}
		stale := &touchpoint.Membership{Cohort: co.ID, Version: co.Version, Size: 1, ComputedAt: c.Now(), Entered: []int64{u1}}
		if err := s.PutMembership(ctxb(), stale, base); code(err) != touchpoint.ECONFLICT {
			t.Errorf("PutMembership on a stale base: %v, want ECONFLICT", err)
		}
		members, base2, err := s.CohortMembership(ctxb(), co.ID)
		if err != nil || !slices.Equal(members, []int64{u1}) || base2 == base {
			t.Errorf("CohortMembership after computing = %v (base %d, was %d), %v", members, base2, base, err)
		}
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: co.ID + 100, ComputedAt: c.Now()}, 0); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("PutMembership of a missing cohort: %v, want ENOTFOUND", err)
		}
		if _, _, err := s.CohortMembership(ctxb(), co.ID+100); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembership of a missing cohort: %v, want ENOTFOUND", err)
		}
	}},
	{"CohortSync/MissingDestination", func(t *testing.T, s touchpoint.Store, c *Clock) {
		// CohortSyncStore: CreateCohortSync is ENOTFOUND for a missing
		// cohort, EINVALID for a missing destination (a field of the
		// request).
		p := MustCreateProject(t, s, "Game")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: co.ID, Destination: 999, Enabled: true}); code(err) != touchpoint.EINVALID {
			t.Errorf("CreateCohortSync to a missing destination: %v, want EINVALID", err)
		}
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: co.ID + 100, Destination: 999, Enabled: true}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CreateCohortSync of a missing cohort: %v, want ENOTFOUND", err)
		}
	}},
	{"Audience/Import", func(t *testing.T, s touchpoint.Store, c *Clock) {
		const game, other = "com.example.game", "com.example.other"
		MustCreateApp(t, s, game)
		MustCreateApp(t, s, other)
		a := &touchpoint.Audience{App: game, Name: "Buyers", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), a); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.ImportKey == "" || a.Size != 0 || !a.CreatedAt.Equal(Start) || !a.UpdatedAt.Equal(Start) {
			t.Fatalf("created %+v", a)
		}
		if err := s.CreateAudience(ctxb(), &touchpoint.Audience{App: game, Name: "Buyers", Platform: touchpoint.Android}); code(err) != touchpoint.ECONFLICT {
			t.Errorf("the same name again: %v, want ECONFLICT", err)
		}
		b := &touchpoint.Audience{App: other, Name: "Buyers", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), b); err != nil {
			t.Errorf("the name in another app: %v", err)
		}
		a2 := &touchpoint.Audience{App: game, Name: "Churners", Platform: touchpoint.Android}
		if err := s.CreateAudience(ctxb(), a2); err != nil {
			t.Fatal(err)
		}
		if a2.ImportKey == a.ImportKey || b.ImportKey == a.ImportKey {
			t.Fatalf("import keys repeat: %s %s %s", a.ImportKey, a2.ImportKey, b.ImportKey)
		}
		if got, err := s.FindAudience(ctxb(), a.ID); err != nil || got.ID != a.ID || got.App != game || got.Name != "Buyers" ||
			got.Platform != touchpoint.Android || got.ImportKey != a.ImportKey || got.Size != 0 || !got.CreatedAt.Equal(Start) {
			t.Fatalf("FindAudience = %+v, %v", got, err)
		}
		if got, err := s.FindAudienceByImportKey(ctxb(), a.ImportKey); err != nil || got.ID != a.ID || got.Name != "Buyers" {
			t.Fatalf("FindAudienceByImportKey = %+v, %v", got, err)
		}
		if got, err := s.FindAudienceByImportKey(ctxb(), a2.ImportKey); err != nil || got.ID != a2.ID {
			t.Fatalf("FindAudienceByImportKey(a2) = %+v, %v", got, err)
		}
		if _, err := s.FindAudienceByImportKey(ctxb(), "no-such-key"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindAudienceByImportKey(missing): %v", err)
		}
		if _, err := s.FindAudience(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindAudience(999): %v", err)
		}
		if l, err := s.ListAudiences(ctxb(), game); err != nil || len(l) != 2 || l[0].ID != a.ID || l[1].ID != a2.ID {
			t.Errorf("ListAudiences = %+v, %v", l, err)
		}
		if l, err := s.ListAudiences(ctxb(), "com.example.none"); err != nil || len(l) != 0 {
			t.Errorf("ListAudiences(none) = %+v, %v", l, err)
		}

		mem := func(identifier, value string) touchpoint.AudienceMember {
			return touchpoint.AudienceMember{Identifier: identifier, Value: value, AppID: game}
		}
		size := func(id int64) int64 {
			t.Helper()
			a, err := s.FindAudience(ctxb(), id)
			if err != nil {
				t.Fatalf("FindAudience(%d): %v", id, err)
			}
			return a.Size
		}
		list := func(id int64, identifier string, after touchpoint.AudienceMember, limit int) string {
			t.Helper()
			ms, err := s.AudienceMembers(ctxb(), id, identifier, after, limit)
			if err != nil {
				t.Fatalf("AudienceMembers: %v", err)
			}
			l := []string{}
			for _, m := range ms {
				l = append(l, m.Identifier+"="+m.Value)
			}
			return strings.Join(l, ",")
		}
		c.Add(time.Hour)
		t1 := c.Now()
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			mem("gaid", "g-2"), mem("gaid", "g-1"), mem("cuid", "user-1"), mem("gaid", "g-3"), mem("amplitude_id", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindAudience(ctxb(), a.ID); got.Size != 5 || !got.UpdatedAt.Equal(t1) || !got.CreatedAt.Equal(Start) {
			t.Errorf("after the first add %+v", got)
		}
		// Adding again counts each member once; a member keeps when it
		// was first added.
		c.Add(time.Hour)
		t2 := c.Now()
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
			mem("gaid", "g-1"), mem("gaid", "g-4"), mem("gaid", "g-4"), mem("cuid", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindAudience(ctxb(), a.ID); got.Size != 6 || !got.UpdatedAt.Equal(t2) {
			t.Errorf("after adding again %+v, want size 6", got)
		}
		ms, err := s.AudienceMembers(ctxb(), a.ID, "gaid", touchpoint.AudienceMember{}, 10)
		if err != nil || len(ms) != 4 {
			t.Fatalf("gaid members %+v, %v", ms, err)
		}
		for _, m := range ms {
			want := t1
			if m.Value == "g-4" {
				want = t2
			}
			if !m.AddedAt.Equal(want) || m.AppID != game || m.Identifier != "gaid" {
				t.Errorf("member %+v, want added at %s", m, want)
			}
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "amplitude_id=user-1,cuid=user-1,gaid=g-1,gaid=g-2,gaid=g-3,gaid=g-4" {
			t.Errorf("members %s", got)
		}
		// Pages, by identifier and value after the cursor.
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 2); got != "amplitude_id=user-1,cuid=user-1" {
			t.Errorf("first page %s", got)
		}
		if got := list(a.ID, "", mem("cuid", "user-1"), 2); got != "gaid=g-1,gaid=g-2" {
			t.Errorf("second page %s", got)
		}
		if got := list(a.ID, "", mem("gaid", "g-2"), 2); got != "gaid=g-3,gaid=g-4" {
			t.Errorf("third page %s", got)
		}
		if got := list(a.ID, "", mem("gaid", "g-4"), 2); got != "" {
			t.Errorf("past the end %s", got)
		}
		if got := list(a.ID, "gaid", touchpoint.AudienceMember{}, 3); got != "gaid=g-1,gaid=g-2,gaid=g-3" {
			t.Errorf("gaid page %s", got)
		}
		if got := list(a.ID, "gaid", mem("gaid", "g-3"), 3); got != "gaid=g-4" {
			t.Errorf("next gaid page %s", got)
		}
		if got := list(a.ID, "cuid", touchpoint.AudienceMember{}, 10); got != "cuid=user-1" {
			t.Errorf("cuid page %s", got)
		}
		if got := list(a.ID, "idfa", touchpoint.AudienceMember{}, 10); got != "" {
			t.Errorf("idfa page %s", got)
		}
		if got := list(a2.ID, "", touchpoint.AudienceMember{}, 10); got != "" || size(a2.ID) != 0 {
			t.Errorf("another audience has %s", got)
		}
		// Remove: members not held are no change.
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceRemove, []touchpoint.AudienceMember{
			mem("gaid", "g-2"), mem("gaid", "g-9"), mem("idfa", "g-1"), mem("amplitude_id", "user-1")}); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "cuid=user-1,gaid=g-1,gaid=g-3,gaid=g-4" || size(a.ID) != 4 {
			t.Errorf("after remove: %s, size %d", got, size(a.ID))
		}
		// Overwrite replaces every member.
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, []touchpoint.AudienceMember{
			mem("gaid", "g-3"), mem("oaid", "o-1"), mem("oaid", "o-1")}); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "gaid=g-3,oaid=o-1" || size(a.ID) != 2 {
			t.Errorf("after overwrite: %s, size %d", got, size(a.ID))
		}
		if err := s.ImportAudience(ctxb(), a.ID, touchpoint.AudienceOverwrite, nil); err != nil {
			t.Fatal(err)
		}
		if got := list(a.ID, "", touchpoint.AudienceMember{}, 100); got != "" || size(a.ID) != 0 {
			t.Errorf("after an empty overwrite: %s, size %d", got, size(a.ID))
		}
		if err := s.ImportAudience(ctxb(), 999, touchpoint.AudienceAdd, []touchpoint.AudienceMember{mem("gaid", "g-1")}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("ImportAudience(999): %v", err)
		}
		if _, err := s.AudienceMembers(ctxb(), 999, "", touchpoint.AudienceMember{}, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("AudienceMembers(999): %v", err)
		}
	}},
}
