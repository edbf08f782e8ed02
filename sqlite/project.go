package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.ProjectStore = (*DB)(nil)

// CreateProject stores a new project with fresh keys.
func (db *DB) CreateProject(ctx context.Context, p *touchpoint.Project) error {
	now := db.now()
	if err := p.Prepare(now); err != nil {
		return err
	}
	var clock any
	if p.TestClock != nil {
		clock = p.TestClock.UnixMilli()
	}
	db.projectWrites.Lock()
	defer db.projectWrites.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `/* DB.CreateProject */ INSERT INTO projects (name, api_key, api_key_last4, secret_key, secret_key_last4,
		http_eps, batch_eps, test_clock, time_zone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Name, storedKey(p.APIKeyHash), p.APIKeyLast4, storedKey(p.SecretKeyHash), p.SecretKeyLast4,
		p.Limits.HTTPEPS, p.Limits.BatchEPS, clock, p.TimeZone, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return err
	}
	if p.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := linkApps(ctx, tx, p.ID, p.Apps); err != nil {
		return err
	}
	if err := db.commit(tx); err != nil {
		return err
	}
	db.rememberProject(p)
	return nil
}

// linkApps replaces a project's linked apps.
func linkApps(ctx context.Context, tx *sql.Tx, project int64, apps []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM project_apps WHERE project = ?`, project); err != nil {
		return err
	}
	for _, a := range apps {
		if _, err := findApp(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO project_apps (project, app_id) VALUES (?, ?)`, project, a); err != nil {
			return err
		}
	}
	return nil
}

// rememberProject puts a copy of p where ProjectByAPIKey finds it: by
// the bytes of its API key's hash. The copy holds no key, only hashes.
func (db *DB) rememberProject(p *touchpoint.Project) {
	c := *p
	c.APIKey, c.SecretKey = "", ""
	c.Apps = slices.Clone(p.Apps)
	c.Stats = nil
	if p.TestClock != nil {
		t := *p.TestClock
		c.TestClock = &t
	}
	db.pmu.Lock()
	if old := db.projects[p.ID]; old != nil {
		delete(db.projectKeys, string(old.APIKeyHash[:]))
	}
	db.projects[p.ID] = &c
	db.projectKeys[string(c.APIKeyHash[:])] = &c
	db.pmu.Unlock()
}

// ProjectByAPIKey returns the project of an API key, from memory: one
// SHA-256 of the key, and a map lookup by the hash. The lookup's time
// depends on the hash, which tells nothing of the keys stored; equal
// hashes are equal keys.
func (db *DB) ProjectByAPIKey(key string) (*touchpoint.Project, error) {
	h := touchpoint.HashKey(key)
	db.pmu.RLock()
	p := db.projectKeys[string(h[:])]
	db.pmu.RUnlock()
	if p == nil {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no project has this API key")
	}
	return p, nil
}

// FindProject returns a project with its stats.
func (db *DB) FindProject(ctx context.Context, id int64) (*touchpoint.Project, error) {
	return findProject(ctx, db.read, id)
}

// findProject returns one project, or ENOTFOUND.
func findProject(ctx context.Context, q querier, id int64) (*touchpoint.Project, error) {
	ps, err := findProjects(ctx, q, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(ps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", id)
	}
	return ps[0], nil
}

// ListProjects returns every project by id.
func (db *DB) ListProjects(ctx context.Context) ([]*touchpoint.Project, error) {
	return findProjects(ctx, db.read, `ORDER BY id`)
}

// UpdateProject changes a project's name, apps or limits.
func (db *DB) UpdateProject(ctx context.Context, id int64, upd touchpoint.ProjectUpdate) (*touchpoint.Project, error) {
	return db.updateProject(ctx, id, func(tx *sql.Tx, old *touchpoint.Project) (*touchpoint.Project, error) {
		p := upd.Apply(*old)
		if err := p.Validate(); err != nil {
			return nil, err
		}
		p.UpdatedAt = db.now()
		if _, err := tx.ExecContext(ctx, `/* DB.UpdateProject */ UPDATE projects SET name = ?, http_eps = ?, batch_eps = ?, time_zone = ?, updated_at = ? WHERE id = ?`,
			p.Name, p.Limits.HTTPEPS, p.Limits.BatchEPS, p.TimeZone, p.UpdatedAt.UnixMilli(), id); err != nil {
			return nil, err
		}
		if upd.Apps != nil {
			if err := linkApps(ctx, tx, id, p.Apps); err != nil {
				return nil, err
			}
		}
		return &p, nil
	})
}

// updateProject changes a project in one transaction: change gets the
// project as stored and returns it changed (having written the change),
// and the memory ProjectByAPIKey reads follows the commit, in the order of
// the commits (projectWrites).
func (db *DB) updateProject(ctx context.Context, id int64, change func(tx *sql.Tx, p *touchpoint.Project) (*touchpoint.Project, error)) (*touchpoint.Project, error) {
	db.projectWrites.Lock()
	defer db.projectWrites.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	p, err := findProject(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if p, err = change(tx, p); err != nil {
		return nil, err
	}
	if err := db.commit(tx); err != nil {
		return nil, err
	}
	db.rememberProject(p)
	return p, nil
}

// SetProjectTestClock moves a test-mode project's clock.
func (db *DB) SetProjectTestClock(ctx context.Context, id int64, t time.Time) (*touchpoint.Project, error) {
	t = t.UTC().Truncate(time.Millisecond)
	return db.updateProject(ctx, id, func(tx *sql.Tx, p *touchpoint.Project) (*touchpoint.Project, error) {
		if err := p.NextTestClock(t); err != nil {
			return nil, err
		}
		p.TestClock = &t
		_, err := tx.ExecContext(ctx, `/* DB.SetProjectTestClock */ UPDATE projects SET test_clock = ? WHERE id = ?`, t.UnixMilli(), id)
		return p, err
	})
}

// RotateProjectKey gives a project a fresh API key or secret key.
func (db *DB) RotateProjectKey(ctx context.Context, id int64, kind touchpoint.KeyKind) (*touchpoint.Project, error) {
	c, ok := keyColumns[kind]
	if !ok || c.table != "projects" {
		return nil, (&touchpoint.Project{}).NewKey(kind) // the EINVALID that names a project's keys
	}
	return db.updateProject(ctx, id, func(tx *sql.Tx, p *touchpoint.Project) (*touchpoint.Project, error) {
		if err := p.NewKey(kind); err != nil {
			return nil, err
		}
		p.UpdatedAt = db.now()
		h, last4 := p.APIKeyHash, p.APIKeyLast4
		if kind == touchpoint.SecretKey {
			h, last4 = p.SecretKeyHash, p.SecretKeyLast4
		}
		if _, err := tx.ExecContext(ctx, `/* DB.RotateProjectKey */ UPDATE projects SET `+c.hash+` = ?, `+c.last4+` = ?, updated_at = ? WHERE id = ?`,
			storedKey(h), last4, p.UpdatedAt.UnixMilli(), id); err != nil {
			return nil, db.classify(err)
		}
		return p, nil
	})
}

func findProjects(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Project, error) {
	rows, err := q.QueryContext(ctx, `/* findProjects */ SELECT id, name, api_key, api_key_last4, secret_key, secret_key_last4,
		http_eps, batch_eps, attributions_dropped, test_clock, time_zone,
		created_at, updated_at, (SELECT json_group_array(app_id) FROM project_apps WHERE project = projects.id)
		FROM projects `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*touchpoint.Project
	for rows.Next() {
		p := &touchpoint.Project{Stats: &touchpoint.ProjectStats{}}
		var created, updated int64
		var apps, apiKey, secretKey string
		var clock sql.NullInt64
		if err := rows.Scan(&p.ID, &p.Name, &apiKey, &p.APIKeyLast4, &secretKey, &p.SecretKeyLast4, &p.Limits.HTTPEPS, &p.Limits.BatchEPS,
			&p.Stats.AttributionsDropped, &clock, &p.TimeZone, &created, &updated, &apps); err != nil {
			return nil, err
		}
		if clock.Valid {
			t := fromMillis(clock.Int64)
			p.TestMode, p.TestClock = true, &t
		}
		var err error
		if p.APIKeyHash, err = parseStoredKey(apiKey); err != nil {
			return nil, fmt.Errorf("project %d: api_key: %w", p.ID, err)
		}
		if p.SecretKeyHash, err = parseStoredKey(secretKey); err != nil {
			return nil, fmt.Errorf("project %d: secret_key: %w", p.ID, err)
		}
		p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
		if err := json.Unmarshal([]byte(apps), &p.Apps); err != nil {
			return nil, err
		}
		slices.Sort(p.Apps)
		ps = append(ps, p)
	}
	return ps, rows.Err()
}
