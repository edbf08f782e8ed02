package migrate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/internal/migrate"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// The fixture: an embedded store with something in every table, made
// through the store's own methods, as a server would have made it.

const (
	appA = "com.example.game" // production, Android
	appB = "com.example.test" // test mode, in another time zone
	gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	idfa = "AEBE52E7-03EE-455A-B3C4-E57283966239"
)

// devices are the fixture's devices of appA.
var devices = []string{"dev-1", "dev-2", "dev-3"}

// users are the user ids and device ids of the fixture's analytics users.
var users = [][2]string{{"user-1", "device-1"}, {"user-2", "device-2"}, {"", "device-3"}, {"user-4", "device-4"}, {"", "device-5"}}

// fixtureStart is where the fixture's clock starts: four weeks before
// the suite's start, so that touches fall in several weeks.
var fixtureStart = storetest.Start.Add(-28 * 24 * time.Hour)

// openSource opens the embedded store of a data dir on a clock, running no
// background work (touches stay in the journal until settled).
func openSource(tb testing.TB, dir string, now func() time.Time) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(filepath.Join(dir, migrate.DatabaseFile))
	db.Clock, db.ExternalTasks = now, true
	db.LoadInterval, db.IndexInterval = time.Hour, time.Hour
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	return db
}

// fill makes the fixture in dir, settles it, records journalOnly more
// clicks that stay in the journal, and prints what the parent needs to
// know (keys shown once, the journal's touches, the clock) on stdout. It
// does not close the store: the caller dies instead, as a server killed
// would.
func fill(t *testing.T, dir string, journalOnly int) {
	ctx := context.Background()
	clock := storetest.NewClock(fixtureStart)
	db := openSource(t, dir, clock.Now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }

	// Apps, partners, secrets.
	a := storetest.MustCreateApp(t, db, appA)
	say("devkey %s %s", appA, a.DevKey)
	b := &touchpoint.App{ID: appB, Platform: touchpoint.Android, Name: "Test", StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, appB),
		Windows: touchpoint.DefaultWindows(), TestMode: true, TimeZone: "America/New_York"}
	must(db.CreateApp(ctx, b))
	_, err := db.SetTestClock(ctx, appB, fixtureStart.Add(time.Hour))
	must(err)
	_, err = db.RotateAppKey(ctx, appB, touchpoint.APIToken)
	must(err)
	for _, p := range []*touchpoint.Partner{
		{AppID: appA, PID: "net_int", AllowIPUA: true, DailyClickCap: 1000, Postbacks: touchpoint.Postbacks{SendAllInstalls: true, Retries: 2,
			RetryMinutes: 5, Templates: []touchpoint.PostbackTemplate{
				{Kind: touchpoint.KindInstallPostback, Method: "GET", URL: "https://postbacks.example.net/i?c={clickid}"},
				{Kind: touchpoint.KindEventPostback, EventName: "purchase", SendRevenue: true, Method: "POST",
					URL: "https://postbacks.example.net/e", Body: `{"r":"{revenue}"}`, ContentType: "application/json"}}}},
		{AppID: appA, PID: "other_int", Restricted: true},
		{AppID: appB, PID: "net_int"},
	} {
		must(db.CreatePartner(ctx, p))
	}
	_, err = db.CreateSecret(ctx, appA, "net_int", 24*time.Hour)
	must(err)
	old, err := db.CreateSecret(ctx, appA, "net_int", 48*time.Hour)
	must(err)
	must(db.RevokeSecret(ctx, appA, "net_int", old.ID))
	signing := touchpoint.SigningReportOnly
	_, err = db.UpdatePartner(ctx, appA, "net_int", touchpoint.PartnerUpdate{ClickSigning: &signing})
	must(err)

	// Touches: clicks and impressions over four weeks, of both apps.
	var gaidClick *touchpoint.Touch
	for week := range 4 {
		var ts []*touchpoint.Touch
		for i := range 5 {
			at := clock.Now().Add(time.Duration(i) * time.Minute)
			tc := storetest.NewTouch(appA, "net_int", at)
			tc.Params.ClickID = fmt.Sprintf("click-%d-%d", week, i)
			tc.Device = touchpoint.DeviceIDs{touchpoint.GAID: {Raw: fmt.Sprintf("%08d-0000-4000-8000-%012d", week, i)}}
			if i == 0 {
				tc.Device = touchpoint.DeviceIDs{touchpoint.GAID: {Raw: gaid}}
				gaidClick = tc
			}
			if i%2 == 1 {
				tc.Kind, tc.Verdict = touchpoint.Impression, touchpoint.VerdictUnchecked
			}
			if i == 4 {
				tc.PID, tc.Verdict = "other_int", touchpoint.VerdictInvalidSignature
			}
			ts = append(ts, tc)
		}
		tb := storetest.NewTouch(appB, "net_int", fixtureStart.Add(time.Duration(week)*time.Hour))
		tb.Params.ClickID = fmt.Sprintf("test-click-%d", week)
		ts = append(ts, tb)
		must(db.RecordTouches(ctx, ts))
		if week < 3 {
			clock.Add(7 * 24 * time.Hour)
		}
	}
	must(db.Settle(ctx)) // loaded and indexed, some weeks at least
	clock.Add(time.Hour)
	now := clock.Now()

	// Installs (one with a rejected touch), a reinstall, conversions, with
	// the postbacks they owe.
	attr := touchpoint.AttributionOf(gaidClick, touchpoint.MatchIDMatching)
	var installs []*touchpoint.Install
	for i, id := range devices {
		at := now.Add(time.Duration(i) * time.Minute)
		d := &touchpoint.Device{App: appA, ID: id, InstallTime: at, Attribution: touchpoint.OrganicAttribution(), FirstLaunch: at, LastLaunch: at,
			Launches: 1, CustomerUserID: "cuid-" + id}
		d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: fmt.Sprintf("%s-%s", gaid[:30], id)}
		in := &touchpoint.Install{App: appA, DeviceID: id, Type: touchpoint.TypeInstall, Time: at, Attribution: touchpoint.OrganicAttribution(),
			Candidates: []touchpoint.Candidate{}}
		if i == 0 {
			d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
			d.Attribution, in.Attribution = attr, attr
			in.Candidates = []touchpoint.Candidate{{TouchID: gaidClick.ID, MediaSource: "net_int", TouchType: touchpoint.Click,
				TouchTime: gaidClick.Time, Outcome: touchpoint.OutcomeWon, Reason: "won", Explanation: "Won."}}
		}
		if i == 1 {
			in.Rejections = []touchpoint.Rejection{{Reason: touchpoint.RejectCTIT, Value: "3", MediaSource: "net_int", TouchID: gaidClick.ID,
				TouchType: touchpoint.Click, TouchTime: gaidClick.Time}}
		}
		in.Launch.IDs = d.IDs
		w := &touchpoint.LaunchWrite{Key: "launch-" + id, Device: d, Install: in, Deliveries: []*touchpoint.Delivery{{App: appA, PID: "net_int",
			Kind: touchpoint.KindInstallPostback, Method: "GET", URL: "https://postbacks.example.net/i?d=" + id, Host: "postbacks.example.net",
			MaxTries: 3, RetryInterval: 5 * time.Minute}}}
		if i == 1 {
			w.Deliveries[0].Kind = touchpoint.KindRejectedInstallPostback
		}
		must(db.WriteLaunches(ctx, []*touchpoint.LaunchWrite{w}))
		installs = append(installs, in)
	}
	// dev-1 launches again: a reinstall.
	dev1, err := db.FindDevice(ctx, appA, "dev-1")
	must(err)
	again := *dev1
	again.Launches, again.LastLaunch = 2, now.Add(time.Hour)
	re := &touchpoint.Install{App: appA, DeviceID: "dev-1", Type: touchpoint.TypeReinstall, Time: again.LastLaunch,
		Attribution: touchpoint.OrganicAttribution(), Candidates: []touchpoint.Candidate{}}
	must(db.WriteLaunches(ctx, []*touchpoint.LaunchWrite{{Seen: dev1, Version: 1, Device: &again, Install: re}}))
	for i, name := range []string{"purchase", "level_up"} {
		c := &touchpoint.Conversion{App: appA, DeviceID: "dev-1", EventID: fmt.Sprintf("ev-%d", i), Name: name, Value: `{"sku":"gold"}`,
			Revenue: 499, Currency: "EUR", Time: now.Add(2 * time.Hour), Source: "SDK", InstallID: installs[0].ID, Attribution: attr, CreatedAt: now}
		must(db.WriteConversions(ctx, []*touchpoint.ConversionWrite{{Conversion: c, Deliveries: []*touchpoint.Delivery{{App: appA,
			PID: "net_int", Kind: touchpoint.KindEventPostback, Method: "POST", URL: "https://postbacks.example.net/e", Body: "{}",
			ContentType: "application/json", Host: "postbacks.example.net", MaxTries: 3, RetryInterval: 5 * time.Minute,
			Headers: map[string]string{"X-Key": "k"}}}}}))
	}

	// Exchange rates, two days.
	for i, day := range []time.Time{now.AddDate(0, 0, -1), now} {
		must(db.PutExchangeRates(ctx, &touchpoint.ExchangeRates{Day: day, Rates: map[string]float64{"EUR": 1.08 + float64(i)/100, "GBP": 1.27, "JPY": 0.0067}}))
	}

	// Projects with keys (one rotated), one in test mode.
	p := &touchpoint.Project{Name: "Game", Apps: []string{appA}, TimeZone: "Europe/Paris",
		Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	must(db.CreateProject(ctx, p))
	rotated, err := db.RotateProjectKey(ctx, p.ID, touchpoint.APIKey)
	must(err)
	say("apikey %d %s", p.ID, rotated.APIKey)
	q := &touchpoint.Project{Name: "Rehearsal", Apps: []string{appA, appB}, TestMode: true,
		Limits: touchpoint.IngestLimits{HTTPEPS: 10, BatchEPS: 100}}
	must(db.CreateProject(ctx, q))
	say("apikey %d %s", q.ID, q.APIKey)

	// Analytics events through the write path: users who identify, merge,
	// set properties, join groups, and attributions held and applied.
	upload := func(p *touchpoint.Project, at time.Time, events ...string) {
		t.Helper()
		body := `{"api_key":"x","events":[` + strings.Join(events, ",") + `]}`
		up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: at, RemoteIP: "203.0.113.9"})
		if rej != nil {
			t.Fatalf("DecodeUpload: %+v", rej)
		}
		must(db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: at, Events: up.Events}}))
	}
	attribute := func(p *touchpoint.Project, at time.Time, event string) {
		t.Helper()
		e, err := analytics.DecodeAttribution(event, at)
		must(err)
		must(db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: at, Events: []*touchpoint.IncomingEvent{e}}}))
	}
	for day := range 10 {
		at := now.Add(-time.Duration(10-day) * 24 * time.Hour)
		var evs []string
		for i, u := range users {
			user := ""
			if u[0] != "" {
				user = fmt.Sprintf(`"user_id":%q,`, u[0])
			}
			evs = append(evs, fmt.Sprintf(`{%s"device_id":%q,"event_type":"open","time":%d,"insert_id":"open-%d-%d","platform":"Android","country":"France"}`,
				user, u[1], at.UnixMilli(), day, i))
			if (day+i)%3 == 0 {
				evs = append(evs, fmt.Sprintf(`{%s"device_id":%q,"event_type":"purchase","time":%d,"price":%d.99,"revenue":%d.99,`+
					`"event_properties":{"sku":"gold","n":%d}}`, user, u[1], at.Add(time.Minute).UnixMilli(), i+1, i+1, day))
			}
		}
		upload(p, at, evs...)
	}
	upload(p, now, `{"device_id":"device-1","event_type":"$identify","user_properties":{"$set":{"plan":"gold"},"$add":{"logins":1}}}`,
		`{"user_id":"user-2","event_type":"$identify","user_properties":{"$set":{"plan":"silver","age":31}}}`,
		// device-5 becomes user-4's: a merge.
		`{"user_id":"user-4","device_id":"device-5","event_type":"open","adid":"`+gaid+`"}`)
	upload(p, now, `{"device_id":"device-1","event_type":"$groupidentify","groups":{"org":"acme"},"group_properties":{"$set":{"plan":"pro"},"$add":{"seats":3}}}`)
	upload(p, now, `{"user_id":"user-1","event_type":"join","groups":{"org":"acme"}}`)
	// Held: no user has this idfa yet. Applied: user-4's adid.
	attribute(p, now, `{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"`+idfa+`","user_properties":{"[AppsFlyer] media source":"net_int"}}`)
	attribute(p, now, `{"event_type":"[AppsFlyer] Install","platform":"android","adid":"`+gaid+`","user_properties":{"[AppsFlyer] media source":"net_int","[AppsFlyer] campaign":"summer"}}`)
	// And in the test-mode project, events at its clock.
	upload(q, *q.TestClock, `{"user_id":"rehearsal","event_type":"open","insert_id":"r1"}`)

	// Integrations: a forward, destinations of both kinds.
	must(db.PutAnalyticsForward(ctx, &touchpoint.AnalyticsForward{App: appA, APIKey: "amp-key", Enabled: true}))
	events := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerEvents, Name: "Events", AppsFlyerAppID: appA,
		Key: "dev-key", Filter: touchpoint.EventFilter{EventTypes: []string{"purchase"}, Where: &touchpoint.PropertyCondition{On: touchpoint.OnEvent,
			Property: "sku", Op: touchpoint.OpIs, Values: []string{"gold"}}}, Enabled: true}
	must(db.CreateDestination(ctx, events))
	dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "Audiences", AppsFlyerAppID: appA,
		APIToken: "token", Platform: touchpoint.Android, Identifier: touchpoint.MapUserID, Enabled: true}
	must(db.CreateDestination(ctx, dest))
	// A project's delivery (an event stream's).
	must(db.EnqueueDeliveries(ctx, []*touchpoint.Delivery{{Project: p.ID, PID: "events", Kind: touchpoint.KindEventStream, Source: "event/1",
		Method: "POST", URL: "https://api2.example.com/2/httpapi", Body: `{"events":[]}`, ContentType: "application/json",
		Host: "api2.example.com", MaxTries: touchpoint.StreamTries, RetryInterval: time.Minute}}))

	// Deliveries tried: succeeded, failed, pending again; one claimed still.
	clock.Add(3 * time.Hour)
	claimed, err := db.ClaimDeliveries(ctx, touchpoint.Claim{Now: clock.Now(), Lease: time.Minute, Limit: 100})
	must(err)
	if len(claimed) < 5 {
		t.Fatalf("claimed %d deliveries", len(claimed))
	}
	at := clock.Now()
	var results []*touchpoint.DeliveryResult
	for i, d := range claimed[:4] {
		r := &touchpoint.DeliveryResult{Delivery: d, Attempt: &touchpoint.Attempt{N: 1, Time: at, Status: 200, Latency: 1500 * time.Microsecond,
			Body: "ok"}, State: touchpoint.DeliverySucceeded}
		switch i {
		case 1:
			r.Attempt.Status, r.Attempt.Body, r.State, r.Reason = 400, "bad", touchpoint.DeliveryFailed, "400 Bad Request"
		case 2:
			r.Attempt.Status, r.Attempt.Body, r.Attempt.Error = 0, "", "timeout"
			r.State, r.NextAt = touchpoint.DeliveryPending, at.Add(5*time.Minute)
		}
		results = append(results, r)
	}
	must(db.FinishDeliveries(ctx, results))

	// Cohorts: two versions, computed; a sync with runs and what it sent.
	buyers := &touchpoint.Cohort{Project: p.ID, Name: "Buyers", Definition: touchpoint.Condition{Event: &touchpoint.EventCondition{
		EventType: "purchase", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	must(db.CreateCohort(ctx, buyers))
	_, err = cohort.Compute(ctx, db, buyers.ID, clock.Now())
	must(err)
	name := "Buyers (2+)"
	def := touchpoint.Condition{Event: &touchpoint.EventCondition{EventType: "purchase", Op: touchpoint.AtLeast, Count: 2,
		TimeRange: touchpoint.TimeRange{WithinDays: 30}}}
	_, err = db.UpdateCohort(ctx, buyers.ID, touchpoint.CohortUpdate{Name: &name, Definition: &def})
	must(err)
	_, err = cohort.Compute(ctx, db, buyers.ID, clock.Now())
	must(err)
	openers := &touchpoint.Cohort{Project: p.ID, Name: "Openers", Description: "every opener", Definition: touchpoint.Condition{
		Event: &touchpoint.EventCondition{EventType: "open", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	must(db.CreateCohort(ctx, openers))
	_, err = cohort.Compute(ctx, db, openers.ID, clock.Now())
	must(err)
	sync := &touchpoint.CohortSync{Cohort: openers.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
	must(db.CreateCohortSync(ctx, sync))
	must(db.SetSyncAudience(ctx, sync.ID, 42, "Openers", "import-key-1"))
	sent, err := db.CohortDevices(ctx, openers.ID, touchpoint.MapUserID)
	must(err)
	var withID []touchpoint.SyncDevice
	for _, d := range sent {
		if d.ID != "" {
			withID = append(withID, d)
		}
	}
	must(db.MarkSynced(ctx, sync.ID, withID, nil))
	claim, err := db.ClaimCohortSync(ctx, sync.ID, clock.Now(), clock.Now().Add(time.Minute))
	must(err)
	next := clock.Now().Add(time.Hour)
	must(db.RecordSyncRun(ctx, &touchpoint.SyncRun{Claim: claim.Claim, Sync: sync.ID, StartedAt: clock.Now(), FinishedAt: clock.Now().Add(time.Second),
		Status: touchpoint.RunOK, Size: int64(len(sent)), Added: int64(len(withID)), Skipped: int64(len(sent) - len(withID)),
		Responses: []touchpoint.SyncResponse{{Action: "add", Devices: len(withID), Status: 200, Body: "ok", Tries: 1}}}, &next))
	// Claimed again, and left so: a run under way when the server stopped.
	_, err = db.ClaimCohortSync(ctx, sync.ID, clock.Now(), clock.Now().Add(time.Hour))
	must(err)
	once := &touchpoint.CohortSync{Cohort: buyers.ID, Destination: dest.ID, Enabled: false}
	must(db.CreateCohortSync(ctx, once))

	// Audiences of the attribution plane, with members.
	aud := &touchpoint.Audience{App: appA, Name: "Whales", Platform: touchpoint.Android}
	must(db.CreateAudience(ctx, aud))
	must(db.ImportAudience(ctx, aud.ID, touchpoint.AudienceAdd, []touchpoint.AudienceMember{
		{Identifier: "gaid", Value: gaid, AppID: appA}, {Identifier: "cuid", Value: "cuid-dev-1", AppID: appA},
		{Identifier: "gaid", Value: "00000000-0000-4000-8000-000000000002", AppID: appA}}))
	must(db.ImportAudience(ctx, aud.ID, touchpoint.AudienceRemove, []touchpoint.AudienceMember{
		{Identifier: "gaid", Value: "00000000-0000-4000-8000-000000000002", AppID: appA}}))
	must(db.CreateAudience(ctx, &touchpoint.Audience{App: appB, Name: "Empty", Platform: touchpoint.Android}))

	// Leases, one held by the server that stops.
	ok, err := db.AcquireLease(ctx, "touch-purge", "node-1", clock.Now(), clock.Now().Add(time.Hour))
	if err != nil || !ok {
		t.Fatalf("AcquireLease: %v, %v", ok, err)
	}

	// Everything so far is in the tables; the last clicks are in the
	// journal only (acknowledged, not loaded), as when a server dies.
	must(db.Settle(ctx))
	for i := range journalOnly {
		tc := storetest.NewTouch(appA, "net_int", clock.Now().Add(time.Duration(i)*time.Second))
		tc.Params.ClickID = fmt.Sprintf("journal-%d", i)
		must(db.RecordTouches(ctx, []*touchpoint.Touch{tc}))
		say("journal %d", tc.ID)
	}
	say("now %d", clock.Now().UnixMilli())
	say("filled")
	os.Stdout.Sync()
}

// jsonOf is v as JSON, for comparisons and messages.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}
