package postgres

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
)

// TestPrefetchPlans: the analytics write path's lookups by key probe an
// index per key even when the statistics are stale in the worst way: the
// tables analysed while a project had ten rows, then grown to 50,000. That
// is when a lookup written "key = ANY($2)" reads every row of the project
// (it took 30 to 500 ms a batch in the events benchmark, instead of 2 to
// 10).
func TestPrefetchPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.FreshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Rows i of project 1: a user with a user id, a device, an advertising
	// id, an insert id, an event type and a held attribution.
	fill := func(from, to int) {
		t.Helper()
		for _, q := range []string{
			`INSERT INTO users (id, project, user_id, first_seen) SELECT i, 1, ('\x' || lpad(to_hex(i), 8, '0'))::bytea, 0 FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO user_devices (project, device_id, amplitude_id) SELECT 1, ('\x' || lpad(to_hex(i), 8, '0'))::bytea, i FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO user_adids (project, key, amplitude_id) SELECT 1, ('\x' || lpad(to_hex(i), 32, '0'))::bytea, i FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO insert_ids (project, hash, received) SELECT 1, i, 0 FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO event_types (id, project, name) SELECT i, 1, ('\x' || lpad(to_hex(i), 8, '0'))::bytea FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO pending_attributions (id, project, keys, received, event_type, time, user_properties, data)
				SELECT i, 1, ('\x' || lpad(to_hex(i), 32, '0'))::bytea, 0, '\x65'::bytea, 0, '\x7b7d'::bytea, '\x'::bytea FROM generate_series($1::bigint, $2) i`,
			`INSERT INTO pending_attribution_keys (project, key, id) SELECT 1, ('\x' || lpad(to_hex(i), 32, '0'))::bytea, i FROM generate_series($1::bigint, $2) i`,
		} {
			if _, err := db.pool.Exec(ctx, q, from, to); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	fill(1, 10)
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	fill(11, 50_000)

	// A batch's keys: 1,000 rows spread over the table.
	var short, long [][]byte
	var hashes []int64
	for i := int64(1); i <= 50_000; i += 50 {
		short = append(short, binary.BigEndian.AppendUint32(nil, uint32(i)))
		long = append(long, binary.BigEndian.AppendUint64(make([]byte, 8), uint64(i)))
		hashes = append(hashes, i)
	}
	for _, c := range []struct {
		name, query string
		keys        any
		found       int
	}{
		{"users by user id", qUsersByUserID, short, 1000},
		{"users by device", qUsersByDevice, short, 1000},
		{"users by advertising id", qUsersByAdID, long, 1000},
		{"event types", qTypesByName, short, 1000},
		{"insert ids", qInsertIDs, hashes, 1000},
		{"held attributions", `SELECT DISTINCT h.id FROM pending_attributions h ` + heldByAdID + ` ORDER BY h.id`, long, 1000},
	} {
		// The lookups find what is there.
		rows, err := db.pool.Query(ctx, c.query, int64(1), c.keys)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Close(); rows.Err() != nil || n != c.found {
			t.Fatalf("%s: %d rows (%v), want %d", c.name, n, rows.Err(), c.found)
		}
		// And probe an index to find it.
		plan := explain(t, db, c.query, int64(1), c.keys)
		for _, bad := range []string{"Seq Scan", "Bitmap Heap Scan", "Hash Join", "Merge Join"} {
			if strings.Contains(plan, bad) {
				t.Errorf("%s reads more than its keys (%s):\n%s", c.name, bad, plan)
			}
		}
	}
	// What the test guards against still happens here: the form the
	// lookups had reads the whole project. (Logged only: a later
	// PostgreSQL may plan it better.)
	if plan := explain(t, db, `SELECT hash, received FROM insert_ids WHERE project = $1 AND hash = ANY($2)`, int64(1), hashes); !strings.Contains(plan, "Filter") {
		t.Logf("note: this PostgreSQL plans hash = ANY($2) as an index probe with these statistics:\n%s", plan)
	}
}

// explain returns the plan of a query as text.
func explain(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `EXPLAIN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
