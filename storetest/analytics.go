package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// MustCreateProject creates a project with Amplitude's default limits.
func MustCreateProject(tb testing.TB, s touchpoint.ProjectStore, name string) *touchpoint.Project {
	tb.Helper()
	p := &touchpoint.Project{Name: name, Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := s.CreateProject(ctxb(), p); err != nil {
		tb.Fatalf("CreateProject: %v", err)
	}
	return p
}

// upload decodes events (JSON objects) as /2/httpapi would at now and
// records them; it returns the events stored.
func upload(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, now time.Time, events ...string) int {
	tb.Helper()
	body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: now, RemoteIP: "203.0.113.9"})
	if rej != nil {
		tb.Fatalf("DecodeUpload: %+v", rej)
	}
	return record(tb, s, p, now, up.Events)
}

func record(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, now time.Time, events []*touchpoint.IncomingEvent) int {
	tb.Helper()
	u := &touchpoint.EventUpload{Project: p.ID, Received: now, Events: events}
	if err := s.RecordEvents(ctxb(), []*touchpoint.EventUpload{u}); err != nil {
		tb.Fatalf("RecordEvents: %v", err)
	}
	return u.Stored
}

// attribute records an /attribution form's event.
func attribute(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, now time.Time, event string) {
	tb.Helper()
	e, err := analytics.DecodeAttribution(event, now)
	if err != nil {
		tb.Fatalf("DecodeAttribution: %v", err)
	}
	record(tb, s, p, now, []*touchpoint.IncomingEvent{e})
}

func mustLookup(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, userID, deviceID string) *touchpoint.User {
	tb.Helper()
	u, err := s.LookupUser(ctxb(), p.ID, userID, deviceID)
	if err != nil {
		tb.Fatalf("LookupUser(%q, %q): %v", userID, deviceID, err)
	}
	return u
}

// userEvents returns every event of a user, decoded.
func userEvents(tb testing.TB, s touchpoint.EventStore, p *touchpoint.Project, id int64) []map[string]any {
	tb.Helper()
	var out []map[string]any
	var cursor int64
	for {
		page, err := s.UserEvents(ctxb(), p.ID, id, cursor, 2)
		if err != nil {
			tb.Fatalf("UserEvents: %v", err)
		}
		for _, raw := range page.Events {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				tb.Fatalf("event %s: %v", raw, err)
			}
			out = append(out, m)
		}
		if page.Next == 0 {
			return out
		}
		cursor = page.Next
	}
}

func eventTypes(events []map[string]any) string {
	var l []string
	for _, e := range events {
		l = append(l, fmt.Sprint(e["event_type"]))
	}
	return strings.Join(l, ",")
}

func props(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const idfa = "AEBE52E7-03EE-455A-B3C4-E57283966239"

// AnalyticsStore is what the analytics cases need: events, and the
// projects (and apps) they belong to.
type AnalyticsStore interface {
	touchpoint.AppStore
	touchpoint.ProjectStore
	touchpoint.EventStore
}

// RunAnalytics runs the analytics plane's cases against stores from open.
func RunAnalytics(t *testing.T, open func(t *testing.T, now func() time.Time) AnalyticsStore) {
	runParts(t, analyticsTests, open)
}

var analyticsTests = []part[AnalyticsStore]{
	{"Events/StoredWithSnapshot", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		n := upload(t, s, p, Start,
			`{"device_id":"device-1","event_type":"open","time":1764000000000,"event_properties":{"level":3},"platform":"Android","custom_key":{"x":1}}`,
			`{"device_id":"device-1","event_type":"$identify","user_properties":{"$set":{"plan":"gold"},"$add":{"logins":1}}}`,
			`{"device_id":"device-1","event_type":"play","user_properties":{"color":"red"}}`)
		if n != 2 {
			t.Fatalf("stored %d events, want 2 (an identify is not an event)", n)
		}
		u := mustLookup(t, s, p, "", "device-1")
		if u.AmplitudeID == 0 || props(u.DeviceIDs) != `["device-1"]` || props(u.Properties) != `{"color":"red","logins":1,"plan":"gold"}` {
			t.Fatalf("user %+v", u)
		}
		// First seen is the earliest event's time (the "open" event's,
		// sent a year before the upload), not the time of receipt.
		if want := time.UnixMilli(1764000000000).UTC(); !u.FirstSeen.Equal(want) || !u.LastSeen.Equal(Start) {
			t.Errorf("first seen %v, last seen %v; want %v and %v", u.FirstSeen, u.LastSeen, want, Start)
		}
		evs := userEvents(t, s, p, u.AmplitudeID)
		if eventTypes(evs) != "open,play" {
			t.Fatalf("events %s", eventTypes(evs))
		}
		open, play := evs[0], evs[1]
		if props(open["user_properties"]) != `{}` || props(open["event_properties"]) != `{"level":3}` ||
			props(open["custom_key"]) != `{"x":1}` || open["platform"] != "Android" || open["time"] != 1764000000000.0 ||
			open["amplitude_id"] != float64(u.AmplitudeID) || open["server_upload_time"] != float64(Start.UnixMilli()) {
			t.Errorf("first event %v", open)
		}
		// Stored after the identify and with a plain property: the snapshot
		// holds both.
		if props(play["user_properties"]) != `{"color":"red","logins":1,"plan":"gold"}` || play["time"] != float64(Start.UnixMilli()) {
			t.Errorf("second event %v", play)
		}
		// Properties change on: the old events keep their snapshot.
		upload(t, s, p, Start, `{"device_id":"device-1","event_type":"$identify","user_properties":{"$unset":{"color":"-"}}}`)
		evs = userEvents(t, s, p, u.AmplitudeID)
		if props(evs[1]["user_properties"]) != `{"color":"red","logins":1,"plan":"gold"}` {
			t.Errorf("snapshot changed: %v", evs[1]["user_properties"])
		}
		if u := mustLookup(t, s, p, "", "device-1"); props(u.Properties) != `{"logins":1,"plan":"gold"}` {
			t.Errorf("after $unset %v", u.Properties)
		}
		if _, err := s.UserEvents(ctxb(), p.ID, 999, 0, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("events of a missing user: %v", err)
		}
		if _, err := s.LookupUser(ctxb(), p.ID, "", "device-9"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("missing device: %v", err)
		}
	}},
	{"Events/Pages", func(t *testing.T, s AnalyticsStore, c *Clock) {
		// A page holds up to limit events after the cursor, oldest first;
		// its cursor is the id of its last event when more follow, 0 when
		// none do. Another user's events in between are skipped.
		p := MustCreateProject(t, s, "Game")
		for i := range 5 {
			upload(t, s, p, Start.Add(time.Duration(i)*time.Minute), fmt.Sprintf(`{"device_id":"device-1","event_type":"e%d"}`, i),
				`{"device_id":"device-2","event_type":"other"}`)
		}
		u := mustLookup(t, s, p, "", "device-1")
		page := func(cursor int64, limit int) (string, []int64, int64) {
			t.Helper()
			pg, err := s.UserEvents(ctxb(), p.ID, u.AmplitudeID, cursor, limit)
			if err != nil {
				t.Fatalf("UserEvents(%d, %d): %v", cursor, limit, err)
			}
			var types []string
			var ids []int64
			for _, raw := range pg.Events {
				var e struct {
					ID        int64  `json:"id"`
					EventType string `json:"event_type"`
				}
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				types, ids = append(types, e.EventType), append(ids, e.ID)
			}
			return strings.Join(types, ","), ids, pg.Next
		}
		got, ids, next := page(0, 2)
		if got != "e0,e1" || next != ids[1] {
			t.Fatalf("first page %s, next %d (ids %v)", got, next, ids)
		}
		if got, ids, next = page(next, 2); got != "e2,e3" || next != ids[1] {
			t.Fatalf("second page %s, next %d (ids %v)", got, next, ids)
		}
		if got, _, next = page(next, 2); got != "e4" || next != 0 {
			t.Fatalf("last page %s, next %d", got, next)
		}
		if got, _, next = page(0, 5); got != "e0,e1,e2,e3,e4" || next != 0 {
			t.Fatalf("a page of exactly every event: %s, next %d", got, next)
		}
		if got, _, next = page(ids[1], 10); got != "e4" || next != 0 {
			t.Fatalf("after the fourth event: %s, next %d", got, next)
		}
	}},
	{"Events/Lookups", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		// Ids are kept byte for byte and device ids listed in byte order,
		// whatever the database's collation.
		upload(t, s, p, Start, `{"device_id":"b-device","user_id":"Zoë-1","event_type":"open"}`,
			`{"device_id":"B-device","user_id":"Zoë-1","event_type":"open"}`,
			`{"device_id":"a-device","user_id":"Zoë-1","event_type":"open"}`,
			`{"device_id":"c-dev\u0000ice","user_id":"Zoë-1","event_type":"open\u0000ed"}`)
		u := mustLookup(t, s, p, "Zoë-1", "")
		if u.UserID != "Zoë-1" || props(u.DeviceIDs) != `["B-device","a-device","b-device","c-dev\u0000ice"]` {
			t.Fatalf("user %+v", u)
		}
		if got, err := s.FindUser(ctxb(), p.ID, u.AmplitudeID); err != nil || got.UserID != "Zoë-1" || len(got.DeviceIDs) != 4 {
			t.Fatalf("FindUser: %+v, %v", got, err)
		}
		if evs := userEvents(t, s, p, u.AmplitudeID); eventTypes(evs) != "open,open,open,open\x00ed" {
			t.Errorf("events %q", eventTypes(evs))
		}
		if got := mustLookup(t, s, p, "", "c-dev\x00ice"); got.AmplitudeID != u.AmplitudeID {
			t.Errorf("the device with a NUL is user %d, want %d", got.AmplitudeID, u.AmplitudeID)
		}
		if _, err := s.LookupUser(ctxb(), p.ID, "zoë-1", ""); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a user id in another case: %v", err)
		}
		if _, err := s.LookupUser(ctxb(), p.ID, "", ""); code(err) != touchpoint.EINVALID {
			t.Errorf("no id: %v", err)
		}
		// Another project's user is not found in this one.
		if _, err := s.FindUser(ctxb(), other.ID, u.AmplitudeID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindUser in another project: %v", err)
		}
		if _, err := s.UserEvents(ctxb(), other.ID, u.AmplitudeID, 0, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UserEvents in another project: %v", err)
		}
		if _, err := s.LookupUser(ctxb(), other.ID, "Zoë-1", ""); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("LookupUser in another project: %v", err)
		}
		if _, err := s.FindUser(ctxb(), p.ID, u.AmplitudeID+1000); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a missing user: %v", err)
		}
	}},
	{"Events/Dedup", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		ev := func(device, insertID string) string {
			return `{"device_id":"` + device + `","event_type":"buy","insert_id":"` + insertID + `"}`
		}
		if n := upload(t, s, p, Start, ev("device-1", "i-1"), ev("device-1", "i-1"), ev("device-2", "i-1"), ev("device-1", "i-2")); n != 3 {
			t.Fatalf("stored %d, want 3 (a repeat within the request)", n)
		}
		if n := upload(t, s, p, Start.Add(touchpoint.DedupWindow-time.Minute), ev("device-1", "i-1")); n != 0 {
			t.Fatalf("a repeat within 7 days was stored")
		}
		if n := upload(t, s, p, Start.Add(touchpoint.DedupWindow+time.Minute), ev("device-1", "i-1")); n != 1 {
			t.Fatalf("a repeat after 7 days was not stored")
		}
		// Stored again, it starts the window again: an hour later it is a
		// repeat of that one.
		if n := upload(t, s, p, Start.Add(touchpoint.DedupWindow+time.Hour), ev("device-1", "i-1")); n != 0 {
			t.Fatalf("a repeat an hour after the insert id was stored again was stored")
		}
		other := MustCreateProject(t, s, "Other")
		if n := upload(t, s, other, Start, ev("device-1", "i-1")); n != 1 {
			t.Fatalf("another project's insert id counted")
		}
		if got := len(userEvents(t, s, p, mustLookup(t, s, p, "", "device-1").AmplitudeID)); got != 3 {
			t.Fatalf("device-1 has %d events, want 3", got)
		}
	}},
	{"Events/Identity", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		// A device seen first anonymously joins its user.
		upload(t, s, p, Start, `{"device_id":"device-a","event_type":"open"}`)
		anon := mustLookup(t, s, p, "", "device-a")
		upload(t, s, p, Start, `{"device_id":"device-a","user_id":"user-1","event_type":"login"}`)
		u1 := mustLookup(t, s, p, "user-1", "")
		if u1.AmplitudeID != anon.AmplitudeID || u1.UserID != "user-1" {
			t.Fatalf("the device's user %d did not become user-1 (%d)", anon.AmplitudeID, u1.AmplitudeID)
		}
		// The same user on a second device.
		upload(t, s, p, Start, `{"device_id":"device-b","user_id":"user-1","event_type":"open"}`)
		if u := mustLookup(t, s, p, "", "device-b"); u.AmplitudeID != u1.AmplitudeID || props(u.DeviceIDs) != `["device-a","device-b"]` {
			t.Fatalf("device-b: %+v", u)
		}
		// An anonymous device that later logs in as a known user is merged
		// into it: its events are the user's.
		upload(t, s, p, Start, `{"device_id":"device-c","event_type":"browse"}`)
		anonC := mustLookup(t, s, p, "", "device-c")
		upload(t, s, p, Start, `{"device_id":"device-c","user_id":"user-1","event_type":"login"}`)
		if u := mustLookup(t, s, p, "", "device-c"); u.AmplitudeID != u1.AmplitudeID {
			t.Fatalf("device-c is user %d, want %d", u.AmplitudeID, u1.AmplitudeID)
		}
		if m, err := s.FindUser(ctxb(), p.ID, anonC.AmplitudeID); err != nil || m.MergedInto != u1.AmplitudeID {
			t.Fatalf("merged user %+v, %v", m, err)
		}
		if got := eventTypes(userEvents(t, s, p, u1.AmplitudeID)); got != "open,login,open,browse,login" {
			t.Fatalf("user-1's events %s", got)
		}
		// Another user on a known device: a new user, and the device goes
		// with them.
		upload(t, s, p, Start, `{"device_id":"device-a","user_id":"user-2","event_type":"login"}`)
		u2 := mustLookup(t, s, p, "user-2", "")
		if u2.AmplitudeID == u1.AmplitudeID {
			t.Fatal("user-2 is user-1")
		}
		if u := mustLookup(t, s, p, "", "device-a"); u.AmplitudeID != u2.AmplitudeID {
			t.Fatalf("device-a is user %d, want user-2 %d", u.AmplitudeID, u2.AmplitudeID)
		}
		// A user id alone: the device id is made from it.
		upload(t, s, p, Start, `{"user_id":"user-3","event_type":"open"}`)
		u3 := mustLookup(t, s, p, "user-3", "")
		if props(u3.DeviceIDs) != `["`+analytics.DeviceIDForUser("user-3")+`"]` {
			t.Fatalf("user-3's devices %v", u3.DeviceIDs)
		}
	}},
	{"Events/FirstAndLastSeen", func(t *testing.T, s AnalyticsStore, c *Clock) {
		// First and last seen are event times, whatever order the events
		// arrive in and whenever they are received: the earliest and the
		// latest event of the user and of the users merged into it.
		p := MustCreateProject(t, s, "Game")
		at := func(days int) int64 { return Start.AddDate(0, 0, days).UnixMilli() }
		seen := func(u *touchpoint.User, first, last int64) {
			t.Helper()
			if got, err := s.FindUser(ctxb(), p.ID, u.AmplitudeID); err != nil || got.FirstSeen.UnixMilli() != first || got.LastSeen.UnixMilli() != last {
				t.Errorf("user %d: %v: first seen %v, last seen %v; want %v and %v", u.AmplitudeID, err, got.FirstSeen, got.LastSeen,
					time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC())
			}
		}
		upload(t, s, p, Start, fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, at(-2)))
		u := mustLookup(t, s, p, "", "device-1")
		seen(u, at(-2), at(-2))
		// An offline device's backlog, uploaded later: first seen moves
		// back, last seen stays.
		upload(t, s, p, Start.Add(time.Hour), fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, at(-5)),
			fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, at(-3)))
		seen(u, at(-5), at(-2))
		upload(t, s, p, Start.Add(2*time.Hour), fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, at(-1)))
		seen(u, at(-5), at(-1))
		// An event without a time is taken at its receipt.
		upload(t, s, p, Start.Add(3*time.Hour), `{"device_id":"device-1","event_type":"open"}`)
		seen(u, at(-5), Start.Add(3*time.Hour).UnixMilli())
		// A user known so far by an identify only: first seen then.
		upload(t, s, p, Start, fmt.Sprintf(`{"user_id":"user-9","event_type":"$identify","time":%d,"user_properties":{"$set":{"a":1}}}`, at(-4)))
		known := mustLookup(t, s, p, "user-9", "")
		seen(known, at(-4), at(-4))
		// Its first event, later: first seen stays the identify's.
		upload(t, s, p, Start, fmt.Sprintf(`{"user_id":"user-9","device_id":"device-9","event_type":"open","time":%d}`, at(-3)))
		seen(known, at(-4), at(-3))
		// device-1 logs in as user-9: merged, its events and its first
		// seen are user-9's.
		upload(t, s, p, Start.Add(4*time.Hour), fmt.Sprintf(`{"user_id":"user-9","device_id":"device-1","event_type":"login","time":%d}`, at(-1)+1))
		if m, err := s.FindUser(ctxb(), p.ID, u.AmplitudeID); err != nil || m.MergedInto != known.AmplitudeID {
			t.Fatalf("device-1's user %+v, %v: want merged into %d", m, err, known.AmplitudeID)
		}
		seen(known, at(-5), Start.Add(3*time.Hour).UnixMilli())
	}},
	{"Events/Groups", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		upload(t, s, p, Start, `{"device_id":"device-1","event_type":"$groupidentify","groups":{"org":"acme"},"group_properties":{"$set":{"plan":"pro"},"$add":{"seats":3}}}`)
		events, err := analytics.DecodeGroupIdentify(`[{"group_type":"org","group_value":"acme","group_properties":{"$add":{"seats":2}}}]`, Start)
		if err != nil {
			t.Fatal(err)
		}
		record(t, s, p, Start, events)
		g, err := s.FindGroup(ctxb(), p.ID, "org", "acme")
		if err != nil || props(g.Properties) != `{"plan":"pro","seats":5}` {
			t.Fatalf("group %+v, %v", g, err)
		}
		if _, err := s.FindGroup(ctxb(), p.ID, "org", "none"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("missing group: %v", err)
		}
	}},
	{"Attribution/HeldAndMatched", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		attribute(t, s, p, Start, `{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"`+idfa+`",`+
			`"user_properties":{"[AppsFlyer] media source":"examplenet_int","[AppsFlyer] campaign":"spring"}}`)
		pend, err := s.PendingAttributions(ctxb(), p.ID, c.Now())
		if err != nil || pend.Count != 1 || pend.Oldest == nil || !pend.Oldest.Equal(Start) {
			t.Fatalf("pending %+v, %v", pend, err)
		}
		// An event with the id in another case does not match (matching
		// is case-sensitive); nor does the id in device_id alone.
		at := Start.Add(touchpoint.AttributionHold - time.Minute)
		upload(t, s, p, at, `{"device_id":"device-1","event_type":"open","idfa":"`+strings.ToLower(idfa)+`"}`,
			`{"device_id":"`+idfa+`","event_type":"open"}`)
		if pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now()); pend.Count != 1 {
			t.Fatalf("matched on a different id: %+v", pend)
		}
		// At 71 h 59 m the first event carrying the idfa matches.
		upload(t, s, p, at, `{"device_id":"device-2","event_type":"open","idfa":"`+idfa+`"}`)
		u := mustLookup(t, s, p, "", "device-2")
		if u.Properties["[AppsFlyer] media source"] != "examplenet_int" || len(u.Attribution) != 1 {
			t.Fatalf("user %+v", u)
		}
		var install map[string]any
		json.Unmarshal(u.Attribution[0], &install)
		if install["event_type"] != "[AppsFlyer] Install" || install["idfa"] != nil || install["adid"] != nil ||
			props(install["amplitude_attribution_ids"]) != `["`+(touchpoint.AdIDs{IDFA: idfa}).Keys()[0].String()+`"]` {
			t.Fatalf("stored attribution %v", install)
		}
		if strings.Contains(string(u.Attribution[0]), idfa) {
			t.Fatalf("the advertising id was stored: %s", u.Attribution[0])
		}
		evs := userEvents(t, s, p, u.AmplitudeID)
		if eventTypes(evs) != "[AppsFlyer] Install,open" {
			t.Fatalf("events %s", eventTypes(evs))
		}
		// The event that matched carries the attribution's properties.
		if props(evs[1]["user_properties"]) != `{"[AppsFlyer] campaign":"spring","[AppsFlyer] media source":"examplenet_int"}` {
			t.Fatalf("the matching event's properties %v", evs[1]["user_properties"])
		}
		if pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now()); pend.Count != 0 || pend.Dropped != 0 {
			t.Fatalf("pending after the match %+v", pend)
		}
		// A later attribution for a known advertising id applies at once
		// (Adjust style this time, Android).
		upload(t, s, p, at, `{"device_id":"device-3","event_type":"open","adid":"`+gaid+`","platform":"Android"}`)
		attribute(t, s, p, at, `{"event_type":"[Adjust] Install","platform":"android","adid":"`+gaid+`","user_properties":{"[adjust] network":"Examplenet"}}`)
		if u := mustLookup(t, s, p, "", "device-3"); u.Properties["[adjust] network"] != "Examplenet" || len(u.Attribution) != 1 {
			t.Fatalf("known-id attribution: %+v", u)
		}
		if pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now()); pend.Count != 0 {
			t.Fatalf("a known id's attribution was held: %+v", pend)
		}
	}},
	{"Attribution/DroppedAfter72Hours", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		attribute(t, s, p, Start, `{"event_type":"[AppsFlyer] Install","platform":"android","adid":"`+gaid+`","user_properties":{"[AppsFlyer] media source":"examplenet_int"}}`)
		c.Add(touchpoint.AttributionHold + time.Minute)
		if pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now()); pend.Count != 0 || pend.Dropped != 1 {
			t.Fatalf("pending at 72 h 01 m %+v", pend)
		}
		upload(t, s, p, c.Now(), `{"device_id":"device-1","event_type":"open","adid":"`+gaid+`"}`)
		u := mustLookup(t, s, p, "", "device-1")
		if len(u.Attribution) != 0 || u.Properties["[AppsFlyer] media source"] != nil {
			t.Fatalf("applied after 72 h: %+v", u)
		}
		pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now())
		if pend.Count != 0 || pend.Dropped != 1 {
			t.Fatalf("pending after the late event %+v", pend)
		}
		if got, _ := s.FindProject(ctxb(), p.ID); got.Stats.AttributionsDropped != 1 {
			t.Fatalf("project stats %+v", got.Stats)
		}
	}},
	{"Attribution/Expire", func(t *testing.T, s AnalyticsStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		install := `{"event_type":"[AppsFlyer] Install","platform":"android","adid":"` + gaid + `","user_properties":{"[AppsFlyer] media source":"examplenet_int"}}`
		attribute(t, s, p, Start, install)
		attribute(t, s, other, Start.Add(time.Hour), install)
		expire := func(project int64, at time.Time, want int64) {
			t.Helper()
			if n, err := s.ExpireAttributions(ctxb(), project, at); err != nil || n != want {
				t.Fatalf("ExpireAttributions(%d, %v) = %d, %v; want %d", project, at, n, err, want)
			}
		}
		// The store's clock stays at Start: the time passed decides.
		expire(p.ID, Start.Add(touchpoint.AttributionHold), 0)
		expire(p.ID, Start.Add(touchpoint.AttributionHold+time.Minute), 1)
		if pend, _ := s.PendingAttributions(ctxb(), p.ID, c.Now()); pend.Count != 0 || pend.Dropped != 1 {
			t.Fatalf("pending after expiry %+v", pend)
		}
		if pend, _ := s.PendingAttributions(ctxb(), other.ID, c.Now()); pend.Count != 1 || pend.Dropped != 0 {
			t.Fatalf("another project's attribution was dropped: %+v", pend)
		}
		expire(p.ID, Start.Add(touchpoint.AttributionHold+time.Minute), 0)
		// Project 0: every project's.
		expire(0, Start.Add(touchpoint.AttributionHold+2*time.Hour), 1)
		if pend, _ := s.PendingAttributions(ctxb(), other.ID, c.Now()); pend.Count != 0 || pend.Dropped != 1 {
			t.Fatalf("pending of the other project %+v", pend)
		}
		// Dropped for good: a later event with the id gets nothing, and
		// the events recorded since still work.
		upload(t, s, p, Start.Add(time.Hour), `{"device_id":"device-1","event_type":"open","adid":"`+gaid+`"}`)
		if u := mustLookup(t, s, p, "", "device-1"); len(u.Attribution) != 0 || u.Properties["[AppsFlyer] media source"] != nil {
			t.Fatalf("applied after expiry: %+v", u)
		}
		if got, _ := s.FindProject(ctxb(), p.ID); got.Stats.AttributionsDropped != 1 {
			t.Fatalf("project stats %+v", got.Stats)
		}
	}},
}
