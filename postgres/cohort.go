package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// keptComputations is how many computation records a cohort keeps, as
// the embedded store's.
const keptComputations = 1000

const cohortColumns = `id, project, name, description, definition, version, created_at, updated_at, size, computed_at`

// CreateCohort stores a new cohort at version 1 with its version row. It
// looks the project up in the statement that writes the row.
func (db *DB) CreateCohort(ctx context.Context, c *touchpoint.Cohort) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	now := touchpoint.StoredTime(db.Now().UnixMilli())
	var id int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `/* DB.CreateCohort */ INSERT INTO cohorts (project, name, description, definition, version, created_at, updated_at)
			SELECT id, $2, $3, $4, 1, $5, $5 FROM projects WHERE id = $1 RETURNING id`,
			c.Project, c.Name, c.Description, c.Definition, now.UnixMilli()).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", c.Project)
		} else if err != nil {
			return err
		}
		return putCohortVersion(ctx, tx, id, 1, c.Name, c.Definition, now)
	})
	if err != nil {
		return err
	}
	c.ID, c.Version, c.CreatedAt, c.UpdatedAt, c.Size, c.ComputedAt = id, 1, now, now, 0, nil
	return nil
}

func putCohortVersion(ctx context.Context, tx pgx.Tx, id int64, version int, name string, def touchpoint.Condition, at time.Time) error {
	_, err := tx.Exec(ctx, `/* putCohortVersion */ INSERT INTO cohort_versions (cohort, version, name, definition, created_at)
		VALUES ($1, $2, $3, $4, $5)`, id, version, name, def, at.UnixMilli())
	return err
}

// FindCohort returns a cohort.
func (db *DB) FindCohort(ctx context.Context, id int64) (*touchpoint.Cohort, error) {
	return findCohort(ctx, db.pool, id, "")
}

func findCohort(ctx context.Context, q querier, id int64, lock string) (*touchpoint.Cohort, error) {
	cs, err := findCohorts(ctx, q, `WHERE id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
	}
	return cs[0], nil
}

func findCohorts(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Cohort, error) {
	rows, err := q.Query(ctx, `/* findCohorts */ SELECT `+cohortColumns+` FROM cohorts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.Cohort{}
	for rows.Next() {
		var c touchpoint.Cohort
		var created, updated int64
		var computed *int64
		if err := rows.Scan(&c.ID, &c.Project, &c.Name, &c.Description, &c.Definition, &c.Version, &created, &updated,
			&c.Size, &computed); err != nil {
			return nil, err
		}
		c.CreatedAt, c.UpdatedAt, c.ComputedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated), storedTimep(computed)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// storedTimep reads a nullable time column.
func storedTimep(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := touchpoint.StoredTime(*ms)
	return &t
}

// ListCohorts returns a project's cohorts by id (none for an unknown
// project, as the embedded store's).
func (db *DB) ListCohorts(ctx context.Context, project int64) ([]*touchpoint.Cohort, error) {
	return findCohorts(ctx, db.pool, `WHERE project = $1 ORDER BY id`, project)
}

// UpdateCohort changes a cohort, its row locked from read to write: a new
// name or definition is the next version, so two updates on two nodes
// make two versions, one after the other.
func (db *DB) UpdateCohort(ctx context.Context, id int64, upd touchpoint.CohortUpdate) (*touchpoint.Cohort, error) {
	var c touchpoint.Cohort
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		old, err := findCohort(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		c = upd.Apply(*old)
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		oldDef, _ := json.Marshal(old.Definition)
		newDef, _ := json.Marshal(c.Definition)
		changed := string(oldDef) != string(newDef) || c.Name != old.Name
		if changed {
			c.Version++
		}
		c.UpdatedAt = touchpoint.StoredTime(db.Now().UnixMilli())
		if _, err := tx.Exec(ctx, `/* DB.UpdateCohort */ UPDATE cohorts SET name = $1, description = $2, definition = $3, version = $4,
			updated_at = $5 WHERE id = $6`, c.Name, c.Description, c.Definition, c.Version, c.UpdatedAt.UnixMilli(), id); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return putCohortVersion(ctx, tx, id, c.Version, c.Name, c.Definition, c.UpdatedAt)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCohort removes a cohort; its versions, membership, computations
// and syncs (with what they sent and their runs) go with it (ON DELETE
// CASCADE).
func (db *DB) DeleteCohort(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `/* DB.DeleteCohort */ DELETE FROM cohorts WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
	}
	return nil
}

// CohortVersions returns a cohort's versions, oldest first.
func (db *DB) CohortVersions(ctx context.Context, id int64) ([]*touchpoint.CohortVersion, error) {
	out := []*touchpoint.CohortVersion{}
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := findCohort(ctx, tx, id, ""); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `/* DB.CohortVersions */ SELECT version, name, definition, created_at FROM cohort_versions
			WHERE cohort = $1 ORDER BY version`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v touchpoint.CohortVersion
			var created int64
			if err := rows.Scan(&v.Version, &v.Name, &v.Definition, &created); err != nil {
				return err
			}
			v.CreatedAt = touchpoint.StoredTime(created)
			out = append(out, &v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CohortMembership reads a cohort's members and, as the base, the id of
// its latest computation (0: none), from one snapshot.
func (db *DB) CohortMembership(ctx context.Context, id int64) ([]int64, int64, error) {
	var members []int64
	var base int64
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := findCohort(ctx, tx, id, ""); err != nil {
			return err
		}
		var err error
		if base, err = latestComputation(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `/* DB.CohortMembership */ SELECT amplitude_id FROM cohort_members WHERE cohort = $1 ORDER BY amplitude_id`, id)
		if err != nil {
			return err
		}
		members, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return members, base, nil
}

// latestComputation returns the id of a cohort's latest computation (0:
// none).
func latestComputation(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
	var base int64
	err := tx.QueryRow(ctx, `/* latestComputation */ SELECT coalesce(max(id), 0) FROM cohort_computations WHERE cohort = $1`, id).Scan(&base)
	return base, err
}

// PutMembership writes a computation's entered and left users, and its
// record, in one transaction holding the cohort's row: computations of
// one cohort on several nodes take turns, and one diffed against a
// membership another changed meanwhile is refused (ECONFLICT).
func (db *DB) PutMembership(ctx context.Context, m *touchpoint.Membership, base int64) error {
	id := m.Cohort
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `/* DB.PutMembership */ UPDATE cohorts SET size = $1, computed_at = $2 WHERE id = $3`,
			m.Size, m.ComputedAt.UnixMilli(), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found", id)
		}
		// Each computation diffs against the one before: one stored since
		// this one read the membership makes its diff wrong.
		if latest, err := latestComputation(ctx, tx, id); err != nil {
			return err
		} else if latest != base {
			return touchpoint.Errorf(touchpoint.ECONFLICT, "cohort %d was computed meanwhile", id)
		}
		if len(m.Left) > 0 {
			if _, err := tx.Exec(ctx, `/* DB.PutMembership */ DELETE FROM cohort_members WHERE cohort = $1 AND amplitude_id = ANY($2)`,
				id, m.Left); err != nil {
				return err
			}
		}
		if len(m.Entered) > 0 {
			if _, err := tx.Exec(ctx, `/* DB.PutMembership */ INSERT INTO cohort_members (cohort, amplitude_id)
				SELECT $1, unnest($2::bigint[])`, id, m.Entered); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `/* DB.PutMembership */ INSERT INTO cohort_computations (cohort, version, computed_at, size, entered,
			left_count, took_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, m.Version, m.ComputedAt.UnixMilli(), m.Size, len(m.Entered), len(m.Left), m.Took.Milliseconds()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `/* DB.PutMembership */ DELETE FROM cohort_computations WHERE cohort = $1 AND id <=
			(SELECT id FROM cohort_computations WHERE cohort = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, id, keptComputations)
		return err
	})
}

// CohortMembers returns a page of a cohort's stored membership with the
// members' ids, from one snapshot. A negative limit reads every member,
// as the embedded store's does.
func (db *DB) CohortMembers(ctx context.Context, id, cursor int64, limit int) ([]touchpoint.CohortMember, error) {
	var lim *int // NULL: LIMIT ALL
	if limit >= 0 {
		lim = &limit
	}
	out := []touchpoint.CohortMember{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if _, err := findCohort(ctx, tx, id, ""); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `/* DB.CohortMembers */ SELECT u.id, u.user_id, u.idfa, u.idfv, u.adid, u.platform, u.country
			FROM cohort_members m JOIN users u ON u.id = m.amplitude_id WHERE m.cohort = $1 AND m.amplitude_id > $2
			ORDER BY m.amplitude_id LIMIT $3`, id, cursor, lim)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m touchpoint.CohortMember
			var userID, idfa, idfv, adid, platform, country []byte
			if err := rows.Scan(&m.AmplitudeID, &userID, &idfa, &idfv, &adid, &platform, &country); err != nil {
				return err
			}
			m.UserID, m.IDFA, m.IDFV, m.ADID = string(userID), string(idfa), string(idfv), string(adid)
			m.Platform, m.Country = string(platform), string(country)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
