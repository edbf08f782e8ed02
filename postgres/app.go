package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.AppStore = (*DB)(nil)

const appColumns = `id, platform, name, store_url, dev_key, dev_key_last4, api_token, api_token_last4, click_lookback,
	view_through_lookback, probabilistic_window, reattribution_window, reengagement_window, min_ctit, test_clock, time_zone, created_at, updated_at`

// CreateApp stores a new app with fresh keys (their hashes).
func (db *DB) CreateApp(ctx context.Context, a *touchpoint.App) error {
	now := db.Now()
	if err := a.Prepare(now); err != nil {
		return err
	}
	var clock *int64
	if a.TestClock != nil {
		ms := a.TestClock.UnixMilli()
		clock = &ms
	}
	w := a.Windows
	_, err := db.pool.Exec(ctx, `/* DB.CreateApp */ INSERT INTO apps (`+appColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		a.ID, string(a.Platform), a.Name, a.StoreURL, a.DevKeyHash[:], a.DevKeyLast4, a.APITokenHash[:], a.APITokenLast4,
		w.ClickLookback.Hours(), w.ViewThroughLookback.Hours(), w.ProbabilisticWindow.Hours(), w.Reattribution.Hours(),
		w.Reengagement.Hours(), a.MinCTIT, clock, a.TimeZone, now.UnixMilli(), now.UnixMilli())
	if isUniqueViolation(err) {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "app %s exists already", a.ID)
	}
	return err
}

// FindApp returns an app by store id.
func (db *DB) FindApp(ctx context.Context, id string) (*touchpoint.App, error) {
	return findApp(ctx, db.pool, id, "")
}

// ListApps returns every app by id (byte order, as the embedded store's).
func (db *DB) ListApps(ctx context.Context) ([]*touchpoint.App, error) {
	return findApps(ctx, db.pool, `ORDER BY id COLLATE "C"`)
}

// UpdateApp changes an app's name, store URL, windows or CTIT minimum.
func (db *DB) UpdateApp(ctx context.Context, id string, upd touchpoint.AppUpdate) (*touchpoint.App, error) {
	return db.changeApp(ctx, id, func(tx pgx.Tx, a *touchpoint.App) error {
		*a = upd.Apply(*a)
		if err := a.Validate(); err != nil {
			return err
		}
		a.UpdatedAt = db.Now()
		w := a.Windows
		_, err := tx.Exec(ctx, `/* DB.UpdateApp */ UPDATE apps SET name = $1, store_url = $2, click_lookback = $3,
			view_through_lookback = $4, probabilistic_window = $5, reattribution_window = $6, reengagement_window = $7,
			min_ctit = $8, time_zone = $9, updated_at = $10 WHERE id = $11`,
			a.Name, a.StoreURL, w.ClickLookback.Hours(), w.ViewThroughLookback.Hours(), w.ProbabilisticWindow.Hours(),
			w.Reattribution.Hours(), w.Reengagement.Hours(), a.MinCTIT, a.TimeZone, a.UpdatedAt.UnixMilli(), id)
		return err
	})
}

// RotateAppKey gives an app a fresh dev key or API token.
func (db *DB) RotateAppKey(ctx context.Context, id string, kind touchpoint.KeyKind) (*touchpoint.App, error) {
	if kind != touchpoint.DevKey && kind != touchpoint.APIToken {
		return nil, (&touchpoint.App{}).NewKey(kind) // the EINVALID that names an app's keys
	}
	return db.changeApp(ctx, id, func(tx pgx.Tx, a *touchpoint.App) error {
		if err := a.NewKey(kind); err != nil {
			return err
		}
		a.UpdatedAt = db.Now()
		query := `/* DB.RotateAppKey */ UPDATE apps SET dev_key = $1, dev_key_last4 = $2, updated_at = $3 WHERE id = $4`
		h, last4 := a.DevKeyHash, a.DevKeyLast4
		if kind == touchpoint.APIToken {
			query = `/* DB.RotateAppKey */ UPDATE apps SET api_token = $1, api_token_last4 = $2, updated_at = $3 WHERE id = $4`
			h, last4 = a.APITokenHash, a.APITokenLast4
		}
		_, err := tx.Exec(ctx, query, h[:], last4, a.UpdatedAt.UnixMilli(), id)
		return err
	})
}

// SetTestClock moves a test-mode app's clock, and brings its pending
// deliveries nearer by as much in the same transaction: retries wait on
// the real clock. The app's row stays locked until the commit, so two
// moves of one clock cannot both shift its deliveries by the same span.
func (db *DB) SetTestClock(ctx context.Context, id string, t time.Time) (*touchpoint.App, error) {
	return db.changeApp(ctx, id, func(tx pgx.Tx, a *touchpoint.App) error {
		t = t.UTC().Truncate(time.Millisecond)
		if err := a.NextTestClock(t); err != nil {
			return err
		}
		prev := a.TestClock
		a.TestClock = &t
		if _, err := tx.Exec(ctx, `/* DB.SetTestClock */ UPDATE apps SET test_clock = $1 WHERE id = $2`, t.UnixMilli(), id); err != nil {
			return err
		}
		if prev != nil && t.After(*prev) {
			_, err := tx.Exec(ctx, `/* DB.SetTestClock */ UPDATE deliveries SET next_at = next_at - $1
				WHERE app_seq = (SELECT seq FROM apps WHERE id = $2) AND state = 'pending'`, t.Sub(*prev).Milliseconds(), id)
			return err
		}
		return nil
	})
}

// changeApp reads an app, locked, lets change alter it and write it, and
// commits. ENOTFOUND.
func (db *DB) changeApp(ctx context.Context, id string, change func(pgx.Tx, *touchpoint.App) error) (*touchpoint.App, error) {
	var a *touchpoint.App
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		if a, err = findApp(ctx, tx, id, "FOR UPDATE"); err != nil {
			return err
		}
		return change(tx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func findApp(ctx context.Context, q querier, id, lock string) (*touchpoint.App, error) {
	apps, err := findApps(ctx, q, `WHERE id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", id)
	}
	return apps[0], nil
}

func findApps(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.App, error) {
	rows, err := q.Query(ctx, `/* findApps */ SELECT `+appColumns+` FROM apps `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var apps []*touchpoint.App
	for rows.Next() {
		var a touchpoint.App
		var platform string
		var devKey, apiToken []byte
		var click, view, prob, reatt, reeng, created, updated int64
		var clock *int64
		if err := rows.Scan(&a.ID, &platform, &a.Name, &a.StoreURL, &devKey, &a.DevKeyLast4, &apiToken, &a.APITokenLast4,
			&click, &view, &prob, &reatt, &reeng, &a.MinCTIT, &clock, &a.TimeZone, &created, &updated); err != nil {
			return nil, err
		}
		a.Platform = touchpoint.Platform(platform)
		copy(a.DevKeyHash[:], devKey)
		copy(a.APITokenHash[:], apiToken)
		if clock != nil {
			t := touchpoint.StoredTime(*clock)
			a.TestMode, a.TestClock = true, &t
		}
		a.Windows = touchpoint.Windows{
			ClickLookback:       touchpoint.HoursWindow(click),
			ViewThroughLookback: touchpoint.HoursWindow(view),
			ProbabilisticWindow: touchpoint.HoursWindow(prob),
			Reattribution:       touchpoint.HoursWindow(reatt),
			Reengagement:        touchpoint.HoursWindow(reeng),
		}
		a.CreatedAt, a.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		apps = append(apps, &a)
	}
	return apps, rows.Err()
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
