package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// Charts read the events as columns (touchpoint.ChartSource). The store
// keeps the narrow events table in memory, column by column (chartIndex,
// 24 bytes an event), catching up with the table before each scan; a
// user property's value on each version of users' properties is worked
// out once and kept the same way. Event properties are read from the
// stored events in their blocks, only those of the events a scan
// returns.

var _ touchpoint.ChartSource = (*DB)(nil)

// chartBatch is how many events a batch holds at most.
const chartBatch = 1 << 16

// chartIndex is the events table in memory: event id i is at position
// i-1 (a position no event took holds project 0).
type chartIndex struct {
	mu      sync.RWMutex
	project []int32
	user    []int32
	typ     []int32
	version []int32
	time    []int64
	// typeName and typeProject are by event type id.
	typeName    []string
	typeProject []int32
	// props are user properties by name: their value on each version.
	props map[string]*versionColumn
}

// versionColumn is a user property's value on each version of users'
// properties (codes[v], 0: none), versions up to len(codes)-1 read.
type versionColumn struct {
	codes []int32
	dict  touchpoint.Dict
}

// catchUp reads the events, event types and versions of the named
// properties stored since it last did.
func (x *chartIndex) catchUp(ctx context.Context, q querier, props []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.props == nil {
		x.props = map[string]*versionColumn{}
	}
	next := int64(len(x.project)) + 1
	// The first load takes the columns' size at once.
	var top sql.NullInt64
	if err := q.QueryRowContext(ctx, `/* chart events */ SELECT max(id) FROM events`).Scan(&top); err != nil {
		return err
	}
	if grow := int(top.Int64) - len(x.project); grow > 0 && len(x.project) == 0 {
		x.project, x.user, x.typ = slices.Grow(x.project, grow), slices.Grow(x.user, grow), slices.Grow(x.typ, grow)
		x.version, x.time = slices.Grow(x.version, grow), slices.Grow(x.time, grow)
	}
	err := eachRow(ctx, q, `/* chart events */ SELECT id, project, user, type, time, props FROM events WHERE id >= ? ORDER BY id`, []any{next},
		func(rows *sql.Rows) error {
			var id, project, user, typ, t, version int64
			if err := rows.Scan(&id, &project, &user, &typ, &t, &version); err != nil {
				return err
			}
			if id > math.MaxInt32 || user > math.MaxInt32 || typ > math.MaxInt32 || version > math.MaxInt32 || project > math.MaxInt32 {
				return fmt.Errorf("event %d: ids past 2^31 are beyond the chart index", id)
			}
			for int64(len(x.project))+1 < id { // an id no event took
				x.append(0, 0, 0, 0, 0)
			}
			x.append(int32(project), int32(user), int32(typ), int32(version), t)
			return nil
		})
	if err != nil {
		return err
	}
	err = eachRow(ctx, q, `/* chart event types */ SELECT id, project, name FROM event_types WHERE id >= ? ORDER BY id`, []any{len(x.typeName)},
		func(rows *sql.Rows) error {
			var id, project int64
			var name string
			if err := rows.Scan(&id, &project, &name); err != nil {
				return err
			}
			if id > math.MaxInt32 {
				return fmt.Errorf("event type %d: ids past 2^31 are beyond the chart index", id)
			}
			for int64(len(x.typeName)) < id {
				x.typeName, x.typeProject = append(x.typeName, ""), append(x.typeProject, 0)
			}
			x.typeName, x.typeProject = append(x.typeName, name), append(x.typeProject, int32(project))
			return nil
		})
	if err != nil {
		return err
	}
	for _, name := range props {
		c := x.props[name]
		if c == nil {
			c = &versionColumn{codes: []int32{0}} // version 0: no properties
			x.props[name] = c
		}
		var raw []byte
		err := eachRow(ctx, q, `/* chart user property */ SELECT version, props FROM user_props WHERE version >= ? ORDER BY version`, []any{len(c.codes)},
			func(rows *sql.Rows) error {
				var v int64
				var props sql.RawBytes
				if err := rows.Scan(&v, &props); err != nil {
					return err
				}
				if v > math.MaxInt32 {
					return fmt.Errorf("version %d: ids past 2^31 are beyond the chart index", v)
				}
				for int64(len(c.codes)) < v {
					c.codes = append(c.codes, 0)
				}
				raw = topMember(raw[:0], props, name)
				c.codes = append(c.codes, c.dict.Code(raw))
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *chartIndex) append(project, user, typ, version int32, t int64) {
	x.project = append(x.project, project)
	x.user = append(x.user, user)
	x.typ = append(x.typ, typ)
	x.version = append(x.version, version)
	x.time = append(x.time, t)
}

// topMember appends to dst the JSON of an object's member (the last one
// of that name), nothing when it has none.
func topMember(dst, object []byte, name string) []byte {
	dec := jsontext.NewDecoder(bytes.NewReader(object), readOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return dst
	}
	n := len(dst)
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return dst[:n]
		}
		if tok.String() != name {
			if dec.SkipValue() != nil {
				return dst[:n]
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return dst[:n]
		}
		dst = append(dst[:n], v...)
	}
	return dst
}

// snapshot is a dictionary's values as they stand: later codes are not
// in it, and what the store adds later does not touch it.
func snapshot(d *touchpoint.Dict) *touchpoint.Dict {
	return &touchpoint.Dict{Values: d.Values[:len(d.Values):len(d.Values)]}
}

// chartRoots returns a project's merged users mapped to the users they
// were merged into (a user not in it counts for itself).
func (db *DB) chartRoots(ctx context.Context, project int64) (map[int32]int32, error) {
	roots := map[int32]int32{}
	err := eachRow(ctx, db.read, `/* chart merged users */ SELECT id, merged_into FROM users WHERE project = ? AND merged_into IS NOT NULL`, []any{project},
		func(rows *sql.Rows) error {
			var id, into int64
			if err := rows.Scan(&id, &into); err != nil {
				return err
			}
			roots[int32(id)] = int32(into)
			return nil
		})
	// A merge into a user merged since counts for the last one.
	for id, into := range roots {
		for hops := 0; hops < 64; hops++ {
			next, ok := roots[into]
			if !ok {
				break
			}
			into = next
		}
		roots[id] = into
	}
	return roots, err
}

func (db *DB) checkProject(ctx context.Context, project int64) error {
	var one int
	err := db.read.QueryRowContext(ctx, `/* chart project */ SELECT 1 FROM projects WHERE id = ?`, project).Scan(&one)
	return errNoRows(err, "project %d not found", project)
}

// ScanEvents scans a project's events (touchpoint.ChartSource).
func (db *DB) ScanEvents(ctx context.Context, project int64, scan *touchpoint.EventScan, fn func(*touchpoint.EventBatch) error) error {
	if err := db.checkProject(ctx, project); err != nil {
		return err
	}
	// The columns to read: user properties from their versions, the rest
	// from the events' blocks.
	var userProps []string
	var blockProps []int // indexes in scan.Props
	for i, p := range scan.Props {
		if p.User && !slices.Contains(touchpoint.BuiltinUserProperties, p.Name) {
			userProps = append(userProps, p.Name)
		} else {
			blockProps = append(blockProps, i)
		}
	}
	x := &db.charts
	if err := x.catchUp(ctx, db.read, userProps); err != nil {
		return err
	}
	roots, err := db.chartRoots(ctx, project)
	if err != nil {
		return err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()

	// The types asked for, by id: their index in TypeNames.
	want := make([]int32, len(x.typeName)) // index+1; 0: not wanted
	var names []string
	if len(scan.Types) > 0 {
		names = scan.Types
	}
	for id, name := range x.typeName {
		if x.typeProject[id] != int32(project) || name == "" {
			continue
		}
		if len(scan.Types) == 0 {
			names = append(names, name)
			want[id] = int32(len(names))
		} else if i := slices.Index(scan.Types, name); i >= 0 {
			want[id] = int32(i + 1)
		}
	}
	b := &touchpoint.EventBatch{TypeNames: names, Props: make([][]int32, len(scan.Props)), Dicts: make([]*touchpoint.Dict, len(scan.Props))}
	cols := make([]*versionColumn, len(scan.Props))
	for i, p := range scan.Props {
		if p.User && !slices.Contains(touchpoint.BuiltinUserProperties, p.Name) {
			cols[i] = x.props[p.Name]
			b.Dicts[i] = snapshot(&cols[i].dict)
		} else {
			b.Dicts[i] = &touchpoint.Dict{}
		}
	}
	var blocks *blockReader
	if len(blockProps) > 0 {
		refs := make([]touchpoint.PropertyRef, len(blockProps))
		for j, i := range blockProps {
			refs[j] = scan.Props[i]
		}
		blocks = newBlockReader(db, ctx, refs)
	}
	pos := make([]int32, 0, chartBatch)
	flush := func() error {
		if len(pos) == 0 {
			return nil
		}
		n := len(pos)
		b.User, b.Type, b.Time = resize(b.User, n), resize(b.Type, n), resize(b.Time, n)
		for i := range b.Props {
			b.Props[i] = resize(b.Props[i], n)
		}
		for k, p := range pos {
			u := x.user[p]
			if r, ok := roots[u]; ok {
				u = r
			}
			b.User[k], b.Type[k], b.Time[k] = int64(u), want[x.typ[p]]-1, x.time[p]
			for i, c := range cols {
				if c != nil {
					b.Props[i][k] = c.codes[x.version[p]]
				}
			}
		}
		if blocks != nil {
			out := make([][]int32, len(blockProps))
			dicts := make([]*touchpoint.Dict, len(blockProps))
			for j, i := range blockProps {
				out[j], dicts[j] = b.Props[i], b.Dicts[i]
			}
			if err := blocks.read(pos, out, dicts); err != nil {
				return err
			}
		}
		pos = pos[:0]
		return fn(b)
	}
	proj := int32(project)
	for p, pr := range x.project {
		if pr != proj {
			continue
		}
		if t := x.time[p]; t < scan.Start || t >= scan.End {
			continue
		}
		if want[x.typ[p]] == 0 {
			continue
		}
		pos = append(pos, int32(p))
		if len(pos) == chartBatch {
			if err := flush(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// blockReader reads properties of stored events from their blocks.
type blockReader struct {
	db    *DB
	ctx   context.Context
	pr    *propReader
	raws  [][]byte
	block []byte
}

func newBlockReader(db *DB, ctx context.Context, refs []touchpoint.PropertyRef) *blockReader {
	names := make([]string, len(refs))
	top := make([]bool, len(refs))
	for i, r := range refs {
		names[i] = r.Name
		// A built-in user property is the event's own field.
		top[i] = r.Top || r.User
	}
	r := &blockReader{db: db, ctx: ctx, pr: newPropReader(names), raws: make([][]byte, len(refs))}
	r.pr.topOnly = top
	return r
}

// read sets out[j][k] to the code in dicts[j] of property j of the event
// at position pos[k] (id pos[k]+1); pos ascends.
func (r *blockReader) read(pos []int32, out [][]int32, dicts []*touchpoint.Dict) error {
	i := 0
	return eachRow(r.ctx, r.db.read, `/* chart event blocks */ SELECT first_id, last_id, data FROM event_blocks WHERE last_id >= ? AND first_id <= ? ORDER BY first_id`,
		[]any{int64(pos[0]) + 1, int64(pos[len(pos)-1]) + 1}, func(rows *sql.Rows) error {
			var first, last int64
			var stored sql.RawBytes
			if err := rows.Scan(&first, &last, &stored); err != nil {
				return err
			}
			if i == len(pos) || int64(pos[i])+1 > last {
				return nil // none of these in this block: not decompressed
			}
			var err error
			if r.block, err = decompressBlockInto(r.block, stored); err != nil {
				return fmt.Errorf("block %d: %w", first, err)
			}
			at := 0
			for id := first; i < len(pos) && int64(pos[i])+1 <= last; id++ {
				_, data, n, err := nextBlockEvent(r.block[at:])
				if err != nil {
					return fmt.Errorf("block %d: %w", first, err)
				}
				at += n
				if id < int64(pos[i])+1 {
					continue
				}
				r.pr.readRaw(data, r.raws)
				for j := range out {
					out[j][i] = dicts[j].Code(r.raws[j])
				}
				i++
			}
			return nil
		})
}

// ScanUsers scans a project's users not merged into another
// (touchpoint.ChartSource).
func (db *DB) ScanUsers(ctx context.Context, project int64, props []string, fn func(*touchpoint.UserBatch) error) error {
	if err := db.checkProject(ctx, project); err != nil {
		return err
	}
	var stored []string
	for _, p := range props {
		if !slices.Contains(touchpoint.BuiltinUserProperties, p) {
			stored = append(stored, p)
		}
	}
	x := &db.charts
	if err := x.catchUp(ctx, db.read, stored); err != nil {
		return err
	}
	type user struct {
		first   int64
		version int32
		builtin [2]sql.NullString // platform, country
	}
	users := map[int64]*user{}
	merged := map[int64]int64{}
	firsts := map[int64]int64{}
	builtins := map[int64][2]sql.NullString{}
	err := eachRow(ctx, db.read, `/* chart users */ SELECT id, coalesce(merged_into, 0), first_seen, props_version, platform, country FROM users WHERE project = ?`,
		[]any{project}, func(rows *sql.Rows) error {
			var id, into, first, version int64
			var b [2]sql.NullString
			if err := rows.Scan(&id, &into, &first, &version, &b[0], &b[1]); err != nil {
				return err
			}
			if into != 0 {
				merged[id], firsts[id], builtins[id] = into, first, b
				return nil
			}
			users[id] = &user{first: first, version: int32(version), builtin: b}
			return nil
		})
	if err != nil {
		return err
	}
	for id, into := range merged {
		for hops := 0; hops < 64; hops++ {
			next, ok := merged[into]
			if !ok {
				break
			}
			into = next
		}
		if u := users[into]; u != nil {
			u.first = min(u.first, firsts[id])
			// A built-in property the user lacks is a merged user's.
			for j, s := range builtins[id] {
				if !u.builtin[j].Valid {
					u.builtin[j] = s
				}
			}
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := &touchpoint.UserBatch{Props: make([][]int32, len(props)), Dicts: make([]*touchpoint.Dict, len(props))}
	cols := make([]*versionColumn, len(props))
	for i, p := range props {
		if j := slices.Index(touchpoint.BuiltinUserProperties, p); j >= 0 {
			b.Dicts[i] = &touchpoint.Dict{}
		} else {
			cols[i] = x.props[p]
			b.Dicts[i] = snapshot(&cols[i].dict)
		}
	}
	var raw []byte
	for id, u := range users {
		b.User = append(b.User, id)
		b.FirstSeen = append(b.FirstSeen, u.first)
		for i, p := range props {
			var c int32
			if cols[i] != nil {
				if int(u.version) < len(cols[i].codes) {
					c = cols[i].codes[u.version]
				}
			} else if s := u.builtin[slices.Index(touchpoint.BuiltinUserProperties, p)]; s.Valid {
				raw, _ = jsontext.AppendQuote(raw[:0], s.String)
				c = b.Dicts[i].Code(raw)
			}
			b.Props[i] = append(b.Props[i], c)
		}
		if len(b.User) == chartBatch {
			if err := fn(b); err != nil {
				return err
			}
			b.User, b.FirstSeen = b.User[:0], b.FirstSeen[:0]
			for i := range b.Props {
				b.Props[i] = b.Props[i][:0]
			}
		}
	}
	if len(b.User) == 0 {
		return nil
	}
	return fn(b)
}
