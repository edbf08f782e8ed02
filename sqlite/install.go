package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.InstallStore = (*DB)(nil)

// Statements of the launch and conversion writes, prepared on the write
// connection before their transaction opens (the one connection is busy
// while it is open).
const (
	qLaunchKey    = `/* WriteLaunches */ SELECT install_id FROM launch_keys WHERE app_seq = ? AND key = ?`
	qDeviceVer    = `/* WriteLaunches */ SELECT launches FROM devices WHERE app_seq = ? AND id = ?`
	qDeviceByKey  = `/* WriteLaunches */ SELECT device_id FROM device_keys WHERE k = ? AND app_seq = ?`
	qDeviceData   = `/* WriteLaunches */ SELECT data FROM devices WHERE app_seq = ? AND id = ?`
	qInsertInst   = `/* WriteLaunches */ INSERT INTO installs (app_seq, device_id, data) VALUES (?, ?, ?)`
	qInsertKey    = `/* WriteLaunches */ INSERT INTO launch_keys (app_seq, key, install_id) VALUES (?, ?, ?)`
	qUpsertDevice = `/* WriteLaunches */ INSERT INTO devices (app_seq, id, launches, data) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET launches = excluded.launches, data = excluded.data`
	qInsertDevKey = `/* WriteLaunches */ INSERT OR IGNORE INTO device_keys (k, app_seq, device_id) VALUES (?, ?, ?)`
	qInsertConv   = `/* WriteConversions */ INSERT INTO conversions (app_seq, device_id, event_id, data) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	qConvByEvent = `/* WriteConversions */ SELECT id FROM conversions WHERE app_seq = ? AND device_id = ? AND event_id = ?`
	qReport      = `/* report */ INSERT INTO report (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id,
		country, metric, currency, n, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount`
)

// writeTx runs fn in a write transaction and commits it when fn returns
// nil. The queries are prepared on the write connection first (it is busy
// once the transaction is open); stmt returns one of them bound to the
// transaction.
func (db *DB) writeTx(ctx context.Context, queries []string, fn func(stmt func(query string) *sql.Stmt) error) error {
	db.stmtMu.Lock()
	prepared := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		s, err := db.stmt(ctx, q)
		if err != nil {
			db.stmtMu.Unlock()
			return err
		}
		prepared[q] = s
	}
	db.stmtMu.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.classify(err)
	}
	defer tx.Rollback()
	if err := fn(func(q string) *sql.Stmt { return tx.StmtContext(ctx, prepared[q]) }); err != nil {
		return db.classify(err)
	}
	return db.commit(tx)
}

// FindDeviceByIDs returns the device of an app that carries one of the ids
// (IdentityIDTypes), the most recently launched if several do.
func (db *DB) FindDeviceByIDs(ctx context.Context, app string, ids touchpoint.DeviceIDs) (*touchpoint.Device, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	keys := touchpoint.IdentityKeys(app, ids)
	if len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, int64(k))
	}
	args = append(args, seq)
	// No DISTINCT: a device found by two of its ids is decoded twice, which
	// costs less than the temporary B-tree DISTINCT builds for every query.
	rows, err := db.query(ctx, `/* DB.FindDeviceByIDs */ SELECT d.data FROM device_keys k
		JOIN devices d ON d.app_seq = k.app_seq AND d.id = k.device_id
		WHERE k.k IN (`+inList(len(keys))+`) AND k.app_seq = ?`, args...)
	if err != nil {
		return nil, err
	}
	return lastLaunched(rows, func(d *touchpoint.Device) bool { return touchpoint.SameDevice(d.IDs, ids) })
}

// lastLaunched reads rows of device data and closes them: of the devices
// that are (the keys they were found by are hashes), it returns the most
// recently launched, or nil.
func lastLaunched(rows *sql.Rows, are func(*touchpoint.Device) bool) (*touchpoint.Device, error) {
	defer rows.Close()
	var best *touchpoint.Device
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		d, err := decodeDevice(data)
		if err != nil {
			return nil, err
		}
		if are(d) && (best == nil || d.LastLaunch.After(best.LastLaunch)) {
			best = d
		}
	}
	return best, rows.Err()
}

// FindDeviceByCustomerUserID returns the device with a customer user id,
// the most recently launched if several have it.
func (db *DB) FindDeviceByCustomerUserID(ctx context.Context, app, cuid string) (*touchpoint.Device, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `/* DB.FindDeviceByCustomerUserID */ SELECT d.data FROM device_keys k
		JOIN devices d ON d.app_seq = k.app_seq AND d.id = k.device_id
		WHERE k.k = ? AND k.app_seq = ?`, int64(touchpoint.CustomerUserKey(app, cuid)), seq)
	if err != nil {
		return nil, err
	}
	// A device's customer user id may have changed since its key was
	// written: compare.
	best, err := lastLaunched(rows, func(d *touchpoint.Device) bool { return d.CustomerUserID == cuid })
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no device of app %s has customer_user_id %q", app, cuid)
	}
	return best, nil
}

// FindDevice returns a device by our id.
func (db *DB) FindDevice(ctx context.Context, app, id string) (*touchpoint.Device, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = db.queryRow(ctx, `/* DB.FindDevice */ SELECT data FROM devices WHERE app_seq = ? AND id = ?`, seq, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "device %s of app %s not found", id, app)
	} else if err != nil {
		return nil, err
	}
	return decodeDevice(data)
}

func decodeDevice(data []byte) (*touchpoint.Device, error) {
	var d touchpoint.Device
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return &d, nil
}

// WriteLaunches writes a group of decided launches in one transaction.
// Each is checked against what was committed since its decision was made:
// a retried first launch finds its install (Duplicate); a device that
// changed, or a device that appeared with the same ids, makes the decision
// Stale. Neither writes anything.
func (db *DB) WriteLaunches(ctx context.Context, ws []*touchpoint.LaunchWrite) error {
	queries := []string{qLaunchKey, qDeviceVer, qDeviceByKey, qDeviceData, qInsertInst, qInsertKey,
		qUpsertDevice, qInsertDevKey, qReport, qInsertDeliveries, qInsertDelivery}
	return db.writeTx(ctx, queries, func(stmt func(string) *sql.Stmt) error {
		return db.writeLaunches(ctx, stmt, ws)
	})
}

func (db *DB) writeLaunches(ctx context.Context, stmt func(string) *sql.Stmt, ws []*touchpoint.LaunchWrite) error {
	report := touchpoint.ReportSums{}
	var deliveries []*touchpoint.Delivery // owed by what this transaction writes
	for _, w := range ws {
		w.Duplicate, w.Stale = 0, false
		app := w.Device.App
		seq, err := db.appSeq(app)
		if err != nil {
			return err
		}
		if w.Key != "" {
			var id int64
			err := stmt(qLaunchKey).QueryRowContext(ctx, seq, w.Key).Scan(&id)
			if err == nil {
				w.Duplicate = id
				continue
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if w.Seen != nil {
			var v int64
			if err := stmt(qDeviceVer).QueryRowContext(ctx, seq, w.Seen.ID).Scan(&v); err != nil {
				return err
			}
			if v != w.Version {
				w.Stale = true
				continue
			}
		} else {
			stale, err := deviceAppeared(ctx, stmt, seq, app, w.Device.IDs)
			if err != nil {
				return err
			}
			if stale {
				w.Stale = true
				continue
			}
		}
		if in := w.Install; in != nil {
			// The id is not in the stored JSON: readers take it from its column.
			in.ID = 0
			data, err := encodeJSON("install", in)
			if err != nil {
				return err
			}
			res, err := stmt(qInsertInst).ExecContext(ctx, seq, in.DeviceID, data)
			if err != nil {
				return err
			}
			if in.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			switch in.Type {
			case touchpoint.TypeInstall:
				w.Device.InstallID = in.ID
			case touchpoint.TypeReengagement, touchpoint.TypeReattribution:
				w.Device.ReengagementID = in.ID
			}
			if w.Key != "" {
				if _, err := stmt(qInsertKey).ExecContext(ctx, seq, w.Key, in.ID); err != nil {
					return err
				}
			}
			report.Add(seq, touchpoint.InstallDeltas(in, db.zone(seq)))
			for _, d := range w.Deliveries {
				d.Source = "install/" + strconv.FormatInt(in.ID, 10)
			}
			deliveries = append(deliveries, w.Deliveries...)
		}
		data, err := encodeJSON("device", w.Device)
		if err != nil {
			return err
		}
		if _, err := stmt(qUpsertDevice).ExecContext(ctx, seq, w.Device.ID, w.Device.Launches, data); err != nil {
			return err
		}
		keys := touchpoint.IdentityKeys(app, w.Device.IDs)
		if w.Device.CustomerUserID != "" {
			keys = append(keys, touchpoint.CustomerUserKey(app, w.Device.CustomerUserID))
		}
		for _, k := range keys {
			if _, err := stmt(qInsertDevKey).ExecContext(ctx, int64(k), seq, w.Device.ID); err != nil {
				return err
			}
		}
	}
	if err := writeReport(ctx, stmt(qReport), report); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, stmt, deliveries)
}

// deviceAppeared reports whether a device with one of the ids exists: a
// decision made when none did is stale.
func deviceAppeared(ctx context.Context, stmt func(string) *sql.Stmt, seq int64, app string, ids touchpoint.DeviceIDs) (bool, error) {
	for _, k := range touchpoint.IdentityKeys(app, ids) {
		rows, err := stmt(qDeviceByKey).QueryContext(ctx, int64(k), seq)
		if err != nil {
			return false, err
		}
		found, err := scanColumn[string](rows)
		if err != nil {
			return false, err
		}
		for _, id := range found {
			var data []byte
			if err := stmt(qDeviceData).QueryRowContext(ctx, seq, id).Scan(&data); err != nil {
				return false, err
			}
			d, err := decodeDevice(data)
			if err != nil {
				return false, err
			}
			if touchpoint.SameDevice(d.IDs, ids) {
				return true, nil
			}
		}
	}
	return false, nil
}

// FindInstall returns a decided launch by id.
func (db *DB) FindInstall(ctx context.Context, app string, id int64) (*touchpoint.Install, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	ins, err := findInstalls(ctx, db.read, `WHERE app_seq = ? AND id = ?`, seq, id)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "install %d of app %s not found", id, app)
	}
	return ins[0], nil
}

// ListInstalls returns a device's decided launches, newest first.
func (db *DB) ListInstalls(ctx context.Context, app, deviceID string) ([]*touchpoint.Install, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	return findInstalls(ctx, db.read, `WHERE app_seq = ? AND device_id = ? ORDER BY id DESC`, seq, deviceID)
}

// LatestInstall returns the app's newest new install. The installs have
// no index by app alone: an app without devices has none (its key's
// prefix says so at once), else the table is walked newest first to the
// app's latest new install, which for an app that has any recent traffic
// is near the end.
func (db *DB) LatestInstall(ctx context.Context, app string) (*touchpoint.Install, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	none := touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no install yet", app)
	var one int
	switch err := db.read.QueryRowContext(ctx, `/* DB.LatestInstall */ SELECT 1 FROM devices WHERE app_seq = ? LIMIT 1`, seq).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, none
	case err != nil:
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.LatestInstall */ SELECT id, data FROM installs NOT INDEXED
		WHERE app_seq = ? ORDER BY id DESC`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		in := new(touchpoint.Install)
		if err := json.Unmarshal(data, in); err != nil {
			return nil, fmt.Errorf("install %d: %w", id, err)
		}
		if in.Type == touchpoint.TypeInstall {
			in.ID = id
			return in, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return nil, none
}

func findInstalls(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Install, error) {
	rows, err := q.QueryContext(ctx, `/* findInstalls */ SELECT id, data FROM installs `+where, args...)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "install", func(in *touchpoint.Install, id int64) { in.ID = id })
}

// scanJSON reads rows of (id, JSON of T) and closes them; setID puts the
// id (kept in its column, not in the JSON) into each value.
func scanJSON[T any](rows *sql.Rows, what string, setID func(*T, int64)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, id, err)
		}
		setID(v, id)
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanColumn reads rows of one column and closes them.
func scanColumn[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// WriteConversions stores conversions in one transaction; one whose device
// already has a conversion with its event id is a Duplicate and is not
// stored again.
func (db *DB) WriteConversions(ctx context.Context, ws []*touchpoint.ConversionWrite) error {
	queries := []string{qInsertConv, qConvByEvent, qReport, qInsertDeliveries, qInsertDelivery}
	return db.writeTx(ctx, queries, func(stmt func(string) *sql.Stmt) error {
		return db.writeConversions(ctx, stmt, ws)
	})
}

func (db *DB) writeConversions(ctx context.Context, stmt func(string) *sql.Stmt, ws []*touchpoint.ConversionWrite) error {
	report := touchpoint.ReportSums{}
	var deliveries []*touchpoint.Delivery // owed by what this transaction writes
	for _, w := range ws {
		c := w.Conversion
		w.Duplicate = 0
		seq, err := db.appSeq(c.App)
		if err != nil {
			return err
		}
		var eventID sql.NullString
		if c.EventID != "" {
			eventID = sql.NullString{String: c.EventID, Valid: true}
		}
		data, err := encodeJSON("conversion", c)
		if err != nil {
			return err
		}
		res, err := stmt(qInsertConv).ExecContext(ctx, seq, c.DeviceID, eventID, data)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if err := stmt(qConvByEvent).QueryRowContext(ctx, seq, c.DeviceID, c.EventID).Scan(&w.Duplicate); err != nil {
				return err
			}
			continue
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		report.Add(seq, touchpoint.ConversionDeltas(c, db.zone(seq)))
		for _, d := range w.Deliveries {
			d.Source = "conversion/" + strconv.FormatInt(c.ID, 10)
		}
		deliveries = append(deliveries, w.Deliveries...)
	}
	if err := writeReport(ctx, stmt(qReport), report); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, stmt, deliveries)
}

// ListConversions returns a device's conversions, newest first.
func (db *DB) ListConversions(ctx context.Context, app, deviceID string) ([]*touchpoint.Conversion, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.ListConversions */ SELECT id, data FROM conversions
		WHERE app_seq = ? AND device_id = ? ORDER BY id DESC`, seq, deviceID)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "conversion", func(c *touchpoint.Conversion, id int64) { c.ID = id })
}

// writeReport adds the sums to the aggregates.
func writeReport(ctx context.Context, s *sql.Stmt, r touchpoint.ReportSums) error {
	for c, v := range r {
		k := c.Key
		if _, err := s.ExecContext(ctx, c.App, k.Day.Unix(), k.MediaSource, k.Campaign, k.CampaignID, k.Adset, k.Ad, k.SiteID,
			k.Country, c.Metric, c.Currency, v[0], v[1]); err != nil {
			return err
		}
	}
	return nil
}

// reportColumns maps report dimensions to columns.
var reportColumns = map[string]string{
	"media_source": "media_source", "campaign": "campaign", "af_c_id": "campaign_id",
	"af_adset": "adset", "af_ad": "ad", "af_siteid": "site_id", "country": "country", "day": "day",
}

// Report sums the aggregates of an app's days, grouped as asked. Clicks
// and impressions still in the tail (recorded but not yet loaded) are
// added from it, read in the same snapshot as the loaded ones.
func (db *DB) Report(ctx context.Context, f touchpoint.ReportFilter) ([]*touchpoint.ReportRow, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	seq, err := db.appSeq(f.App)
	if err != nil {
		return nil, err
	}
	from, to := f.From.UTC().Truncate(24*time.Hour), f.To.UTC()
	cols := make([]string, len(f.GroupBy))
	for i, g := range f.GroupBy {
		cols[i] = reportColumns[g]
	}
	sel := "metric, currency, sum(n), sum(amount)"
	group := "metric, currency"
	if len(cols) > 0 {
		sel = strings.Join(cols, ", ") + ", " + sel
		group = strings.Join(cols, ", ") + ", " + group
	}
	tail := db.touchTail.snapshot()
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	hwm, err := readMeta(ctx, tx, loadedKey)
	if err != nil {
		return nil, err
	}
	where := "app_seq = ? AND day >= ? AND day < ?"
	args := []any{seq, from.Unix(), to.Unix()}
	for _, k := range slices.Sorted(maps.Keys(f.Where)) {
		where += " AND " + reportColumns[k] + " = ?"
		args = append(args, f.Where[k])
	}
	rows, err := tx.QueryContext(ctx, `/* DB.Report */ SELECT `+sel+` FROM report WHERE `+where+` GROUP BY `+group, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := touchpoint.NewReportGroups(f.GroupBy)
	for rows.Next() {
		vals := make([]any, len(cols)+4)
		strs := make([]sql.NullString, len(cols))
		for i := range strs {
			vals[i] = &strs[i]
		}
		var metric, currency string
		var n, amount int64
		vals[len(cols)], vals[len(cols)+1], vals[len(cols)+2], vals[len(cols)+3] = &metric, &currency, &n, &amount
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		dims := make([]string, len(cols))
		for i, s := range strs {
			dims[i] = s.String
			if f.GroupBy[i] == "day" {
				var sec int64
				fmt.Sscan(s.String, &sec)
				dims[i] = time.Unix(sec, 0).UTC().Format(time.DateOnly)
			}
		}
		groups.Row(dims).AddDelta(metric, currency, n, touchpoint.Amount(amount))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, tt := range tail {
		if tt.id <= hwm || tt.app != seq {
			continue
		}
		t, err := decodeTouch(tt.id, f.App, tt.rec)
		if err != nil {
			return nil, err
		}
		for _, d := range touchpoint.TouchDeltas(t, db.zone(seq)) {
			if d.Key.Day.Before(from) || !d.Key.Day.Before(to) || !f.Keeps(d.Key) {
				continue
			}
			dims := make([]string, len(f.GroupBy))
			for i, g := range f.GroupBy {
				dims[i] = d.Key.Dimension(g)
			}
			groups.Row(dims).AddDelta(d.Metric, d.Currency, d.N, d.Amount)
		}
	}
	return groups.Rows(), nil
}
