package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
	"golang.org/x/sync/errgroup"
)

// Charts read the events as columns (touchpoint.ChartSource). The store
// keeps the narrow events table in memory, column by column (chartIndex,
// 20 bytes an event), loaded by a background task from the start and
// caught up with the table before each scan; a user property's value on
// each version of users' properties is worked out once asked for and
// kept the same way, and so is the events' revenue (from their blocks,
// once). Other event properties are read from the stored events in their
// blocks, only those of the events a scan returns. Users come from the
// analytics writer's memory.

var _ touchpoint.ChartSource = (*DB)(nil)

// chartBatch is how many events a batch holds at most.
const chartBatch = 1 << 16

// A load of more than splitAbove rows reads them in as many parts as
// there are processors, each on a read connection of its own (a test
// sets both).
var (
	splitAbove int64 = 200_000
	splitInto        = runtime.GOMAXPROCS
)

// loadParts is how many parts a load of n rows reads in.
func loadParts(n int64) int {
	if n > splitAbove {
		return max(1, splitInto(0))
	}
	return 1
}

// chartIndex is the events table in memory: event id i is at position
// i-1 (a position no event took holds type 0, no type's). An event's
// project is its type's.
type chartIndex struct {
	mu      sync.RWMutex
	user    []int32
	typ     []int32
	version []int32
	time    []int64
	// typeName and typeProject are by event type id.
	typeName    []string
	typeProject []int32
	// props are user properties by name: their value on each version.
	props map[string]*versionColumn
	uses  int64
	// revenue is the events' revenue, once asked for.
	revenue *revenueColumn
}

// versionColumn is a user property's value on each version of users'
// properties (codes[v], 0: none), versions up to len(codes)-1 read: the
// versions of the first events events (those loaded when it last caught
// up; the writer adds events, not versions).
type versionColumn struct {
	codes  []int32
	dict   touchpoint.Dict
	events int
	used   int64 // when a scan last asked for it (chartIndex.uses)
}

// maxPropColumns bounds the user properties kept as columns: asking for
// one more drops the one asked for least recently.
const maxPropColumns = 16

// catchUp reads the events, event types and versions of users'
// properties stored since it last did; props are user properties to keep
// columns of from now on, returned (a column dropped later for another
// stays whole for the scan that holds it).
func (x *chartIndex) catchUp(ctx context.Context, q querier, props []string) (map[string]*versionColumn, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.props == nil {
		x.props = map[string]*versionColumn{}
	}
	// Every event up to the newest id now: the columns take their size at
	// once, and the rows go to their places, several ranges at a time on
	// a first load (the read pool has connections for them).
	var top sql.NullInt64
	if err := q.QueryRowContext(ctx, `/* chart events */ SELECT max(id) FROM events`).Scan(&top); err != nil {
		return nil, err
	}
	from, to := int64(len(x.time))+1, top.Int64
	if to > math.MaxInt32 {
		return nil, fmt.Errorf("event %d: ids past 2^31 are beyond the chart index", to)
	}
	if to >= from {
		x.grow(int(to))
		parts := loadParts(to - from)
		g, gctx := errgroup.WithContext(ctx)
		step := (to - from + int64(parts)) / int64(parts)
		for lo := from; lo <= to; lo += step {
			hi := min(lo+step-1, to)
			g.Go(func() error { return x.loadEvents(gctx, q, lo, hi) })
		}
		if err := g.Wait(); err != nil {
			x.shrink(int(from - 1)) // loaded again next time
			return nil, err
		}
	}
	// The types, read after the events: every event loaded has its type
	// (or, when they cannot be read, the events are not loaded either).
	err := eachRow(ctx, q, `/* chart event types */ SELECT id, project, name FROM event_types WHERE id >= ? ORDER BY id`, []any{len(x.typeName)},
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
		x.shrink(int(from - 1))
		return nil, err
	}
	// Every property column covers the versions of every event loaded,
	// so a scan that caught up before another loaded events finds each
	// event's version in its columns.
	for _, name := range props {
		x.uses++
		if c := x.props[name]; c != nil {
			c.used = x.uses
			continue
		}
		if len(x.props) >= maxPropColumns {
			var oldest string
			for n, c := range x.props {
				if !slices.Contains(props, n) && (oldest == "" || c.used < x.props[oldest].used) {
					oldest = n
				}
			}
			delete(x.props, oldest)
		}
		x.props[name] = &versionColumn{codes: []int32{0}, used: x.uses} // version 0: no properties
	}
	cols := make(map[string]*versionColumn, len(props))
	for _, name := range props {
		cols[name] = x.props[name]
	}
	if len(x.props) == 0 {
		return cols, nil
	}
	var newest sql.NullInt64
	if err := q.QueryRowContext(ctx, `/* chart user property */ SELECT max(version) FROM user_props`).Scan(&newest); err != nil {
		return nil, err
	}
	if newest.Int64 > math.MaxInt32 {
		return nil, fmt.Errorf("version %d: ids past 2^31 are beyond the chart index", newest.Int64)
	}
	for name, c := range x.props {
		if err := c.catchUp(ctx, q, name, newest.Int64); err != nil {
			return nil, err
		}
		c.events = len(x.time)
	}
	return cols, nil
}

// catchUp works out the property's value on the versions after those
// it has, up to newest: a long run in several parts at once, each with a
// dictionary of its own, merged after.
func (c *versionColumn) catchUp(ctx context.Context, q querier, name string, newest int64) error {
	from := int64(len(c.codes))
	if newest < from {
		return nil
	}
	parts := loadParts(newest - from)
	codes := growTo(c.codes, int(newest)+1)
	clear(codes[from:]) // a version no row has keeps 0, whatever a failed load left
	dicts := make([]touchpoint.Dict, parts)
	step := (newest - from + int64(parts)) / int64(parts)
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		lo := from + int64(i)*step
		hi := min(lo+step-1, newest)
		g.Go(func() error {
			var mr memberReader
			var raw []byte
			return eachRow(gctx, q, `/* chart user property */ SELECT version, props FROM user_props WHERE version BETWEEN ? AND ?`, []any{lo, hi},
				func(rows *sql.Rows) error {
					var v int64
					var props sql.RawBytes
					if err := rows.Scan(&v, &props); err != nil {
						return err
					}
					raw = mr.member(raw[:0], props, name)
					codes[v] = dicts[i].Code(raw)
					return nil
				})
		})
	}
	if err := g.Wait(); err != nil {
		return err // c is as it was: codes past its length are not its
	}
	// The parts' codes become the column's.
	for i := range dicts {
		remap := make([]int32, len(dicts[i].Values)+1)
		for text, local := range dicts[i].Codes() {
			remap[local] = c.dict.Code([]byte(text))
		}
		lo := from + int64(i)*step
		hi := min(lo+step-1, newest)
		for v := lo; v <= hi; v++ {
			codes[v] = remap[codes[v]]
		}
	}
	c.codes = codes
	return nil
}

// add appends a commit's events to the columns, and their revenue, when
// they come right after the last loaded and no scan holds the columns:
// the writer never waits for a chart. Otherwise the next catch-up reads
// them from the tables.
func (x *chartIndex) add(w *amp.Writes) {
	if len(w.Events) == 0 && len(w.Types) == 0 || !x.mu.TryLock() {
		return
	}
	defer x.mu.Unlock()
	for _, t := range w.Types {
		if t.ID != int64(len(x.typeName)) || t.ID > math.MaxInt32 {
			return // the catch-up reads them, and the events after them
		}
		x.typeName, x.typeProject = append(x.typeName, t.Name), append(x.typeProject, int32(t.Project))
	}
	if len(w.Events) == 0 || w.Events[0].ID != int64(len(x.time))+1 || w.Events[len(w.Events)-1].ID > math.MaxInt32 {
		return
	}
	// The revenue follows only when it has read every block before, and
	// takes the commit's (one block) whole or not at all.
	rev := x.revenue
	if rev != nil && rev.upTo != int64(len(x.time)) {
		rev = nil
	}
	var pos []int32
	var amount []float64
	for i := range w.Events {
		e := &w.Events[i]
		if e.ID != int64(len(x.time))+1 || int(e.Type) >= len(x.typeName) {
			return // not in order: the catch-up reads the rest
		}
		x.user, x.version = append(x.user, int32(e.User)), append(x.version, int32(e.Version))
		x.typ, x.time = append(x.typ, int32(e.Type)), append(x.time, e.Time)
		if rev != nil {
			if v, ok := storedRevenue(e.Data); ok {
				pos, amount = append(pos, int32(e.ID-1)), append(amount, v)
			}
		}
	}
	if rev != nil {
		rev.pos, rev.amount = append(rev.pos, pos...), append(rev.amount, amount...)
		rev.upTo = int64(len(x.time))
	}
}

// storedRevenue reads a stored event's revenue: its top-level revenue
// member (most events have none, and are not parsed).
func storedRevenue(data []byte) (float64, bool) {
	if !bytes.Contains(data, []byte(`"revenue"`)) {
		return 0, false
	}
	pr := revenueReaders.Get().(*touchpoint.PropReader)
	defer revenueReaders.Put(pr)
	return touchpoint.NumberOf(touchpoint.ParseJSONValue(pr.ReadRaw(data)[0]))
}

// revenueReaders read the top-level revenue of stored events.
var revenueReaders = sync.Pool{New: func() any {
	return touchpoint.NewPropReader([]string{"revenue"}, []bool{true})
}}

// grow lengthens the columns to n events; a position no row fills keeps
// type 0, no type's.
func (x *chartIndex) grow(n int) {
	x.user = growTo(x.user, n)
	x.typ = growTo(x.typ, n)
	x.version = growTo(x.version, n)
	x.time = growTo(x.time, n)
}

// shrink cuts the columns back to n events.
func (x *chartIndex) shrink(n int) {
	x.user, x.typ, x.version, x.time = x.user[:n], x.typ[:n], x.version[:n], x.time[:n]
}

func growTo[T any](s []T, n int) []T {
	s = slices.Grow(s, n-len(s))
	return s[:n]
}

// loadEvents reads the events with ids from lo to hi into their
// positions. The user and the version share a column of the query (each
// below 2^31, as every id the store gives is), which saves SQLite work
// per row.
func (x *chartIndex) loadEvents(ctx context.Context, q querier, lo, hi int64) error {
	return eachRow(ctx, q, `/* chart events */ SELECT id, user << 32 | props, type, time FROM events WHERE id BETWEEN ? AND ?`,
		[]any{lo, hi}, func(rows *sql.Rows) error {
			var id, uv, typ, t int64
			if err := rows.Scan(&id, &uv, &typ, &t); err != nil {
				return err
			}
			if uv < 0 || typ > math.MaxInt32 {
				return fmt.Errorf("event %d: a user or type id past 2^31 is beyond the chart index", id)
			}
			i := id - 1
			x.user[i], x.version[i], x.typ[i], x.time[i] = int32(uv>>32), int32(uv), int32(typ), t
			return nil
		})
}

// memberReader reads one member of JSON objects, reusing its decoder.
type memberReader struct {
	rd  bytes.Reader
	dec *jsontext.Decoder
}

// member appends to dst the JSON of an object's member (the last one of
// that name), nothing when it has none.
func (r *memberReader) member(dst, object []byte, name string) []byte {
	r.rd.Reset(object)
	if r.dec == nil {
		r.dec = jsontext.NewDecoder(&r.rd, readOptions...)
	} else {
		r.dec.Reset(&r.rd, readOptions...)
	}
	dec := r.dec
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
		roots[id] = touchpoint.Survivor(roots, into)
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
	// Where each column comes from: user properties from their versions,
	// revenue from its column, the rest from the events' blocks.
	const (
		fromBlock = iota
		fromVersion
		fromRevenue
	)
	from := make([]int, len(scan.Props))
	var userProps []string
	var blockProps []int // indexes in scan.Props
	revenue := -1
	for i, p := range scan.Props {
		switch {
		case p.Versioned():
			from[i] = fromVersion
			userProps = append(userProps, p.Name)
		case p.Top && p.Name == "revenue":
			from[i], revenue = fromRevenue, i
		default:
			blockProps = append(blockProps, i)
		}
	}
	x := &db.charts
	propCols, err := x.catchUp(ctx, db.read, userProps)
	if err != nil {
		return err
	}
	if revenue >= 0 {
		if err := x.catchUpRevenue(ctx, db.read); err != nil {
			return err
		}
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
		if from[i] == fromVersion {
			cols[i] = propCols[p.Name]
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
	// The events every column read has: those a column was last caught
	// up for (the writer may have added some since).
	limit := len(x.time)
	for _, c := range cols {
		if c != nil {
			limit = min(limit, c.events)
		}
	}
	rev := x.revenue
	if revenue >= 0 {
		limit = min(limit, int(rev.upTo))
	}
	var raw []byte
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
		r := 0 // the revenue entries walk along with the positions
		if revenue >= 0 {
			r, _ = slices.BinarySearch(rev.pos, pos[0])
		}
		for k, p := range pos {
			u := x.user[p]
			if root, ok := roots[u]; ok {
				u = root
			}
			b.User[k], b.Type[k], b.Time[k] = int64(u), want[x.typ[p]]-1, x.time[p]
			for i, c := range cols {
				if c != nil {
					b.Props[i][k] = c.codes[x.version[p]]
				}
			}
			if revenue >= 0 {
				for r < len(rev.pos) && rev.pos[r] < p {
					r++
				}
				var code int32
				if r < len(rev.pos) && rev.pos[r] == p {
					raw = strconv.AppendFloat(raw[:0], rev.amount[r], 'g', -1, 64)
					code = b.Dicts[revenue].Code(raw)
				}
				b.Props[revenue][k] = code
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
		if len(scan.Require) > 0 {
			b.Keep(func(i int) bool {
				for _, j := range scan.Require {
					if b.Props[j][i] == 0 {
						return false
					}
				}
				return true
			})
		}
		return fn(b)
	}
	// want holds only the project's types: the type tells the project.
	take := func(p int) error {
		if want[x.typ[p]] == 0 {
			return nil
		}
		if t := x.time[p]; t < scan.Start || t >= scan.End {
			return nil
		}
		pos = append(pos, int32(p))
		if len(pos) < chartBatch {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		return ctx.Err()
	}
	if revenue >= 0 && slices.Contains(scan.Require, revenue) {
		// Only events with revenue: those of its column.
		for _, p := range rev.pos {
			if int(p) >= limit {
				break
			}
			if err := take(int(p)); err != nil {
				return err
			}
		}
		return flush()
	}
	for p := range limit {
		if err := take(p); err != nil {
			return err
		}
	}
	return flush()
}

// revenueColumn is the events' revenue: the positions of the events that
// have one, ascending, and its amount; the blocks of events up to upTo
// read.
type revenueColumn struct {
	upTo   int64
	pos    []int32
	amount []float64
}

// refresh returns the background task's round: every column caught up
// (a first round loads them all).
func (x *chartIndex) refresh(q querier) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := x.catchUp(ctx, q, nil); err != nil {
			return err
		}
		return x.catchUpRevenue(ctx, q)
	}
}

// catchUpRevenue reads the revenue of the events loaded since it last
// did: on the first call, every event's, from the blocks (seconds for 10
// million events).
func (x *chartIndex) catchUpRevenue(ctx context.Context, q querier) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.revenue == nil {
		x.revenue = &revenueColumn{}
	}
	return x.revenue.catchUp(ctx, q, int64(len(x.time)))
}

// catchUp reads the revenue of the events in the blocks after upTo, up
// to the one ending at last, several ranges at a time when there are
// many.
func (c *revenueColumn) catchUp(ctx context.Context, q querier, last int64) error {
	if last <= c.upTo {
		return nil
	}
	parts := loadParts(last - c.upTo)
	found := make([]revenueColumn, parts)
	step := (last - c.upTo + int64(parts) - 1) / int64(parts)
	g, gctx := errgroup.WithContext(ctx)
	for i := range parts {
		lo := c.upTo + int64(i)*step // blocks starting after lo
		hi := min(lo+step, last)     // and starting at or before hi
		g.Go(func() error { return found[i].read(gctx, q, lo, hi, last) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range found {
		c.pos, c.amount = append(c.pos, f.pos...), append(c.amount, f.amount...)
	}
	c.upTo = last
	return nil
}

// read appends the revenue of the events of the blocks that start after
// lo and at or before hi and end by last.
func (c *revenueColumn) read(ctx context.Context, q querier, lo, hi, last int64) error {
	var block []byte
	return eachRow(ctx, q, `/* chart revenue */ SELECT first_id, data FROM event_blocks WHERE first_id > ? AND first_id <= ? AND last_id <= ? ORDER BY first_id`,
		[]any{lo, hi, last}, func(rows *sql.Rows) error {
			var first int64
			var stored sql.RawBytes
			if err := rows.Scan(&first, &stored); err != nil {
				return err
			}
			var err error
			if block, err = decompressBlockInto(block, stored); err != nil {
				return fmt.Errorf("block %d: %w", first, err)
			}
			for at, id := 0, first; at < len(block); id++ {
				_, data, n, err := nextBlockEvent(block[at:])
				if err != nil {
					return fmt.Errorf("block %d: %w", first, err)
				}
				at += n
				if v, ok := storedRevenue(data); ok {
					c.pos, c.amount = append(c.pos, int32(id-1)), append(c.amount, v)
				}
			}
			return nil
		})
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
	pr    *touchpoint.PropReader
	raws  [][]byte
	block []byte
}

func newBlockReader(db *DB, ctx context.Context, refs []touchpoint.PropertyRef) *blockReader {
	names := make([]string, len(refs))
	top := make([]bool, len(refs))
	for i, r := range refs {
		names[i] = r.Name
		// A built-in user property is the event's own field.
		top[i] = r.TopOnly()
	}
	r := &blockReader{db: db, ctx: ctx, pr: touchpoint.NewPropReader(names, top)}
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
				r.raws = r.pr.ReadRaw(data)
				for j := range out {
					out[j][i] = dicts[j].Code(r.raws[j])
				}
				i++
			}
			return nil
		})
}

// CountUsers counts a project's users that are not merged into another.
func (db *DB) CountUsers(ctx context.Context, project int64) (int64, error) {
	if err := db.checkProject(ctx, project); err != nil {
		return 0, err
	}
	db.amu.Lock()
	defer db.amu.Unlock()
	if err := db.currentAnalytics(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, u := range db.an.users {
		if u.Project == project && u.Merged == 0 {
			n++
		}
	}
	return n, nil
}

// ScanUsers scans a project's users not merged into another
// (touchpoint.ChartSource): from the analytics writer's memory, which
// holds every user, brought up to the last commit; platform and country
// from the table.
func (db *DB) ScanUsers(ctx context.Context, project int64, props []string, fn func(*touchpoint.UserBatch) error) error {
	if err := db.checkProject(ctx, project); err != nil {
		return err
	}
	var stored []string
	builtin := make([]int, len(props)) // index in BuiltinUserProperties+1; 0: a stored property
	for i, p := range props {
		if j := slices.Index(touchpoint.BuiltinUserProperties, p); j >= 0 {
			builtin[i] = j + 1
		} else {
			stored = append(stored, p)
		}
	}
	type user struct {
		id, first int64
		version   int32
	}
	var users []user
	merged := map[int64]int64{}
	firsts := map[int64]int64{}
	err := func() error {
		db.amu.Lock()
		defer db.amu.Unlock()
		if err := db.currentAnalytics(ctx); err != nil {
			return err
		}
		for _, u := range db.an.users {
			switch {
			case u.Project != project:
			case u.Merged != 0:
				merged[u.ID], firsts[u.ID] = u.Merged, u.FirstSeen
			default:
				users = append(users, user{id: u.ID, first: u.FirstSeen, version: int32(u.Version)})
			}
		}
		return nil
	}()
	if err != nil {
		return err
	}
	// The columns, caught up after the memory was read, hold every
	// version its users have.
	x := &db.charts
	propCols, err := x.catchUp(ctx, db.read, stored)
	if err != nil {
		return err
	}
	// A user's first seen is the earliest of the users merged into it.
	index := make(map[int64]int, len(users))
	for i, u := range users {
		index[u.id] = i
	}
	for id, into := range merged {
		if i, ok := index[touchpoint.Survivor(merged, into)]; ok {
			users[i].first = min(users[i].first, firsts[id])
		}
	}
	// Platform and country: the user's, else one of its merged users'.
	var builtins map[int64][2]sql.NullString
	if slices.ContainsFunc(builtin, func(b int) bool { return b > 0 }) {
		builtins = map[int64][2]sql.NullString{}
		err := eachRow(ctx, db.read, `/* chart users' platform, country */ SELECT id, coalesce(merged_into, 0), platform, country FROM users
			WHERE project = ? AND (platform IS NOT NULL OR country IS NOT NULL) ORDER BY merged_into IS NOT NULL`, []any{project}, func(rows *sql.Rows) error {
			var id, into int64
			var b [2]sql.NullString
			if err := rows.Scan(&id, &into, &b[0], &b[1]); err != nil {
				return err
			}
			if into != 0 {
				id = touchpoint.Survivor(merged, into)
			}
			cur := builtins[id]
			for j := range cur {
				if !cur[j].Valid {
					cur[j] = b[j]
				}
			}
			builtins[id] = cur
			return nil
		})
		if err != nil {
			return err
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := &touchpoint.UserBatch{Props: make([][]int32, len(props)), Dicts: make([]*touchpoint.Dict, len(props))}
	cols := make([]*versionColumn, len(props))
	for i, p := range props {
		if builtin[i] > 0 {
			b.Dicts[i] = &touchpoint.Dict{}
		} else {
			cols[i] = propCols[p]
			b.Dicts[i] = snapshot(&cols[i].dict)
		}
	}
	var raw []byte
	for lo := 0; lo < len(users); lo += chartBatch {
		part := users[lo:min(lo+chartBatch, len(users))]
		b.Reset()
		for _, u := range part {
			b.User = append(b.User, u.id)
			b.FirstSeen = append(b.FirstSeen, u.first)
			for i := range props {
				var c int32
				if cols[i] != nil {
					c = cols[i].codes[u.version]
				} else if s := builtins[u.id][builtin[i]-1]; s.Valid {
					raw, _ = jsontext.AppendQuote(raw[:0], s.String)
					c = b.Dicts[i].Code(raw)
				}
				b.Props[i] = append(b.Props[i], c)
			}
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}
