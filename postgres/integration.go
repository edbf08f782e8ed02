package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.IntegrationStore = (*DB)(nil)

const forwardColumns = `a.id, f.url, f.api_key, f.mode, f.style, f.company, f.enabled, f.created_at, f.updated_at`

// PutAnalyticsForward creates or replaces an app's forward, keeping when
// it was created. It is one statement: the app is looked up, and two
// nodes putting one app's forward at once leave one of them.
func (db *DB) PutAnalyticsForward(ctx context.Context, f *touchpoint.AnalyticsForward) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	now := db.Now().UnixMilli()
	var created int64
	err := db.pool.QueryRow(ctx, `/* DB.PutAnalyticsForward */ INSERT INTO analytics_forwards (app_seq, url, api_key, mode,
		style, company, enabled, created_at, updated_at)
		SELECT seq, $2, $3, $4, $5, $6, $7, $8, $8 FROM apps WHERE id = $1
		ON CONFLICT (app_seq) DO UPDATE SET url = excluded.url, api_key = excluded.api_key, mode = excluded.mode,
			style = excluded.style, company = excluded.company, enabled = excluded.enabled, updated_at = excluded.updated_at
		RETURNING created_at`,
		f.App, f.URL, f.APIKey, string(f.Mode), string(f.Style), f.Company, f.Enabled, now).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", f.App)
	} else if err != nil {
		return err
	}
	f.CreatedAt, f.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(now)
	return nil
}

// FindAnalyticsForward returns an app's forward.
func (db *DB) FindAnalyticsForward(ctx context.Context, app string) (*touchpoint.AnalyticsForward, error) {
	fs, err := findForwards(ctx, db.pool, `WHERE a.id = $1`, app)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no analytics forward", app)
	}
	return fs[0], nil
}

// ListAnalyticsForwards returns every app's forward, by app id (byte
// order, as the embedded store's).
func (db *DB) ListAnalyticsForwards(ctx context.Context) ([]*touchpoint.AnalyticsForward, error) {
	return findForwards(ctx, db.pool, `ORDER BY a.id COLLATE "C"`)
}

// DeleteAnalyticsForward removes an app's forward.
func (db *DB) DeleteAnalyticsForward(ctx context.Context, app string) error {
	tag, err := db.pool.Exec(ctx, `/* DB.DeleteAnalyticsForward */ DELETE FROM analytics_forwards
		WHERE app_seq = (SELECT seq FROM apps WHERE id = $1)`, app)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no analytics forward", app)
	}
	return nil
}

func findForwards(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.AnalyticsForward, error) {
	rows, err := q.Query(ctx, `/* findForwards */ SELECT `+forwardColumns+`
		FROM analytics_forwards f JOIN apps a ON a.seq = f.app_seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.AnalyticsForward
	for rows.Next() {
		var f touchpoint.AnalyticsForward
		var mode, style string
		var created, updated int64
		if err := rows.Scan(&f.App, &f.URL, &f.APIKey, &mode, &style, &f.Company, &f.Enabled, &created, &updated); err != nil {
			return nil, err
		}
		f.Mode, f.Style = touchpoint.ForwardMode(mode), touchpoint.ForwardStyle(style)
		f.CreatedAt, f.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		out = append(out, &f)
	}
	return out, rows.Err()
}

const destinationColumns = `id, project, kind, name, appsflyer_app_id, key, url, filter, appsflyer_id_property,
	api_token, platform, identifier, enabled, created_at, updated_at`

// CreateDestination stores a new destination of a project. It is one
// statement: the project is looked up as the row is written.
func (db *DB) CreateDestination(ctx context.Context, d *touchpoint.Destination) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	now := touchpoint.StoredTime(db.Now().UnixMilli())
	d.CreatedAt, d.UpdatedAt = now, now
	var id int64
	err := db.pool.QueryRow(ctx, `/* DB.CreateDestination */ INSERT INTO destinations (project, kind, name, appsflyer_app_id,
		key, url, filter, appsflyer_id_property, api_token, platform, identifier, enabled, created_at, updated_at)
		SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13 FROM projects WHERE id = $1 RETURNING id`,
		d.Project, string(d.Kind), d.Name, d.AppsFlyerAppID, d.Key, d.URL, d.Filter, d.AppsFlyerIDProperty, d.APIToken,
		string(d.Platform), d.Identifier, d.Enabled, now.UnixMilli()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", d.Project)
	} else if isUniqueViolation(err) {
		return db.cohortConflict(ctx, d)
	} else if err != nil {
		return err
	}
	d.ID = id
	return nil
}

// FindDestination returns a destination.
func (db *DB) FindDestination(ctx context.Context, id int64) (*touchpoint.Destination, error) {
	return findDestination(ctx, db.pool, id, "")
}

// ListDestinations returns a project's destinations, or every project's,
// by id.
func (db *DB) ListDestinations(ctx context.Context, project int64) ([]*touchpoint.Destination, error) {
	return findDestinations(ctx, db.pool, `WHERE $1::bigint = 0 OR project = $1 ORDER BY id`, project)
}

// UpdateDestination changes a destination, its row locked from read to
// write.
func (db *DB) UpdateDestination(ctx context.Context, id int64, upd touchpoint.DestinationUpdate) (*touchpoint.Destination, error) {
	var d touchpoint.Destination
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		old, err := findDestination(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		d = upd.Apply(*old)
		d.Normalize()
		if err := d.Validate(); err != nil {
			return err
		}
		d.UpdatedAt = touchpoint.StoredTime(db.Now().UnixMilli())
		_, err = tx.Exec(ctx, `/* DB.UpdateDestination */ UPDATE destinations SET name = $1, appsflyer_app_id = $2, key = $3,
			url = $4, filter = $5, appsflyer_id_property = $6, api_token = $7, platform = $8, identifier = $9, enabled = $10,
			updated_at = $11 WHERE id = $12`,
			d.Name, d.AppsFlyerAppID, d.Key, d.URL, d.Filter, d.AppsFlyerIDProperty, d.APIToken, string(d.Platform),
			d.Identifier, d.Enabled, d.UpdatedAt.UnixMilli(), id)
		return err
	})
	if isUniqueViolation(err) {
		return nil, db.cohortConflict(ctx, &d)
	} else if err != nil {
		return nil, err
	}
	return &d, nil
}

// DeleteDestination removes a destination no cohort sync uses; its
// deliveries stay. Its row is locked before the syncs are counted, so a
// sync created on another node at once (CreateCohortSync holds the row
// shared) is either counted or refused for want of the destination.
func (db *DB) DeleteDestination(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := findDestination(ctx, tx, id, "FOR UPDATE"); err != nil {
			return err
		}
		var syncs int
		if err := tx.QueryRow(ctx, `/* DB.DeleteDestination */ SELECT count(*) FROM cohort_syncs WHERE destination = $1`, id).Scan(&syncs); err != nil {
			return err
		}
		if syncs > 0 {
			return touchpoint.Errorf(touchpoint.ECONFLICT, "destination %d is used by %d cohort syncs: delete them first", id, syncs)
		}
		_, err := tx.Exec(ctx, `/* DB.DeleteDestination */ DELETE FROM destinations WHERE id = $1`, id)
		return err
	})
}

// cohortConflict is the error of a destination refused by the unique
// index that allows one appsflyer-cohort destination per AppsFlyer app
// in a project, naming the destination that has the app.
func (db *DB) cohortConflict(ctx context.Context, d *touchpoint.Destination) error {
	var other int64
	err := db.pool.QueryRow(ctx, `/* cohortConflict */ SELECT id FROM destinations
		WHERE project = $1 AND kind = $2 AND appsflyer_app_id = $3 AND id != $4`,
		d.Project, string(touchpoint.DestinationAppsFlyerCohort), d.AppsFlyerAppID, d.ID).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		// Deleted since: the refusal stands, its destination unnamed.
		return touchpoint.Errorf(touchpoint.ECONFLICT, "another destination sends cohorts to %s already: one appsflyer-cohort destination per app", d.AppsFlyerAppID)
	} else if err != nil {
		return err
	}
	return touchpoint.Errorf(touchpoint.ECONFLICT, "destination %d sends cohorts to %s already: one appsflyer-cohort destination per app", other, d.AppsFlyerAppID)
}

func findDestination(ctx context.Context, q querier, id int64, lock string) (*touchpoint.Destination, error) {
	ds, err := findDestinations(ctx, q, `WHERE id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "destination %d not found", id)
	}
	return ds[0], nil
}

func findDestinations(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Destination, error) {
	rows, err := q.Query(ctx, `/* findDestinations */ SELECT `+destinationColumns+` FROM destinations `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.Destination
	for rows.Next() {
		var d touchpoint.Destination
		var kind, platform string
		var created, updated int64
		if err := rows.Scan(&d.ID, &d.Project, &kind, &d.Name, &d.AppsFlyerAppID, &d.Key, &d.URL, &d.Filter,
			&d.AppsFlyerIDProperty, &d.APIToken, &platform, &d.Identifier, &d.Enabled, &created, &updated); err != nil {
			return nil, err
		}
		d.Kind, d.Platform = touchpoint.DestinationKind(kind), touchpoint.Platform(platform)
		d.CreatedAt, d.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		out = append(out, &d)
	}
	return out, rows.Err()
}
