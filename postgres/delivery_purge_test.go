package postgres_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/storetest"
)

const day = 24 * time.Hour

// attemptWeekTable is the partition of delivery_attempts that holds an
// attempt made at t: weeks of Unix milliseconds from the epoch.
func attemptWeekTable(t time.Time) string {
	const week = 7 * 24 * 3600 * 1000
	ms := t.UnixMilli()
	w := ms / week
	if ms < 0 && ms%week != 0 {
		w--
	}
	if w < 0 {
		return "delivery_attempts_m" + strconv.FormatInt(-w, 10)
	}
	return "delivery_attempts_" + strconv.FormatInt(w, 10)
}

// attemptTables lists the partitions of delivery_attempts, from the catalog.
func attemptTables(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT c.relname::TEXT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'delivery_attempts'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestNodesPurgeDeliveriesRace: one node purges while another retries
// given-up deliveries and finishes claimed ones (storetest.PurgeRace).
func TestNodesPurgeDeliveriesRace(t *testing.T) {
	dbURL := freshDatabase(t)
	c := storetest.NewClock(storetest.Start)
	storetest.PurgeRace(t, open(t, dbURL, c.Now), open(t, dbURL, c.Now), c)
}

// TestDeliveryAttemptWeeks: attempts go into weekly partitions made when
// first written to; a purge drops the weeks before its cut from the
// catalog; and a node that still remembers a week another node dropped
// writes into it again (a late result, made then).
func TestDeliveryAttemptWeeks(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	old := storetest.Start.Add(-40 * day)
	c := storetest.NewClock(old)
	a, b := open(t, dbURL, c.Now), open(t, dbURL, c.Now)
	storetest.MustCreateApp(t, a, "com.example.game")
	mk := func(i int) *touchpoint.Delivery {
		return &touchpoint.Delivery{App: "com.example.game", PID: "examplenet_int", Kind: touchpoint.KindInstallPostback,
			Source: "install/" + strconv.Itoa(i), Method: "GET", URL: "https://a.example.net/pb", Host: "a.example.net", MaxTries: 5}
	}
	sent, late := mk(1), mk(2)
	if err := a.EnqueueDeliveries(ctx, []*touchpoint.Delivery{sent, late}); err != nil {
		t.Fatal(err)
	}
	claimed, err := a.ClaimDeliveries(ctx, touchpoint.Claim{Now: old, Lease: 100 * day, Limit: 10})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	succeed := func(d *touchpoint.Delivery, at time.Time) *touchpoint.DeliveryResult {
		return &touchpoint.DeliveryResult{Delivery: d, State: touchpoint.DeliverySucceeded,
			Attempt: &touchpoint.Attempt{N: 1, Time: at, Status: 200}}
	}
	if err := a.FinishDeliveries(ctx, []*touchpoint.DeliveryResult{succeed(claimed[0], old)}); err != nil {
		t.Fatal(err)
	}
	c.Add(40 * day)
	now := mk(3)
	if err := a.EnqueueDeliveries(ctx, []*touchpoint.Delivery{now}); err != nil {
		t.Fatal(err)
	}
	got, err := a.ClaimDeliveries(ctx, touchpoint.Claim{Now: c.Now(), Lease: time.Minute, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("claimed %d, %v", len(got), err)
	}
	if err := a.FinishDeliveries(ctx, []*touchpoint.DeliveryResult{succeed(got[0], c.Now())}); err != nil {
		t.Fatal(err)
	}
	oldWeek, thisWeek := attemptWeekTable(old), attemptWeekTable(c.Now())
	if tables := attemptTables(t, dbURL); !slices.Contains(tables, oldWeek) || !slices.Contains(tables, thisWeek) {
		t.Fatalf("partitions %v; want %s and %s among them", tables, oldWeek, thisWeek)
	}

	// Node b purges: the old week goes from the catalog, this week stays.
	n, err := b.PurgeDeliveries(ctx, c.Now().Add(-30*day))
	if err != nil || n != 1 {
		t.Fatalf("PurgeDeliveries = %d, %v; want 1", n, err)
	}
	if tables := attemptTables(t, dbURL); slices.Contains(tables, oldWeek) || !slices.Contains(tables, thisWeek) {
		t.Fatalf("after the purge, partitions %v; want %s dropped and %s kept", tables, oldWeek, thisWeek)
	}
	if _, err := b.FindDelivery(ctx, sent.ID); touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		t.Fatalf("FindDelivery of the purged delivery: %v", err)
	}

	// Node a still remembers the old week: the late result, an attempt
	// made then, is written all the same.
	if err := a.FinishDeliveries(ctx, []*touchpoint.DeliveryResult{succeed(claimed[1], old.Add(time.Hour))}); err != nil {
		t.Fatalf("writing an attempt into a week another node dropped: %v", err)
	}
	d, err := b.FindDelivery(ctx, late.ID)
	if err != nil || d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 1 || !d.Attempts[0].Time.Equal(old.Add(time.Hour)) {
		t.Fatalf("the late result: %+v, %v", d, err)
	}
	if tables := attemptTables(t, dbURL); !slices.Contains(tables, oldWeek) {
		t.Fatalf("partitions %v; want %s made again", tables, oldWeek)
	}
	// And node b, which knows no week, writes into this one.
	another := mk(4)
	if err := b.EnqueueDeliveries(ctx, []*touchpoint.Delivery{another}); err != nil {
		t.Fatal(err)
	}
	got, err = b.ClaimDeliveries(ctx, touchpoint.Claim{Now: c.Now(), Lease: time.Minute, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("claimed %d, %v", len(got), err)
	}
	if err := b.FinishDeliveries(ctx, []*touchpoint.DeliveryResult{succeed(got[0], c.Now())}); err != nil {
		t.Fatal(err)
	}
	h, err := a.DeliveryHealth(ctx, "com.example.game", "examplenet_int", c.Now().Add(-time.Hour), c.Now().Add(time.Hour))
	if err != nil || h.Attempts != 2 {
		t.Fatalf("health this week %+v, %v; want 2 attempts", h, err)
	}
}

// TestDeliveryAttemptsMigration: a database migrated by the version before
// delivery_attempts was partitioned keeps its attempts, each moved into
// the partition of its week (one before 1970 too), under a primary key
// that includes at; the purge then drops those weeks.
func TestDeliveryAttemptsMigration(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	conn := connect(t, dbURL)
	migrateBefore(t, conn, "2026-12-03-14")
	// A project's delivery sent twice a week apart, and one pending since
	// before 1970 (a clock set wrong), each with its attempts.
	t1 := storetest.Start.Add(-20 * day)
	t2 := t1.Add(8 * day)
	insert := func(state string, created, updated time.Time) int64 {
		t.Helper()
		var id int64
		if err := conn.QueryRow(ctx, `INSERT INTO deliveries (project, pid, kind, source, method, url, body, content_type, headers, host,
			state, tries, max_tries, retry_interval, next_at, reason, note, created_at, updated_at)
			VALUES (7, 'destination/1', 'event_stream', 'event/1', 'POST', 'https://c.example.net/batch', '[]', '', '', 'c.example.net',
				$1, 0, 10, 0, $2, '', '', $2, $3) RETURNING id`, state, created.UnixMilli(), updated.UnixMilli()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	sent, pending := insert("succeeded", t1, t2), insert("pending", time.UnixMilli(-1), time.UnixMilli(-1))
	for _, a := range []struct {
		id, n int64
		at    time.Time
	}{{sent, 1, t1}, {sent, 2, t2}, {pending, 1, time.UnixMilli(-1)}} {
		if _, err := conn.Exec(ctx, `INSERT INTO delivery_attempts (delivery_id, n, pid, at, status, latency, body, error)
			VALUES ($1, $2, 'destination/1', $3, 200, 1500, 'ok', '')`, a.id, a.n, a.at.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}

	c := storetest.NewClock(storetest.Start)
	db := open(t, dbURL, c.Now)
	d, err := db.FindDelivery(ctx, sent)
	if err != nil || len(d.Attempts) != 2 || !d.Attempts[0].Time.Equal(t1) || !d.Attempts[1].Time.Equal(t2) ||
		d.Attempts[1].Body != "ok" || d.Attempts[1].Latency != 1500*time.Microsecond {
		t.Fatalf("after the migration, delivery %d: %+v, %v", sent, d, err)
	}
	if d, err := db.FindDelivery(ctx, pending); err != nil || len(d.Attempts) != 1 || !d.Attempts[0].Time.Equal(time.UnixMilli(-1)) {
		t.Fatalf("after the migration, delivery %d: %+v, %v", pending, d, err)
	}
	tables := attemptTables(t, dbURL)
	for _, w := range []string{attemptWeekTable(t1), attemptWeekTable(t2), "delivery_attempts_m1"} {
		if !slices.Contains(tables, w) {
			t.Errorf("partitions %v; want %s", tables, w)
		}
	}
	var pk string
	var leftover bool
	if err := conn.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'delivery_attempts_pkey'`).Scan(&pk); err != nil ||
		pk != "PRIMARY KEY (delivery_id, n, at)" {
		t.Errorf("primary key %q, %v", pk, err)
	}
	if err := conn.QueryRow(ctx, `SELECT to_regclass('delivery_attempts_unpartitioned') IS NOT NULL`).Scan(&leftover); err != nil || leftover {
		t.Errorf("the unpartitioned table is left: %v %v", leftover, err)
	}

	// The purge drops the weeks before its cut: the delivery sent and the
	// pending one's attempt before 1970 go; the pending one stays.
	n, err := db.PurgeDeliveries(ctx, storetest.Start)
	if err != nil || n != 1 {
		t.Fatalf("PurgeDeliveries = %d, %v; want 1", n, err)
	}
	tables = attemptTables(t, dbURL)
	for _, w := range []string{attemptWeekTable(t1), attemptWeekTable(t2), "delivery_attempts_m1"} {
		if slices.Contains(tables, w) {
			t.Errorf("after the purge, partitions %v; want %s dropped", tables, w)
		}
	}
	if d, err := db.FindDelivery(ctx, pending); err != nil || d.State != touchpoint.DeliveryPending || len(d.Attempts) != 0 {
		t.Fatalf("after the purge, the pending delivery: %+v, %v", d, err)
	}
}
