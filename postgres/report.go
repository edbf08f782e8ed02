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
	"af_adset": "adset", "af_ad": "ad", "af_siteid": "site_id", "day": "day",
}

// writeReport adds sums to the aggregates inside tx, in the cells' one
// order, 500 to a statement.
func writeReport(ctx context.Context, tx pgx.Tx, sums touchpoint.ReportSums) error {
	cells := sums.Cells()
	for len(cells) > 0 {
		n := min(len(cells), 500)
		var b strings.Builder
		b.WriteString(`/* writeReport */ INSERT INTO report (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id,
			metric, currency, n, amount) VALUES `)
		args := make([]any, 0, n*12)
		for i, c := range cells[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j := range 12 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(i*12+j+1))
			}
			b.WriteString(")")
			k, v := c.Key, sums[c]
			args = append(args, c.App, k.Day.Unix(), k.MediaSource, k.Campaign, k.CampaignID, k.Adset, k.Ad, k.SiteID,
				c.Metric, c.Currency, v[0], v[1])
		}
		b.WriteString(` ON CONFLICT (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, metric, currency)
			DO UPDATE SET n = report.n + excluded.n, amount = report.amount + excluded.amount`)
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
		cells = cells[n:]
	}
	return nil
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
	rows, err := db.pool.Query(ctx, `/* DB.Report */ SELECT `+sel+` FROM report WHERE `+where+` GROUP BY `+group, args...)
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
