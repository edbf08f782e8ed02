package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// readTx runs fn in a read-only transaction that sees one snapshot, so
// that a user read in several queries is read as of one commit.
func (db *DB) readTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// FindUser returns a user with its devices, properties and attribution.
func (db *DB) FindUser(ctx context.Context, project, amplitudeID int64) (*touchpoint.User, error) {
	var u *touchpoint.User
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = findUser(ctx, tx, project, amplitudeID)
		return err
	})
	return u, err
}

func findUser(ctx context.Context, tx pgx.Tx, project, amplitudeID int64) (*touchpoint.User, error) {
	u := &touchpoint.User{AmplitudeID: amplitudeID, DeviceIDs: []string{}, Attribution: []json.RawMessage{}}
	var userID []byte
	var merged *int64
	var version int64
	err := tx.QueryRow(ctx, `/* FindUser */ SELECT user_id, merged_into, props_version FROM users WHERE id = $1 AND project = $2`,
		amplitudeID, project).Scan(&userID, &merged, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "user %d not found in project %d", amplitudeID, project)
	} else if err != nil {
		return nil, err
	}
	u.UserID = string(userID)
	if merged != nil {
		u.MergedInto = *merged
	}
	ids, err := mergedUsers(ctx, tx, amplitudeID)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `/* FindUser */ SELECT device_id FROM user_devices WHERE amplitude_id = ANY($1) ORDER BY device_id`, ids)
	if err != nil {
		return nil, err
	}
	devices, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	for _, d := range devices {
		u.DeviceIDs = append(u.DeviceIDs, string(d))
	}
	props, err := propsVersions(ctx, tx, []int64{version})
	if err != nil {
		return nil, err
	}
	if u.Properties, err = touchpoint.DecodeProperties(props[version]); err != nil {
		return nil, err
	}
	if u.Properties == nil {
		u.Properties = map[string]any{}
	}
	// The attribution events applied, found in their partitions by time.
	rows, err = tx.Query(ctx, `/* FindUser */ SELECT e.id, e.amplitude_id, e.props, e.received, e.data FROM user_attributions a
		JOIN events e ON e.amplitude_id = a.amplitude_id AND e.id = a.event AND e.time = a.time WHERE a.amplitude_id = ANY($1) ORDER BY e.id`, ids)
	if err != nil {
		return nil, err
	}
	if u.Attribution, _, err = readEvents(ctx, tx, rows); err != nil {
		return nil, err
	}
	// First and last seen are event times, over the users merged into it
	// too: the earliest event (or, before any, the identify that made
	// the user) and the latest. The writer keeps users.first_seen at the
	// earliest time of each user's own events.
	var first int64
	var last *int64
	if err := tx.QueryRow(ctx, `/* FindUser */ SELECT (SELECT min(first_seen) FROM users WHERE id = ANY($1)),
		(SELECT max(time) FROM events WHERE amplitude_id = ANY($1))`, ids).Scan(&first, &last); err != nil {
		return nil, err
	}
	u.FirstSeen, u.LastSeen = touchpoint.StoredTime(first), touchpoint.StoredTime(first)
	if last != nil {
		u.LastSeen = touchpoint.StoredTime(*last)
	}
	return u, nil
}

// mergedUsers returns a user and the users merged into it.
func mergedUsers(ctx context.Context, tx pgx.Tx, id int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE merged_into = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return append([]int64{id}, ids...), err
}

// propsVersions returns versions of users' properties as stored (version
// 0: none, "{}").
func propsVersions(ctx context.Context, tx pgx.Tx, versions []int64) (map[int64][]byte, error) {
	out := map[int64][]byte{0: []byte("{}")}
	rows, err := tx.Query(ctx, `SELECT version, props FROM user_props WHERE version = ANY($1)`, versions)
	if err != nil {
		return nil, err
	}
	var v int64
	var b []byte
	if _, err := pgx.ForEachRow(rows, []any{&v, &b}, func() error {
		out[v] = b
		return nil
	}); err != nil {
		return nil, err
	}
	for _, v := range versions {
		if _, ok := out[v]; !ok {
			return nil, fmt.Errorf("user properties version %d missing", v)
		}
	}
	return out, nil
}

// readEvents returns events (rows of id, amplitude_id, props, received,
// data) in their read form, as the embedded store's: the stored event with
// its id, amplitude_id, server_upload_time and the user properties it was
// stored with; and their ids.
func readEvents(ctx context.Context, tx pgx.Tx, rows pgx.Rows) ([]json.RawMessage, []int64, error) {
	type event struct {
		id, user, version, received int64
		data                        []byte
	}
	var evs []event
	var e event
	if _, err := pgx.ForEachRow(rows, []any{&e.id, &e.user, &e.version, &e.received, &e.data}, func() error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	versions := make([]int64, 0, len(evs))
	for _, e := range evs {
		versions = append(versions, e.version)
	}
	props, err := propsVersions(ctx, tx, versions)
	if err != nil {
		return nil, nil, err
	}
	out := make([]json.RawMessage, 0, len(evs))
	ids := make([]int64, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.id)
		p := props[e.version]
		b := make([]byte, 0, len(e.data)+len(p)+96)
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, e.id, 10)
		b = append(b, `,"amplitude_id":`...)
		b = strconv.AppendInt(b, e.user, 10)
		b = append(b, `,"server_upload_time":`...)
		b = strconv.AppendInt(b, e.received, 10)
		b = append(b, `,"user_properties":`...)
		b = append(b, p...)
		if len(e.data) > 2 {
			b = append(b, ',')
		}
		if len(e.data) > 0 {
			b = append(b, e.data[1:]...)
		} else {
			b = append(b, '}')
		}
		out = append(out, b)
	}
	return out, ids, nil
}

// LookupUser finds a user by user id or device id.
func (db *DB) LookupUser(ctx context.Context, project int64, userID, deviceID string) (*touchpoint.User, error) {
	var u *touchpoint.User
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var merged *int64
		var err error
		switch {
		case userID != "":
			err = tx.QueryRow(ctx, `/* LookupUser */ SELECT id, merged_into FROM users WHERE project = $1 AND user_id = $2`,
				project, []byte(userID)).Scan(&id, &merged)
		case deviceID != "":
			err = tx.QueryRow(ctx, `/* LookupUser */ SELECT u.id, u.merged_into FROM user_devices d JOIN users u ON u.id = d.amplitude_id
				WHERE d.project = $1 AND d.device_id = $2`, project, []byte(deviceID)).Scan(&id, &merged)
		default:
			return touchpoint.Errorf(touchpoint.EINVALID, "give a user_id or a device_id")
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "no user with this id in project %d", project)
		} else if err != nil {
			return err
		}
		if merged != nil {
			id = *merged
		}
		u, err = findUser(ctx, tx, project, id)
		return err
	})
	return u, err
}

// UserEvents returns a page of a user's events.
func (db *DB) UserEvents(ctx context.Context, project, amplitudeID, cursor int64, limit int) (*touchpoint.EventPage, error) {
	page := &touchpoint.EventPage{}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `/* UserEvents */ SELECT count(*) FROM users WHERE id = $1 AND project = $2`, amplitudeID, project).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "user %d not found in project %d", amplitudeID, project)
		}
		users, err := mergedUsers(ctx, tx, amplitudeID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `/* UserEvents */ SELECT id, amplitude_id, props, received, data FROM events
			WHERE amplitude_id = ANY($1) AND id > $2 ORDER BY id LIMIT $3`, users, cursor, limit+1)
		if err != nil {
			return err
		}
		var ids []int64
		if page.Events, ids, err = readEvents(ctx, tx, rows); err != nil {
			return err
		}
		if len(page.Events) > limit {
			page.Events = page.Events[:limit]
			page.Next = ids[limit-1]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// FindGroup returns a group.
func (db *DB) FindGroup(ctx context.Context, project int64, groupType, groupValue string) (*touchpoint.Group, error) {
	g := &touchpoint.Group{Type: groupType, Value: groupValue}
	var props []byte
	var updated int64
	err := db.pool.QueryRow(ctx, `/* FindGroup */ SELECT props, updated_at FROM groups WHERE project = $1 AND type = $2 AND value = $3`,
		project, []byte(groupType), []byte(groupValue)).Scan(&props, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "group %s %s not found", groupType, groupValue)
	} else if err != nil {
		return nil, err
	}
	g.UpdatedAt = touchpoint.StoredTime(updated)
	if g.Properties, err = touchpoint.DecodeProperties(props); err != nil {
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
	var oldest *int64
	var expired int64
	err := db.pool.QueryRow(ctx, `/* PendingAttributions */ SELECT
		count(*) FILTER (WHERE received >= $1), min(received) FILTER (WHERE received >= $1), count(*) FILTER (WHERE received < $1),
		coalesce((SELECT attributions_dropped FROM projects WHERE id = $2), 0)
		FROM pending_attributions WHERE project = $2`, cutoff, project).Scan(&p.Count, &oldest, &expired, &p.Dropped)
	if err != nil {
		return nil, err
	}
	p.Dropped += expired
	if oldest != nil {
		t := touchpoint.StoredTime(*oldest)
		p.Oldest = &t
	}
	return &p, nil
}
