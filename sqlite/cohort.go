package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.CohortStore = (*DB)(nil)

// keptComputations is how many computation records a cohort keeps.
const keptComputations = 1000

// CreateCohort stores a new cohort at version 1.
func (db *DB) CreateCohort(ctx context.Context, c *touchpoint.Cohort) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	if _, err := db.FindProject(ctx, c.Project); err != nil {
		return err
	}
	now := db.now()
	c.Version, c.CreatedAt, c.UpdatedAt, c.Size, c.ComputedAt = 1, now, now, 0, nil
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `/* DB.CreateCohort */ INSERT INTO cohorts (project, data) VALUES (?, '')`, c.Project)
	if err != nil {
		return err
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := putCohort(ctx, tx, c, true); err != nil {
		return err
	}
	return db.commit(tx)
}

// putCohort writes a cohort's definition, and a version row when it is a
// new version.
func putCohort(ctx context.Context, tx *sql.Tx, c *touchpoint.Cohort, newVersion bool) error {
	data, err := encodeJSON("cohort", c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* putCohort */ UPDATE cohorts SET data = ? WHERE id = ?`, string(data), c.ID); err != nil {
		return err
	}
	if !newVersion {
		return nil
	}
	def, err := encodeJSON("cohort definition", c.Definition)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `/* putCohort */ INSERT INTO cohort_versions (cohort, version, name, definition, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.Version, c.Name, string(def), c.UpdatedAt.UnixMilli())
	return err
}

// FindCohort returns a cohort.
func (db *DB) FindCohort(ctx context.Context, id int64) (*touchpoint.Cohort, error) {
	return findCohort(ctx, db.read, id)
}

func findCohort(ctx context.Context, q querier, id int64) (*touchpoint.Cohort, error) {
	cs, err := findCohorts(ctx, q, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(cs) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
	}
	return cs[0], nil
}

func findCohorts(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Cohort, error) {
	rows, err := q.QueryContext(ctx, `/* findCohorts */ SELECT id, data, size, computed_at FROM cohorts `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.Cohort
	for rows.Next() {
		var id, size int64
		var data []byte
		var computed sql.NullInt64
		if err := rows.Scan(&id, &data, &size, &computed); err != nil {
			return nil, err
		}
		c := &touchpoint.Cohort{}
		if err := json.Unmarshal(data, c); err != nil {
			return nil, err
		}
		c.ID, c.Size, c.ComputedAt = id, size, nullMillis(computed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListCohorts returns a project's cohorts.
func (db *DB) ListCohorts(ctx context.Context, project int64) ([]*touchpoint.Cohort, error) {
	cs, err := findCohorts(ctx, db.read, `WHERE project = ?`, project)
	if cs == nil {
		cs = []*touchpoint.Cohort{}
	}
	return cs, err
}

// UpdateCohort changes a cohort; a new definition is a new version.
func (db *DB) UpdateCohort(ctx context.Context, id int64, upd touchpoint.CohortUpdate) (*touchpoint.Cohort, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	old, err := findCohort(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	c := upd.Apply(*old)
	c.Normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	oldDef, _ := json.Marshal(old.Definition)
	newDef, _ := json.Marshal(c.Definition)
	changed := string(oldDef) != string(newDef) || c.Name != old.Name
	if changed {
		c.Version++
	}
	c.UpdatedAt = db.now()
	if err := putCohort(ctx, tx, &c, changed); err != nil {
		return nil, err
	}
	return &c, db.commit(tx)
}

// DeleteCohort removes a cohort with its versions, membership and syncs.
func (db *DB) DeleteCohort(ctx context.Context, id int64) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := findCohort(ctx, tx, id); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM cohort_versions WHERE cohort = ?`,
		`DELETE FROM cohort_members WHERE cohort = ?`,
		`DELETE FROM cohort_computations WHERE cohort = ?`,
		`DELETE FROM cohort_sync_members WHERE sync IN (SELECT id FROM cohort_syncs WHERE cohort = ?)`,
		`DELETE FROM sync_runs WHERE sync IN (SELECT id FROM cohort_syncs WHERE cohort = ?)`,
		`DELETE FROM cohort_syncs WHERE cohort = ?`,
		`DELETE FROM cohorts WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, `/* DB.DeleteCohort */ `+q, id); err != nil {
			return err
		}
	}
	return db.commit(tx)
}

// CohortVersions returns a cohort's versions, oldest first.
func (db *DB) CohortVersions(ctx context.Context, id int64) ([]*touchpoint.CohortVersion, error) {
	if _, err := db.FindCohort(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.CohortVersions */ SELECT version, name, definition, created_at FROM cohort_versions
		WHERE cohort = ? ORDER BY version`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.CohortVersion{}
	for rows.Next() {
		v := &touchpoint.CohortVersion{}
		var def []byte
		var created int64
		if err := rows.Scan(&v.Version, &v.Name, &def, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(def, &v.Definition); err != nil {
			return nil, err
		}
		v.CreatedAt = fromMillis(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// CohortMembership reads a cohort's members and, as the base, the id of
// its latest computation (0: none) in one read transaction.
func (db *DB) CohortMembership(ctx context.Context, id int64) ([]int64, int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	if _, err := findCohort(ctx, tx, id); err != nil {
		return nil, 0, err
	}
	base, err := latestComputation(ctx, tx, id)
	if err != nil {
		return nil, 0, err
	}
	members, err := column[int64](ctx, tx, `/* DB.CohortMembership */ SELECT user FROM cohort_members WHERE cohort = ? ORDER BY user`, id)
	return members, base, err
}

// latestComputation returns the id of a cohort's latest computation (0:
// none).
func latestComputation(ctx context.Context, q querier, id int64) (int64, error) {
	var base int64
	err := q.QueryRowContext(ctx, `/* latestComputation */ SELECT coalesce(max(id), 0) FROM cohort_computations WHERE cohort = ?`, id).Scan(&base)
	return base, err
}

// PutMembership writes a computation's entered and left users, and its
// record, in one transaction.
func (db *DB) PutMembership(ctx context.Context, m *touchpoint.Membership, base int64) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id := m.Cohort
	res, err := tx.ExecContext(ctx, `/* DB.PutMembership */ UPDATE cohorts SET size = ?, computed_at = ? WHERE id = ?`,
		m.Size, m.ComputedAt.UnixMilli(), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
	}
	// Each computation diffs against the one before: one stored since
	// this one read the membership makes its diff wrong.
	if latest, err := latestComputation(ctx, tx, id); err != nil {
		return err
	} else if latest != base {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "cohort %d was computed meanwhile", id)
	}
	if err := execChunks(ctx, tx, `DELETE FROM cohort_members WHERE cohort = ? AND user IN `, id, m.Left, 1); err != nil {
		return err
	}
	if err := execChunks(ctx, tx, `INSERT INTO cohort_members (cohort, user) VALUES `, id, m.Entered, 2); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* DB.PutMembership */ INSERT INTO cohort_computations (cohort, version, computed_at, size, entered, left, took_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, m.Version, m.ComputedAt.UnixMilli(), m.Size, len(m.Entered), len(m.Left), m.Took.Milliseconds()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* DB.PutMembership */ DELETE FROM cohort_computations WHERE cohort = ? AND id <=
		(SELECT id FROM cohort_computations WHERE cohort = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, id, id, keptComputations); err != nil {
		return err
	}
	return db.commit(tx)
}

// execChunks runs a statement over ids in chunks: with form 1, query ends
// in "IN " and takes (id, ids…); with form 2 it ends in "VALUES " and
// inserts (id, x) rows.
func execChunks(ctx context.Context, tx *sql.Tx, query string, id int64, ids []int64, form int) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		args := make([]any, 0, 2*n+1)
		var q string
		if form == 1 {
			q = query + "(" + inList(n) + ")"
			args = append(args, id)
			for _, x := range ids[:n] {
				args = append(args, x)
			}
		} else {
			q = query + placeholders(n, 2)
			for _, x := range ids[:n] {
				args = append(args, id, x)
			}
		}
		if _, err := tx.ExecContext(ctx, `/* execChunks */ `+q, args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// CohortMembers returns a page of a cohort's stored membership.
func (db *DB) CohortMembers(ctx context.Context, id, cursor int64, limit int) ([]touchpoint.CohortMember, error) {
	if _, err := db.FindCohort(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.CohortMembers */ SELECT u.id, coalesce(u.user_id, ''), coalesce(u.idfa, ''), coalesce(u.idfv, ''),
		coalesce(u.adid, ''), coalesce(u.platform, ''), coalesce(u.country, '')
		FROM cohort_members m JOIN users u ON u.id = m.user WHERE m.cohort = ? AND m.user > ? ORDER BY m.user LIMIT ?`, id, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []touchpoint.CohortMember{}
	for rows.Next() {
		var m touchpoint.CohortMember
		if err := rows.Scan(&m.AmplitudeID, &m.UserID, &m.IDFA, &m.IDFV, &m.ADID, &m.Platform, &m.Country); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// errNoRows reports a missing row as ENOTFOUND.
func errNoRows(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, format, args...)
	}
	return err
}
