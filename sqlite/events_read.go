package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// FindUser returns a user with its devices, properties and attribution.
func (db *DB) FindUser(ctx context.Context, project, amplitudeID int64) (*touchpoint.User, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	u := &touchpoint.User{AmplitudeID: amplitudeID, DeviceIDs: []string{}, Attribution: []json.RawMessage{}}
	var userID sql.NullString
	var merged sql.NullInt64
	var version, first int64
	err = tx.QueryRowContext(ctx, `/* FindUser */ SELECT user_id, merged_into, props_version, first_seen FROM users WHERE id = ? AND project = ?`,
		amplitudeID, project).Scan(&userID, &merged, &version, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "user %d not found in project %d", amplitudeID, project)
	} else if err != nil {
		return nil, err
	}
	u.UserID, u.MergedInto, u.FirstSeen = userID.String, merged.Int64, fromMillis(first)
	ids, err := mergedUsers(ctx, tx, amplitudeID)
	if err != nil {
		return nil, err
	}
	in := idList(ids)
	if u.DeviceIDs, err = column[string](ctx, tx, `SELECT device_id FROM user_devices WHERE user IN (`+in+`) ORDER BY device_id`); err != nil {
		return nil, err
	}
	if u.Properties, err = propsAt(ctx, tx, version); err != nil {
		return nil, err
	}
	attributed, err := column[int64](ctx, tx, `SELECT event FROM user_attributions WHERE user IN (`+in+`) ORDER BY event`)
	if err != nil {
		return nil, err
	}
	if u.Attribution, err = readEvents(ctx, tx, attributed); err != nil {
		return nil, err
	}
	// First and last seen are event times, over the users merged into it
	// too: the earliest event (or, before any, the identify that made
	// the user) and the latest. The writer keeps users.first_seen at the
	// earliest time of each user's own events.
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `/* FindUser */ SELECT min(first_seen) FROM users WHERE id IN (`+in+`)`).Scan(&first); err != nil {
		return nil, err
	}
	u.FirstSeen = fromMillis(first)
	if err := tx.QueryRowContext(ctx, `/* FindUser */ SELECT max(time) FROM events WHERE id IN (`+userEventIDs(in)+`)`).Scan(&last); err != nil {
		return nil, err
	}
	u.LastSeen = u.FirstSeen
	if last.Valid {
		u.LastSeen = fromMillis(last.Int64)
	}
	return u, nil
}

// userEventIDs is a query of the ids of the events of users: those
// indexed in event_users, and those stored since (a scan of the newest
// rows only).
func userEventIDs(in string) string {
	return `SELECT id FROM event_users WHERE user IN (` + in + `)
		UNION ALL SELECT id FROM events WHERE id > coalesce((SELECT value FROM meta WHERE key = '` + eventUsersKey + `'), 0)
			AND user IN (` + in + `)`
}

// mergedUsers returns a user and the users merged into it.
func mergedUsers(ctx context.Context, q querier, id int64) ([]int64, error) {
	ids, err := column[int64](ctx, q, `SELECT id FROM users WHERE merged_into = ?`, id)
	return append([]int64{id}, ids...), err
}

func idList(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// column runs a query of one column.
func column[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanColumn[T](rows)
}

// eachRow runs a query and calls fn for each row.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// propsAt returns the properties of a version.
func propsAt(ctx context.Context, q querier, version int64) (map[string]any, error) {
	if version == 0 {
		return map[string]any{}, nil
	}
	var props string
	if err := q.QueryRowContext(ctx, `SELECT props FROM user_props WHERE version = ?`, version).Scan(&props); err != nil {
		return nil, err
	}
	m, err := touchpoint.DecodeProperties([]byte(props))
	if m == nil {
		m = map[string]any{}
	}
	return m, err
}

// LookupUser finds a user by user id or device id.
func (db *DB) LookupUser(ctx context.Context, project int64, userID, deviceID string) (*touchpoint.User, error) {
	var id, merged sql.NullInt64
	var err error
	switch {
	case userID != "":
		err = db.read.QueryRowContext(ctx, `SELECT id, merged_into FROM users WHERE project = ? AND user_id = ?`, project, userID).Scan(&id, &merged)
	case deviceID != "":
		err = db.read.QueryRowContext(ctx, `SELECT u.id, u.merged_into FROM user_devices d JOIN users u ON u.id = d.user
			WHERE d.project = ? AND d.device_id = ?`, project, deviceID).Scan(&id, &merged)
	default:
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "give a user_id or a device_id")
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no user with this id in project %d", project)
	} else if err != nil {
		return nil, err
	}
	if merged.Valid {
		id = merged
	}
	return db.FindUser(ctx, project, id.Int64)
}

// UserEvents returns a page of a user's events.
func (db *DB) UserEvents(ctx context.Context, project, amplitudeID, cursor int64, limit int) (*touchpoint.EventPage, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ? AND project = ?`, amplitudeID, project).Scan(&n); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "user %d not found in project %d", amplitudeID, project)
	}
	users, err := mergedUsers(ctx, tx, amplitudeID)
	if err != nil {
		return nil, err
	}
	ids, err := column[int64](ctx, tx, `/* UserEvents */ SELECT id FROM (`+userEventIDs(idList(users))+`) WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit+1)
	if err != nil {
		return nil, err
	}
	page := &touchpoint.EventPage{}
	if len(ids) > limit {
		ids = ids[:limit]
		page.Next = ids[limit-1]
	}
	if page.Events, err = readEvents(ctx, tx, ids); err != nil {
		return nil, err
	}
	return page, nil
}

// readEvents returns events by id (ascending) in their read form: the
// stored event with its id, amplitude_id, server_upload_time and the user
// properties it was stored with.
func readEvents(ctx context.Context, q querier, ids []int64) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(ids))
	var first, last int64
	var block []byte
	props := map[int64][]byte{0: []byte("{}")}
	// The events' users and property versions, in one query.
	rows := make(map[int64][2]int64, len(ids))
	if len(ids) > 0 {
		r, err := q.QueryContext(ctx, `SELECT id, user, props FROM events WHERE id IN (`+idList(ids)+`)`)
		if err != nil {
			return nil, err
		}
		for r.Next() {
			var id int64
			var v [2]int64
			if err := r.Scan(&id, &v[0], &v[1]); err != nil {
				r.Close()
				return nil, err
			}
			rows[id] = v
		}
		if err := r.Close(); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if block == nil || id < first || id > last {
			var stored []byte
			if err := q.QueryRowContext(ctx, `SELECT first_id, last_id, data FROM event_blocks WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1`, id).
				Scan(&first, &last, &stored); err != nil {
				return nil, fmt.Errorf("block of event %d: %w", id, err)
			}
			var err error
			if block, err = decompressBlock(stored); err != nil {
				return nil, fmt.Errorf("block of event %d: %w", id, err)
			}
		}
		received, data, err := blockEvent(block, int(id-first))
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", id, err)
		}
		row, ok := rows[id]
		if !ok {
			return nil, fmt.Errorf("event %d: no row", id)
		}
		user, version := row[0], row[1]
		p, ok := props[version]
		if !ok {
			var s string
			if err := q.QueryRowContext(ctx, `SELECT props FROM user_props WHERE version = ?`, version).Scan(&s); err != nil {
				return nil, err
			}
			p = []byte(s)
			props[version] = p
		}
		b := make([]byte, 0, len(data)+len(p)+96)
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `,"amplitude_id":`...)
		b = strconv.AppendInt(b, user, 10)
		b = append(b, `,"server_upload_time":`...)
		b = strconv.AppendInt(b, received, 10)
		b = append(b, `,"user_properties":`...)
		b = append(b, p...)
		if len(data) > 2 {
			b = append(b, ',')
		}
		b = append(b, data[1:]...)
		out = append(out, b)
	}
	return out, nil
}

// blockEvent returns the i-th event of a block.
func blockEvent(block []byte, i int) (received int64, data []byte, err error) {
	for j := 0; ; j++ {
		r, d, n, err := nextBlockEvent(block)
		if err != nil {
			return 0, nil, err
		}
		if j == i {
			return r, d, nil
		}
		block = block[n:]
	}
}

// FindGroup returns a group.
func (db *DB) FindGroup(ctx context.Context, project int64, groupType, groupValue string) (*touchpoint.Group, error) {
	g := &touchpoint.Group{Type: groupType, Value: groupValue}
	var props string
	var updated int64
	err := db.read.QueryRowContext(ctx, `SELECT props, updated_at FROM groups WHERE project = ? AND type = ? AND value = ?`,
		project, groupType, groupValue).Scan(&props, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "group %s %s not found", groupType, groupValue)
	} else if err != nil {
		return nil, err
	}
	g.UpdatedAt = fromMillis(updated)
	if g.Properties, err = touchpoint.DecodeProperties([]byte(props)); err != nil {
		return nil, err
	}
	return g, nil
}

// PendingAttributions counts a project's held attribution events. Those
// past the hold at now that the next expiry will drop count as dropped
// already.
func (db *DB) PendingAttributions(ctx context.Context, project int64, now time.Time) (*touchpoint.PendingAttributions, error) {
	cutoff := now.Add(-touchpoint.AttributionHold).UnixMilli()
	var p touchpoint.PendingAttributions
	var oldest sql.NullInt64
	var expired int64
	err := db.read.QueryRowContext(ctx, `/* PendingAttributions */ SELECT
		count(*) FILTER (WHERE received >= ?), min(received) FILTER (WHERE received >= ?), count(*) FILTER (WHERE received < ?),
		(SELECT attributions_dropped FROM projects WHERE id = ?)
		FROM pending_attributions WHERE project = ?`, cutoff, cutoff, cutoff, project, project).Scan(&p.Count, &oldest, &expired, &p.Dropped)
	if err != nil {
		return nil, err
	}
	p.Dropped += expired
	if oldest.Valid {
		t := fromMillis(oldest.Int64)
		p.Oldest = &t
	}
	return &p, nil
}
