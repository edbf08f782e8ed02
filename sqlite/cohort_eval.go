package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// Cohort membership is computed in SQL, one query per condition, each
// answering a set of users; the sets combine in memory as bitmaps over the
// project's amplitude ids (a million users: 125 KB a set). Users merged
// into another count as that one: their events are its events, and only
// users not merged are members.

// userSet is a set of amplitude ids within [base, base+64·len(bits)).
type userSet struct {
	base int64
	bits []uint64
}

func newUserSet(lo, hi int64) *userSet {
	if hi < lo {
		return &userSet{base: lo}
	}
	return &userSet{base: lo, bits: make([]uint64, (hi-lo)/64+1)}
}

func (s *userSet) clone() *userSet { return &userSet{base: s.base, bits: slices.Clone(s.bits)} }

// add adds id; ids outside the set's range are not users of the project.
func (s *userSet) add(id int64) {
	i := id - s.base
	if i >= 0 && i/64 < int64(len(s.bits)) {
		s.bits[i/64] |= 1 << (i % 64)
	}
}

func (s *userSet) has(id int64) bool {
	i := id - s.base
	return i >= 0 && i/64 < int64(len(s.bits)) && s.bits[i/64]&(1<<(i%64)) != 0
}

func (s *userSet) and(o *userSet) {
	for i := range s.bits {
		s.bits[i] &= o.bits[i]
	}
}

func (s *userSet) or(o *userSet) {
	for i := range s.bits {
		s.bits[i] |= o.bits[i]
	}
}

func (s *userSet) andNot(o *userSet) {
	for i := range s.bits {
		s.bits[i] &^= o.bits[i]
	}
}

func (s *userSet) count() int64 {
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// each calls fn with every id, lowest first, until it returns false.
func (s *userSet) each(fn func(id int64) bool) {
	for i, w := range s.bits {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			if !fn(s.base + int64(i)*64 + int64(b)) {
				return
			}
			w &= w - 1
		}
	}
}

// evaluator evaluates definitions over one read transaction.
type evaluator struct {
	db      *DB
	ctx     context.Context
	q       querier
	project int64
	now     time.Time
	// users holds the project's users not merged; merged maps the others
	// to the user they were merged into.
	users  *userSet
	merged map[int64]int64
}

// newEvaluator reads the project's users.
func newEvaluator(ctx context.Context, db *DB, q querier, project int64, now time.Time) (*evaluator, error) {
	e := &evaluator{db: db, ctx: ctx, q: q, project: project, now: now, merged: map[int64]int64{}}
	var ids []int64
	lo, hi := int64(1), int64(0)
	err := e.scan(`/* cohort users */ SELECT id, coalesce(merged_into, 0) FROM users WHERE project = ?`, []any{project}, func(rows *sql.Rows) error {
		var id, merged int64
		if err := rows.Scan(&id, &merged); err != nil {
			return err
		}
		if merged != 0 {
			e.merged[id] = merged
			return nil
		}
		if len(ids) == 0 || id < lo {
			lo = id
		}
		hi = max(hi, id)
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.users = newUserSet(lo, hi)
	for _, id := range ids {
		e.users.add(id)
	}
	return e, nil
}

// canonical is the user whose events a user's are.
func (e *evaluator) canonical(id int64) int64 {
	if m, ok := e.merged[id]; ok {
		return m
	}
	return id
}

func (e *evaluator) empty() *userSet {
	return &userSet{base: e.users.base, bits: make([]uint64, len(e.users.bits))}
}

// eval returns the users meeting c.
func (e *evaluator) eval(c *touchpoint.Condition) (*userSet, error) {
	if err := e.ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case c.And != nil || c.Or != nil:
		list := c.And
		if c.Or != nil {
			list = c.Or
		}
		var out *userSet
		for i := range list {
			s, err := e.eval(&list[i])
			if err != nil {
				return nil, err
			}
			switch {
			case out == nil:
				out = s
			case c.And != nil:
				out.and(s)
			default:
				out.or(s)
			}
		}
		return out, nil
	case c.Not != nil:
		s, err := e.eval(c.Not)
		if err != nil {
			return nil, err
		}
		out := e.users.clone()
		out.andNot(s)
		return out, nil
	case c.Event != nil:
		return e.event(c.Event)
	case c.UserProperty != nil:
		return e.userProperty(c.UserProperty)
	case c.FirstSeen != nil:
		return e.firstSeen(c.FirstSeen)
	}
	return nil, errors.New("empty condition")
}

// countOK reports whether n events meet an event condition's count.
func countOK(c *touchpoint.EventCondition, n int64) bool {
	switch c.Op {
	case touchpoint.AtLeast:
		return n >= c.Count
	case touchpoint.AtMost:
		return n <= c.Count
	}
	return n == c.Count
}

// event evaluates an event condition from each user's times of the
// matching events in the range (eventTimes).
func (e *evaluator) event(c *touchpoint.EventCondition) (*userSet, error) {
	start, end := c.TimeRange.Bounds(e.now)
	times, err := e.db.eventTimes(e, c, start)
	if err != nil {
		return nil, err
	}
	counts := make(map[int64]int64, len(times.byUser))
	for user, ts := range times.byUser {
		lo, _ := slices.BinarySearch(ts, start)
		hi, _ := slices.BinarySearch(ts, end)
		if hi > lo {
			counts[e.canonical(user)] += int64(hi - lo)
		}
	}
	times.mu.Unlock()
	out, failing := e.empty(), e.empty()
	for user, n := range counts {
		if countOK(c, n) {
			out.add(user)
		} else {
			failing.add(user)
		}
	}
	if countOK(c, 0) {
		// Users without such events meet it too.
		out = e.users.clone()
		out.andNot(failing)
	} else {
		out.and(e.users)
	}
	return out, nil
}

// scanEvents calls fn with the user and time of each event of the
// condition's type with an id in (after, upTo] and a time in [start, end)
// that meets the condition's where, in id order.
func (e *evaluator) scanEvents(c *touchpoint.EventCondition, after, upTo, start, end int64, fn func(user, time int64)) error {
	var typ int64
	err := e.q.QueryRowContext(e.ctx, `/* cohort event type */ SELECT id FROM event_types WHERE project = ? AND name = ?`, e.project, c.EventType).Scan(&typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	// The blocks' time bounds narrow the scan to an id range.
	var lo, hi sql.NullInt64
	if err := e.q.QueryRowContext(e.ctx, `/* cohort event ids */ SELECT min(first_id), max(last_id) FROM event_blocks
		WHERE last_id > ? AND first_id <= ? AND max_time >= ? AND min_time < ?`, after, upTo, start, end).Scan(&lo, &hi); err != nil || !lo.Valid {
		return err
	}
	args := []any{max(lo.Int64, after+1), min(hi.Int64, upTo), e.project, typ, start, end}
	if len(c.Where) > 0 {
		return e.scanWhere(c.Where, args, fn)
	}
	return e.scan(`/* cohort event times */ SELECT user, time FROM events
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
func (e *evaluator) scanWhere(where []touchpoint.ValueCondition, args []any, fn func(user, time int64)) error {
	type cand struct{ id, user, time int64 }
	var cands []cand
	err := e.scan(`/* cohort event rows */ SELECT id, user, time FROM events
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
	pr := newPropReader(names)
	var block []byte
	i := 0
	err = e.scan(`/* cohort event blocks */ SELECT first_id, last_id, data FROM event_blocks WHERE last_id >= ? AND first_id <= ? ORDER BY first_id`,
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
				pr.read(data, vals)
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

// propReader finds named properties of stored events: in an event's
// event_properties, else among its top-level fields. It reuses its
// buffers from event to event.
//
// A stored event keeps its members as they came, a name repeated too
// (HTTP V2 takes that): the last one counts, as in JSON.parse
// (readOptions).
// readOptions read stored events, whose names may repeat.
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true)}

type propReader struct {
	names []string
	top   []jsontext.Value
	found []bool
	rd    bytes.Reader
	dec   *jsontext.Decoder
}

func newPropReader(names []string) *propReader {
	r := &propReader{names: names, top: make([]jsontext.Value, len(names)), found: make([]bool, len(names))}
	r.dec = jsontext.NewDecoder(&r.rd, readOptions...)
	return r
}

// read sets vals[i] to the value of names[i] in the event (nil when
// missing).
func (r *propReader) read(data []byte, vals []any) {
	clear(vals)
	clear(r.found)
	for j := range r.top {
		r.top[j] = r.top[j][:0]
	}
	r.rd.Reset(data)
	dec := r.dec
	dec.Reset(&r.rd, readOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return
		}
		key := tok.String()
		if key == "event_properties" && dec.PeekKind() == '{' {
			dec.ReadToken()
			for dec.PeekKind() == '"' {
				t, err := dec.ReadToken()
				if err != nil {
					return
				}
				name := t.String()
				v, err := dec.ReadValue()
				if err != nil {
					return
				}
				for j := range r.names {
					if r.names[j] == name {
						vals[j], r.found[j] = touchpoint.ParseJSONValue(v), true
					}
				}
			}
			dec.ReadToken()
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return
		}
		for j := range r.names {
			if r.names[j] == key {
				r.top[j] = append(r.top[j][:0], v...)
			}
		}
	}
	for j := range r.names {
		if !r.found[j] && len(r.top[j]) > 0 {
			vals[j] = touchpoint.ParseJSONValue(r.top[j])
		}
	}
}

// userProperty evaluates a user property condition on the users' current
// properties (platform and country: the columns their events keep).
func (e *evaluator) userProperty(c *touchpoint.ValueCondition) (*userSet, error) {
	query := `/* cohort user property */ SELECT u.id, p.props -> ? FROM users u JOIN user_props p ON p.version = u.props_version
		WHERE u.project = ? AND u.merged_into IS NULL AND u.props_version > 0`
	args := []any{`$."` + c.Property + `"`, e.project}
	builtin := slices.Contains(touchpoint.BuiltinUserProperties, c.Property)
	if builtin {
		// The column's name, from the fixed list.
		// A user that has none takes one of its merged users'.
		col := `coalesce(u.` + c.Property + `, (SELECT m.` + c.Property + ` FROM users m WHERE m.merged_into = u.id AND m.` + c.Property + ` IS NOT NULL LIMIT 1))`
		query = `/* cohort builtin property */ SELECT id, json_quote(v) FROM (SELECT u.id, ` + col + ` AS v FROM users u
			WHERE u.project = ? AND u.merged_into IS NULL) WHERE v IS NOT NULL`
		args = args[1:]
	}
	out, failing := e.empty(), e.empty()
	err := e.scan(query, args, func(rows *sql.Rows) error {
		var id int64
		var raw sql.RawBytes
		if err := rows.Scan(&id, &raw); err != nil {
			return err
		}
		if c.Match(touchpoint.ParseJSONValue(raw)) {
			out.add(id)
		} else {
			failing.add(id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.Match(nil) {
		// Users without the property meet it too.
		out = e.users.clone()
		out.andNot(failing)
	}
	return out, nil
}

// firstSeen evaluates a first-seen range: a user is first seen with the
// earliest of its own and its merged users' first events.
func (e *evaluator) firstSeen(r *touchpoint.TimeRange) (*userSet, error) {
	start, end := r.Bounds(e.now)
	out := e.empty()
	err := e.scan(`/* cohort first seen */ SELECT coalesce(merged_into, id), min(first_seen) FROM users WHERE project = ? GROUP BY 1`,
		[]any{e.project}, func(rows *sql.Rows) error {
			var id, first int64
			if err := rows.Scan(&id, &first); err != nil {
				return err
			}
			if first >= start && first < end {
				out.add(id)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	out.and(e.users)
	return out, err
}

// scan runs a query in the evaluator's transaction and calls fn for each
// row.
func (e *evaluator) scan(query string, args []any, fn func(*sql.Rows) error) error {
	return eachRow(e.ctx, e.q, query, args, fn)
}
