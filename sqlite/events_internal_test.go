package sqlite

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/storetest"
)

func openAnalytics(t *testing.T) (*DB, *touchpoint.Project) {
	t.Helper()
	db := NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	db.Clock = func() time.Time { return storetest.Start }
	db.LoadInterval, db.IndexInterval = time.Hour, time.Hour
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, storetest.MustCreateProject(t, db, "Game")
}

func recordOne(t *testing.T, db *DB, p *touchpoint.Project, e *touchpoint.IncomingEvent) (int, error) {
	t.Helper()
	up := &touchpoint.EventUpload{Project: p.ID, Received: storetest.Start, Events: []*touchpoint.IncomingEvent{e}}
	err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{up})
	return up.Stored, err
}

func openEvent(userID, deviceID string) *touchpoint.IncomingEvent {
	return &touchpoint.IncomingEvent{UserID: userID, DeviceID: deviceID, EventType: "open", Time: storetest.Start.UnixMilli(),
		Data: []byte(`{"event_type":"open"}`)}
}

// TestAnalyticsGeneration checks the cheap check of other writers: the
// memory is kept while this process is the only writer, and reloaded when
// the generation row says another process committed, whose users and ids
// this process then sees and continues after.
func TestAnalyticsGeneration(t *testing.T) {
	db, p := openAnalytics(t)
	ctx := context.Background()
	if _, err := recordOne(t, db, p, openEvent("", "device-1")); err != nil {
		t.Fatal(err)
	}
	mem := db.an
	if _, err := recordOne(t, db, p, openEvent("", "device-1")); err != nil {
		t.Fatal(err)
	}
	if db.an != mem {
		t.Fatal("the memory was reloaded though no one else wrote")
	}

	// Another process identifies a user on device-2, taking a user id
	// from the sequence, and bumps the generation, as its RecordEvents
	// would.
	var other int64
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = tx.QueryRowContext(ctx, `UPDATE sequences SET next = next + 1 WHERE name = 'users' RETURNING next - 1`).Scan(&other)
	if err == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO users (id, project, user_id, props_version, first_seen) VALUES (?, ?, 'other-user', 0, 0)`, other, p.ID)
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO user_devices (project, device_id, user) VALUES (?, 'device-2', ?)`, p.ID, other)
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE sequences SET next = next + 1 WHERE name = 'analytics_generation'`)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		t.Fatal(err)
	}
	if db.an.users[other] != nil {
		t.Fatal("the test is wrong: the user is in memory already")
	}

	// Without a reload, this would make a second user "other-user" (a
	// UNIQUE violation) and a new anonymous user for device-2.
	if n, err := recordOne(t, db, p, openEvent("other-user", "device-2")); err != nil || n != 1 {
		t.Fatalf("RecordEvents after another process wrote: %d, %v", n, err)
	}
	if db.an == mem || db.an.users[other] == nil {
		t.Fatal("the memory was not reloaded")
	}
	u, err := db.LookupUser(ctx, p.ID, "", "device-2")
	if err != nil || u.AmplitudeID != other || u.UserID != "other-user" {
		t.Fatalf("device-2's user %+v, %v; want the other process's %d", u, err, other)
	}
	var gen int64
	if err := db.read.QueryRowContext(ctx, `SELECT next FROM sequences WHERE name = 'analytics_generation'`).Scan(&gen); err != nil || gen != db.an.gen {
		t.Fatalf("generation %d in the table, %d in memory (%v)", gen, db.an.gen, err)
	}
	// Ids continue after the other process's.
	if _, err := recordOne(t, db, p, openEvent("", "device-3")); err != nil {
		t.Fatal(err)
	}
	if u, err := db.LookupUser(ctx, p.ID, "", "device-3"); err != nil || u.AmplitudeID <= other {
		t.Fatalf("a new user after the other process's %d: %+v, %v", other, u, err)
	}
}

// TestAnalyticsFailedCommit checks that a write that fails leaves the
// memory as the tables are: the user it would have made and the insert id
// it would have remembered are not there, and the same event is stored
// when sent again.
func TestAnalyticsFailedCommit(t *testing.T) {
	db, p := openAnalytics(t)
	if _, err := recordOne(t, db, p, openEvent("", "device-1")); err != nil {
		t.Fatal(err)
	}
	mem, users, gen := db.an, len(db.an.users), db.an.gen
	bad := openEvent("", "device-2")
	bad.InsertID = "i-1"
	bad.UserProperties = map[string]any{"$set": map[string]any{"x": math.Inf(1)}} // JSON cannot hold it
	if _, err := recordOne(t, db, p, bad); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("RecordEvents = %v, want invalid", err)
	}
	if db.an != mem || len(db.an.users) != users || db.an.gen != gen ||
		db.an.byDevice[projectKey{p.ID, "device-2"}] != nil || len(db.an.dedup) != 0 {
		t.Fatalf("the failed write changed the memory: %d users, generation %d, dedup %v", len(db.an.users), db.an.gen, db.an.dedup)
	}
	good := openEvent("", "device-2")
	good.InsertID = "i-1"
	if n, err := recordOne(t, db, p, good); err != nil || n != 1 {
		t.Fatalf("the event sent again: stored %d, %v", n, err)
	}
	if _, ok := db.an.dedup[p.ID][amp.DedupHash(p.ID, "device-2", "i-1")]; !ok || db.an != mem {
		t.Fatal("the insert id was not remembered, or the memory was reloaded")
	}
}

// TestSequencesMigration checks that the sequences migration continues an
// existing database's ids: run again over tables with rows, it starts
// each sequence after the largest id.
func TestSequencesMigration(t *testing.T) {
	db, p := openAnalytics(t)
	ctx := context.Background()
	e := openEvent("user-1", "device-1")
	e.UserProperties = map[string]any{"plan": "gold"}
	if _, err := recordOne(t, db, p, e); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE sequences`, `DELETE FROM migrations WHERE name = 'migrations/2026-12-03-10-sequences.sql'`} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	var events, users, versions, types int64
	if err := db.read.QueryRowContext(ctx, `SELECT (SELECT max(id) FROM events), (SELECT max(id) FROM users),
		(SELECT max(version) FROM user_props), (SELECT max(id) FROM event_types)`).Scan(&events, &users, &versions, &types); err != nil {
		t.Fatal(err)
	}
	e = openEvent("user-2", "device-2")
	e.EventType, e.UserProperties = "buy", map[string]any{"plan": "free"}
	if _, err := recordOne(t, db, p, e); err != nil {
		t.Fatal(err)
	}
	var next [4]int64
	if err := db.read.QueryRowContext(ctx, `SELECT (SELECT max(id) FROM events), (SELECT max(id) FROM users),
		(SELECT max(version) FROM user_props), (SELECT max(id) FROM event_types)`).Scan(&next[0], &next[1], &next[2], &next[3]); err != nil {
		t.Fatal(err)
	}
	if next != [4]int64{events + 1, users + 1, versions + 1, types + 1} {
		t.Fatalf("ids after the migration %v, want each after %v", next, [4]int64{events, users, versions, types})
	}
}
