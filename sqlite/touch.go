package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.TouchStore = (*DB)(nil)

// rowsPerInsert bounds the rows of one multi-row INSERT.
const rowsPerInsert = 64

const touchColumns = `id, app_seq, kind, ts, pid, verdict, rejected, data`

type countKey struct {
	app     int64
	pid     string
	hour    int64
	verdict touchpoint.Verdict
}

// RecordTouches stores touches in one transaction and gives them ids. After
// the commit their lookup keys go into memory until the indexer writes them
// to the key tables.
func (db *DB) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	seqs := make([]int64, len(ts))
	keys := make([][]touchpoint.LookupKey, len(ts))
	for i, t := range ts {
		seq, err := db.appSeq(t.App)
		if err != nil {
			return err
		}
		seqs[i] = seq
		keys[i] = t.Keys()
	}

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	ids, err := db.recordTouches(ctx, ts, seqs)
	if err != nil {
		return err
	}
	db.lastID = ids[len(ids)-1]
	for i, t := range ts {
		t.ID = ids[i]
	}
	db.tail.add(ids, keys)
	return nil
}

// span is a run of touches [i, j) of one day, written by one INSERT.
type span struct{ day, i, j int }

func (db *DB) recordTouches(ctx context.Context, ts []*touchpoint.Touch, seqs []int64) (ids []int64, err error) {
	ids = make([]int64, len(ts))
	last := db.lastID
	var spans []span
	for i, t := range ts {
		last = touchpoint.NextTouchID(last, t.Time)
		ids[i] = last
		d := day(touchpoint.TouchIDTime(last))
		if n := len(spans); n == 0 || spans[n-1].day != d || spans[n-1].j-spans[n-1].i == rowsPerInsert {
			spans = append(spans, span{d, i, i})
		}
		spans[len(spans)-1].j++
	}
	// New days get their tables, and statements are prepared, before the
	// transaction: the one write connection is busy while it is open.
	stmts := make([]*sql.Stmt, len(spans))
	for n, sp := range spans {
		if !db.hasPartition(sp.day) {
			if err := db.createPartition(ctx, sp.day); err != nil {
				return nil, err
			}
		}
		if stmts[n], err = db.stmt(ctx, `INSERT INTO `+touchTable(sp.day)+` (`+touchColumns+`) VALUES `+placeholders(sp.j-sp.i, 8)); err != nil {
			return nil, err
		}
	}

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var counts map[countKey]int64
	data := make([]byte, 0, 512*len(ts))
	args := make([]any, 0, 8*rowsPerInsert)
	for n, sp := range spans {
		args = args[:0]
		for k := sp.i; k < sp.j; k++ {
			t := ts[k]
			start := len(data)
			data = t.AppendBinary(data)
			args = append(args, ids[k], seqs[k], int64(t.Kind), t.Time.UnixMilli(), t.PID, int64(t.Verdict), t.Rejected,
				data[start:len(data):len(data)])
			if t.Verdict != touchpoint.VerdictUnchecked {
				if counts == nil {
					counts = make(map[countKey]int64)
				}
				counts[countKey{seqs[k], t.PID, t.Time.Truncate(time.Hour).Unix(), t.Verdict}]++
			}
		}
		if _, err := tx.StmtContext(ctx, stmts[n]).ExecContext(ctx, args...); err != nil {
			return nil, err
		}
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `/* DB.RecordTouches */ INSERT INTO signing_counts (app_seq, pid, hour, verdict, n)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`, k.app, k.pid, k.hour, int64(k.verdict), n); err != nil {
			return nil, err
		}
	}
	return ids, tx.Commit()
}

// FindTouch returns one touch of an app by id.
func (db *DB) FindTouch(ctx context.Context, app string, id int64) (*touchpoint.Touch, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	ts, err := db.touchesByID(ctx, seq, app, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "touch %d of app %s not found", id, app)
	}
	return ts[0], nil
}

// touchesByID reads touches of one app by id, in id order.
func (db *DB) touchesByID(ctx context.Context, seq int64, app string, ids []int64) ([]*touchpoint.Touch, error) {
	byDay := make(map[int][]any)
	for _, id := range ids {
		d := day(touchpoint.TouchIDTime(id))
		byDay[d] = append(byDay[d], id)
	}
	var out []*touchpoint.Touch
	for d, dayIDs := range byDay {
		if !db.hasPartition(d) {
			continue
		}
		for len(dayIDs) > 0 {
			n := min(len(dayIDs), 500)
			args := append([]any{seq}, dayIDs[:n]...)
			ts, err := db.queryTouches(ctx, app, `SELECT `+touchColumns+` FROM `+touchTable(d)+
				` WHERE app_seq = ? AND id IN (`+inList(n)+`)`, args...)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
			dayIDs = dayIDs[n:]
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (db *DB) hasPartition(d int) bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.days[d]
}

func (db *DB) queryTouches(ctx context.Context, app, query string, args ...any) ([]*touchpoint.Touch, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.Touch
	for rows.Next() {
		t, err := scanTouch(rows, app)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func scanTouch(rows *sql.Rows, app string) (*touchpoint.Touch, error) {
	var (
		id, seq, kind, ts, verdict int64
		pid                        string
		rejected                   bool
		data                       []byte
	)
	if err := rows.Scan(&id, &seq, &kind, &ts, &pid, &verdict, &rejected, &data); err != nil {
		return nil, err
	}
	t := &touchpoint.Touch{}
	if err := t.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("touch %d: %w", id, err)
	}
	t.ID, t.App = id, app
	return t, nil
}

// ListTouches returns a page of an app's touches, newest first.
func (db *DB) ListTouches(ctx context.Context, f touchpoint.TouchFilter) ([]*touchpoint.Touch, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []*touchpoint.Touch
	err := db.eachTouch(ctx, f, func(t *touchpoint.Touch) bool {
		out = append(out, t)
		return len(out) <= limit
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// CountTouches counts the touches that match f.
func (db *DB) CountTouches(ctx context.Context, f touchpoint.TouchFilter) (int64, error) {
	seq, err := db.appSeq(f.App)
	if err != nil {
		return 0, err
	}
	f.Before = 0
	if f.DeviceID != "" || f.ClickID != "" {
		var n int64
		err := db.eachTouch(ctx, f, func(*touchpoint.Touch) bool { n++; return true })
		return n, err
	}
	var total int64
	for _, d := range db.partitions(f.From) {
		where, args := scanWhere(seq, f)
		var n int64
		if err := db.read.QueryRowContext(ctx, `/* DB.CountTouches */ SELECT count(*) FROM `+touchTable(d)+where, args...).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// eachTouch calls fn for the touches that match f (Limit aside), newest
// first, until fn returns false.
func (db *DB) eachTouch(ctx context.Context, f touchpoint.TouchFilter, fn func(*touchpoint.Touch) bool) error {
	seq, err := db.appSeq(f.App)
	if err != nil {
		return err
	}
	if f.DeviceID != "" || f.ClickID != "" {
		var keys []touchpoint.LookupKey
		if f.DeviceID != "" {
			keys = touchpoint.DeviceKeys(f.App, f.DeviceID)
		} else {
			keys = []touchpoint.LookupKey{touchpoint.ClickIDKey(f.App, f.ClickID)}
		}
		ts, err := db.TouchesByKeys(ctx, f.App, keys, f.From)
		if err != nil {
			return err
		}
		for i := len(ts) - 1; i >= 0; i-- {
			if t := ts[i]; matches(t, f) && !fn(t) {
				return nil
			}
		}
		return nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	for _, d := range db.partitions(f.From) {
		for {
			where, args := scanWhere(seq, f)
			ts, err := db.queryTouches(ctx, f.App, `/* DB.eachTouch */ SELECT `+touchColumns+` FROM `+touchTable(d)+
				where+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if !fn(t) {
					return nil
				}
			}
			if len(ts) <= limit {
				break
			}
			f.Before = ts[len(ts)-1].ID
		}
	}
	return nil
}

// scanWhere builds the WHERE clause of a partition scan.
func scanWhere(seq int64, f touchpoint.TouchFilter) (string, []any) {
	where, args := " WHERE app_seq = ?", []any{seq}
	if f.Before != 0 {
		where, args = where+" AND id < ?", append(args, f.Before)
	}
	if !f.From.IsZero() {
		where, args = where+" AND id >= ? AND ts >= ?", append(args, touchpoint.FirstTouchID(f.From), f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where, args = where+" AND ts < ?", append(args, f.To.UnixMilli())
	}
	if f.PID != "" {
		where, args = where+" AND pid = ?", append(args, f.PID)
	}
	if f.Kind != 0 {
		where, args = where+" AND kind = ?", append(args, int64(f.Kind))
	}
	return where, args
}

// matches applies the filter fields a key lookup does not.
func matches(t *touchpoint.Touch, f touchpoint.TouchFilter) bool {
	switch {
	case f.Before != 0 && t.ID >= f.Before,
		!f.From.IsZero() && t.Time.Before(f.From),
		!f.To.IsZero() && !t.Time.Before(f.To),
		f.PID != "" && t.PID != f.PID,
		f.Kind != 0 && t.Kind != f.Kind,
		f.ClickID != "" && t.Params.ClickID != f.ClickID,
		f.DeviceID != "" && !t.HasDeviceID(f.DeviceID):
		return false
	}
	return true
}

// TouchesByKeys finds an app's touches by lookup key: first among the
// recent touches still in memory, then in the key tables. (In that order: a
// touch leaves memory only after its keys are committed, so it is always
// found in one of the two.)
func (db *DB) TouchesByKeys(ctx context.Context, app string, keys []touchpoint.LookupKey, since time.Time) ([]*touchpoint.Touch, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	minID := int64(0)
	if !since.IsZero() {
		minID = touchpoint.FirstTouchID(since)
	}
	seen := make(map[int64]bool)
	var ids []int64
	for _, id := range db.tail.find(keys, minID) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, int64(k))
	}
	args = append(args, minID)
	for _, d := range db.partitions(since) {
		rows, err := db.read.QueryContext(ctx, `/* DB.TouchesByKeys */ SELECT id FROM `+keyTable(d)+
			` WHERE k IN (`+inList(len(keys))+`) AND id >= ?`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	ts, err := db.touchesByID(ctx, seq, app, ids)
	if err != nil {
		return nil, err
	}
	out := ts[:0]
	for _, t := range ts {
		if !t.Time.Before(since) {
			out = append(out, t)
		}
	}
	return out, nil
}

// SigningReport returns per-hour verdict counts of a partner.
func (db *DB) SigningReport(ctx context.Context, app, pid string, from, to time.Time) ([]touchpoint.SigningCount, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `/* DB.SigningReport */ SELECT hour, verdict, n FROM signing_counts
		WHERE app_seq = ? AND pid = ? AND hour >= ? AND hour < ? ORDER BY hour`,
		seq, pid, from.Truncate(time.Hour).Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []touchpoint.SigningCount
	for rows.Next() {
		var hour, verdict, n int64
		if err := rows.Scan(&hour, &verdict, &n); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Hour.Unix() != hour {
			out = append(out, touchpoint.SigningCount{Hour: time.Unix(hour, 0).UTC()})
		}
		if verdict >= 0 && int(verdict) < len(out[0].Counts) {
			out[len(out)-1].Counts[verdict] = n
		}
	}
	return out, rows.Err()
}
