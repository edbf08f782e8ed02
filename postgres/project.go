package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.ProjectStore = (*DB)(nil)

const projectColumns = `p.id, p.name, p.api_key, p.api_key_last4, p.secret_key, p.secret_key_last4, p.http_eps, p.batch_eps,
	p.attributions_dropped, p.test_clock, p.time_zone, p.created_at, p.updated_at,
	ARRAY(SELECT a.id FROM project_apps pa JOIN apps a ON a.seq = pa.app_seq WHERE pa.project = p.id ORDER BY a.id COLLATE "C")`

// DefaultKeyCacheTTL is how long ProjectByAPIKey trusts a project it has
// read unless DB.KeyCacheTTL says otherwise.
const DefaultKeyCacheTTL = 5 * time.Second

// keyLookupTimeout bounds ProjectByAPIKey's query: it has no context of
// its caller's, and an upload should be refused rather than hang on a
// database that does not answer.
const keyLookupTimeout = 2 * time.Second

// CreateProject stores a new project with fresh keys (their hashes) and
// its linked apps.
func (db *DB) CreateProject(ctx context.Context, p *touchpoint.Project) error {
	now := db.Now()
	if err := p.Prepare(now); err != nil {
		return err
	}
	var clock *int64
	if p.TestClock != nil {
		ms := p.TestClock.UnixMilli()
		clock = &ms
	}
	var id int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `/* DB.CreateProject */ INSERT INTO projects (name, api_key, api_key_last4, secret_key,
			secret_key_last4, http_eps, batch_eps, test_clock, time_zone, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			p.Name, p.APIKeyHash[:], p.APIKeyLast4, p.SecretKeyHash[:], p.SecretKeyLast4, p.Limits.HTTPEPS, p.Limits.BatchEPS,
			clock, p.TimeZone, now.UnixMilli(), now.UnixMilli()).Scan(&id)
		if err != nil {
			return err
		}
		return linkProjectApps(ctx, tx, id, p.Apps)
	})
	if err != nil {
		return err
	}
	p.ID = id
	return nil
}

// linkProjectApps replaces a project's linked apps. ENOTFOUND: an app
// that does not exist.
func linkProjectApps(ctx context.Context, tx pgx.Tx, project int64, apps []string) error {
	if _, err := tx.Exec(ctx, `/* linkProjectApps */ DELETE FROM project_apps WHERE project = $1`, project); err != nil {
		return err
	}
	for _, a := range apps {
		tag, err := tx.Exec(ctx, `/* linkProjectApps */ INSERT INTO project_apps (project, app_seq)
			SELECT $1, seq FROM apps WHERE id = $2`, project, a)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", a)
		}
	}
	return nil
}

// FindProject returns a project with its stats.
func (db *DB) FindProject(ctx context.Context, id int64) (*touchpoint.Project, error) {
	return findProject(ctx, db.pool, id, "")
}

// ListProjects returns every project by id.
func (db *DB) ListProjects(ctx context.Context) ([]*touchpoint.Project, error) {
	return findProjects(ctx, db.pool, `ORDER BY p.id`)
}

// ProjectByAPIKey returns the project of an API key: the key's SHA-256,
// looked up in memory, else in the database by that hash. The lookup's
// time depends on the hash, which tells nothing of the keys stored.
//
// Several nodes share the database, so what one node remembers can be
// made stale by another: a project read from the database is trusted for
// KeyCacheTTL (DefaultKeyCacheTTL), then read again. A change made on
// this node (UpdateProject, RotateProjectKey, SetProjectTestClock) is
// seen here at once; one made on another node within KeyCacheTTL. In
// particular a key rotated out on another node keeps working on this
// one for at most KeyCacheTTL after the rotation, and new limits or a
// new time zone take as long to apply here. A key that finds nothing is
// not remembered (it is asked of the database each time), so a project
// created or a key rotated in on another node works here at once.
// Test-mode projects are not remembered either: an admin moves their
// clock and sends the next upload at once, on whichever node.
//
// The project returned is shared: callers must not change it.
func (db *DB) ProjectByAPIKey(key string) (*touchpoint.Project, error) {
	h := touchpoint.HashKey(key)
	ttl := db.KeyCacheTTL
	if ttl <= 0 {
		ttl = DefaultKeyCacheTTL
	}
	if p := db.keys.get(h, ttl); p != nil {
		return p, nil
	}
	gen, start := db.keys.generation(), time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), keyLookupTimeout)
	defer cancel()
	ps, err := findProjects(ctx, db.pool, `WHERE p.api_key = $1`, h[:])
	if err != nil {
		return nil, fmt.Errorf("postgres: project by API key: %w", err)
	}
	if len(ps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no project has this API key")
	}
	p := ps[0]
	p.Stats = nil // as the embedded store's: stats are FindProject's
	if !p.TestMode {
		db.keys.put(h, p, gen, start, ttl)
	}
	return p, nil
}

// UpdateProject changes a project's name, apps, limits or time zone.
func (db *DB) UpdateProject(ctx context.Context, id int64, upd touchpoint.ProjectUpdate) (*touchpoint.Project, error) {
	return db.changeProject(ctx, id, func(tx pgx.Tx, p *touchpoint.Project) error {
		*p = upd.Apply(*p)
		if err := p.Validate(); err != nil {
			return err
		}
		p.UpdatedAt = db.Now()
		if _, err := tx.Exec(ctx, `/* DB.UpdateProject */ UPDATE projects SET name = $1, http_eps = $2, batch_eps = $3,
			time_zone = $4, updated_at = $5 WHERE id = $6`,
			p.Name, p.Limits.HTTPEPS, p.Limits.BatchEPS, p.TimeZone, p.UpdatedAt.UnixMilli(), id); err != nil {
			return err
		}
		if upd.Apps != nil {
			return linkProjectApps(ctx, tx, id, p.Apps)
		}
		return nil
	})
}

// RotateProjectKey gives a project a fresh API key or secret key. The old
// API key stops working on this node at once, on the others within their
// KeyCacheTTL (see ProjectByAPIKey).
func (db *DB) RotateProjectKey(ctx context.Context, id int64, kind touchpoint.KeyKind) (*touchpoint.Project, error) {
	if kind != touchpoint.APIKey && kind != touchpoint.SecretKey {
		return nil, (&touchpoint.Project{}).NewKey(kind) // the EINVALID that names a project's keys
	}
	return db.changeProject(ctx, id, func(tx pgx.Tx, p *touchpoint.Project) error {
		if err := p.NewKey(kind); err != nil {
			return err
		}
		p.UpdatedAt = db.Now()
		query := `/* DB.RotateProjectKey */ UPDATE projects SET api_key = $1, api_key_last4 = $2, updated_at = $3 WHERE id = $4`
		h, last4 := p.APIKeyHash, p.APIKeyLast4
		if kind == touchpoint.SecretKey {
			query = `/* DB.RotateProjectKey */ UPDATE projects SET secret_key = $1, secret_key_last4 = $2, updated_at = $3 WHERE id = $4`
			h, last4 = p.SecretKeyHash, p.SecretKeyLast4
		}
		_, err := tx.Exec(ctx, query, h[:], last4, p.UpdatedAt.UnixMilli(), id)
		return err
	})
}

// SetProjectTestClock moves a test-mode project's clock. As the embedded
// store's, it moves nothing else: what the project's clock judges (held
// attributions, insert ids, cohort windows) is judged by it when read.
func (db *DB) SetProjectTestClock(ctx context.Context, id int64, t time.Time) (*touchpoint.Project, error) {
	t = t.UTC().Truncate(time.Millisecond)
	return db.changeProject(ctx, id, func(tx pgx.Tx, p *touchpoint.Project) error {
		if err := p.NextTestClock(t); err != nil {
			return err
		}
		p.TestClock = &t
		_, err := tx.Exec(ctx, `/* DB.SetProjectTestClock */ UPDATE projects SET test_clock = $1 WHERE id = $2`, t.UnixMilli(), id)
		return err
	})
}

// changeProject reads a project, locked, lets change alter it and write
// it, and commits; then this node forgets what it remembered of the
// project, so that its next ProjectByAPIKey reads the change.
// ENOTFOUND.
func (db *DB) changeProject(ctx context.Context, id int64, change func(pgx.Tx, *touchpoint.Project) error) (*touchpoint.Project, error) {
	var p *touchpoint.Project
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		if p, err = findProject(ctx, tx, id, "FOR UPDATE"); err != nil {
			return err
		}
		return change(tx, p)
	})
	if err != nil {
		return nil, err
	}
	db.keys.forget(id)
	return p, nil
}

func findProject(ctx context.Context, q querier, id int64, lock string) (*touchpoint.Project, error) {
	ps, err := findProjects(ctx, q, `WHERE p.id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", id)
	}
	return ps[0], nil
}

// findProjects reads projects with their stats. The analytics plane,
// which counts attributions dropped, is not on this store yet: the
// column is read as it stands (0 until something counts there).
func findProjects(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Project, error) {
	rows, err := q.Query(ctx, `/* findProjects */ SELECT `+projectColumns+` FROM projects p `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*touchpoint.Project
	for rows.Next() {
		p := &touchpoint.Project{Stats: &touchpoint.ProjectStats{}}
		var apiKey, secretKey []byte
		var created, updated int64
		var clock *int64
		if err := rows.Scan(&p.ID, &p.Name, &apiKey, &p.APIKeyLast4, &secretKey, &p.SecretKeyLast4, &p.Limits.HTTPEPS,
			&p.Limits.BatchEPS, &p.Stats.AttributionsDropped, &clock, &p.TimeZone, &created, &updated, &p.Apps); err != nil {
			return nil, err
		}
		copy(p.APIKeyHash[:], apiKey)
		copy(p.SecretKeyHash[:], secretKey)
		if clock != nil {
			t := touchpoint.StoredTime(*clock)
			p.TestMode, p.TestClock = true, &t
		}
		if p.Apps == nil {
			p.Apps = []string{}
		}
		p.CreatedAt, p.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// keyCache is what ProjectByAPIKey remembers: projects by their API key's
// hash, each with the time it was read.
type keyCache struct {
	mu      sync.RWMutex
	entries map[touchpoint.KeyHash]keyEntry
	// gen counts forgets. A lookup keeps what it read only if none came
	// between its start and its end: else it may have read a project as
	// it was before a change this node has just made.
	gen   uint64
	swept time.Time
}

type keyEntry struct {
	p    *touchpoint.Project
	read time.Time // when its query started (monotonic)
}

// get returns the project remembered under h if it was read less than
// ttl ago, else nil.
func (c *keyCache) get(h touchpoint.KeyHash, ttl time.Duration) *touchpoint.Project {
	c.mu.RLock()
	e, ok := c.entries[h]
	c.mu.RUnlock()
	if !ok || time.Since(e.read) >= ttl {
		return nil
	}
	return e.p
}

func (c *keyCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put remembers p, read by a query started at read, unless a forget came
// since gen. Entries past ttl are swept out now and then, so that keys
// rotated out do not stay in memory.
func (c *keyCache) put(h touchpoint.KeyHash, p *touchpoint.Project, gen uint64, read time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil {
		c.entries = make(map[touchpoint.KeyHash]keyEntry)
	}
	if time.Since(c.swept) >= ttl {
		for k, e := range c.entries {
			if time.Since(e.read) >= ttl {
				delete(c.entries, k)
			}
		}
		c.swept = time.Now()
	}
	c.entries[h] = keyEntry{p, read}
}

// forget drops what is remembered of a project after this node changed
// it.
func (c *keyCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if e.p.ID == id {
			delete(c.entries, k)
		}
	}
}
