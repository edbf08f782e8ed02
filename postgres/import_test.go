package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

// dump returns a query's rows as text, for comparing two databases.
func dump(t *testing.T, url, query string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestImportDerives: what the import writes of touches, events and held
// attribution events, and what it derives from them (lookup keys, insert
// ids, held events' keys, partitions), is what recording them writes.
func TestImportDerives(t *testing.T) {
	ctx := context.Background()
	c := storetest.NewClock(storetest.Start)
	recURL, impURL := freshDatabase(t), freshDatabase(t)
	rec, imp := open(t, recURL, c.Now), open(t, impURL, c.Now)
	if err := postgres.CheckEmpty(ctx, impURL); err != nil {
		t.Fatalf("a new database: %v", err)
	}
	for _, db := range []*postgres.DB{rec, imp} {
		storetest.MustCreateApp(t, db, "com.example.game")
		storetest.MustCreateProject(t, db, "Game")
	}

	// Touches of three weeks, recorded in one, imported in the other.
	var touches []*touchpoint.Touch
	for week := range 3 {
		var ts []*touchpoint.Touch
		for i := range 3 {
			tc := storetest.NewTouch("com.example.game", "net_int", c.Now().Add(time.Duration(i)*time.Second))
			tc.Params.ClickID = fmt.Sprintf("c-%d-%d", week, i)
			ts = append(ts, tc)
		}
		if err := rec.RecordTouches(ctx, ts); err != nil {
			t.Fatal(err)
		}
		touches = append(touches, ts...)
		c.Add(8 * 24 * time.Hour)
	}
	for i := 0; i < len(touches); i += 3 {
		if err := imp.ImportTouches(ctx, touches[i:i+3]); err != nil {
			t.Fatal(err)
		}
	}

	// Events with insert ids (one sent twice), and a held attribution.
	body := `{"api_key":"x","events":[{"user_id":"user-1","event_type":"open","insert_id":"a"},{"user_id":"user-1","event_type":"open","insert_id":"a"},` +
		`{"device_id":"device-2","event_type":"buy","insert_id":"b","time":1000000000000}]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: c.Now()})
	if rej != nil {
		t.Fatal(rej)
	}
	held, err := analytics.DecodeAttribution(`{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"AEBE52E7-03EE-455A-B3C4-E57283966239",`+
		`"idfv":"BEBE52E7-03EE-455A-B3C4-E57283966239","user_properties":{"[AppsFlyer] media source":"net_int"}}`, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	up.Events = append(up.Events, held)
	if err := rec.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: 1, Received: c.Now(), Events: up.Events}}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, recURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT id, project, amplitude_id, type, time, props, dedup, received, data FROM events ORDER BY id`)
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (analytics.Event, error) {
		var e analytics.Event
		var dedup int64
		err := r.Scan(&e.ID, &e.Project, &e.User, &e.Type, &e.Time, &e.Version, &dedup, &e.Received, &e.Data)
		e.Dedup = uint64(dedup)
		return e, err
	})
	if err != nil || len(events) != 2 {
		t.Fatalf("recorded events: %v, %v", events, err)
	}
	if err := imp.ImportEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT id, project, keys, received, event_type, time, user_properties, data FROM pending_attributions`)
	holds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*analytics.Held, error) {
		h := &analytics.Held{}
		var keys, props, eventType []byte
		err := r.Scan(&h.ID, &h.Project, &keys, &h.Received, &eventType, &h.Time, &props, &h.Data)
		h.EventType = string(eventType)
		for i := 0; i+16 <= len(keys); i += 16 {
			h.Keys = append(h.Keys, touchpoint.AdIDKey(keys[i:i+16]))
		}
		json.Unmarshal(props, &h.Props)
		return h, err
	})
	if err != nil || len(holds) != 1 || len(holds[0].Keys) != 2 {
		t.Fatalf("held: %+v, %v", holds, err)
	}
	if err := imp.ImportHeld(ctx, holds); err != nil {
		t.Fatal(err)
	}

	for _, q := range []string{
		`SELECT * FROM touches ORDER BY id`,
		`SELECT * FROM touch_keys ORDER BY k, id`,
		`SELECT relname FROM pg_class WHERE relispartition ORDER BY relname`,
		`SELECT * FROM events ORDER BY id`,
		`SELECT * FROM insert_ids ORDER BY project, hash`,
		`SELECT * FROM pending_attributions ORDER BY id`,
		`SELECT * FROM pending_attribution_keys ORDER BY project, key, id`,
	} {
		if a, b := dump(t, recURL, q), dump(t, impURL, q); a != b || a == "" {
			t.Errorf("%s:\nrecorded:\n%simported:\n%s", q, a, b)
		}
	}

	// The counters move past what was imported; the database is not
	// empty any more, until cleared.
	const generation = `SELECT next FROM sequences WHERE name = 'analytics_generation'`
	before := dump(t, impURL, generation)
	if err := imp.FinishImport(ctx, analytics.IDs{Event: 1, User: 1, Version: 1, Type: 1, Held: 50}); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, impURL, generation); after == before {
		t.Errorf("the analytics generation did not move: %s", after)
	}
	next := storetest.NewTouch("com.example.game", "net_int", storetest.Start)
	if err := imp.RecordTouches(ctx, []*touchpoint.Touch{next}); err != nil || next.ID <= touches[len(touches)-1].ID {
		t.Errorf("a touch after the import: id %d (last imported %d), %v", next.ID, touches[len(touches)-1].ID, err)
	}
	// events: past the largest imported; pending_attributions: the next
	// given, larger; the others (no rows imported): as given.
	if got := dump(t, impURL, `SELECT name, next FROM sequences WHERE name <> 'analytics_generation' ORDER BY name`); got != "event_types 1\nevents 3\npending_attributions 50\nuser_props 1\nusers 1\n" {
		t.Errorf("sequences after the import:\n%s", got)
	}
	if err := imp.CheckEmpty(ctx); !errors.Is(err, postgres.ErrNotEmpty) || !strings.Contains(err.Error(), "touches") {
		t.Errorf("CheckEmpty after an import: %v", err)
	}
	if err := imp.ClearImport(ctx); err != nil {
		t.Fatal(err)
	}
	if err := postgres.CheckEmpty(ctx, impURL); err != nil {
		t.Errorf("CheckEmpty after ClearImport: %v", err)
	}
}
