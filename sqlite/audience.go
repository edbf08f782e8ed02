package sqlite

import (
	"context"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.AudienceStore = (*DB)(nil)

const audienceColumns = `id, app_id, name, platform, import_key, size, created_at, updated_at`

// CreateAudience stores a new audience with a fresh import key.
func (db *DB) CreateAudience(ctx context.Context, a *touchpoint.Audience) error {
	now := db.now()
	a.ImportKey = touchpoint.RandomString(40)
	a.Size, a.CreatedAt, a.UpdatedAt = 0, now, now
	res, err := db.exec(ctx, `/* DB.CreateAudience */ INSERT INTO audiences (app_id, name, platform, import_key, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, a.App, a.Name, a.Platform, a.ImportKey, now.UnixMilli(), now.UnixMilli())
	if isUniqueViolation(err) {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "Audience already exists under your account")
	} else if err != nil {
		return err
	}
	a.ID, err = res.LastInsertId()
	return err
}

func findAudiences(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Audience, error) {
	rows, err := q.QueryContext(ctx, `/* findAudiences */ SELECT `+audienceColumns+` FROM audiences `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*touchpoint.Audience{}
	for rows.Next() {
		a := &touchpoint.Audience{}
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.App, &a.Name, &a.Platform, &a.ImportKey, &a.Size, &created, &updated); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
		out = append(out, a)
	}
	return out, rows.Err()
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

// FindAudience returns an audience.
func (db *DB) FindAudience(ctx context.Context, id int64) (*touchpoint.Audience, error) {
	return findAudience(ctx, db.read, `WHERE id = ?`, id)
}

// FindAudienceByImportKey returns the audience of an import key.
func (db *DB) FindAudienceByImportKey(ctx context.Context, key string) (*touchpoint.Audience, error) {
	return findAudience(ctx, db.read, `WHERE import_key = ?`, key)
}

// ListAudiences returns an app's audiences.
func (db *DB) ListAudiences(ctx context.Context, app string) ([]*touchpoint.Audience, error) {
	return findAudiences(ctx, db.read, `WHERE app_id = ?`, app)
}

// ImportAudience applies an import to an audience in one transaction.
func (db *DB) ImportAudience(ctx context.Context, id int64, action string, members []touchpoint.AudienceMember) error {
	if err := touchpoint.CheckAudienceAction(action); err != nil {
		return err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := findAudience(ctx, tx, `WHERE id = ?`, id); err != nil {
		return err
	}
	now := db.now().UnixMilli()
	size := "size"
	if action == touchpoint.AudienceOverwrite {
		if _, err := tx.ExecContext(ctx, `/* ImportAudience */ DELETE FROM audience_members WHERE audience = ?`, id); err != nil {
			return err
		}
		size = "0"
	}
	var delta int64
	const chunk = 200
	for rest := members; len(rest) > 0; {
		n := min(chunk, len(rest))
		var q string
		var args []any
		if action == touchpoint.AudienceRemove {
			q = `DELETE FROM audience_members WHERE audience = ? AND (identifier, value) IN (VALUES ` + placeholders(n, 2) + `)`
			args = append(make([]any, 0, 2*n+1), id)
			for _, m := range rest[:n] {
				args = append(args, m.Identifier, m.Value)
			}
		} else {
			// A member added again keeps when it was first added.
			q = `INSERT OR IGNORE INTO audience_members (audience, identifier, value, app_id, added_at) VALUES ` + placeholders(n, 5)
			args = make([]any, 0, 5*n)
			for _, m := range rest[:n] {
				args = append(args, id, m.Identifier, m.Value, m.AppID, now)
			}
		}
		res, err := tx.ExecContext(ctx, `/* ImportAudience */ `+q, args...)
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if action == touchpoint.AudienceRemove {
			changed = -changed
		}
		delta += changed
		rest = rest[n:]
	}
	if _, err := tx.ExecContext(ctx, `/* ImportAudience */ UPDATE audiences SET updated_at = ?, size = `+size+` + ? WHERE id = ?`,
		now, delta, id); err != nil {
		return err
	}
	return db.commit(tx)
}

// AudienceMembers returns a page of an audience's members.
func (db *DB) AudienceMembers(ctx context.Context, id int64, identifier string, after touchpoint.AudienceMember, limit int) ([]touchpoint.AudienceMember, error) {
	if _, err := db.FindAudience(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.AudienceMembers */ SELECT identifier, value, app_id, added_at FROM audience_members
		WHERE audience = ? AND (? = '' OR identifier = ?) AND (identifier, value) > (?, ?)
		ORDER BY identifier, value LIMIT ?`, id, identifier, identifier, after.Identifier, after.Value, limit)
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
		m.AddedAt = fromMillis(added)
		out = append(out, m)
	}
	return out, rows.Err()
}

// FindAudienceMember returns one member of an audience.
func (db *DB) FindAudienceMember(ctx context.Context, id int64, identifier, value string) (*touchpoint.AudienceMember, error) {
	m := &touchpoint.AudienceMember{Identifier: identifier, Value: value}
	var added int64
	err := db.read.QueryRowContext(ctx, `/* DB.FindAudienceMember */ SELECT app_id, added_at FROM audience_members
		WHERE audience = ? AND identifier = ? AND value = ?`, id, identifier, value).Scan(&m.AppID, &added)
	if err != nil {
		return nil, errNoRows(err, "audience %d has no %s %s", id, identifier, value)
	}
	m.AddedAt = fromMillis(added)
	return m, nil
}
