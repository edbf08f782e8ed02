package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.IntegrationStore = (*DB)(nil)

// PutAnalyticsForward creates or replaces an app's forward.
func (db *DB) PutAnalyticsForward(ctx context.Context, f *touchpoint.AnalyticsForward) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := findApp(ctx, tx, f.App); err != nil {
		return err
	}
	now := db.now()
	f.CreatedAt, f.UpdatedAt = now, now
	if old, err := findForward(ctx, tx, f.App); err == nil {
		f.CreatedAt = old.CreatedAt
	} else if touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		return err
	}
	data, err := encodeJSON("forward", f)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* DB.PutAnalyticsForward */ INSERT INTO analytics_forwards (app_id, data) VALUES (?, ?)
		ON CONFLICT DO UPDATE SET data = excluded.data`, f.App, string(data)); err != nil {
		return err
	}
	return db.commit(tx)
}

// FindAnalyticsForward returns an app's forward.
func (db *DB) FindAnalyticsForward(ctx context.Context, app string) (*touchpoint.AnalyticsForward, error) {
	return findForward(ctx, db.read, app)
}

func findForward(ctx context.Context, q querier, app string) (*touchpoint.AnalyticsForward, error) {
	var data string
	err := q.QueryRowContext(ctx, `/* findForward */ SELECT data FROM analytics_forwards WHERE app_id = ?`, app).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no analytics forward", app)
	} else if err != nil {
		return nil, err
	}
	var f touchpoint.AnalyticsForward
	return &f, json.Unmarshal([]byte(data), &f)
}

// ListAnalyticsForwards returns every app's forward.
func (db *DB) ListAnalyticsForwards(ctx context.Context) ([]*touchpoint.AnalyticsForward, error) {
	rows, err := db.read.QueryContext(ctx, `/* DB.ListAnalyticsForwards */ SELECT 0, data FROM analytics_forwards ORDER BY app_id`)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "analytics forward", func(*touchpoint.AnalyticsForward, int64) {})
}

// DeleteAnalyticsForward removes an app's forward.
func (db *DB) DeleteAnalyticsForward(ctx context.Context, app string) error {
	res, err := db.exec(ctx, `/* DB.DeleteAnalyticsForward */ DELETE FROM analytics_forwards WHERE app_id = ?`, app)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no analytics forward", app)
	}
	return nil
}

// CreateDestination stores a new destination.
func (db *DB) CreateDestination(ctx context.Context, d *touchpoint.Destination) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	if _, err := db.FindProject(ctx, d.Project); err != nil {
		return err
	}
	now := db.now()
	d.CreatedAt, d.UpdatedAt = now, now
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkCohortDestination(ctx, tx, d); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `/* DB.CreateDestination */ INSERT INTO destinations (project, data) VALUES (?, '')`, d.Project)
	if err != nil {
		return err
	}
	if d.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := putDestination(ctx, tx, d); err != nil {
		return err
	}
	return db.commit(tx)
}

func putDestination(ctx context.Context, tx *sql.Tx, d *touchpoint.Destination) error {
	data, err := encodeJSON("destination", d)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `/* putDestination */ UPDATE destinations SET data = ? WHERE id = ?`, string(data), d.ID)
	return err
}

// FindDestination returns a destination.
func (db *DB) FindDestination(ctx context.Context, id int64) (*touchpoint.Destination, error) {
	return findDestination(ctx, db.read, id)
}

func findDestination(ctx context.Context, q querier, id int64) (*touchpoint.Destination, error) {
	var data string
	err := q.QueryRowContext(ctx, `/* findDestination */ SELECT data FROM destinations WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "destination %d not found", id)
	} else if err != nil {
		return nil, err
	}
	var d touchpoint.Destination
	return &d, json.Unmarshal([]byte(data), &d)
}

// ListDestinations returns a project's destinations, or every project's.
func (db *DB) ListDestinations(ctx context.Context, project int64) ([]*touchpoint.Destination, error) {
	rows, err := db.read.QueryContext(ctx, `/* DB.ListDestinations */ SELECT id, data FROM destinations
		WHERE ? = 0 OR project = ? ORDER BY id`, project, project)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "destination", func(d *touchpoint.Destination, id int64) { d.ID = id })
}

// UpdateDestination changes a destination.
func (db *DB) UpdateDestination(ctx context.Context, id int64, upd touchpoint.DestinationUpdate) (*touchpoint.Destination, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	old, err := findDestination(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	d := upd.Apply(*old)
	d.Normalize()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := checkCohortDestination(ctx, tx, &d); err != nil {
		return nil, err
	}
	d.UpdatedAt = db.now()
	if err := putDestination(ctx, tx, &d); err != nil {
		return nil, err
	}
	return &d, db.commit(tx)
}

// checkCohortDestination allows one appsflyer-cohort destination per
// AppsFlyer app in a project.
func checkCohortDestination(ctx context.Context, q querier, d *touchpoint.Destination) error {
	if d.Kind != touchpoint.DestinationAppsFlyerCohort {
		return nil
	}
	var other int64
	err := q.QueryRowContext(ctx, `/* checkCohortDestination */ SELECT id FROM destinations WHERE project = ? AND id != ?
		AND data ->> '$.kind' = ? AND data ->> '$.appsflyer_app_id' = ?`, d.Project, d.ID, d.Kind, d.AppsFlyerAppID).Scan(&other)
	if err == nil {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "destination %d sends cohorts to %s already: one appsflyer-cohort destination per app", other, d.AppsFlyerAppID)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// DeleteDestination removes a destination; not one a cohort sync uses.
func (db *DB) DeleteDestination(ctx context.Context, id int64) error {
	var syncs int
	if err := db.read.QueryRowContext(ctx, `/* DB.DeleteDestination */ SELECT count(*) FROM cohort_syncs WHERE data ->> '$.destination_id' = ?`, id).Scan(&syncs); err != nil {
		return err
	}
	if syncs > 0 {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "destination %d is used by %d cohort syncs: delete them first", id, syncs)
	}
	res, err := db.exec(ctx, `/* DB.DeleteDestination */ DELETE FROM destinations WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "destination %d not found", id)
	}
	return nil
}
