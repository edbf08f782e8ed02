package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// CohortStore is what the cohort cases need: cohorts and their
// membership, the analytics plane's events and users they are computed
// over, the projects (and apps) that hold them, and the store's clock,
// which computations read.
type CohortStore interface {
	touchpoint.Clock
	AnalyticsStore
	touchpoint.CohortStore
}

// RunCohorts runs the cohort cases against stores from open.
func RunCohorts(t *testing.T, open func(t *testing.T, now func() time.Time) CohortStore) {
	runParts(t, cohortTests, open)
}

// cohBadDefinitions are definitions every store refuses (EINVALID).
func cohBadDefinitions() map[string]touchpoint.Condition {
	buyers := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30))
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
	return map[string]touchpoint.Condition{
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
	}
}

var cohortTests = []part[CohortStore]{
	{"Cohort/CRUDAndVersions", func(t *testing.T, s CohortStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		buyers := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30))
		if err := s.CreateCohort(ctxb(), &touchpoint.Cohort{Project: 999, Name: "Buyers", Definition: buyers}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("cohort of a missing project: %v, want ENOTFOUND", err)
		}
		for name, def := range cohBadDefinitions() {
			if err := s.CreateCohort(ctxb(), &touchpoint.Cohort{Project: p.ID, Name: "Bad", Definition: def}); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateCohort with %s: %v, want EINVALID", name, err)
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

		// Delete: its membership goes with it.
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, Version: 3, Size: 2, ComputedAt: c.Now(), Entered: []int64{7, 8}}, 0); err != nil {
			t.Fatal(err)
		}
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
		if _, _, err := s.CohortMembership(ctxb(), a.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembership after delete: %v", err)
		}
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, ComputedAt: c.Now(), Entered: []int64{9}}, 0); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("PutMembership after delete: %v", err)
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
	{"Cohort/Membership", func(t *testing.T, s CohortStore, c *Clock) {
		// What computations write: each applies its diff to the membership
		// the one before left (its base), and is refused (ECONFLICT) when
		// another was stored since it read the membership.
		p := MustCreateProject(t, s, "Game")
		a := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		b := cohCreate(t, s, p, "Openers", cohDid("open", touchpoint.AtLeast, 1, cohDays(30)))
		members, base0, err := s.CohortMembership(ctxb(), a.ID)
		if err != nil || len(members) != 0 {
			t.Fatalf("CohortMembership before any computation = %v, %v", members, err)
		}
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, Version: 1, Size: 3, ComputedAt: c.Now(),
			Entered: []int64{30, 10, 20}, Left: []int64{}}, base0); err != nil {
			t.Fatal(err)
		}
		members, base1, err := s.CohortMembership(ctxb(), a.ID)
		if err != nil || !slices.Equal(members, []int64{10, 20, 30}) || base1 == base0 {
			t.Fatalf("CohortMembership after the first computation = %v (base %d, was %d), %v", members, base1, base0, err)
		}
		if got, err := s.FindCohort(ctxb(), a.ID); err != nil || got.Size != 3 || !cohTimeIs(got.ComputedAt, Start) || got.Version != 1 {
			t.Errorf("FindCohort after the first computation = %+v, %v", got, err)
		}
		if l, err := s.ListCohorts(ctxb(), p.ID); err != nil || len(l) != 2 || l[0].Size != 3 || !cohTimeIs(l[0].ComputedAt, Start) ||
			l[1].Size != 0 || l[1].ComputedAt != nil {
			t.Errorf("ListCohorts after the first computation = %+v, %v", l, err)
		}
		// A computation diffed against the membership before the first.
		c.Add(time.Hour)
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, Version: 1, Size: 1, ComputedAt: c.Now(),
			Entered: []int64{40}}, base0); code(err) != touchpoint.ECONFLICT {
			t.Errorf("PutMembership on a stale base: %v, want ECONFLICT", err)
		}
		if members, base, err := s.CohortMembership(ctxb(), a.ID); err != nil || !slices.Equal(members, []int64{10, 20, 30}) || base != base1 {
			t.Errorf("CohortMembership after a refused computation = %v (base %d, want %d), %v", members, base, base1, err)
		}
		if got, err := s.FindCohort(ctxb(), a.ID); err != nil || got.Size != 3 || !cohTimeIs(got.ComputedAt, Start) {
			t.Errorf("FindCohort after a refused computation = %+v, %v", got, err)
		}
		// The next computation: some enter, some leave.
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, Version: 1, Size: 2, ComputedAt: c.Now(),
			Entered: []int64{40}, Left: []int64{30, 10}}, base1); err != nil {
			t.Fatal(err)
		}
		members, base2, err := s.CohortMembership(ctxb(), a.ID)
		if err != nil || !slices.Equal(members, []int64{20, 40}) || base2 == base1 || base2 == base0 {
			t.Fatalf("CohortMembership after the second computation = %v (base %d), %v", members, base2, err)
		}
		if got, err := s.FindCohort(ctxb(), a.ID); err != nil || got.Size != 2 || !cohTimeIs(got.ComputedAt, c.Now()) {
			t.Errorf("FindCohort after the second computation = %+v, %v", got, err)
		}
		// Each cohort has its own membership and base.
		members, bBase, err := s.CohortMembership(ctxb(), b.ID)
		if err != nil || len(members) != 0 {
			t.Fatalf("the other cohort's membership = %v, %v", members, err)
		}
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: b.ID, Version: 1, Size: 1, ComputedAt: c.Now(),
			Entered: []int64{20}}, bBase); err != nil {
			t.Fatalf("the other cohort's first computation: %v", err)
		}
		if members, _, err := s.CohortMembership(ctxb(), b.ID); err != nil || !slices.Equal(members, []int64{20}) {
			t.Errorf("the other cohort's membership = %v, %v", members, err)
		}
		if members, base, err := s.CohortMembership(ctxb(), a.ID); err != nil || !slices.Equal(members, []int64{20, 40}) || base != base2 {
			t.Errorf("CohortMembership after the other's computation = %v (base %d, want %d), %v", members, base, base2, err)
		}
		// Everyone leaves.
		c.Add(time.Hour)
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: a.ID, Version: 1, Size: 0, ComputedAt: c.Now(),
			Left: []int64{20, 40}}, base2); err != nil {
			t.Fatal(err)
		}
		if members, _, err := s.CohortMembership(ctxb(), a.ID); err != nil || len(members) != 0 {
			t.Errorf("CohortMembership after all left = %v, %v", members, err)
		}
		if got, err := s.FindCohort(ctxb(), a.ID); err != nil || got.Size != 0 || !cohTimeIs(got.ComputedAt, c.Now()) {
			t.Errorf("FindCohort after all left = %+v, %v", got, err)
		}
		if err := s.PutMembership(ctxb(), &touchpoint.Membership{Cohort: 999, ComputedAt: c.Now(), Entered: []int64{1}}, 0); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("PutMembership of a missing cohort: %v, want ENOTFOUND", err)
		}
		if _, _, err := s.CohortMembership(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembership of a missing cohort: %v, want ENOTFOUND", err)
		}
	}},
	{"Cohort/PreviewRefuses", func(t *testing.T, s CohortStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		for name, def := range cohBadDefinitions() {
			if _, err := cohort.Preview(ctxb(), s, p.ID, def, 10, s.Now()); code(err) != touchpoint.EINVALID {
				t.Errorf("Preview with %s: %v, want EINVALID", name, err)
			}
		}
		buyers := cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30))
		if _, err := cohort.Preview(ctxb(), s, 999, buyers, 10, s.Now()); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("Preview of a missing project: %v, want ENOTFOUND", err)
		}
	}},
	{"Cohort/ComputeDeleted", func(t *testing.T, s CohortStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		a := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		cohCompute(t, s, a.ID)
		if err := s.DeleteCohort(ctxb(), a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := cohort.Compute(ctxb(), s, a.ID, s.Now()); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("Compute after delete: %v", err)
		}
		if _, err := s.CohortMembers(ctxb(), a.ID, 0, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CohortMembers after delete: %v", err)
		}
	}},
	{"Cohort/EventCounts", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/WithinDays", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/DateRange", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/EventWhere", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/PreviewSample", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/EventWhereSameProperty", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/EventWhereBlocks", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/UserProperties", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/Combinations", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/MergedUsers", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/MergedUsersPlatform", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/Compute", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/MembershipBase", func(t *testing.T, s CohortStore, c *Clock) {
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
	{"Cohort/Sets", func(t *testing.T, s CohortStore, c *Clock) {
		// The set queries themselves, on one project's users, from one
		// snapshot: what is recorded while a read is open is not in it.
		p := MustCreateProject(t, s, "Game")
		q := MustCreateProject(t, s, "Other")
		at := Start.Add(-2 * time.Hour)
		cohRecord(t, s, p, at,
			cohEvent("", "a", "purchase", at, cohProps(map[string]any{"item": "gem"}), cohOn("iOS", "US"), cohSet(map[string]any{"plan": "gold", "level": 3})),
			cohEvent("", "a", "purchase", at.Add(time.Hour), cohProps(map[string]any{"item": "coin"})),
			cohEvent("", "b", "purchase", at.Add(time.Hour), cohProps(map[string]any{"item": "gem"})),
			cohEvent("user-c", "c", "open", at.Add(30*time.Minute)))
		cohRecord(t, s, q, at, cohEvent("", "a", "purchase", at))
		a, b := cohUser(t, s, p, "", "a"), cohUser(t, s, p, "", "b")
		// b logs in as user-c: merged into it, its purchase is its own,
		// and its platform is user-c's, who has none of its own.
		cohRecord(t, s, p, Start, cohEvent("user-c", "b", "login", at.Add(time.Hour), cohOn("Android", "")))
		cc := cohUser(t, s, p, "user-c", "")
		if _, err := s.ReadCohortSets(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("ReadCohortSets of a missing project: %v, want ENOTFOUND", err)
		}
		r, err := s.ReadCohortSets(ctxb(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		// Recorded after the read began: a new user, and more purchases.
		cohRecord(t, s, p, Start, cohEvent("", "d", "purchase", at, cohOn("web", "FR")), cohEvent("", "a", "purchase", at))
		got := map[int64]string{}
		list := func() string {
			ids := []int64{}
			for id := range got {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			var l []string
			for _, id := range ids {
				l = append(l, fmt.Sprintf("%d:%s", id, got[id]))
			}
			clear(got)
			return strings.Join(l, " ")
		}
		check := func(label string, err error, want string) {
			t.Helper()
			if l := list(); err != nil || l != want {
				t.Errorf("%s = %s, %v; want %s", label, l, err, want)
			}
		}
		f := fmt.Sprintf
		err = r.Users(func(user, merged int64) { got[user] = f("%d", merged) })
		check("Users", err, f("%d:0 %d:%d %d:0", a, b, cc, cc))
		purchase := &touchpoint.EventCondition{EventType: "purchase", Op: touchpoint.AtLeast, Count: 1, TimeRange: cohDays(1)}
		count := func(user, n int64) { got[user] = f("%d", n) }
		err = r.EventCounts(purchase, at.UnixMilli(), Start.UnixMilli(), count)
		check("EventCounts", err, f("%d:2 %d:1", a, b))
		err = r.EventCounts(purchase, at.UnixMilli()+1, Start.UnixMilli(), count)
		check("EventCounts from just after the first", err, f("%d:1 %d:1", a, b))
		err = r.EventCounts(purchase, at.UnixMilli(), at.UnixMilli()+1, count)
		check("EventCounts to just after the first", err, f("%d:1", a))
		gems := *purchase
		gems.Where = []touchpoint.ValueCondition{cohVal("item", touchpoint.OpEq, "gem")}
		err = r.EventCounts(&gems, at.UnixMilli(), Start.UnixMilli(), count)
		check("EventCounts of gems", err, f("%d:1 %d:1", a, b))
		err = r.EventCounts(&touchpoint.EventCondition{EventType: "never", Op: touchpoint.AtLeast, Count: 1, TimeRange: cohDays(1)},
			0, Start.UnixMilli(), count)
		check("EventCounts of a type never seen", err, "")
		value := func(user int64, v any) { got[user] = f("%T %v", v, v) }
		err = r.UserProperty("plan", value)
		check("UserProperty plan", err, f("%d:string gold", a))
		err = r.UserProperty("level", value)
		check("UserProperty level", err, f("%d:float64 3", a))
		err = r.UserProperty("platform", value)
		check("UserProperty platform", err, f("%d:string iOS %d:string Android", a, cc))
		err = r.UserProperty("country", value)
		check("UserProperty country", err, f("%d:string US", a))
		err = r.FirstSeen(func(user, first int64) { got[user] = f("%d", first-at.UnixMilli()) })
		check("FirstSeen", err, f("%d:0 %d:3600000 %d:1800000", a, b, cc))
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		// A new read sees what was recorded.
		r, err = s.ReadCohortSets(ctxb(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		d := cohUser(t, s, p, "", "d")
		err = r.EventCounts(purchase, at.UnixMilli(), Start.UnixMilli(), count)
		check("EventCounts in a new read", err, f("%d:3 %d:1 %d:1", a, b, d))
		err = r.UserProperty("country", value)
		check("UserProperty country in a new read", err, f("%d:string US %d:string FR", a, d))
	}},
}
