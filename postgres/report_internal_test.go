package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/storetest"
)

// TestReportDeltas: two commits adding to the same report cell do not
// wait on each other (the second writes while the first is open), the
// report counts both before and after their deltas are folded into its
// rows, and a fold leaves no delta behind.
func TestReportDeltas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.FreshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Clock = func() time.Time { return storetest.Start }
	app := storetest.MustCreateApp(t, db, "com.example.game")
	seq, _, err := appZone(ctx, db.pool, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	day := storetest.Start.UTC().Truncate(24 * time.Hour)
	sums := touchpoint.ReportSums{}
	sums.Add(seq, []touchpoint.ReportDelta{{Key: touchpoint.ReportKey{Day: day, MediaSource: "net_a_int", Campaign: "summer"},
		Metric: touchpoint.MetricClick, N: 1}})
	clicks := func() int64 {
		t.Helper()
		rows, err := db.Report(ctx, touchpoint.ReportFilter{App: app.ID, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"media_source"}})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rows {
			n += r.Clicks
		}
		return n
	}

	a, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(ctx)
	if err := writeReport(ctx, a, sums); err != nil {
		t.Fatal(err)
	}
	// The second commit adds to the same cell while the first is open. The
	// deadline only turns waiting on the first into a failure.
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pgx.BeginFunc(bctx, db.pool, func(b pgx.Tx) error { return writeReport(bctx, b, sums) }); err != nil {
		t.Fatalf("a second commit to the same cell while the first is open: %v", err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := clicks(); n != 2 {
		t.Fatalf("before the fold: %d clicks, want 2", n)
	}
	for range 2 { // a second fold finds nothing to add
		if err := db.FoldReport(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var deltas, rows int64
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM report_deltas), (SELECT count(*) FROM report)`).Scan(&deltas, &rows); err != nil {
		t.Fatal(err)
	}
	if n := clicks(); n != 2 || deltas != 0 || rows != 1 {
		t.Fatalf("after the fold: %d clicks, %d deltas, %d report rows; want 2, 0, 1", n, deltas, rows)
	}
	if err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return writeReport(ctx, tx, sums) }); err != nil {
		t.Fatal(err)
	}
	if n := clicks(); n != 3 {
		t.Fatalf("folded and not folded: %d clicks, want 3", n)
	}
}
