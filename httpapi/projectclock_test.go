package httpapi_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// A test-mode project rehearses the analytics plane's times through the
// public endpoints, while the server's clock stands elsewhere: events are
// stamped by the project's clock, insert ids are remembered for 7 days of
// it, attributions held for 72 hours of it, and cohort windows end at it.
func TestProjectTestClock(t *testing.T) {
	server := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(func() time.Time { return server }))
	start := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Rehearsal", "test_mode": true, "test_clock": start}, &p)
	if !p.TestMode || p.TestClock == nil || !p.TestClock.Equal(start) {
		t.Fatalf("created %+v", p)
	}
	clock := start
	advance := func(step string, want time.Duration) {
		t.Helper()
		var moved touchpoint.Project
		s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/test_clock", p.ID), map[string]any{"advance": step}, &moved)
		clock = clock.Add(want)
		if moved.TestClock == nil || !moved.TestClock.Equal(clock) {
			t.Fatalf("after advancing %s the clock reads %v, want %v", step, moved.TestClock, clock)
		}
	}
	upload := func(events string) {
		t.Helper()
		body := `{"api_key":"` + p.APIKey + `","events":[` + events + `]}`
		if status, got := post(t, s.URL()+"/2/httpapi", "application/json", []byte(body)); status != 200 {
			t.Fatalf("upload = %d %s", status, got)
		}
	}
	attribution := func(idfa string) {
		t.Helper()
		status, got := post(t, s.URL()+"/attribution", "application/x-www-form-urlencoded", []byte(url.Values{"api_key": {p.APIKey},
			"event": {`{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"` + idfa + `","user_properties":{"[AppsFlyer] media source":"examplenet_int"}}`}}.Encode()))
		if status != 200 {
			t.Fatalf("/attribution = %d %s", status, got)
		}
	}
	pending := func() touchpoint.PendingAttributions {
		t.Helper()
		var pend touchpoint.PendingAttributions
		s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", p.ID), nil, &pend)
		return pend
	}

	// An event without a time takes the project's.
	upload(`{"device_id":"device-1","event_type":"open","insert_id":"open-1"}`)
	evs := s.deviceEvents(t, &p, "device-1")
	if len(evs) != 1 || evs[0]["time"] != float64(start.UnixMilli()) {
		t.Fatalf("events %v, want one at the project's %d", evs, start.UnixMilli())
	}

	// Insert ids: a repeat within 7 days of the project's clock is not
	// stored again; after them it is.
	advance("6d", 6*24*time.Hour)
	upload(`{"device_id":"device-1","event_type":"open","insert_id":"open-1"}`)
	if evs := s.deviceEvents(t, &p, "device-1"); len(evs) != 1 {
		t.Fatalf("a repeated insert id 6 days on was stored: %d events", len(evs))
	}
	advance("2d", 2*24*time.Hour)
	upload(`{"device_id":"device-1","event_type":"open","insert_id":"open-1"}`)
	if evs := s.deviceEvents(t, &p, "device-1"); len(evs) != 2 {
		t.Fatalf("a repeated insert id 8 days on: %d events, want 2", len(evs))
	}

	// The 72-hour hold: an attribution for an unseen idfa waits; 71 hours
	// on, the idfa's first event takes it.
	attribution("IDFA-HELD-71")
	advance("71h", 71*time.Hour)
	if pend := pending(); pend.Count != 1 {
		t.Fatalf("pending after 71 hours: %+v", pend)
	}
	upload(`{"device_id":"device-2","event_type":"open","idfa":"IDFA-HELD-71","platform":"iOS"}`)
	if evs := s.deviceEvents(t, &p, "device-2"); len(evs) != 2 || evs[0]["event_type"] != "[AppsFlyer] Install" {
		t.Fatalf("d-2's events after a match within the hold: %v", evs)
	}
	// 73 hours on, it is dropped instead.
	attribution("IDFA-HELD-73")
	advance("73h", 73*time.Hour)
	upload(`{"device_id":"device-3","event_type":"open","idfa":"IDFA-HELD-73","platform":"iOS"}`)
	if evs := s.deviceEvents(t, &p, "device-3"); len(evs) != 1 || evs[0]["event_type"] != "open" {
		t.Fatalf("d-3's events after the hold ran out: %v", evs)
	}
	if pend := pending(); pend.Count != 0 || pend.Dropped != 1 {
		t.Fatalf("pending after the hold ran out: %+v, want none and 1 dropped", pend)
	}
	// One that no event ever claims is dropped by the expiry task, by the
	// project's clock (the server's stands three years before it).
	attribution("IDFA-NEVER")
	advance("72h", 72*time.Hour)
	if err := s.Service().ExpireAttributions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pend := pending(); pend.Count != 1 || pend.Dropped != 1 {
		t.Fatalf("pending at exactly 72 hours: %+v, want it still held", pend)
	}
	advance("1m", time.Minute)
	if err := s.Service().ExpireAttributions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pend := pending(); pend.Count != 0 || pend.Dropped != 2 {
		t.Fatalf("pending after the expiry task: %+v, want none and 2 dropped", pend)
	}

	// A cohort window ends at the project's clock: device-3 opens the app
	// now, and two days on it has not within the last day.
	upload(`{"device_id":"device-3","event_type":"open"}`)
	var c touchpoint.Cohort
	s.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts", p.ID), map[string]any{"name": "Recent",
		"definition": map[string]any{"event": map[string]any{"event_type": "open", "op": "at_least", "count": 1, "within_days": 1}}}, &c)
	compute := func() int64 {
		t.Helper()
		var m struct{ Size int64 }
		s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/compute", p.ID, c.ID), nil, &m)
		return m.Size
	}
	if n := compute(); n != 1 {
		t.Fatalf("cohort of the last day: %d members, want device-3's user", n)
	}
	advance("2d", 2*24*time.Hour)
	if n := compute(); n != 0 {
		t.Fatalf("cohort of the last day, two days on: %d members, want none", n)
	}

	// Only a test-mode project has a clock to move, and it moves forward.
	var prod touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Production"}, &prod)
	s.mustAPI(t, 400, "POST", fmt.Sprintf("/api/v1/projects/%d/test_clock", prod.ID), map[string]any{"advance": "1d"}, nil)
	s.mustAPI(t, 400, "POST", fmt.Sprintf("/api/v1/projects/%d/test_clock", p.ID), map[string]any{"time": start}, nil)
	s.mustAPI(t, 400, "POST", "/api/v1/projects", map[string]any{"name": "Bad", "test_clock": start}, nil)
	s.mustAPI(t, 404, "POST", "/api/v1/projects/999/test_clock", map[string]any{"advance": "1d"}, nil)
}
