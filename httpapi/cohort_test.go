package httpapi_test

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// gaid is a user's Google advertising id in these tests.
func gaid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// TestCohortSyncLoop closes the loop of issue 7 on one server: events
// ingested → a cohort defined → synced every minute on an injected clock
// → the audience created in the attribution plane with the cohort's
// members → users leave and enter → the next runs remove and add them →
// the audience matches the cohort exactly.
func TestCohortSyncLoop(t *testing.T) {
	l, clock, app := startCohortLoop(t)
	s, p := l.testServer, *l.project

	now := clock.Now().UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	user := func(n int, source string, withGAID bool) map[string]any {
		e := map[string]any{"user_id": fmt.Sprintf("user-%d", n), "device_id": fmt.Sprintf("device-%d", n), "event_type": "session_start",
			"platform": "Android", "time": now - 20*day,
			"user_properties": map[string]any{"$set": map[string]any{"[AppsFlyer] media source": source}}}
		if withGAID {
			e["adid"] = gaid(n)
		}
		return e
	}
	purchase := func(n int, ago int64, price float64) map[string]any {
		return map[string]any{"user_id": fmt.Sprintf("user-%d", n), "event_type": "purchase", "time": now - ago,
			"event_properties": map[string]any{"price": price}}
	}
	// Users 1–4 came from examplenet, 5 from othernet; 6 from examplenet
	// with no advertising id.
	l.ingest(t, user(1, "examplenet", true), user(2, "examplenet", true), user(3, "examplenet", true), user(4, "examplenet", true),
		user(5, "othernet", true), user(6, "examplenet", false))
	l.ingest(t,
		purchase(1, 6*day, 20), // in the window until the clock moves a day
		purchase(2, day, 12),
		purchase(3, 2*day, 2),  // under the price floor
		purchase(4, 9*day, 50), // before the window
		purchase(5, day, 30),   // another source
		purchase(6, day, 40),   // no GAID: skipped
	)

	// "Paid over $5 in the last 7 days, from examplenet."
	var c touchpoint.Cohort
	s.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts", p.ID), map[string]any{
		"name": "Recent payers",
		"definition": map[string]any{"and": []any{
			map[string]any{"event": map[string]any{"event_type": "purchase", "op": "at_least", "count": 1, "within_days": 7,
				"where": []any{map[string]any{"property": "price", "op": ">", "value": 5}}}},
			map[string]any{"user_property": map[string]any{"property": "[AppsFlyer] media source", "op": "=", "value": "examplenet"}},
		}},
	}, &c)
	var preview touchpoint.CohortPreview
	s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts/preview", p.ID), map[string]any{"definition": c.Definition}, &preview)
	if preview.Size != 3 || len(preview.Sample) != 3 {
		t.Fatalf("preview = %+v, want users 1, 2 and 6", preview)
	}

	var dest touchpoint.Destination
	s.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID), map[string]any{
		"kind": "appsflyer-cohort", "name": "AF audiences", "appsflyer_app_id": loopApp, "api_token": app.APIToken,
		"platform": "android", "identifier": "gaid"}, &dest)
	base := fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/syncs", p.ID, c.ID)
	var sy touchpoint.CohortSync
	s.mustAPI(t, 201, "POST", base, map[string]any{"destination_id": dest.ID, "cadence": "minute", "batch_size": 1}, &sy)

	// The first run creates the audience and adds every member.
	runs := waitRuns(t, s, base, sy.ID, 1)
	r := runs[0]
	if r.Status != touchpoint.RunOK || r.Size != 3 || r.Added != 2 || r.Removed != 0 || r.Skipped != 1 || r.Failed != 0 {
		t.Fatalf("first run = %+v", r)
	}
	if len(r.Responses) != 3 || r.Responses[0].Action != "create" || r.Responses[0].Status != 200 ||
		r.Responses[1].Action != "add" || r.Responses[1].Devices != 1 || r.Responses[1].Body != `{"message":"The request was successful"}` {
		t.Fatalf("first run's responses = %+v", r.Responses)
	}
	s.mustAPI(t, 200, "GET", fmt.Sprintf("%s/%d", base, sy.ID), nil, &sy)
	if !regexp.MustCompile(`^Recent payers [0-9A-Za-z]{10}$`).MatchString(sy.AudienceName) || sy.ImportKey == "" {
		t.Fatalf("sync = %+v: want the audience named after the cohort and its import key", sy)
	}
	aud := audienceOf(t, s, sy.AudienceID)
	if aud.Name != sy.AudienceName || aud.Platform != touchpoint.Android || aud.Size != 2 {
		t.Fatalf("audience = %+v", aud)
	}
	matchAudience(t, s, p.ID, c.ID, sy.AudienceID, []string{gaid(1), gaid(2)})

	// Nothing changes within the minute.
	clock.Add(30 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(syncRuns(t, s, base, sy.ID)); n != 1 {
		t.Fatalf("%d runs before the minute is up, want 1", n)
	}

	// User 2 moves to othernet (leaves); user 3 buys again above the floor
	// (enters); user 1 changes device (its old GAID leaves, its new one
	// enters).
	l.ingest(t, map[string]any{"user_id": "user-2", "event_type": "settings",
		"user_properties": map[string]any{"$set": map[string]any{"[AppsFlyer] media source": "othernet"}}},
		purchase(3, 0, 9),
		map[string]any{"user_id": "user-1", "device_id": "device-1b", "event_type": "session_start", "adid": gaid(101)})
	clock.Add(30 * time.Second)
	r = waitRuns(t, s, base, sy.ID, 2)[0]
	if r.Status != touchpoint.RunOK || r.Size != 3 || r.Added != 2 || r.Removed != 2 || r.Skipped != 1 {
		t.Fatalf("second run = %+v", r)
	}
	for _, resp := range r.Responses {
		if resp.Action == "create" {
			t.Fatalf("second run created an audience again: %+v", r.Responses)
		}
	}
	matchAudience(t, s, p.ID, c.ID, sy.AudienceID, []string{gaid(101), gaid(3)})

	// A day later user 1's purchase is out of the window: it leaves.
	clock.Add(24 * time.Hour)
	r = waitRuns(t, s, base, sy.ID, 3)[0]
	if r.Status != touchpoint.RunOK || r.Size != 2 || r.Added != 0 || r.Removed != 1 {
		t.Fatalf("third run = %+v", r)
	}
	matchAudience(t, s, p.ID, c.ID, sy.AudienceID, []string{gaid(3)})

	// Only one audience was ever created.
	var list struct{ Audiences []touchpoint.Audience }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+loopApp+"/audiences", nil, &list)
	if len(list.Audiences) != 1 {
		t.Fatalf("audiences = %+v, want one", list.Audiences)
	}
}

// TestCohortSyncFaults: a wrong token fails the first run visibly and
// sends nothing; fixing the destination lets the next run create the
// audience; a batch size over the Audiences API's 10,000 devices is
// refused when saved, and a cohort larger than that is sent in batches
// the API takes.
func TestCohortSyncFaults(t *testing.T) {
	l, clock, app := startCohortLoop(t)
	s, p := l.testServer, *l.project
	events := []map[string]any{}
	for n := range 3 {
		events = append(events, map[string]any{"user_id": fmt.Sprintf("user-%d", n), "event_type": "open", "adid": gaid(n),
			"time": clock.Now().UnixMilli()})
	}
	l.ingest(t, events...)
	var c touchpoint.Cohort
	s.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts", p.ID), map[string]any{"name": "Openers",
		"definition": map[string]any{"event": map[string]any{"event_type": "open", "op": "at_least", "count": 1, "within_days": 30}}}, &c)
	var dest touchpoint.Destination
	s.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID), map[string]any{
		"kind": "appsflyer-cohort", "name": "AF", "appsflyer_app_id": loopApp, "api_token": "wrong",
		"platform": "android", "identifier": "gaid"}, &dest)
	base := fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/syncs", p.ID, c.ID)
	var sy touchpoint.CohortSync
	s.mustAPI(t, 201, "POST", base, map[string]any{"destination_id": dest.ID, "cadence": "hourly"}, &sy)
	r := waitRuns(t, s, base, sy.ID, 1)[0]
	if r.Status != touchpoint.RunFailed || r.Added != 0 || len(r.Responses) != 1 || r.Responses[0].Status != 403 ||
		r.Responses[0].Tries != 1 || r.Error == "" {
		t.Fatalf("run with a wrong token = %+v", r)
	}

	// A batch size over the API's 10,000 devices is refused, on create
	// and on update, and changes nothing.
	tooBig := fmt.Sprintf("batch_size %d is out of range: 1 to 10000 devices, the most one Audiences import request may carry",
		touchpoint.MaxAudienceDevices+5)
	for _, call := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", base, map[string]any{"destination_id": dest.ID, "batch_size": touchpoint.MaxAudienceDevices + 5}},
		{"PATCH", base + fmt.Sprint("/", sy.ID), map[string]any{"batch_size": touchpoint.MaxAudienceDevices + 5}},
	} {
		var e httpapi.ErrorResponse
		if code := s.api(t, call.method, call.path, call.body, &e); code != 400 || e.Error != tooBig {
			t.Errorf("%s batch_size %d: %d %+v", call.method, touchpoint.MaxAudienceDevices+5, code, e)
		}
	}
	var syncs struct{ Syncs []touchpoint.CohortSync }
	if s.mustAPI(t, 200, "GET", base, nil, &syncs); len(syncs.Syncs) != 1 {
		t.Fatalf("syncs after the refusals: %+v", syncs.Syncs)
	}

	// The right token, and more members than one request takes: the
	// audience is created and everyone is added, in batches of 10,000.
	s.mustAPI(t, 200, "PATCH", fmt.Sprintf("/api/v1/projects/%d/destinations/%d", p.ID, dest.ID), map[string]any{"api_token": app.APIToken}, nil)
	var more []map[string]any
	for n := 3; n < touchpoint.MaxAudienceDevices+5; n++ {
		more = append(more, map[string]any{"user_id": fmt.Sprintf("user-%d", n), "event_type": "open", "adid": gaid(n),
			"time": clock.Now().UnixMilli()})
		if len(more) == 1000 {
			l.ingest(t, more...)
			more = more[:0]
		}
	}
	l.ingest(t, more...)
	s.mustAPI(t, 200, "GET", fmt.Sprintf("%s/%d", base, sy.ID), nil, &sy)
	if sy.BatchSize != touchpoint.DefaultSyncBatch {
		t.Fatalf("sync %+v: a refused update changed it", sy)
	}
	// The next run is an hour away: run now.
	s.mustAPI(t, 200, "POST", fmt.Sprintf("%s/%d/run", base, sy.ID), nil, &r)
	waitRuns(t, s, base, sy.ID, 2)
	want := int64(touchpoint.MaxAudienceDevices + 5)
	if r.Status != touchpoint.RunOK || r.Size != want || r.Added != want || r.Failed != 0 || len(r.Responses) != 3 {
		t.Fatalf("run = %+v", r)
	}
	for _, resp := range r.Responses[1:] {
		if resp.Status != 200 || resp.Devices > touchpoint.MaxAudienceDevices {
			t.Errorf("response %+v", resp)
		}
	}
	s.mustAPI(t, 200, "GET", fmt.Sprintf("%s/%d", base, sy.ID), nil, &sy)
	if aud := audienceOf(t, s, sy.AudienceID); aud.Size != want {
		t.Fatalf("audience size = %d, want %d", aud.Size, want)
	}
}

// startCohortLoop starts a server on a test clock, syncing every 10 ms
// and retrying at once, with an Android app linked to a project.
func startCohortLoop(t *testing.T) (*loop, *storetest.Clock, touchpoint.App) {
	clock := storetest.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	s := startServer(t, func(s *httpapi.Server) {
		s.Store.(*sqlite.DB).Clock = clock.Now
		s.CohortSyncInterval = 10 * time.Millisecond
		s.CohortSyncBackoff = time.Millisecond
	})
	var app touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": loopApp, "platform": "android", "name": "Loop"}, &app)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Loop", "apps": []string{loopApp}}, &p)
	return &loop{testServer: s, project: &p}, clock, app
}

// syncRuns lists a sync's runs, newest first.
func syncRuns(t *testing.T, s *testServer, base string, id int64) []*touchpoint.SyncRun {
	t.Helper()
	var out struct{ Runs []*touchpoint.SyncRun }
	s.mustAPI(t, 200, "GET", fmt.Sprintf("%s/%d/runs", base, id), nil, &out)
	return out.Runs
}

// waitRuns waits until a sync has n runs and returns them, newest first.
func waitRuns(t *testing.T, s *testServer, base string, id int64, n int) []*touchpoint.SyncRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs := syncRuns(t, s, base, id)
		if len(runs) >= n {
			if len(runs) > n {
				t.Fatalf("%d runs, want %d: %+v", len(runs), n, runs[0])
			}
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs after 30 s, want %d", len(runs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func audienceOf(t *testing.T, s *testServer, id int64) touchpoint.Audience {
	t.Helper()
	var a touchpoint.Audience
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d", loopApp, id), nil, &a)
	return a
}

// matchAudience checks that the audience holds exactly these GAIDs, the
// GAIDs of the cohort's stored members.
func matchAudience(t *testing.T, s *testServer, project, cohort, audience int64, want []string) {
	t.Helper()
	var page httpapi.AudienceMemberPage
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?identifier=gaid", loopApp, audience), nil, &page)
	var got []string
	for _, m := range page.Members {
		if m.AppID != loopApp {
			t.Errorf("member %+v: want app id %s", m, loopApp)
		}
		got = append(got, m.Value)
	}
	var members httpapi.CohortMemberPage
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/members", project, cohort), nil, &members)
	var cohortIDs []string
	for _, m := range members.Members {
		if m.ADID != "" {
			cohortIDs = append(cohortIDs, m.ADID)
		}
	}
	slices.Sort(want)
	slices.Sort(cohortIDs)
	if !slices.Equal(got, want) || !slices.Equal(cohortIDs, want) {
		t.Fatalf("audience holds %q, the cohort's members have %q; want %q", got, cohortIDs, want)
	}
	if a := audienceOf(t, s, audience); a.Size != int64(len(want)) {
		t.Fatalf("audience size = %d, want %d", a.Size, len(want))
	}
}
