package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.CohortSyncStore = (*DB)(nil)

// keptRuns is how many run records a sync keeps.
const keptRuns = 1000

// CreateCohortSync stores a sync, due at once.
func (db *DB) CreateCohortSync(ctx context.Context, s *touchpoint.CohortSync) error {
	s.Normalize()
	if err := s.Validate(); err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	c, err := findCohort(ctx, tx, s.Cohort)
	if err != nil {
		return err
	}
	d, err := findDestination(ctx, tx, s.Destination)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		return touchpoint.Errorf(touchpoint.EINVALID, "destination %d not found", s.Destination)
	} else if err != nil {
		return err
	}
	if d.Kind != touchpoint.DestinationAppsFlyerCohort || d.Project != c.Project {
		return touchpoint.Errorf(touchpoint.EINVALID, "destination %d is not an appsflyer-cohort destination of project %d", d.ID, c.Project)
	}
	now := db.now()
	s.CreatedAt, s.UpdatedAt, s.NextRun, s.LastRun = now, now, &now, nil
	s.AudienceID, s.AudienceName, s.ImportKey = 0, "", ""
	res, err := tx.ExecContext(ctx, `/* DB.CreateCohortSync */ INSERT INTO cohort_syncs (cohort, data) VALUES (?, '')`, s.Cohort)
	if err != nil {
		return err
	}
	if s.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := putSync(ctx, tx, s); err != nil {
		return err
	}
	return db.commit(tx)
}

func putSync(ctx context.Context, tx *sql.Tx, s *touchpoint.CohortSync) error {
	data, err := encodeJSON("cohort sync", s)
	if err != nil {
		return err
	}
	var next sql.NullInt64
	if s.NextRun != nil && s.Enabled {
		next = sql.NullInt64{Int64: s.NextRun.UnixMilli(), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `/* putSync */ UPDATE cohort_syncs SET data = ?, next_run = ? WHERE id = ?`, string(data), next, s.ID)
	return err
}

// FindCohortSync returns a sync.
func (db *DB) FindCohortSync(ctx context.Context, id int64) (*touchpoint.CohortSync, error) {
	return findSync(ctx, db.read, id)
}

func findSync(ctx context.Context, q querier, id int64) (*touchpoint.CohortSync, error) {
	var data []byte
	err := q.QueryRowContext(ctx, `/* findSync */ SELECT data FROM cohort_syncs WHERE id = ?`, id).Scan(&data)
	if err != nil {
		return nil, errNoRows(err, "cohort sync %d not found", id)
	}
	s := &touchpoint.CohortSync{}
	return s, json.Unmarshal(data, s)
}

// ListCohortSyncs returns a cohort's syncs, or every sync.
func (db *DB) ListCohortSyncs(ctx context.Context, cohort int64) ([]*touchpoint.CohortSync, error) {
	rows, err := db.read.QueryContext(ctx, `/* DB.ListCohortSyncs */ SELECT id, data FROM cohort_syncs WHERE ? = 0 OR cohort = ? ORDER BY id`, cohort, cohort)
	if err != nil {
		return nil, err
	}
	out, err := scanJSON(rows, "cohort sync", func(*touchpoint.CohortSync, int64) {})
	if out == nil {
		out = []*touchpoint.CohortSync{}
	}
	return out, err
}

// UpdateCohortSync changes a sync's cadence, batch size or state. A sync
// enabled again, or given a new cadence, is due at once.
func (db *DB) UpdateCohortSync(ctx context.Context, id int64, upd touchpoint.CohortSyncUpdate) (*touchpoint.CohortSync, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	old, err := findSync(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	s := upd.Apply(*old)
	s.Normalize()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	now := db.now()
	if (s.Enabled && !old.Enabled) || s.Cadence != old.Cadence {
		s.NextRun = &now
	}
	s.UpdatedAt = now
	if err := putSync(ctx, tx, &s); err != nil {
		return nil, err
	}
	return &s, db.commit(tx)
}

// DeleteCohortSync removes a sync, what it sent and its runs. The audience
// stays where it is.
func (db *DB) DeleteCohortSync(ctx context.Context, id int64) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `/* DB.DeleteCohortSync */ DELETE FROM cohort_syncs WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort sync %d not found", id)
	}
	for _, q := range []string{`DELETE FROM cohort_sync_members WHERE sync = ?`, `DELETE FROM sync_runs WHERE sync = ?`} {
		if _, err := tx.ExecContext(ctx, `/* DB.DeleteCohortSync */ `+q, id); err != nil {
			return err
		}
	}
	return db.commit(tx)
}

// ClaimCohortSyncs claims the due syncs in one transaction on the write
// connection, so two claims never hand out one sync.
func (db *DB) ClaimCohortSyncs(ctx context.Context, now, until time.Time) ([]*touchpoint.CohortSync, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `/* DB.ClaimCohortSyncs */ SELECT id, data FROM cohort_syncs
		WHERE next_run IS NOT NULL AND next_run <= ? AND claimed_until <= ? ORDER BY next_run, id`, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return nil, err
	}
	due, err := scanJSON(rows, "cohort sync", func(*touchpoint.CohortSync, int64) {})
	if err != nil || len(due) == 0 {
		return due, err
	}
	args := []any{until.UnixMilli()}
	for _, s := range due {
		args = append(args, s.ID)
		s.Claim = until.UnixMilli()
	}
	if _, err := tx.ExecContext(ctx, `/* DB.ClaimCohortSyncs */ UPDATE cohort_syncs SET claimed_until = ? WHERE id IN (`+inList(len(due))+`)`, args...); err != nil {
		return nil, err
	}
	return due, db.commit(tx)
}

// ClaimCohortSync claims one sync, due or not, unless another claim holds
// it.
func (db *DB) ClaimCohortSync(ctx context.Context, id int64, now, until time.Time) (*touchpoint.CohortSync, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	s, err := findSync(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	var claimed int64
	if err := tx.QueryRowContext(ctx, `/* DB.ClaimCohortSync */ SELECT claimed_until FROM cohort_syncs WHERE id = ?`, id).Scan(&claimed); err != nil {
		return nil, err
	}
	if claimed > now.UnixMilli() {
		return nil, touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d is running (claimed until %s): its run is recorded when it ends",
			id, fromMillis(claimed).Format(time.RFC3339))
	}
	if _, err := tx.ExecContext(ctx, `/* DB.ClaimCohortSync */ UPDATE cohort_syncs SET claimed_until = ? WHERE id = ?`, until.UnixMilli(), id); err != nil {
		return nil, err
	}
	s.Claim = until.UnixMilli()
	return s, db.commit(tx)
}

// ExtendCohortSyncClaim moves the end of a claim that is still s's.
func (db *DB) ExtendCohortSyncClaim(ctx context.Context, s *touchpoint.CohortSync, until time.Time) error {
	if s.Claim == 0 {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d is not claimed", s.ID)
	}
	res, err := db.exec(ctx, `/* DB.ExtendCohortSyncClaim */ UPDATE cohort_syncs SET claimed_until = ? WHERE id = ? AND claimed_until = ?`,
		until.UnixMilli(), s.ID, s.Claim)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
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
	_, err := db.exec(ctx, `/* DB.ReleaseCohortSync */ UPDATE cohort_syncs SET claimed_until = 0 WHERE id = ? AND claimed_until = ?`, s.ID, s.Claim)
	return err
}

// updateSync changes a stored sync in one transaction.
func (db *DB) updateSync(ctx context.Context, id int64, fn func(s *touchpoint.CohortSync)) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	s, err := findSync(ctx, tx, id)
	if err != nil {
		return err
	}
	fn(s)
	if err := putSync(ctx, tx, s); err != nil {
		return err
	}
	return db.commit(tx)
}

// SetSyncAudience records the audience a sync created.
func (db *DB) SetSyncAudience(ctx context.Context, id, audienceID int64, name, importKey string) error {
	return db.updateSync(ctx, id, func(s *touchpoint.CohortSync) {
		s.AudienceID, s.AudienceName, s.ImportKey = audienceID, name, importKey
	})
}

// mappingColumns are the users columns each identifier mapping reads.
var mappingColumns = map[string]string{
	touchpoint.MapIDFA:   "u.idfa",
	touchpoint.MapGAID:   "u.adid",
	touchpoint.MapUserID: "u.user_id",
	touchpoint.MapCUID:   "u.user_id",
}

// CohortDevices reads a cohort's stored members with an identifier.
func (db *DB) CohortDevices(ctx context.Context, cohort int64, mapping string) ([]touchpoint.SyncDevice, error) {
	col, ok := mappingColumns[mapping]
	if !ok {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "identifier %q is not a mapping", mapping)
	}
	return syncDevices(ctx, db.read, `/* DB.CohortDevices */ SELECT m.user, coalesce(`+col+`, '') FROM cohort_members m JOIN users u ON u.id = m.user
		WHERE m.cohort = ? ORDER BY m.user`, cohort)
}

// SentDevices reads what a sync's audience holds.
func (db *DB) SentDevices(ctx context.Context, id int64) ([]touchpoint.SyncDevice, error) {
	return syncDevices(ctx, db.read, `/* DB.SentDevices */ SELECT user, identifier FROM cohort_sync_members
		WHERE sync = ? ORDER BY user, identifier`, id)
}

// syncDevices runs a query of (user, identifier) rows.
func syncDevices(ctx context.Context, q querier, query string, args ...any) ([]touchpoint.SyncDevice, error) {
	out := []touchpoint.SyncDevice{}
	err := eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		var d touchpoint.SyncDevice
		err := rows.Scan(&d.User, &d.ID)
		out = append(out, d)
		return err
	})
	return out, err
}

// MarkSynced records what the audience now holds.
func (db *DB) MarkSynced(ctx context.Context, id int64, added, removed []touchpoint.SyncDevice) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const chunk = 300
	for rest := removed; len(rest) > 0; {
		n := min(chunk, len(rest))
		args := []any{id}
		q := `/* MarkSynced */ DELETE FROM cohort_sync_members WHERE sync = ? AND (user, identifier) IN (VALUES ` + placeholders(n, 2) + `)`
		for _, d := range rest[:n] {
			args = append(args, d.User, d.ID)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	for rest := added; len(rest) > 0; {
		n := min(chunk, len(rest))
		args := make([]any, 0, 3*n)
		for _, d := range rest[:n] {
			args = append(args, id, d.User, d.ID)
		}
		if _, err := tx.ExecContext(ctx, `/* MarkSynced */ INSERT OR IGNORE INTO cohort_sync_members (sync, user, identifier) VALUES `+placeholders(n, 3), args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return db.commit(tx)
}

// RecordSyncRun stores a run, sets the sync's last and next run and
// ends its claim.
func (db *DB) RecordSyncRun(ctx context.Context, run *touchpoint.SyncRun, next *time.Time) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	s, err := findSync(ctx, tx, run.Sync)
	if err != nil {
		return err
	}
	if run.Responses == nil {
		run.Responses = []touchpoint.SyncResponse{}
	}
	res, err := tx.ExecContext(ctx, `/* RecordSyncRun */ INSERT INTO sync_runs (sync, data) VALUES (?, '')`, run.Sync)
	if err != nil {
		return err
	}
	if run.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	data, err := encodeJSON("sync run", run)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* RecordSyncRun */ UPDATE sync_runs SET data = ? WHERE id = ?`, string(data), run.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `/* RecordSyncRun */ DELETE FROM sync_runs WHERE sync = ? AND id <=
		(SELECT id FROM sync_runs WHERE sync = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, run.Sync, run.Sync, keptRuns); err != nil {
		return err
	}
	s.LastRun, s.NextRun = &run.StartedAt, next
	if err := putSync(ctx, tx, s); err != nil {
		return err
	}
	if run.Claim != 0 {
		// The run's own claim; one another run took since is left to it.
		if _, err := tx.ExecContext(ctx, `/* RecordSyncRun */ UPDATE cohort_syncs SET claimed_until = 0 WHERE id = ? AND claimed_until = ?`,
			run.Sync, run.Claim); err != nil {
			return err
		}
	}
	return db.commit(tx)
}

// SyncRuns returns a sync's latest runs, newest first.
func (db *DB) SyncRuns(ctx context.Context, id int64, limit int) ([]*touchpoint.SyncRun, error) {
	if _, err := db.FindCohortSync(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.SyncRuns */ SELECT id, data FROM sync_runs WHERE sync = ? ORDER BY id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, err
	}
	out, err := scanJSON(rows, "sync run", func(r *touchpoint.SyncRun, id int64) { r.ID = id })
	if out == nil {
		out = []*touchpoint.SyncRun{}
	}
	return out, err
}
