package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

// Reading a whole store out, for a copy elsewhere (touchpoint
// migrate-data, into the PostgreSQL store). Most tables are read as they
// are (Export.Rows); what is packed is read decoded: touches from the
// weekly touch logs, events with their data from the compressed blocks,
// held attribution events with their keys split.

// ErrInUse is the error of opening a store another process has open (a
// server): one process at a time opens a store.
var ErrInUse = errors.New("in use by another process")

// Export is a read of the whole store in one snapshot. The store stays
// open, and locked to this process, until it is closed.
type Export struct {
	db   *DB
	tx   *sql.Tx
	apps map[int64]string // seq → id
}

// Export settles the store (every touch acknowledged in the journal is
// loaded into the touch log, every lookup key indexed) and opens a
// read-only snapshot of its tables. The caller should run no writes
// meanwhile (open the store with ExternalTasks and run no tasks), and
// closes the Export before the store.
func (db *DB) Export(ctx context.Context) (*Export, error) {
	if err := db.Settle(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: loading the journal's touches: %w", err)
	}
	// Settle returns once the tail is empty; say so rather than export a
	// store some of whose touches are in the journal only.
	if n, _ := db.touchTail.size(); n > 0 {
		return nil, fmt.Errorf("sqlite: %d touches are still in the journal after loading", n)
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	x := &Export{db: db, tx: tx, apps: map[int64]string{}}
	// The snapshot begins with its first read: this one.
	err = x.Rows(ctx, `SELECT seq, id FROM apps`, nil, func(row []any) error {
		x.apps[row[0].(int64)] = row[1].(string)
		return nil
	})
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return x, nil
}

// Close ends the snapshot.
func (x *Export) Close() error { return x.tx.Rollback() }

// Tables returns the names of the store's tables, the weekly touch tables
// and SQLite's own aside.
func (x *Export) Tables(ctx context.Context) ([]string, error) {
	var out []string
	err := x.Rows(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name NOT GLOB 'touch_log_[0-9]*' AND name NOT GLOB 'touch_keys_[0-9]*' ORDER BY name`, nil, func(row []any) error {
		out = append(out, row[0].(string))
		return nil
	})
	return out, err
}

// Columns returns the names of a table's columns, in order.
func (x *Export) Columns(ctx context.Context, table string) ([]string, error) {
	var out []string
	err := x.Rows(ctx, `SELECT name FROM pragma_table_info(?)`, []any{table}, func(row []any) error {
		out = append(out, row[0].(string))
		return nil
	})
	return out, err
}

// Rows runs a query in the snapshot and calls fn with each row, as SQLite
// holds it: int64, float64, string, []byte or nil. fn may keep the row.
func (x *Export) Rows(ctx context.Context, query string, args []any, fn func(row []any) error) error {
	rows, err := x.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Int runs a query of one integer in the snapshot.
func (x *Export) Int(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := x.tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// touchWeeks returns the weeks of the touch log, oldest first.
func (x *Export) touchWeeks(ctx context.Context) ([]int, error) {
	var weeks []int
	err := x.Rows(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'touch_log_[0-9]*'`, nil, func(row []any) error {
		if w, err := strconv.Atoi(strings.TrimPrefix(row[0].(string), "touch_log_")); err == nil {
			weeks = append(weeks, w)
		}
		return nil
	})
	slices.Sort(weeks)
	return weeks, err
}

// CountTouches counts the touches of the touch log.
func (x *Export) CountTouches(ctx context.Context) (int64, error) {
	return x.sumWeeks(ctx, func(w int) string { return `SELECT coalesce(sum(last_id - first_id + 1), 0) FROM ` + logTable(w) })
}

// CountTouchKeys counts the rows of the lookup index: a touch's distinct
// lookup keys.
func (x *Export) CountTouchKeys(ctx context.Context) (int64, error) {
	return x.sumWeeks(ctx, func(w int) string { return `SELECT count(*) FROM ` + keyTable(w) })
}

func (x *Export) sumWeeks(ctx context.Context, query func(w int) string) (int64, error) {
	weeks, err := x.touchWeeks(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, w := range weeks {
		n, err := x.Int(ctx, query(w))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// Touches calls fn with the touches of the touch log, decoded (their ids
// and apps set), in id order, at most batch at a time. A batch holds
// touches of one week of ids only: the week is the partition of both
// stores. fn may keep the touches.
func (x *Export) Touches(ctx context.Context, batch int, fn func([]*touchpoint.Touch) error) error {
	weeks, err := x.touchWeeks(ctx)
	if err != nil {
		return err
	}
	for _, w := range weeks {
		var ts []*touchpoint.Touch
		err := x.Rows(ctx, `SELECT first_id, app_seq, data FROM `+logTable(w)+` ORDER BY first_id`, nil, func(row []any) error {
			first, seq := row[0].(int64), row[1].(int64)
			app, ok := x.apps[seq]
			if !ok {
				return fmt.Errorf("touches %d…: app seq %d does not exist", first, seq)
			}
			data, _ := row[2].([]byte)
			var derr error
			err := eachRecord(first, data, func(id int64, rec []byte) bool {
				var t *touchpoint.Touch
				if t, derr = decodeTouch(id, app, rec); derr != nil {
					return false
				}
				ts = append(ts, t)
				if len(ts) == batch {
					derr = fn(ts)
					ts = nil
				}
				return derr == nil
			})
			return firstError(err, derr)
		})
		if err != nil {
			return err
		}
		if len(ts) > 0 {
			if err := fn(ts); err != nil {
				return err
			}
		}
	}
	return nil
}

// firstError returns the first error that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Events calls fn with the stored events in id order, at most batch at a
// time, as the analytics planner wrote them (analytics.Event): the row's
// columns, and the received time and data its block keeps. fn may keep
// the events.
func (x *Export) Events(ctx context.Context, batch int, fn func([]amp.Event) error) error {
	// Two cursors in step: the events' rows, and the blocks that hold
	// their data (the events of one commit, ids first_id..last_id).
	rows, err := x.tx.QueryContext(ctx, `SELECT id, project, user, type, time, props, dedup FROM events ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	blocks, err := x.tx.QueryContext(ctx, `SELECT first_id, last_id, data FROM event_blocks ORDER BY first_id`)
	if err != nil {
		return err
	}
	defer blocks.Close()
	var out []amp.Event
	var block []byte // the rest of the current block
	var first, last int64 = 0, -1
	for rows.Next() {
		var e amp.Event
		var dedup int64
		if err := rows.Scan(&e.ID, &e.Project, &e.User, &e.Type, &e.Time, &e.Version, &dedup); err != nil {
			return err
		}
		e.Dedup = uint64(dedup)
		for e.ID > last {
			if !blocks.Next() {
				return firstError(blocks.Err(), fmt.Errorf("event %d: no block holds it", e.ID))
			}
			var stored []byte
			if err := blocks.Scan(&first, &last, &stored); err != nil {
				return err
			}
			if block, err = decompressBlock(stored); err != nil {
				return fmt.Errorf("event block %d: %w", first, err)
			}
		}
		if e.ID != first {
			return fmt.Errorf("event %d: block %d holds event %d next", e.ID, first, first)
		}
		received, data, size, err := nextBlockEvent(block)
		if err != nil {
			return fmt.Errorf("event %d: %w", e.ID, err)
		}
		block, first = block[size:], first+1
		e.Received, e.Data = received, data
		out = append(out, e)
		if len(out) == batch {
			if err := fn(out); err != nil {
				return err
			}
			out = nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(out) > 0 {
		return fn(out)
	}
	return nil
}

// Held returns the attribution events held for a user with one of their
// advertising ids, in id order, as the analytics planner wrote them.
func (x *Export) Held(ctx context.Context) ([]*amp.Held, error) {
	var out []*amp.Held
	err := x.Rows(ctx, `SELECT id, project, keys, received, event_type, time, user_properties, data FROM pending_attributions ORDER BY id`, nil,
		func(row []any) error {
			h := &amp.Held{ID: row[0].(int64), Project: row[1].(int64), Received: row[3].(int64), Time: row[5].(int64)}
			keys, _ := row[2].([]byte)
			if len(keys)%16 != 0 {
				return fmt.Errorf("held attribution %d: keys of %d bytes", h.ID, len(keys))
			}
			for i := 0; i < len(keys); i += 16 {
				var k touchpoint.AdIDKey
				copy(k[:], keys[i:])
				h.Keys = append(h.Keys, k)
			}
			h.EventType = text(row[4])
			var err error
			if h.Props, err = touchpoint.DecodeProperties([]byte(text(row[6]))); err != nil {
				return fmt.Errorf("held attribution %d: %w", h.ID, err)
			}
			if h.Props == nil {
				h.Props = map[string]any{}
			}
			h.Data = []byte(text(row[7]))
			out = append(out, h)
			return nil
		})
	return out, err
}

// text is a TEXT column's value (or a BLOB's, as text).
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// Sequences returns the next ids the analytics plane's sequences hold.
func (x *Export) Sequences(ctx context.Context) (amp.IDs, error) {
	var next amp.IDs
	err := x.Rows(ctx, `SELECT name, next FROM sequences`, nil, func(row []any) error {
		next.Set(row[0].(string), row[1].(int64))
		return nil
	})
	if err == nil && !next.Complete() {
		err = errors.New("sqlite: the analytics sequences are missing")
	}
	return next, err
}

// ParseStoredKey reads a key hash as the store keeps it ("sha256:" and
// its hex; empty: no key, the zero hash).
func ParseStoredKey(s string) (touchpoint.KeyHash, error) { return parseStoredKey(s) }
