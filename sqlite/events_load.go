package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

// loadProjects reads the projects ProjectByAPIKey answers from.
func (db *DB) loadProjects(ctx context.Context) error {
	db.pmu.Lock()
	db.projects = make(map[int64]*touchpoint.Project)
	db.projectKeys = make(map[string]*touchpoint.Project)
	db.pmu.Unlock()
	ps, err := findProjects(ctx, db.read, `ORDER BY id`)
	if err != nil {
		return err
	}
	for _, p := range ps {
		db.rememberProject(p)
	}
	return nil
}

// loadAnalytics reads the analytics plane's state from the tables: users,
// their devices and advertising ids, event types, held attributions, and
// the insert ids received within the dedup window.
func (db *DB) loadAnalytics(ctx context.Context) error {
	a := &analytics{
		users:    make(map[int64]*amp.User),
		byUserID: make(map[projectKey]*amp.User),
		byDevice: make(map[projectKey]*amp.User),
		byAdID:   make(map[adKey]*amp.User),
		types:    make(map[projectKey]int64),
		dedup:    make(map[int64]map[uint64]int64),
		swept:    make(map[int64]int64),
		pending:  make(map[adKey][]*amp.Held),
	}
	// The generation first: a commit of another process while the tables
	// are read makes the memory newer than it says, and the next write
	// reloads it again (never the other way round).
	if err := db.read.QueryRowContext(ctx, `SELECT next FROM sequences WHERE name = 'analytics_generation'`).Scan(&a.gen); err != nil {
		return err
	}
	each := func(query string, args []any, scan func(rows *sql.Rows) error) error {
		return eachRow(ctx, db.read, query, args, scan)
	}
	err := each(`SELECT id, project, coalesce(user_id, ''), coalesce(merged_into, 0), props_version, first_seen FROM users`, nil, func(rows *sql.Rows) error {
		u := &amp.User{}
		if err := rows.Scan(&u.ID, &u.Project, &u.UserID, &u.Merged, &u.Version, &u.FirstSeen); err != nil {
			return err
		}
		a.users[u.ID] = u
		if u.UserID != "" {
			a.byUserID[projectKey{u.Project, u.UserID}] = u
		}
		return nil
	})
	if err != nil {
		return err
	}
	var project, user int64
	var id string
	err = each(`SELECT project, device_id, user FROM user_devices`, nil, func(rows *sql.Rows) error {
		if err := rows.Scan(&project, &id, &user); err != nil {
			return err
		}
		if u := a.users[user]; u != nil {
			a.byDevice[projectKey{project, id}] = u
		}
		return nil
	})
	if err != nil {
		return err
	}
	var key []byte
	err = each(`SELECT project, key, user FROM user_adids`, nil, func(rows *sql.Rows) error {
		if err := rows.Scan(&project, &key, &user); err != nil {
			return err
		}
		var k touchpoint.AdIDKey
		copy(k[:], key)
		if u := a.users[user]; u != nil {
			a.byAdID[adKey{project, k}] = u
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = each(`SELECT id, project, name FROM event_types`, nil, func(rows *sql.Rows) error {
		var tid int64
		if err := rows.Scan(&tid, &project, &id); err != nil {
			return err
		}
		a.types[projectKey{project, id}] = tid
		return nil
	})
	if err != nil {
		return err
	}
	err = each(`SELECT id, project, keys, received, event_type, time, user_properties, data FROM pending_attributions ORDER BY id`, nil, func(rows *sql.Rows) error {
		h := &amp.Held{}
		var props, data string
		if err := rows.Scan(&h.ID, &h.Project, &key, &h.Received, &h.EventType, &h.Time, &props, &data); err != nil {
			return err
		}
		var err error
		if h.Props, err = touchpoint.DecodeProperties([]byte(props)); err != nil {
			return err
		}
		if h.Props == nil {
			h.Props = map[string]any{}
		}
		h.Data = []byte(data)
		for i := 0; i+16 <= len(key); i += 16 {
			var k touchpoint.AdIDKey
			copy(k[:], key[i:])
			h.Keys = append(h.Keys, k)
			a.pending[adKey{h.Project, k}] = append(a.pending[adKey{h.Project, k}], h)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := db.loadInsertIDs(ctx, a); err != nil {
		return err
	}
	db.an = a
	return nil
}

// loadInsertIDs reads the insert ids of the events committed within the
// dedup window. An event's insert id is remembered at the time its upload
// was received, which for a production project is its commit's time (the
// block's), and for a test-mode project its clock's: that one is read
// from the event's block, where each event's received time is kept.
func (db *DB) loadInsertIDs(ctx context.Context, a *analytics) error {
	test := map[int64]bool{}
	if err := eachRow(ctx, db.read, `SELECT id FROM projects WHERE test_clock IS NOT NULL`, nil, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		test[id] = true
		return err
	}); err != nil {
		return err
	}
	type testEvent struct {
		project, id int64
		hash        uint64
	}
	blocks := map[int64][]testEvent{} // by the block's first id
	since := db.now().Add(-touchpoint.DedupWindow).UnixMilli()
	var proj, id, h, first, at int64
	err := eachRow(ctx, db.read, `SELECT e.project, e.id, e.dedup, b.first_id, b.received FROM event_blocks b
		JOIN events e ON e.id BETWEEN b.first_id AND b.last_id WHERE b.received >= ? AND e.dedup != 0`, []any{since}, func(rows *sql.Rows) error {
		if err := rows.Scan(&proj, &id, &h, &first, &at); err != nil {
			return err
		}
		if test[proj] {
			blocks[first] = append(blocks[first], testEvent{proj, id, uint64(h)})
		} else {
			a.rememberInsertID(proj, uint64(h), at)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for first, evs := range blocks {
		var data []byte
		if err := db.read.QueryRowContext(ctx, `SELECT data FROM event_blocks WHERE first_id = ?`, first).Scan(&data); err != nil {
			return err
		}
		b, err := decompressBlock(data)
		if err != nil {
			return fmt.Errorf("event block %d: %w", first, err)
		}
		// Events are in the block in id order, as are evs.
		next := first
		for _, e := range evs {
			var received int64
			for ; next <= e.id; next++ {
				r, _, size, err := nextBlockEvent(b)
				if err != nil {
					return fmt.Errorf("event block %d: %w", first, err)
				}
				received, b = r, b[size:]
			}
			a.rememberInsertID(e.project, e.hash, received)
		}
	}
	return nil
}

const eventUsersKey = "event_users_hwm"

// indexEvents adds the events stored since the last round to event_users,
// the by-user index, in one sorted insert.
func (db *DB) indexEvents(ctx context.Context) error {
	hwm, err := readMeta(ctx, db.read, eventUsersKey)
	if err != nil {
		return err
	}
	var last int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&last); err != nil {
		return err
	}
	if last <= hwm {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `/* indexEvents */ INSERT INTO event_users (user, id)
		SELECT user, id FROM events WHERE id > ? AND id <= ? ORDER BY user, id`, hwm, last); err != nil {
		return err
	}
	if err := writeMeta(ctx, tx, eventUsersKey, last); err != nil {
		return err
	}
	return db.commit(tx)
}
