package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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
func cohRecord(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, received time.Time, events ...*touchpoint.IncomingEvent) {
	tb.Helper()
	if err := s.RecordEvents(ctxb(), []*touchpoint.EventUpload{{Project: p.ID, Received: received, Events: events}}); err != nil {
		tb.Fatalf("RecordEvents: %v", err)
	}
}

// cohUser returns the amplitude id of a user id or, when empty, a device.
func cohUser(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, userID, deviceID string) int64 {
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
func cohCreate(tb testing.TB, s interface {
	CreateCohort(context.Context, *touchpoint.Cohort) error
}, p *touchpoint.Project, name string, def touchpoint.Condition) *touchpoint.Cohort {
	tb.Helper()
	co := &touchpoint.Cohort{Project: p.ID, Name: name, Definition: def}
	if err := s.CreateCohort(ctxb(), co); err != nil {
		tb.Fatalf("CreateCohort(%s): %v", name, err)
	}
	return co
}

// cohCompute computes a cohort.
func cohCompute(tb testing.TB, s CohortStore, id int64) *touchpoint.Membership {
	tb.Helper()
	m, err := cohort.Compute(ctxb(), s, id, s.Now())
	if err != nil {
		tb.Fatalf("Compute(%d): %v", id, err)
	}
	return m
}

// cohAllMembers reads a cohort's stored membership, a page of two at a
// time.
func cohAllMembers(tb testing.TB, s touchpoint.CohortStore, id int64) []touchpoint.CohortMember {
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
func cohWant(t *testing.T, s CohortStore, p *touchpoint.Project, label string, def touchpoint.Condition, want ...int64) {
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
func cohDiff(tb testing.TB, s cohort.SyncStore, sync int64, mapping string) *touchpoint.SyncDiff {
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
