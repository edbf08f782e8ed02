package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint/storetest"
)

// connect is a connection to dbURL, closed when the test ends.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// migrateBefore applies, as Open applies them, the migrations whose names
// sort before name: the database as the version before that migration
// left it, to test the migration on.
func migrateBefore(t *testing.T, conn *pgx.Conn, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	for _, path := range paths {
		m := strings.TrimSuffix(filepath.Base(path), ".sql")
		if m >= name {
			break
		}
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReportCountryMigration: the report's aggregates and the deltas not
// yet folded keep every count and amount when country joins their key
// (under ”), and fold after it.
func TestReportCountryMigration(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	conn := connect(t, dbURL)
	migrateBefore(t, conn, "2026-12-03-17")
	for _, table := range []string{"report", "report_deltas"} {
		if _, err := conn.Exec(ctx, `INSERT INTO `+table+` (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, metric, currency, n, amount)
			SELECT 1, d, 'net_' || (d % 3), 'c', '', '', '', '', m, '', d, d * 100
			FROM generate_series(1, 200) d, unnest(ARRAY['click', 'install']) m`); err != nil {
			t.Fatal(err)
		}
	}
	type sums struct{ rows, n, amount int64 }
	sum := func(where string) (s sums) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(n), 0), coalesce(sum(amount), 0) FROM `+where).Scan(&s.rows, &s.n, &s.amount); err != nil {
			t.Fatal(err)
		}
		return s
	}
	report, deltas := sum("report"), sum("report_deltas")
	if report.rows != 400 || deltas.rows != 400 {
		t.Fatalf("before: report %+v, deltas %+v", report, deltas)
	}

	db := open(t, dbURL, storetest.NewClock(storetest.Start).Now)
	if got := sum("report WHERE country = ''"); got != report {
		t.Errorf("report after the migration %+v, want %+v", got, report)
	}
	if got := sum("report_deltas WHERE country = ''"); got != deltas {
		t.Errorf("deltas after the migration %+v, want %+v", got, deltas)
	}
	if err := db.FoldReport(ctx); err != nil {
		t.Fatal(err)
	}
	want := sums{400, report.n + deltas.n, report.amount + deltas.amount}
	if got := sum("report WHERE country = ''"); got != want {
		t.Errorf("report after folding %+v, want %+v", got, want)
	}
	if got := sum("report_deltas"); got.rows != 0 {
		t.Errorf("deltas left after folding: %+v", got)
	}
}
