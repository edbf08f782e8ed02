package postgres

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// reportColumns maps report dimensions to columns.
var reportColumns = map[string]string{
	"media_source": "media_source", "campaign": "campaign", "af_c_id": "campaign_id",
	"af_adset": "adset", "af_ad": "ad", "af_siteid": "site_id", "country": "country", "day": "day",
}

// writeReport adds sums to the report inside tx: appended to its deltas
// (see the migration report-deltas), so that commits adding to the same
// cells do not wait on each other.
func writeReport(ctx context.Context, tx pgx.Tx, sums touchpoint.ReportSums) error {
	cells := sums.Cells()
	if len(cells) == 0 {
		return nil
	}
	rows := make([][]any, len(cells))
	for i, c := range cells {
		k, v := c.Key, sums[c]
		rows[i] = []any{c.App, k.Day.Unix(), k.MediaSource, k.Campaign, k.CampaignID, k.Adset, k.Ad, k.SiteID, k.Country, c.Metric, c.Currency, v[0], v[1]}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"report_deltas"}, reportDeltaColumns, pgx.CopyFromRows(rows))
	return err
}

// reportDeltaColumns are the columns of report and report_deltas.
var reportDeltaColumns = []string{"app_seq", "day", "media_source", "campaign", "campaign_id", "adset", "ad", "site_id", "country", "metric",
	"currency", "n", "amount"}

// FoldReport adds the report's deltas to its rows and deletes them, in one
// statement: deltas committed meanwhile wait for the next fold. Folds on
// two nodes at once (a lease passing) each take other deltas.
func (db *DB) FoldReport(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `/* DB.FoldReport */ WITH moved AS (DELETE FROM report_deltas RETURNING *)
		INSERT INTO report (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency, n, amount)
		SELECT app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency, sum(n), sum(amount) FROM moved
		GROUP BY app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency
		ORDER BY app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency
		ON CONFLICT (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency)
		DO UPDATE SET n = report.n + excluded.n, amount = report.amount + excluded.amount`)
	return err
}

// appZone returns an app's seq and the zone its report counts days in.
func appZone(ctx context.Context, q querier, id string) (int64, *time.Location, error) {
	rows, err := q.Query(ctx, `/* appZone */ SELECT seq, time_zone FROM apps WHERE id = $1`, id)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, nil, err
		}
		return 0, nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", id)
	}
	var seq int64
	var zone string
	if err := rows.Scan(&seq, &zone); err != nil {
		return 0, nil, err
	}
	return seq, (&touchpoint.App{TimeZone: zone}).Location(), rows.Err()
}

// Report sums the aggregates of an app's days, grouped as asked.
func (db *DB) Report(ctx context.Context, f touchpoint.ReportFilter) ([]*touchpoint.ReportRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	seq, _, err := appZone(ctx, db.pool, f.App)
	if err != nil {
		return nil, err
	}
	from, to := f.From.UTC().Truncate(24*time.Hour), f.To.UTC()
	cols := make([]string, len(f.GroupBy))
	for i, g := range f.GroupBy {
		cols[i] = reportColumns[g]
		if g == "day" {
			cols[i] = "day::TEXT"
		}
	}
	sel, group := "metric, currency, sum(n)::BIGINT, sum(amount)::BIGINT", "metric, currency"
	if len(cols) > 0 {
		sel = strings.Join(cols, ", ") + ", " + sel
		group = strings.Join(cols, ", ") + ", " + group
	}
	where := "app_seq = $1 AND day >= $2 AND day < $3"
	args := []any{seq, from.Unix(), to.Unix()}
	for _, k := range slices.Sorted(maps.Keys(f.Where)) {
		args = append(args, f.Where[k])
		where += " AND " + reportColumns[k] + " = $" + strconv.Itoa(len(args))
	}
	// The report's rows and the deltas not folded into them yet.
	rows, err := db.pool.Query(ctx, `/* DB.Report */ SELECT `+sel+` FROM (SELECT * FROM report WHERE `+where+`
		UNION ALL SELECT * FROM report_deltas WHERE `+where+`) r GROUP BY `+group, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := touchpoint.NewReportGroups(f.GroupBy)
	for rows.Next() {
		dims := make([]string, len(cols))
		var metric, currency string
		var n, amount int64
		vals := make([]any, 0, len(cols)+4)
		for i := range dims {
			vals = append(vals, &dims[i])
		}
		vals = append(vals, &metric, &currency, &n, &amount)
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		for i, g := range f.GroupBy {
			if g == "day" {
				sec, _ := strconv.ParseInt(dims[i], 10, 64)
				dims[i] = time.Unix(sec, 0).UTC().Format(time.DateOnly)
			}
		}
		groups.Row(dims).AddDelta(metric, currency, n, touchpoint.Amount(amount))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return groups.Rows(), nil
}
