package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestAnalytics(t *testing.T) {
	storetest.RunAnalytics(t, func(t *testing.T, now func() time.Time) storetest.AnalyticsStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestAnalyticsNodesRace: two nodes record at once the logins of one user
// id on two devices that each had an anonymous user, and the same event
// (one device, one insert id) twice. Each user id ends as one user that
// both devices map to, the other anonymous user merged into it; no event
// is lost, and no insert id is stored twice.
func TestAnalyticsNodesRace(t *testing.T) {
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	nodes := []*postgres.DB{open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)}
	ctx := context.Background()
	p := storetest.MustCreateProject(t, nodes[0], "Game")
	record := func(db *postgres.DB, events ...string) error {
		body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
		up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: clock.Now(), RemoteIP: "203.0.113.9"})
		if rej != nil {
			return fmt.Errorf("DecodeUpload: %+v", rej)
		}
		return db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: clock.Now(), Events: up.Events}})
	}
	const users = 24
	ev := func(device, userID, typ, insertID string) string {
		e := `{"device_id":"` + device + `","event_type":"` + typ + `","insert_id":"` + insertID + `"`
		if userID != "" {
			e += `,"user_id":"` + userID + `"`
		}
		return e + "}"
	}
	device := func(i int, side string) string { return fmt.Sprintf("device-%02d-%s", i, side) }
	userID := func(i int) string { return fmt.Sprintf("user-%02d", i) }
	anon := make([][2]int64, users)
	for i := range users {
		if err := record(nodes[0], ev(device(i, "a"), "", "browse", "browse-a"), ev(device(i, "b"), "", "browse", "browse-b")); err != nil {
			t.Fatal(err)
		}
		for j, side := range []string{"a", "b"} {
			u, err := nodes[1].LookupUser(ctx, p.ID, "", device(i, side))
			if err != nil {
				t.Fatal(err)
			}
			anon[i][j] = u.AmplitudeID
		}
	}
	// Every login at once: each node logs one device in, and both send
	// the same purchase.
	start := make(chan struct{})
	errs := make(chan error, 2*users)
	var wg sync.WaitGroup
	for i := range users {
		for j, side := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- record(nodes[j], ev(device(i, side), userID(i), "login", "login-"+side), ev(device(i, "a"), "", "buy", "buy"))
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range users {
		u, err := nodes[0].LookupUser(ctx, p.ID, userID(i), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range []string{"a", "b"} {
			if d, err := nodes[1].LookupUser(ctx, p.ID, "", device(i, side)); err != nil || d.AmplitudeID != u.AmplitudeID {
				t.Fatalf("%s is user %+v (%v), want %s's %d", device(i, side), d, err, userID(i), u.AmplitudeID)
			}
		}
		// One anonymous user became the user id, the other was merged
		// into it.
		if (u.AmplitudeID == anon[i][0]) == (u.AmplitudeID == anon[i][1]) {
			t.Fatalf("%s is %d, the anonymous users were %v", userID(i), u.AmplitudeID, anon[i])
		}
		for _, a := range anon[i] {
			if m, err := nodes[0].FindUser(ctx, p.ID, a); err != nil || (a != u.AmplitudeID && m.MergedInto != u.AmplitudeID) {
				t.Fatalf("anonymous user %d: %+v, %v; want merged into %d", a, m, err, u.AmplitudeID)
			}
		}
		var types []string
		var cursor int64
		for {
			page, err := nodes[1].UserEvents(ctx, p.ID, u.AmplitudeID, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range page.Events {
				var e struct {
					EventType string `json:"event_type"`
				}
				json.Unmarshal(raw, &e)
				types = append(types, e.EventType)
			}
			if cursor = page.Next; cursor == 0 {
				break
			}
		}
		slices.Sort(types)
		if got := strings.Join(types, ","); got != "browse,browse,buy,login,login" {
			t.Fatalf("%s's events %s", userID(i), got)
		}
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var events, distinct, identified int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT dedup), (SELECT count(*) FROM users WHERE user_id IS NOT NULL) FROM events`).
		Scan(&events, &distinct, &identified); err != nil {
		t.Fatal(err)
	}
	if events != 5*users || distinct != 5*users || identified != users {
		t.Fatalf("%d events with %d distinct insert ids, %d identified users; want %d, %d and %d", events, distinct, identified, 5*users, 5*users, users)
	}
}

// TestAnalyticsRewritesNothing: an event like its user's last writes
// nothing to the user's rows (their xmin stays), though this store keeps
// nothing in memory between transactions; one with another country
// writes the user's row again.
func TestAnalyticsRewritesNothing(t *testing.T) {
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	db := open(t, dbURL, clock.Now)
	ctx := context.Background()
	p := storetest.MustCreateProject(t, db, "Game")
	n := 0
	record := func(country string) {
		t.Helper()
		n++
		body := fmt.Sprintf(`{"api_key":%q,"events":[{"device_id":"device-1","user_id":"user-1","event_type":"play","insert_id":"i%d",
			"platform":"Android","country":%q,"adid":"9f0e2a14-8cf0-11bd-b23e-10b96e40000d"}]}`, p.APIKey, n, country)
		up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: clock.Now(), RemoteIP: "203.0.113.9"})
		if rej != nil {
			t.Fatalf("DecodeUpload: %+v", rej)
		}
		if err := db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: clock.Now(), Events: up.Events}}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	versions := func() (users, devices, adids string, country string) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT (SELECT xmin::text || '/' || convert_from(country, 'UTF8') FROM users WHERE user_id = 'user-1'),
			(SELECT string_agg(xmin::text, ',') FROM user_devices), (SELECT string_agg(xmin::text, ',') FROM user_adids)`).Scan(&users, &devices, &adids); err != nil {
			t.Fatal(err)
		}
		users, country, _ = strings.Cut(users, "/")
		return users, devices, adids, country
	}
	record("US")
	u1, d1, a1, c1 := versions()
	record("US")
	u2, d2, a2, _ := versions()
	if u1 != u2 || d1 != d2 || a1 != a2 {
		t.Fatalf("the same event again rewrote rows: users %s→%s, devices %s→%s, advertising ids %s→%s", u1, u2, d1, d2, a1, a2)
	}
	record("FR")
	u3, d3, a3, c3 := versions()
	if u3 == u2 || c1 != "US" || c3 != "FR" {
		t.Fatalf("another country: users row %s→%s, country %s→%s", u2, u3, c1, c3)
	}
	if d3 != d2 || a3 != a2 {
		t.Fatalf("another country rewrote the device or advertising id: %s→%s, %s→%s", d2, d3, a2, a3)
	}
}

// TestAnalyticsMemoAcrossNodes: what a node keeps in memory of the
// analytics plane is not used once another node has written it. Node A
// knows device-1 as an anonymous user; node B then logs device-1 in as
// alice, merging that user into alice's, and expires an attribution event
// held for an advertising id A had read. A's next events for device-1 and
// for that advertising id are then alice's, and the expired attribution
// is not applied.
func TestAnalyticsMemoAcrossNodes(t *testing.T) {
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	a, b := open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)
	ctx := context.Background()
	p := storetest.MustCreateProject(t, a, "Game")
	n := 0
	upload := func(db *postgres.DB, events ...string) {
		t.Helper()
		body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
		up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: clock.Now(), RemoteIP: "203.0.113.9"})
		if rej != nil {
			t.Fatalf("DecodeUpload: %+v", rej)
		}
		if err := db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: clock.Now(), Events: up.Events}}); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(device, userID, typ string) string {
		n++
		e := fmt.Sprintf(`{"device_id":%q,"event_type":%q,"insert_id":"i%d"`, device, typ, n)
		if userID != "" {
			e += fmt.Sprintf(`,"user_id":%q`, userID)
		}
		return e + "}"
	}
	const adid = "9f0e2a14-8cf0-11bd-b23e-10b96e40000d"
	attribution := func(db *postgres.DB) {
		t.Helper()
		e, err := analytics.DecodeAttribution(`{"event_type":"[AppsFlyer] Install","platform":"android","adid":"`+adid+`","user_properties":{"media_source":"net_a"}}`, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: clock.Now(), Events: []*touchpoint.IncomingEvent{e}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A holds an attribution for the advertising id and knows device-1.
	upload(b, ev("device-2", "alice", "open"))
	attribution(a)
	upload(a, ev("device-1", "", "open"))
	upload(a, ev("device-1", "", "open"))
	anon, err := a.LookupUser(ctx, p.ID, "", "device-1")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := a.LookupUser(ctx, p.ID, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	// B merges device-1's user into alice's and drops the attribution,
	// past its hold.
	upload(b, ev("device-1", "alice", "login"))
	clock.Add(touchpoint.AttributionHold + time.Minute)
	if dropped, err := b.ExpireAttributions(ctx, p.ID, clock.Now()); err != nil || dropped != 1 {
		t.Fatalf("ExpireAttributions: %d dropped, %v", dropped, err)
	}
	// A's next events: device-1's is alice's; the advertising id's is
	// stored, with no attribution applied.
	upload(a, ev("device-1", "", "tap"), fmt.Sprintf(`{"device_id":"device-3","event_type":"play","insert_id":"x","adid":%q}`, adid))
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tapUser int64
	if err := conn.QueryRow(ctx, `SELECT e.amplitude_id FROM events e JOIN event_types t ON t.id = e.type WHERE t.name = 'tap'`).Scan(&tapUser); err != nil {
		t.Fatal(err)
	}
	if tapUser != alice.AmplitudeID || anon.AmplitudeID == alice.AmplitudeID {
		t.Fatalf("device-1's tap stored for user %d; device-1 was %d, alice is %d", tapUser, anon.AmplitudeID, alice.AmplitudeID)
	}
	var installs, held, dropped int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events e JOIN event_types t ON t.id = e.type WHERE t.name = '[AppsFlyer] Install'),
		(SELECT count(*) FROM pending_attributions), (SELECT attributions_dropped FROM projects WHERE id = $1)`, p.ID).Scan(&installs, &held, &dropped); err != nil {
		t.Fatal(err)
	}
	if installs != 0 || held != 0 || dropped != 1 {
		t.Fatalf("the expired attribution: %d stored, %d held, %d dropped; want 0, 0, 1", installs, held, dropped)
	}
}
