package postgres

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// The store answers the set queries cohort definitions are evaluated
// over (package cohort combines them), each in SQL in one read-only
// transaction that sees one snapshot. Events and properties are JSON kept
// as bytes, never queried into (JSONB refuses what some events hold): a
// condition's where and a user property are read in Go, by the domain's
// readers (touchpoint.PropReader), from the rows the SQL narrows to.
// Unlike the embedded store, nothing is kept in memory between
// evaluations: each counts its range's events in the database, by the
// events' (project, time) key.

var (
	_ touchpoint.CohortStore     = (*DB)(nil)
	_ touchpoint.CohortSyncStore = (*DB)(nil)
)

// cohortSets answers a project's set queries in one read transaction.
type cohortSets struct {
	ctx     context.Context
	tx      pgx.Tx
	project int64
}

// ReadCohortSets opens a read-only transaction over a project, repeatable
// read so that every query sees one snapshot.
func (db *DB) ReadCohortSets(ctx context.Context, project int64) (touchpoint.CohortSets, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	var one int
	err = tx.QueryRow(ctx, `/* DB.ReadCohortSets */ SELECT 1 FROM projects WHERE id = $1`, project).Scan(&one)
	if err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", project)
		}
		return nil, err
	}
	return &cohortSets{ctx: ctx, tx: tx, project: project}, nil
}

// Close ends the read transaction.
func (s *cohortSets) Close() error { return s.tx.Rollback(context.WithoutCancel(s.ctx)) }

// Users reads the project's users.
func (s *cohortSets) Users(fn func(user, mergedInto int64)) error {
	var id, merged int64
	return s.scan(`/* cohort users */ SELECT id, coalesce(merged_into, 0) FROM users WHERE project = $1`, []any{s.project},
		[]any{&id, &merged}, func() error {
			fn(id, merged)
			return nil
		})
}

// EventCounts counts each user's events of the condition's type in the
// range: in SQL without a where, else from the events' stored JSON, read
// in Go.
func (s *cohortSets) EventCounts(c *touchpoint.EventCondition, start, end int64, fn func(user, n int64)) error {
	var typ int64
	err := s.tx.QueryRow(s.ctx, `/* cohort event type */ SELECT id FROM event_types WHERE project = $1 AND name = $2`,
		s.project, []byte(c.EventType)).Scan(&typ)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // never seen: nobody has one
	} else if err != nil {
		return err
	}
	args := []any{s.project, typ, start, end}
	var user, n int64
	if len(c.Where) == 0 {
		return s.scan(`/* cohort event counts */ SELECT amplitude_id, count(*) FROM events
			WHERE project = $1 AND type = $2 AND time >= $3 AND time < $4 GROUP BY amplitude_id`, args, []any{&user, &n}, func() error {
			fn(user, n)
			return nil
		})
	}
	names := make([]string, len(c.Where))
	for i, w := range c.Where {
		names[i] = w.Property
	}
	pr := touchpoint.NewPropReader(names, nil)
	vals := make([]any, len(names))
	counts := map[int64]int64{}
	var data []byte
	err = s.scan(`/* cohort event rows */ SELECT amplitude_id, data FROM events
		WHERE project = $1 AND type = $2 AND time >= $3 AND time < $4`, args, []any{&user, &data}, func() error {
		pr.Read(data, vals)
		for j := range c.Where {
			if !c.Where[j].Match(vals[j]) {
				return nil
			}
		}
		counts[user]++
		return nil
	})
	if err != nil {
		return err
	}
	for user, n := range counts {
		fn(user, n)
	}
	return nil
}

// UserProperty reads a property of the users not merged: the value in
// their current properties' version, or for platform and country the
// columns their events keep (a user with none takes one of its merged
// users').
func (s *cohortSets) UserProperty(name string, fn func(user int64, value any)) error {
	var id int64
	var raw []byte
	if slices.Contains(touchpoint.BuiltinUserProperties, name) {
		// The column's name, from the fixed list.
		col := `coalesce(u.` + name + `, (SELECT m.` + name + ` FROM users m WHERE m.merged_into = u.id AND m.` + name + ` IS NOT NULL
			ORDER BY m.id LIMIT 1))`
		return s.scan(`/* cohort builtin property */ SELECT id, v FROM (SELECT u.id, `+col+` AS v FROM users u
			WHERE u.project = $1 AND u.merged_into IS NULL) x WHERE v IS NOT NULL`, []any{s.project}, []any{&id, &raw}, func() error {
			fn(id, string(raw))
			return nil
		})
	}
	dec := jsontext.NewDecoder(bytes.NewReader(nil))
	return s.scan(`/* cohort user property */ SELECT u.id, p.props FROM users u JOIN user_props p ON p.version = u.props_version
		WHERE u.project = $1 AND u.merged_into IS NULL AND u.props_version > 0`, []any{s.project}, []any{&id, &raw}, func() error {
		if v := topLevel(dec, raw, name); v != nil {
			fn(id, touchpoint.ParseJSONValue(v))
		}
		return nil
	})
}

// topLevel returns the JSON of a member of an object (nil when it has
// none, or is not an object), valid until dec's next read. A user's
// properties are stored as one object with each name once.
func topLevel(dec *jsontext.Decoder, object []byte, name string) jsontext.Value {
	dec.Reset(bytes.NewReader(object), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil
		}
		if tok.String() == name {
			v, err := dec.ReadValue()
			if err != nil {
				return nil
			}
			return v
		}
		if err := dec.SkipValue(); err != nil {
			return nil
		}
	}
	return nil
}

// FirstSeen reads the users' first event times.
func (s *cohortSets) FirstSeen(fn func(user, first int64)) error {
	var id, first int64
	return s.scan(`/* cohort first seen */ SELECT id, first_seen FROM users WHERE project = $1`, []any{s.project}, []any{&id, &first},
		func() error {
			fn(id, first)
			return nil
		})
}

// scan runs a query in the read transaction, scans each row into dest
// and calls fn.
func (s *cohortSets) scan(query string, args, dest []any, fn func() error) error {
	rows, err := s.tx.Query(s.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
