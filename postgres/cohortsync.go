package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// keptRuns is how many run records a sync keeps, as the embedded store's.
const keptRuns = 1000

const syncColumns = `id, cohort, destination, cadence, batch_size, enabled, audience_id, audience_name, import_key,
	next_run, last_run, created_at, updated_at`

// CreateCohortSync stores a sync, due at once. The cohort and the
// destination are read under a share lock: a DeleteCohort or
// DeleteDestination on another node waits for the sync to be written, and
// then sees it.
func (db *DB) CreateCohortSync(ctx context.Context, s *touchpoint.CohortSync) error {
	s.Normalize()
	if err := s.Validate(); err != nil {
		return err
	}
	now := touchpoint.StoredTime(db.Now().UnixMilli())
	var id int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		c, err := findCohort(ctx, tx, s.Cohort, "FOR SHARE")
		if err != nil {
			return err
		}
		d, err := findDestination(ctx, tx, s.Destination, "FOR SHARE")
		if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
			return touchpoint.Errorf(touchpoint.EINVALID, "destination %d not found", s.Destination)
		} else if err != nil {
			return err
		}
		if d.Kind != touchpoint.DestinationAppsFlyerCohort || d.Project != c.Project {
			return touchpoint.Errorf(touchpoint.EINVALID, "destination %d is not an appsflyer-cohort destination of project %d", d.ID, c.Project)
		}
		return tx.QueryRow(ctx, `/* DB.CreateCohortSync */ INSERT INTO cohort_syncs (cohort, destination, cadence, batch_size, enabled,
			next_run, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6) RETURNING id`,
			s.Cohort, s.Destination, s.Cadence, s.BatchSize, s.Enabled, now.UnixMilli()).Scan(&id)
	})
	if err != nil {
		return err
	}
	s.ID, s.CreatedAt, s.UpdatedAt, s.NextRun, s.LastRun = id, now, now, &now, nil
	s.AudienceID, s.AudienceName, s.ImportKey, s.Claim = 0, "", "", 0
	return nil
}

// FindCohortSync returns a sync.
func (db *DB) FindCohortSync(ctx context.Context, id int64) (*touchpoint.CohortSync, error) {
	return findSync(ctx, db.pool, id, "")
}

func findSync(ctx context.Context, q querier, id int64, lock string) (*touchpoint.CohortSync, error) {
	l, err := findSyncs(ctx, q, `SELECT `+syncColumns+` FROM cohort_syncs WHERE id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort sync %d not found", id)
	}
	return l[0], nil
}

// findSyncs runs a query of syncColumns.
func findSyncs(ctx context.Context, q querier, query string, args ...any) ([]*touchpoint.CohortSync, error) {
	rows, err := q.Query(ctx, `/* findSyncs */ `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.CohortSync{}
	for rows.Next() {
		var s touchpoint.CohortSync
		var next, last *int64
		var created, updated int64
		if err := rows.Scan(&s.ID, &s.Cohort, &s.Destination, &s.Cadence, &s.BatchSize, &s.Enabled, &s.AudienceID,
			&s.AudienceName, &s.ImportKey, &next, &last, &created, &updated); err != nil {
			return nil, err
		}
		s.NextRun, s.LastRun = storedTimep(next), storedTimep(last)
		s.CreatedAt, s.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		out = append(out, &s)
	}
	return out, rows.Err()
}

// ListCohortSyncs returns a cohort's syncs, or every sync, by id.
func (db *DB) ListCohortSyncs(ctx context.Context, cohort int64) ([]*touchpoint.CohortSync, error) {
	return findSyncs(ctx, db.pool, `SELECT `+syncColumns+` FROM cohort_syncs WHERE $1::bigint = 0 OR cohort = $1 ORDER BY id`, cohort)
}

// UpdateCohortSync changes a sync's cadence, batch size or state, its row
// locked from read to write. A sync enabled again, or given a new
// cadence, is due at once. Its claim, if any, stays its holder's.
func (db *DB) UpdateCohortSync(ctx context.Context, id int64, upd touchpoint.CohortSyncUpdate) (*touchpoint.CohortSync, error) {
	var s touchpoint.CohortSync
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		old, err := findSync(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		s = upd.Apply(*old)
		s.Normalize()
		if err := s.Validate(); err != nil {
			return err
		}
		now := touchpoint.StoredTime(db.Now().UnixMilli())
		if (s.Enabled && !old.Enabled) || s.Cadence != old.Cadence {
			s.NextRun = &now
		}
		s.UpdatedAt = now
		_, err = tx.Exec(ctx, `/* DB.UpdateCohortSync */ UPDATE cohort_syncs SET cadence = $1, batch_size = $2, enabled = $3,
			next_run = $4, updated_at = $5 WHERE id = $6`, s.Cadence, s.BatchSize, s.Enabled, millisp(s.NextRun), now.UnixMilli(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// millisp is a nullable time as Unix milliseconds.
func millisp(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// DeleteCohortSync removes a sync; what it sent and its runs go with it
// (ON DELETE CASCADE). The audience stays where it is.
func (db *DB) DeleteCohortSync(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `/* DB.DeleteCohortSync */ DELETE FROM cohort_syncs WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort sync %d not found", id)
	}
	return nil
}

// ClaimCohortSyncs claims the due syncs no claim holds in one statement.
// Their rows are locked with SKIP LOCKED, so nodes claiming at once share
// the due syncs out, each to one of them, rather than wait for one
// another; a sync whose claim lapsed (its node died) is due again.
func (db *DB) ClaimCohortSyncs(ctx context.Context, now, until time.Time) ([]*touchpoint.CohortSync, error) {
	l, err := findSyncs(ctx, db.pool, `UPDATE cohort_syncs SET claimed_until = $2
		WHERE id IN (SELECT id FROM cohort_syncs
			WHERE enabled AND next_run IS NOT NULL AND next_run <= $1 AND claimed_until <= $1
			ORDER BY next_run, id FOR UPDATE SKIP LOCKED)
		RETURNING `+syncColumns, now.UnixMilli(), until.UnixMilli())
	if err != nil {
		return nil, err
	}
	// RETURNING has no order: the embedded store's, the most overdue first.
	slices.SortFunc(l, func(a, b *touchpoint.CohortSync) int {
		return cmp.Or(a.NextRun.Compare(*b.NextRun), cmp.Compare(a.ID, b.ID))
	})
	for _, s := range l {
		s.Claim = until.UnixMilli()
	}
	return l, nil
}

// ClaimCohortSync claims one sync, due or not, unless another claim
// holds it. The row is locked while it is read and claimed, so of two
// nodes claiming it at once one gets it and the other ECONFLICT.
func (db *DB) ClaimCohortSync(ctx context.Context, id int64, now, until time.Time) (*touchpoint.CohortSync, error) {
	var s *touchpoint.CohortSync
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		if s, err = findSync(ctx, tx, id, "FOR UPDATE"); err != nil {
			return err
		}
		var claimed int64
		if err := tx.QueryRow(ctx, `/* DB.ClaimCohortSync */ SELECT claimed_until FROM cohort_syncs WHERE id = $1`, id).Scan(&claimed); err != nil {
			return err
		}
		if claimed > now.UnixMilli() {
			return touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d is running (claimed until %s): its run is recorded when it ends",
				id, touchpoint.StoredTime(claimed).Format(time.RFC3339))
		}
		_, err = tx.Exec(ctx, `/* DB.ClaimCohortSync */ UPDATE cohort_syncs SET claimed_until = $1 WHERE id = $2`, until.UnixMilli(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Claim = until.UnixMilli()
	return s, nil
}

// ExtendCohortSyncClaim moves the end of a claim that is still s's.
func (db *DB) ExtendCohortSyncClaim(ctx context.Context, s *touchpoint.CohortSync, until time.Time) error {
	if s.Claim == 0 {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d is not claimed", s.ID)
	}
	tag, err := db.pool.Exec(ctx, `/* DB.ExtendCohortSyncClaim */ UPDATE cohort_syncs SET claimed_until = $1
		WHERE id = $2 AND claimed_until = $3`, until.UnixMilli(), s.ID, s.Claim)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d's claim lapsed: another run may have taken it", s.ID)
	}
	s.Claim = until.UnixMilli()
	return nil
}

// ReleaseCohortSync ends a claim that is still s's.
func (db *DB) ReleaseCohortSync(ctx context.Context, s *touchpoint.CohortSync) error {
	if s.Claim == 0 {
		return nil
	}
	_, err := db.pool.Exec(ctx, `/* DB.ReleaseCohortSync */ UPDATE cohort_syncs SET claimed_until = 0 WHERE id = $1 AND claimed_until = $2`,
		s.ID, s.Claim)
	return err
}

// SetSyncAudience records the audience a sync created.
func (db *DB) SetSyncAudience(ctx context.Context, id, audienceID int64, name, importKey string) error {
	tag, err := db.pool.Exec(ctx, `/* DB.SetSyncAudience */ UPDATE cohort_syncs SET audience_id = $1, audience_name = $2, import_key = $3
		WHERE id = $4`, audienceID, name, importKey, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort sync %d not found", id)
	}
	return nil
}

// mappingColumns are the users columns each identifier mapping reads.
var mappingColumns = map[string]string{
	touchpoint.MapIDFA:   "u.idfa",
	touchpoint.MapGAID:   "u.adid",
	touchpoint.MapUserID: "u.user_id",
	touchpoint.MapCUID:   "u.user_id",
}

// CohortDevices reads a cohort's stored members with an identifier (none
// for a cohort that does not exist, as the embedded store's).
func (db *DB) CohortDevices(ctx context.Context, cohort int64, mapping string) ([]touchpoint.SyncDevice, error) {
	col, ok := mappingColumns[mapping]
	if !ok {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "identifier %q is not a mapping", mapping)
	}
	rows, err := db.pool.Query(ctx, `/* DB.CohortDevices */ SELECT m.amplitude_id, `+col+` FROM cohort_members m
		JOIN users u ON u.id = m.amplitude_id WHERE m.cohort = $1 ORDER BY m.amplitude_id`, cohort)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []touchpoint.SyncDevice{}
	for rows.Next() {
		var d touchpoint.SyncDevice
		var id []byte
		if err := rows.Scan(&d.User, &id); err != nil {
			return nil, err
		}
		d.ID = string(id)
		out = append(out, d)
	}
	return out, rows.Err()
}

// SentDevices reads what a sync's audience holds.
func (db *DB) SentDevices(ctx context.Context, id int64) ([]touchpoint.SyncDevice, error) {
	rows, err := db.pool.Query(ctx, `/* DB.SentDevices */ SELECT amplitude_id, identifier FROM cohort_sync_members
		WHERE sync = $1 ORDER BY amplitude_id, identifier`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []touchpoint.SyncDevice{}
	for rows.Next() {
		var d touchpoint.SyncDevice
		if err := rows.Scan(&d.User, &d.ID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MarkSynced records what the audience now holds, in one transaction, a
// statement per list, as arrays. A device added twice is held once.
func (db *DB) MarkSynced(ctx context.Context, id int64, added, removed []touchpoint.SyncDevice) error {
	split := func(ds []touchpoint.SyncDevice) ([]int64, []string) {
		users, ids := make([]int64, len(ds)), make([]string, len(ds))
		for i, d := range ds {
			users[i], ids[i] = d.User, d.ID
		}
		return users, ids
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if len(removed) > 0 {
			users, ids := split(removed)
			if _, err := tx.Exec(ctx, `/* DB.MarkSynced */ DELETE FROM cohort_sync_members
				WHERE sync = $1 AND (amplitude_id, identifier) IN (SELECT * FROM unnest($2::bigint[], $3::text[]))`, id, users, ids); err != nil {
				return err
			}
		}
		if len(added) > 0 {
			users, ids := split(added)
			if _, err := tx.Exec(ctx, `/* DB.MarkSynced */ INSERT INTO cohort_sync_members (sync, amplitude_id, identifier)
				SELECT $1, * FROM unnest($2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`, id, users, ids); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordSyncRun stores a run, sets the sync's last and next run and ends
// its claim, if still the run's, in one transaction holding the sync's
// row.
func (db *DB) RecordSyncRun(ctx context.Context, run *touchpoint.SyncRun, next *time.Time) error {
	if run.Responses == nil {
		run.Responses = []touchpoint.SyncResponse{}
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := findSync(ctx, tx, run.Sync, "FOR UPDATE"); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `/* DB.RecordSyncRun */ INSERT INTO sync_runs (sync, started_at, finished_at, status, size, added,
			removed, skipped, failed, error, responses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			run.Sync, run.StartedAt.UnixMilli(), run.FinishedAt.UnixMilli(), run.Status, run.Size, run.Added, run.Removed,
			run.Skipped, run.Failed, run.Error, run.Responses).Scan(&run.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `/* DB.RecordSyncRun */ DELETE FROM sync_runs WHERE sync = $1 AND id <=
			(SELECT id FROM sync_runs WHERE sync = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, run.Sync, keptRuns); err != nil {
			return err
		}
		// The run's own claim ends; one another run took since is left
		// to it.
		_, err = tx.Exec(ctx, `/* DB.RecordSyncRun */ UPDATE cohort_syncs SET last_run = $1, next_run = $2,
			claimed_until = CASE WHEN $3::bigint != 0 AND claimed_until = $3 THEN 0 ELSE claimed_until END WHERE id = $4`,
			run.StartedAt.UnixMilli(), millisp(next), run.Claim, run.Sync)
		return err
	})
}

// SyncRuns returns a sync's latest runs, newest first.
func (db *DB) SyncRuns(ctx context.Context, id int64, limit int) ([]*touchpoint.SyncRun, error) {
	if _, err := db.FindCohortSync(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.SyncRuns */ SELECT id, sync, started_at, finished_at, status, size, added, removed, skipped,
		failed, error, responses FROM sync_runs WHERE sync = $1 ORDER BY id DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.SyncRun{}
	for rows.Next() {
		var r touchpoint.SyncRun
		var started, finished int64
		if err := rows.Scan(&r.ID, &r.Sync, &started, &finished, &r.Status, &r.Size, &r.Added, &r.Removed, &r.Skipped,
			&r.Failed, &r.Error, &r.Responses); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt = touchpoint.StoredTime(started), touchpoint.StoredTime(finished)
		out = append(out, &r)
	}
	return out, rows.Err()
}
