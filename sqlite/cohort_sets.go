package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// The store answers the set queries cohort definitions are evaluated
// over (package cohort combines them), each in SQL over one read
// transaction. Event conditions read the events table and, for their
// where, the stored events in their blocks; their times are kept in
// memory between evaluations (cohort_cache.go).

var _ touchpoint.CohortSource = (*DB)(nil)

// cohortSets answers a project's set queries in one read transaction.
type cohortSets struct {
	db      *DB
	ctx     context.Context
	tx      *sql.Tx
	project int64
}

// ReadCohortSets opens a read transaction over a project.
func (db *DB) ReadCohortSets(ctx context.Context, project int64) (touchpoint.CohortSets, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	var one int
	err = tx.QueryRowContext(ctx, `/* DB.ReadCohortSets */ SELECT 1 FROM projects WHERE id = ?`, project).Scan(&one)
	if err != nil {
		tx.Rollback()
		return nil, errNoRows(err, "project %d not found", project)
	}
	return &cohortSets{db: db, ctx: ctx, tx: tx, project: project}, nil
}

// Close ends the read transaction.
func (s *cohortSets) Close() error { return s.tx.Rollback() }

// Users reads the project's users.
func (s *cohortSets) Users(fn func(user, mergedInto int64)) error {
	return s.scan(`/* cohort users */ SELECT id, coalesce(merged_into, 0) FROM users WHERE project = ?`, []any{s.project}, func(rows *sql.Rows) error {
		var id, merged int64
		if err := rows.Scan(&id, &merged); err != nil {
			return err
		}
		fn(id, merged)
		return nil
	})
}

// EventCounts counts each user's matching events in the range from the
// times kept for the condition (eventTimes).
func (s *cohortSets) EventCounts(c *touchpoint.EventCondition, start, end int64, fn func(user, n int64)) error {
	times, err := s.db.eventTimes(s, c, start, end)
	if err != nil {
		return err
	}
	defer times.mu.Unlock()
	for user, ts := range times.byUser {
		lo, _ := slices.BinarySearch(ts, start)
		hi, _ := slices.BinarySearch(ts, end)
		if hi > lo {
			fn(user, int64(hi-lo))
		}
	}
	return nil
}

// scanEvents calls fn with the user and time of each event of the
// condition's type with an id in (after, upTo] and a time in [start, end)
// that meets the condition's where, in id order.
func (s *cohortSets) scanEvents(c *touchpoint.EventCondition, after, upTo, start, end int64, fn func(user, time int64)) error {
	var typ int64
	err := s.tx.QueryRowContext(s.ctx, `/* cohort event type */ SELECT id FROM event_types WHERE project = ? AND name = ?`, s.project, c.EventType).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	// The blocks' time bounds narrow the scan to an id range.
	var lo, hi sql.NullInt64
	if err := s.tx.QueryRowContext(s.ctx, `/* cohort event ids */ SELECT min(first_id), max(last_id) FROM event_blocks
		WHERE last_id > ? AND first_id <= ? AND max_time >= ? AND min_time < ?`, after, upTo, start, end).Scan(&lo, &hi); err != nil || !lo.Valid {
		return err
	}
	args := []any{max(lo.Int64, after+1), min(hi.Int64, upTo), s.project, typ, start, end}
	if len(c.Where) > 0 {
		return s.scanWhere(c.Where, args, fn)
	}
	return s.scan(`/* cohort event times */ SELECT user, time FROM events
		WHERE id BETWEEN ? AND ? AND project = ? AND type = ? AND time >= ? AND time < ?`, args, func(rows *sql.Rows) error {
		var user, t int64
		if err := rows.Scan(&user, &t); err != nil {
			return err
		}
		fn(user, t)
		return nil
	})
}

// scanWhere calls fn for the events of the query's rows that meet every
// condition, reading each from its block.
func (s *cohortSets) scanWhere(where []touchpoint.ValueCondition, args []any, fn func(user, time int64)) error {
	type cand struct{ id, user, time int64 }
	var cands []cand
	err := s.scan(`/* cohort event rows */ SELECT id, user, time FROM events
		WHERE id BETWEEN ? AND ? AND project = ? AND type = ? AND time >= ? AND time < ? ORDER BY id`, args, func(rows *sql.Rows) error {
		var c cand
		if err := rows.Scan(&c.id, &c.user, &c.time); err != nil {
			return err
		}
		cands = append(cands, c)
		return nil
	})
	if err != nil || len(cands) == 0 {
		return err
	}
	names := make([]string, len(where))
	for i, w := range where {
		names[i] = w.Property
	}
	vals := make([]any, len(where))
	pr := touchpoint.NewPropReader(names, nil)
	var block []byte
	i := 0
	err = s.scan(`/* cohort event blocks */ SELECT first_id, last_id, data FROM event_blocks WHERE last_id >= ? AND first_id <= ? ORDER BY first_id`,
		[]any{cands[0].id, cands[len(cands)-1].id}, func(rows *sql.Rows) error {
			var first, last int64
			var stored sql.RawBytes
			if err := rows.Scan(&first, &last, &stored); err != nil {
				return err
			}
			if i == len(cands) || cands[i].id > last {
				return nil // no candidate in this block: not decompressed
			}
			var err error
			block, err = decompressBlockInto(block, stored)
			if err != nil {
				return fmt.Errorf("block %d: %w", first, err)
			}
			for pos, id := int64(0), first; i < len(cands) && cands[i].id <= last; id++ {
				_, data, n, err := nextBlockEvent(block[pos:])
				if err != nil {
					return fmt.Errorf("block %d: %w", first, err)
				}
				pos += int64(n)
				if id < cands[i].id {
					continue
				}
				pr.Read(data, vals)
				ok := true
				for j := range where {
					if !where[j].Match(vals[j]) {
						ok = false
						break
					}
				}
				if ok {
					fn(cands[i].user, cands[i].time)
				}
				i++
			}
			return nil
		})
	return err
}

// nextBlockEvent reads the event at the start of a block's rest: its
// received time, its JSON, and the bytes it took.
func nextBlockEvent(b []byte) (received int64, data []byte, size int, err error) {
	r, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, 0, errors.New("damaged event block")
	}
	l, m := binary.Uvarint(b[n:])
	if m <= 0 || uint64(len(b)-n-m) < l {
		return 0, nil, 0, errors.New("damaged event block")
	}
	return int64(r), b[n+m : n+m+int(l)], n + m + int(l), nil
}

// readOptions read stored events, whose names may repeat.
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true)}

// UserProperty reads a property of the users not merged: the value of
// their current properties' version, or for platform and country the
// columns their events keep.
func (s *cohortSets) UserProperty(name string, fn func(user int64, value any)) error {
	query := `/* cohort user property */ SELECT u.id, p.props -> ? FROM users u JOIN user_props p ON p.version = u.props_version
		WHERE u.project = ? AND u.merged_into IS NULL AND u.props_version > 0`
	args := []any{`$."` + name + `"`, s.project}
	if slices.Contains(touchpoint.BuiltinUserProperties, name) {
		// The column's name, from the fixed list.
		// A user that has none takes one of its merged users'.
		col := `coalesce(u.` + name + `, (SELECT m.` + name + ` FROM users m WHERE m.merged_into = u.id AND m.` + name + ` IS NOT NULL LIMIT 1))`
		query = `/* cohort builtin property */ SELECT id, json_quote(v) FROM (SELECT u.id, ` + col + ` AS v FROM users u
			WHERE u.project = ? AND u.merged_into IS NULL) WHERE v IS NOT NULL`
		args = args[1:]
	}
	return s.scan(query, args, func(rows *sql.Rows) error {
		var id int64
		var raw sql.RawBytes
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		fn(id, touchpoint.ParseJSONValue(raw))
		return nil
	})
}

// FirstSeen reads the users' first event times.
func (s *cohortSets) FirstSeen(fn func(user, first int64)) error {
	return s.scan(`/* cohort first seen */ SELECT id, first_seen FROM users WHERE project = ?`, []any{s.project}, func(rows *sql.Rows) error {
		var id, first int64
		if err := rows.Scan(&id, &first); err != nil {
			return err
		}
		fn(id, first)
		return nil
	})
}

// scan runs a query in the read transaction and calls fn for each row.
func (s *cohortSets) scan(query string, args []any, fn func(*sql.Rows) error) error {
	return eachRow(s.ctx, s.tx, query, args, fn)
}
