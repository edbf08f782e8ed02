package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

func recordJSON(t *testing.T, db *sqlite.DB, p *touchpoint.Project, now time.Time, events ...string) int {
	t.Helper()
	body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: now})
	if rej != nil {
		t.Fatalf("DecodeUpload: %+v", rej)
	}
	u := &touchpoint.EventUpload{Project: p.ID, Received: now, Events: up.Events}
	if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{u}); err != nil {
		t.Fatal(err)
	}
	return u.Stored
}

// TestAnalyticsReopen checks that what the analytics writer keeps in memory
// comes back after a restart: insert ids (dedup across restarts), users,
// their properties, held attributions, and the ids it gives.
func TestAnalyticsReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	now := func() time.Time { return storetest.Start }
	db := sqlite.NewDB(path)
	db.Clock = now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	p := storetest.MustCreateProject(t, db, "Game")
	if n := recordJSON(t, db, p, storetest.Start,
		`{"device_id":"device-1","user_id":"user-1","event_type":"buy","insert_id":"i-1","user_properties":{"$set":{"plan":"gold"}}}`); n != 1 {
		t.Fatalf("stored %d", n)
	}
	e, err := analytics.DecodeAttribution(`{"event_type":"[AppsFlyer] Install","platform":"android","adid":"gaid-1234567","user_properties":{"[AppsFlyer] media source":"net_int"}}`, storetest.Start)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{{Project: p.ID, Received: storetest.Start, Events: []*touchpoint.IncomingEvent{e}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpen(t, path, now)
	if got, err := db.ProjectByAPIKey(p.APIKey); err != nil || got.ID != p.ID {
		t.Fatalf("ProjectByAPIKey after restart: %+v, %v", got, err)
	}
	later := storetest.Start.Add(time.Hour)
	if n := recordJSON(t, db, p, later, `{"device_id":"device-1","event_type":"buy","insert_id":"i-1"}`); n != 0 {
		t.Fatal("an insert id received before the restart was stored again")
	}
	recordJSON(t, db, p, later,
		`{"device_id":"device-1","event_type":"open","adid":"gaid-1234567","user_properties":{"$add":{"logins":1}}}`,
		`{"device_id":"device-2","user_id":"user-2","event_type":"open"}`)
	u, err := db.LookupUser(context.Background(), p.ID, "user-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := props(u.Properties); got != `{"[AppsFlyer] media source":"net_int","logins":1,"plan":"gold"}` {
		t.Fatalf("properties after restart %s", got)
	}
	if len(u.Attribution) != 1 {
		t.Fatalf("the held attribution did not match after restart: %+v", u)
	}
	u2, err := db.LookupUser(context.Background(), p.ID, "user-2", "")
	if err != nil || u2.AmplitudeID <= u.AmplitudeID {
		t.Fatalf("user ids after restart: %d after %d (%v)", u2.AmplitudeID, u.AmplitudeID, err)
	}
	page, err := db.UserEvents(context.Background(), p.ID, u.AmplitudeID, 0, 10)
	if err != nil || len(page.Events) != 3 {
		t.Fatalf("events of user-1 after restart: %d, %v", len(page.Events), err)
	}
}

func props(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestUserReadableWithFarFutureEvent: an event stored with a time past the
// year 9999 (as the writer took them before client times were checked)
// never makes its user unreadable: the user's times read as the end of
// 9999, and the user encodes as JSON.
func TestUserReadableWithFarFutureEvent(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), func() time.Time { return storetest.Start })
	p := storetest.MustCreateProject(t, db, "Game")
	far := time.Date(10000, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	e := &touchpoint.IncomingEvent{EventType: "open", DeviceID: "device-far", Time: far,
		Data: []byte(`{"device_id":"device-far","event_type":"open"}`)}
	if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{{Project: p.ID, Received: storetest.Start,
		Events: []*touchpoint.IncomingEvent{e}}}); err != nil {
		t.Fatal(err)
	}
	u, err := db.LookupUser(context.Background(), p.ID, "", "device-far")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(u); err != nil {
		t.Fatalf("the user cannot be encoded: %v", err)
	}
	if !u.LastSeen.Equal(touchpoint.LatestTime) {
		t.Errorf("last seen %v, want %v", u.LastSeen, touchpoint.LatestTime)
	}
}

// TestConcurrentKeyRotations: rotations of one project's key racing each
// other leave memory as the last commit left the table: exactly one of the
// keys handed out works, the one whose hash is stored.
func TestConcurrentKeyRotations(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), func() time.Time { return storetest.Start })
	p := storetest.MustCreateProject(t, db, "Game")
	keys := make(chan string, 64)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				r, err := db.RotateProjectKey(context.Background(), p.ID, touchpoint.APIKey)
				if err != nil {
					t.Error(err)
					return
				}
				keys <- r.APIKey
			}
		}()
	}
	wg.Wait()
	close(keys)
	stored, err := db.FindProject(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	working := 0
	for k := range keys {
		if got, err := db.ProjectByAPIKey(k); err == nil {
			working++
			if got.ID != p.ID || touchpoint.HashKey(k) != stored.APIKeyHash {
				t.Errorf("key ...%s works but is not the stored one", k[len(k)-4:])
			}
		}
	}
	if working != 1 {
		t.Errorf("%d of the rotated keys work, want 1", working)
	}
}

// TestRecordEventsOneCommit checks that decisions about what the same
// commit created are written after it: a user created, identified and
// merged into, a property version, and an attribution held and applied,
// all in one upload.
func TestRecordEventsOneCommit(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), func() time.Time { return storetest.Start })
	p := storetest.MustCreateProject(t, db, "Game")
	install, err := analytics.DecodeAttribution(`{"event_type":"[Adjust] Install","platform":"android","adid":"gaid-7654321","user_properties":{"[adjust] network":"Examplenet"}}`, storetest.Start)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"api_key":"` + p.APIKey + `","events":[{"device_id":"device-9","event_type":"open"},
		{"device_id":"device-9","user_id":"user-9","event_type":"login","user_properties":{"plan":"gold"}},
		{"device_id":"device-8","event_type":"open","adid":"gaid-7654321"},
		{"device_id":"device-8","user_id":"user-9","event_type":"login"}]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: storetest.Start})
	if rej != nil {
		t.Fatalf("DecodeUpload: %+v", rej)
	}
	u := &touchpoint.EventUpload{Project: p.ID, Received: storetest.Start, Events: append([]*touchpoint.IncomingEvent{install}, up.Events...)}
	if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{u}); err != nil || u.Stored != 4 {
		t.Fatalf("RecordEvents: stored %d, %v", u.Stored, err)
	}
	user, err := db.LookupUser(context.Background(), p.ID, "user-9", "")
	if err != nil {
		t.Fatal(err)
	}
	if props(user.DeviceIDs) != `["device-8","device-9"]` || props(user.Properties) != `{"plan":"gold"}` || len(user.Attribution) != 1 {
		t.Fatalf("user-9 %+v", user)
	}
	anon, err := db.FindUser(context.Background(), p.ID, user.AmplitudeID+1)
	if err != nil || anon.MergedInto != user.AmplitudeID || props(anon.Properties) != `{"[adjust] network":"Examplenet"}` {
		t.Fatalf("device-8's first user %+v, %v: want merged into %d, with the attribution's properties", anon, err, user.AmplitudeID)
	}
	if pend, err := db.PendingAttributions(context.Background(), p.ID, db.Now()); err != nil || pend.Count != 0 || pend.Dropped != 0 {
		t.Fatalf("pending %+v, %v", pend, err)
	}
}

// TestTestProjectDedupAfterReopen: a test-mode project's insert ids are
// remembered at its clock's times, whichever way its clock stands from
// the store's, across a restart too.
func TestTestProjectDedupAfterReopen(t *testing.T) {
	for name, offset := range map[string]time.Duration{"ahead": 30 * 24 * time.Hour, "behind": -30 * 24 * time.Hour} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "touchpoint.db")
			now := func() time.Time { return storetest.Start }
			db := sqlite.NewDB(path)
			db.Clock = now
			if err := db.Open(); err != nil {
				t.Fatal(err)
			}
			clock := storetest.Start.Add(offset)
			p := &touchpoint.Project{Name: "Rehearsal", TestMode: true, TestClock: &clock, Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
			if err := db.CreateProject(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			prod := storetest.MustCreateProject(t, db, "Production")
			ev := `{"device_id":"device-1","event_type":"buy","insert_id":"x1"}`
			if n := recordJSON(t, db, p, clock, ev); n != 1 {
				t.Fatalf("first: stored %d", n)
			}
			if n := recordJSON(t, db, prod, storetest.Start, ev); n != 1 {
				t.Fatalf("production first: stored %d", n)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = sqlite.NewDB(path)
			db.Clock = now
			if err := db.Open(); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if n := recordJSON(t, db, p, clock.Add(time.Hour), ev); n != 0 {
				t.Errorf("a repeat an hour on the project's clock after a restart was stored")
			}
			if n := recordJSON(t, db, p, clock.Add(touchpoint.DedupWindow+time.Minute), ev); n != 1 {
				t.Errorf("a repeat 7 days on the project's clock after a restart was not stored")
			}
			if n := recordJSON(t, db, prod, storetest.Start.Add(time.Hour), ev); n != 0 {
				t.Errorf("a production repeat an hour later after a restart was stored")
			}
		})
	}
}
