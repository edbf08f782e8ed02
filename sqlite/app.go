package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.AppStore = (*DB)(nil)

const appColumns = `id, platform, name, store_url, dev_key, dev_key_last4, api_token, api_token_last4, click_lookback,
	view_through_lookback, probabilistic_window, reattribution_window, reengagement_window, min_ctit, test_clock, time_zone, created_at, updated_at`

// CreateApp stores a new app with fresh keys (their hashes: see keys.go).
func (db *DB) CreateApp(ctx context.Context, a *touchpoint.App) error {
	now := db.now()
	if err := a.Prepare(now); err != nil {
		return err
	}
	w := a.Windows
	var clock sql.NullInt64
	if a.TestClock != nil {
		clock = sql.NullInt64{Int64: a.TestClock.UnixMilli(), Valid: true}
	}
	res, err := db.exec(ctx, `/* DB.CreateApp */ INSERT INTO apps (`+appColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Platform, a.Name, a.StoreURL, storedKey(a.DevKeyHash), a.DevKeyLast4, storedKey(a.APITokenHash), a.APITokenLast4,
		hours(w.ClickLookback), hours(w.ViewThroughLookback),
		hours(w.ProbabilisticWindow), hours(w.Reattribution), hours(w.Reengagement), a.MinCTIT, clock, a.TimeZone, now.UnixMilli(), now.UnixMilli())
	if isUniqueViolation(err) {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "app %s exists already", a.ID)
	} else if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	db.mu.Lock()
	db.apps[a.ID] = seq
	db.zones[seq] = a.Location()
	if a.TestClock != nil {
		db.clocks[a.ID] = *a.TestClock
	}
	db.mu.Unlock()
	return nil
}

// SetTestClock moves a test-mode app's clock.
func (db *DB) SetTestClock(ctx context.Context, id string, t time.Time) (*touchpoint.App, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, err := findApp(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	t = t.UTC().Truncate(time.Millisecond)
	if err := a.NextTestClock(t); err != nil {
		return nil, err
	}
	prev := a.TestClock
	a.TestClock = &t
	if _, err := tx.ExecContext(ctx, `/* DB.SetTestClock */ UPDATE apps SET test_clock = ? WHERE id = ?`, t.UnixMilli(), id); err != nil {
		return nil, err
	}
	// Retries wait on the real clock: moving the app's clock forward brings
	// its pending deliveries nearer by as much.
	if prev != nil && t.After(*prev) {
		if _, err := tx.ExecContext(ctx, `/* DB.SetTestClock */ UPDATE deliveries SET next_at = next_at - ?
			WHERE app_seq = (SELECT seq FROM apps WHERE id = ?) AND state = 'pending'`, t.Sub(*prev).Milliseconds(), id); err != nil {
			return nil, err
		}
	}
	if err := db.commit(tx); err != nil {
		return nil, err
	}
	db.mu.Lock()
	db.clocks[id] = t
	db.mu.Unlock()
	return a, nil
}

// appNow is the time of an app: its test clock, or the store's clock.
func (db *DB) appNow(id string) time.Time {
	db.mu.RLock()
	t, ok := db.clocks[id]
	db.mu.RUnlock()
	if ok {
		return t
	}
	return db.now()
}

// isTestApp reports whether an app has a test clock. Its touches' ids do
// not follow their times (ids follow the real clock), so reads of its
// touches do not narrow by id.
func (db *DB) isTestApp(id string) bool {
	db.mu.RLock()
	_, ok := db.clocks[id]
	db.mu.RUnlock()
	return ok
}

// FindApp returns an app by store id.
func (db *DB) FindApp(ctx context.Context, id string) (*touchpoint.App, error) {
	return findApp(ctx, db.read, id)
}

// findApp returns one app, or ENOTFOUND.
func findApp(ctx context.Context, q querier, id string) (*touchpoint.App, error) {
	apps, err := findApps(ctx, q, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(apps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", id)
	}
	return apps[0], nil
}

// ListApps returns every app by id.
func (db *DB) ListApps(ctx context.Context) ([]*touchpoint.App, error) {
	return findApps(ctx, db.read, `ORDER BY id`)
}

// UpdateApp changes an app's name, store URL or windows.
func (db *DB) UpdateApp(ctx context.Context, id string, upd touchpoint.AppUpdate) (*touchpoint.App, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	found, err := findApp(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	a := upd.Apply(*found)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	a.UpdatedAt = db.now()
	w := a.Windows
	if _, err := tx.ExecContext(ctx, `/* DB.UpdateApp */ UPDATE apps SET name = ?, store_url = ?, click_lookback = ?,
		view_through_lookback = ?, probabilistic_window = ?, reattribution_window = ?, reengagement_window = ?,
		min_ctit = ?, time_zone = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.StoreURL, hours(w.ClickLookback), hours(w.ViewThroughLookback), hours(w.ProbabilisticWindow),
		hours(w.Reattribution), hours(w.Reengagement), a.MinCTIT, a.TimeZone, a.UpdatedAt.UnixMilli(), id); err != nil {
		return nil, err
	}
	if err := db.commit(tx); err != nil {
		return nil, err
	}
	db.mu.Lock()
	if seq, ok := db.apps[id]; ok {
		db.zones[seq] = a.Location()
	}
	db.mu.Unlock()
	return &a, nil
}

// RotateAppKey gives an app a fresh dev key or API token.
func (db *DB) RotateAppKey(ctx context.Context, id string, kind touchpoint.KeyKind) (*touchpoint.App, error) {
	c, ok := keyColumns[kind]
	if !ok || c.table != "apps" {
		return nil, (&touchpoint.App{}).NewKey(kind) // the EINVALID that names an app's keys
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a, err := findApp(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := a.NewKey(kind); err != nil {
		return nil, err
	}
	a.UpdatedAt = db.now()
	h, last4 := a.DevKeyHash, a.DevKeyLast4
	if kind == touchpoint.APIToken {
		h, last4 = a.APITokenHash, a.APITokenLast4
	}
	if _, err := tx.ExecContext(ctx, `/* DB.RotateAppKey */ UPDATE apps SET `+c.hash+` = ?, `+c.last4+` = ?, updated_at = ? WHERE id = ?`,
		storedKey(h), last4, a.UpdatedAt.UnixMilli(), id); err != nil {
		return nil, db.classify(err)
	}
	return a, db.commit(tx)
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func findApps(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.App, error) {
	rows, err := q.QueryContext(ctx, `/* findApps */ SELECT `+appColumns+` FROM apps `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []*touchpoint.App
	for rows.Next() {
		var a touchpoint.App
		var click, view, prob, reatt, reeng, created, updated int64
		var clock sql.NullInt64
		var devKey, apiToken string
		if err := rows.Scan(&a.ID, &a.Platform, &a.Name, &a.StoreURL, &devKey, &a.DevKeyLast4, &apiToken, &a.APITokenLast4,
			&click, &view, &prob, &reatt, &reeng, &a.MinCTIT, &clock, &a.TimeZone, &created, &updated); err != nil {
			return nil, err
		}
		var err error
		if a.DevKeyHash, err = parseStoredKey(devKey); err != nil {
			return nil, fmt.Errorf("app %s: dev_key: %w", a.ID, err)
		}
		if a.APITokenHash, err = parseStoredKey(apiToken); err != nil {
			return nil, fmt.Errorf("app %s: api_token: %w", a.ID, err)
		}
		a.TestClock = nullMillis(clock)
		a.TestMode = a.TestClock != nil
		a.Windows = touchpoint.Windows{
			ClickLookback:       fromHours(click),
			ViewThroughLookback: fromHours(view),
			ProbabilisticWindow: fromHours(prob),
			Reattribution:       fromHours(reatt),
			Reengagement:        fromHours(reeng),
		}
		a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
		apps = append(apps, &a)
	}
	return apps, rows.Err()
}

func hours(w touchpoint.Window) int64     { return w.Hours() }
func fromHours(h int64) touchpoint.Window { return touchpoint.HoursWindow(h) }

// fromMillis reads a stored time (touchpoint.StoredTime).
func fromMillis(ms int64) time.Time { return touchpoint.StoredTime(ms) }

// nullMillis reads a nullable time column.
func nullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}
