package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.AudienceStore = (*DB)(nil)

const audienceColumns = `au.id, a.id, au.name, au.platform, au.import_key, au.size, au.created_at, au.updated_at`

// importBatch is how many members one statement of an import writes or
// removes: a whole request of a sync (touchpoint.MaxAudienceDevices) when
// each device row carries one identifier.
const importBatch = touchpoint.MaxAudienceDevices

// CreateAudience stores a new audience with a fresh import key. ENOTFOUND
// when the app does not exist.
func (db *DB) CreateAudience(ctx context.Context, a *touchpoint.Audience) error {
	now := db.Now()
	key := touchpoint.RandomString(40)
	var id int64
	err := db.pool.QueryRow(ctx, `/* DB.CreateAudience */ INSERT INTO audiences (app_seq, name, platform, import_key, created_at, updated_at)
		SELECT seq, $2, $3, $4, $5, $5 FROM apps WHERE id = $1 RETURNING id`,
		a.App, a.Name, string(a.Platform), key, now.UnixMilli()).Scan(&id)
	switch {
	case isUniqueViolation(err):
		return touchpoint.Errorf(touchpoint.ECONFLICT, "Audience already exists under your account")
	case errors.Is(err, pgx.ErrNoRows):
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", a.App)
	case err != nil:
		return err
	}
	now = touchpoint.StoredTime(now.UnixMilli())
	a.ID, a.ImportKey, a.Size, a.CreatedAt, a.UpdatedAt = id, key, 0, now, now
	return nil
}

// FindAudience returns an audience.
func (db *DB) FindAudience(ctx context.Context, id int64) (*touchpoint.Audience, error) {
	return findAudience(ctx, db.pool, `WHERE au.id = $1`, id)
}

// FindAudienceByImportKey returns the audience of an import key.
func (db *DB) FindAudienceByImportKey(ctx context.Context, key string) (*touchpoint.Audience, error) {
	return findAudience(ctx, db.pool, `WHERE au.import_key = $1`, key)
}

// ListAudiences returns an app's audiences by id (none for an unknown
// app, as the embedded store's).
func (db *DB) ListAudiences(ctx context.Context, app string) ([]*touchpoint.Audience, error) {
	return findAudiences(ctx, db.pool, `WHERE a.id = $1 ORDER BY au.id`, app)
}

// ImportAudience applies an import to an audience in one transaction. The
// audience's row stays locked until the commit, so imports into one
// audience from several nodes take turns and its size counts each
// member once. Members are written a batch per statement, as arrays.
func (db *DB) ImportAudience(ctx context.Context, id int64, action string, members []touchpoint.AudienceMember) error {
	if err := touchpoint.CheckAudienceAction(action); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := findAudience(ctx, tx, `WHERE au.id = $1 FOR UPDATE OF au`, id); err != nil {
			return err
		}
		now := db.Now().UnixMilli()
		size := "size"
		if action == touchpoint.AudienceOverwrite {
			if _, err := tx.Exec(ctx, `/* DB.ImportAudience */ DELETE FROM audience_members WHERE audience = $1`, id); err != nil {
				return err
			}
			size = "0"
		}
		var delta int64
		for rest := members; len(rest) > 0; {
			n := min(importBatch, len(rest))
			identifiers, values, apps := make([]string, n), make([]string, n), make([]string, n)
			for i, m := range rest[:n] {
				identifiers[i], values[i], apps[i] = m.Identifier, m.Value, m.AppID
			}
			if action == touchpoint.AudienceRemove {
				tag, err := tx.Exec(ctx, `/* DB.ImportAudience */ DELETE FROM audience_members
					WHERE audience = $1 AND (identifier, value) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
					id, identifiers, values)
				if err != nil {
					return err
				}
				delta -= tag.RowsAffected()
			} else {
				// A member added again keeps when it was first added,
				// and its app id: the first row of it wins.
				tag, err := tx.Exec(ctx, `/* DB.ImportAudience */ INSERT INTO audience_members (audience, identifier, value, app_id, added_at)
					SELECT $1, m.identifier, m.value, m.app_id, $5
					FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m (identifier, value, app_id, n)
					ORDER BY m.n
					ON CONFLICT DO NOTHING`, id, identifiers, values, apps, now)
				if err != nil {
					return err
				}
				delta += tag.RowsAffected()
			}
			rest = rest[n:]
		}
		_, err := tx.Exec(ctx, `/* DB.ImportAudience */ UPDATE audiences SET updated_at = $1, size = `+size+` + $2 WHERE id = $3`,
			now, delta, id)
		return err
	})
}

// AudienceMembers returns a page of an audience's members.
func (db *DB) AudienceMembers(ctx context.Context, id int64, identifier string, after touchpoint.AudienceMember, limit int) ([]touchpoint.AudienceMember, error) {
	if _, err := db.FindAudience(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.AudienceMembers */ SELECT identifier, value, app_id, added_at FROM audience_members
		WHERE audience = $1 AND ($2 = '' OR identifier = $2) AND (identifier, value) > ($3, $4)
		ORDER BY identifier, value LIMIT $5`, id, identifier, after.Identifier, after.Value, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []touchpoint.AudienceMember{}
	for rows.Next() {
		var m touchpoint.AudienceMember
		var added int64
		if err := rows.Scan(&m.Identifier, &m.Value, &m.AppID, &added); err != nil {
			return nil, err
		}
		m.AddedAt = touchpoint.StoredTime(added)
		out = append(out, m)
	}
	return out, rows.Err()
}

// FindAudienceMember returns one member of an audience.
func (db *DB) FindAudienceMember(ctx context.Context, id int64, identifier, value string) (*touchpoint.AudienceMember, error) {
	m := &touchpoint.AudienceMember{Identifier: identifier, Value: value}
	var added int64
	err := db.pool.QueryRow(ctx, `/* DB.FindAudienceMember */ SELECT app_id, added_at FROM audience_members
		WHERE audience = $1 AND identifier = $2 AND value = $3`, id, identifier, value).Scan(&m.AppID, &added)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "audience %d has no %s %s", id, identifier, value)
	} else if err != nil {
		return nil, err
	}
	m.AddedAt = touchpoint.StoredTime(added)
	return m, nil
}

func findAudience(ctx context.Context, q querier, where string, arg any) (*touchpoint.Audience, error) {
	as, err := findAudiences(ctx, q, where, arg)
	if err != nil {
		return nil, err
	} else if len(as) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "Audience does not exist under your account")
	}
	return as[0], nil
}

func findAudiences(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Audience, error) {
	rows, err := q.Query(ctx, `/* findAudiences */ SELECT `+audienceColumns+` FROM audiences au JOIN apps a ON a.seq = au.app_seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.Audience{}
	for rows.Next() {
		a := &touchpoint.Audience{}
		var platform string
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.App, &a.Name, &platform, &a.ImportKey, &a.Size, &created, &updated); err != nil {
			return nil, err
		}
		a.Platform = touchpoint.Platform(platform)
		a.CreatedAt, a.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		out = append(out, a)
	}
	return out, rows.Err()
}
