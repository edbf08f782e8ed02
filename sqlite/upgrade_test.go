package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// futureMigration is a migration no version of the store embeds yet: what
// a newer version would have applied.
const futureMigration = "2027-01-10-01-foo"

// rawExec runs statements on the file with plain SQL, the store closed.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v in\n%s", err, s)
		}
	}
}

// snapshot reads what an open must not change: the schema, the migrations
// table and the apps, one line each.
func snapshot(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	for _, q := range []string{
		`SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`,
		`SELECT name || ' ' || applied_at FROM migrations ORDER BY name`,
		`SELECT id || ' ' || name || ' ' || updated_at FROM apps ORDER BY id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// openNewer opens a store on path and wants it refused as written by a
// newer version, naming futureMigration, with nothing in the file changed.
func openNewer(t *testing.T, path string) {
	t.Helper()
	before := snapshot(t, path)
	db := sqlite.NewDB(path)
	db.Clock = func() time.Time { return storetest.Start }
	err := db.Open()
	if err == nil {
		db.Close()
		t.Fatal("a database written by a newer version was opened")
	}
	var newer *touchpoint.NewerDatabaseError
	if !errors.As(err, &newer) || newer.Migration != futureMigration || newer.Database != path {
		t.Fatalf("err = %v, want a NewerDatabaseError naming %s at %s", err, futureMigration, path)
	}
	for _, want := range []string{"the database at " + path + " was written by a newer version of touchpoint",
		"it has migration " + futureMigration + ", which this version does not know", "run that version or newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
	if after := snapshot(t, path); !reflect.DeepEqual(after, before) {
		t.Errorf("the refused open changed the database:\nbefore %q\nafter  %q", before, after)
	}
}

// TestNewerDatabaseRefused: a store written by a newer version (a
// migration in the table that this version does not embed) is refused,
// changing nothing; once the newer migration is gone it opens again, its
// data intact (the refusal left no lock behind).
func TestNewerDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	now := func() time.Time { return storetest.Start }
	db := sqlite.NewDB(path)
	db.Clock, db.ExternalTasks = now, true
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	storetest.MustCreateApp(t, db, "com.example.game")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rawExec(t, path, `INSERT INTO migrations (name, applied_at) VALUES ('migrations/`+futureMigration+`.sql', 1)`)

	openNewer(t, path)
	openNewer(t, path) // and again: the first refusal left it as it was

	rawExec(t, path, `DELETE FROM migrations WHERE name = 'migrations/`+futureMigration+`.sql'`)
	db = MustOpen(t, path, now)
	if _, err := db.FindApp(t.Context(), "com.example.game"); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}
}

// TestNewerDatabaseRefusedBeforeMigrating: a database with migrations
// still to apply and one this version does not know gets none of them
// applied: the check comes before any migration.
func TestNewerDatabaseRefusedBeforeMigrating(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	oldStore(t, path, `INSERT INTO migrations (name, applied_at) VALUES ('migrations/`+futureMigration+`.sql', 1)`)
	openNewer(t, path)
	var n int
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM migrations WHERE name >= 'migrations/` + firstHashedMigration + `'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := 1; n != want { // the future one alone
		t.Errorf("%d migrations from %s on are applied, want only %s", n, firstHashedMigration, futureMigration)
	}
}

// TestReportCountryMigration: the report's aggregates keep every count and
// amount when country joins their key (under ”), and new ones add to
// them.
func TestReportCountryMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	var rows []string
	for d := 1; d <= 100; d++ {
		for _, m := range []string{"click", "install"} {
			rows = append(rows, fmt.Sprintf(`INSERT INTO report (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, metric, currency, n, amount)
				VALUES (1, %d, 'net_%d', 'c', '', '', '', '', '%s', '', %d, %d)`, d*86400, d%3, m, d, d*100))
		}
	}
	storeBefore(t, path, "2026-12-03-17-report-country.sql", rows...)
	type sums struct{ rows, n, amount int64 }
	sum := func(where string) (s sums) {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(`SELECT count(*), coalesce(sum(n), 0), coalesce(sum(amount), 0) FROM report `+where).Scan(&s.rows, &s.n, &s.amount); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := sum("")
	if before.rows != 200 {
		t.Fatalf("before: %+v", before)
	}
	db := MustOpen(t, path, func() time.Time { return storetest.Start })
	db.Close()
	if got := sum("WHERE country = ''"); got != before {
		t.Errorf("after the migration %+v, want %+v", got, before)
	}
}
