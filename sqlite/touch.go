package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.TouchStore = (*DB)(nil)

// A log row holds the touches of one app from one group commit, with the
// consecutive ids first_id..last_id. Its data is each touch's stored form
// (touchpoint.Touch.AppendBinary) behind a uvarint length, in id order.
// One row per commit instead of one per touch is what makes the click path
// cheap: the commit writes a single record, whatever the group's size.

type countKey struct {
	app     int64
	pid     string
	hour    int64
	verdict touchpoint.Verdict
}

// logRow is one row being written.
type logRow struct {
	week       int
	first, end int // indexes into the group, [first, end)
	app        int64
}

// RecordTouches stores touches in one transaction and gives them ids. After
// the commit their lookup keys go into memory until the indexer writes them
// to the key tables.
func (db *DB) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	// Rows are per app: order the group by app, keeping arrival order.
	seqs := make(map[*touchpoint.Touch]int64, len(ts))
	keysOf := make(map[*touchpoint.Touch][]touchpoint.LookupKey, len(ts))
	var latest time.Time
	for _, t := range ts {
		seq, err := db.appSeq(t.App)
		if err != nil {
			return err
		}
		seqs[t] = seq
		keysOf[t] = t.Keys() // outside the lock
		if t.Time.After(latest) {
			latest = t.Time
		}
	}
	group := slices.Clone(ts)
	slices.SortStableFunc(group, func(a, b *touchpoint.Touch) int { return int(seqs[a] - seqs[b]) })

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	// The group's ids are consecutive and not below the latest touch time
	// of the group, so every id's time is at or after its touch's time.
	first := touchpoint.NextTouchID(db.lastID, latest)
	var rows []logRow
	for i, t := range group {
		if n := len(rows); n == 0 || rows[n-1].app != seqs[t] {
			rows = append(rows, logRow{week: week(touchpoint.TouchIDTime(first + int64(i))), first: i, end: i, app: seqs[t]})
		}
		rows[len(rows)-1].end++
	}
	if err := db.writeLog(ctx, group, first, rows); err != nil {
		return err
	}
	ids := make([]int64, len(group))
	keys := make([][]touchpoint.LookupKey, len(group))
	for i, t := range group {
		t.ID = first + int64(i)
		ids[i], keys[i] = t.ID, keysOf[t]
	}
	db.lastID = ids[len(ids)-1]
	db.tail.add(ids, keys)
	return nil
}

func (db *DB) writeLog(ctx context.Context, group []*touchpoint.Touch, first int64, rows []logRow) error {
	// New weeks get their tables, and statements are prepared, before the
	// transaction: the one write connection is busy while it is open.
	stmts := make([]*sql.Stmt, len(rows))
	for i, r := range rows {
		if !db.hasPartition(r.week) {
			if err := db.createPartition(ctx, r.week); err != nil {
				return err
			}
		}
		var err error
		if stmts[i], err = db.stmt(ctx, `INSERT INTO `+logTable(r.week)+` (first_id, last_id, app_seq, data) VALUES (?, ?, ?, ?)`); err != nil {
			return err
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var counts map[countKey]int64
	data := db.encBuf[:0]
	for i, r := range rows {
		data = data[:0]
		for _, t := range group[r.first:r.end] {
			db.recBuf = t.AppendBinary(db.recBuf[:0])
			data = binary.AppendUvarint(data, uint64(len(db.recBuf)))
			data = append(data, db.recBuf...)
			if t.Verdict != touchpoint.VerdictUnchecked {
				if counts == nil {
					counts = make(map[countKey]int64)
				}
				counts[countKey{r.app, t.PID, t.Time.Truncate(time.Hour).Unix(), t.Verdict}]++
			}
		}
		if _, err := tx.StmtContext(ctx, stmts[i]).ExecContext(ctx,
			first+int64(r.first), first+int64(r.end-1), r.app, data); err != nil {
			return err
		}
	}
	db.encBuf = data
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `/* DB.RecordTouches */ INSERT INTO signing_counts (app_seq, pid, hour, verdict, n)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`, k.app, k.pid, k.hour, int64(k.verdict), n); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// eachRecord calls fn with the id and stored form of every touch in a log
// row's data, until fn returns false.
func eachRecord(first int64, data []byte, fn func(id int64, rec []byte) bool) error {
	for id := first; len(data) > 0; id++ {
		n, w := binary.Uvarint(data)
		if w <= 0 || uint64(len(data)-w) < n {
			return errors.New("touch log row is malformed")
		}
		if !fn(id, data[w:w+int(n)]) {
			return nil
		}
		data = data[w+int(n):]
	}
	return nil
}

func decodeTouch(id int64, app string, rec []byte) (*touchpoint.Touch, error) {
	t := &touchpoint.Touch{ID: id, App: app}
	if err := t.UnmarshalBinary(rec); err != nil {
		return nil, fmt.Errorf("touch %d: %w", id, err)
	}
	return t, nil
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

// touchesByID reads touches of one app by id, in id order; ids that do not
// exist (or belong to another app) are skipped.
func (db *DB) touchesByID(ctx context.Context, seq int64, app string, ids []int64) ([]*touchpoint.Touch, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []*touchpoint.Touch
	for i := 0; i < len(ids); {
		first, last, rowApp, data, err := db.rowOf(ctx, ids[i])
		if err != nil {
			return nil, err
		}
		j := i + 1
		for j < len(ids) && ids[j] <= last {
			j++
		}
		if rowApp == seq && data != nil {
			want := ids[i:j]
			err := eachRecord(first, data, func(id int64, rec []byte) bool {
				if _, ok := slices.BinarySearch(want, id); ok {
					t, err := decodeTouch(id, app, rec)
					if err != nil {
						return false
					}
					out = append(out, t)
				}
				return id < want[len(want)-1]
			})
			if err != nil {
				return nil, err
			}
		}
		i = j
	}
	return out, nil
}

// rowOf returns the log row holding id; data is nil (and last = id) when
// there is none.
func (db *DB) rowOf(ctx context.Context, id int64) (first, last, app int64, data []byte, err error) {
	w := week(touchpoint.TouchIDTime(id))
	// A row lives in the week of its first id; one that began just before
	// a week boundary holds ids of the next week too.
	for _, w := range []int{w, w - 1} {
		if !db.hasPartition(w) {
			continue
		}
		err = db.read.QueryRowContext(ctx, `/* DB.rowOf */ SELECT first_id, last_id, app_seq, data FROM `+logTable(w)+
			` WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1`, id).Scan(&first, &last, &app, &data)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return 0, 0, 0, nil, err
		}
		if last >= id {
			return first, last, app, data, nil
		}
		break
	}
	return 0, id, 0, nil, nil
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

// CountTouches counts the touches that match f. Without filters it sums
// row sizes; with them it reads the touches.
func (db *DB) CountTouches(ctx context.Context, f touchpoint.TouchFilter) (int64, error) {
	seq, err := db.appSeq(f.App)
	if err != nil {
		return 0, err
	}
	f.Before, f.Limit = 0, 0
	if f == (touchpoint.TouchFilter{App: f.App}) {
		var total int64
		for _, w := range db.partitions(time.Time{}) {
			var n int64
			if err := db.read.QueryRowContext(ctx, `/* DB.CountTouches */ SELECT coalesce(sum(last_id - first_id + 1), 0) FROM `+
				logTable(w)+` WHERE app_seq = ?`, seq).Scan(&n); err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}
	var n int64
	err = db.eachTouch(ctx, f, func(*touchpoint.Touch) bool { n++; return true })
	return n, err
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
	minID := int64(0)
	if !f.From.IsZero() {
		minID = touchpoint.FirstTouchID(f.From)
	}
	before := f.Before
	if before == 0 {
		before = 1<<63 - 1
	}
	const rowsPerQuery = 32
	for _, w := range db.partitions(f.From) {
		for {
			rows, err := db.read.QueryContext(ctx, `/* DB.eachTouch */ SELECT first_id, data FROM `+logTable(w)+
				` WHERE app_seq = ? AND first_id < ? AND last_id >= ? ORDER BY first_id DESC LIMIT ?`, seq, before, minID, rowsPerQuery)
			if err != nil {
				return err
			}
			var batch []*touchpoint.Touch
			n := 0
			for rows.Next() {
				n++
				var first int64
				var data []byte
				if err := rows.Scan(&first, &data); err != nil {
					rows.Close()
					return err
				}
				var row []*touchpoint.Touch
				var derr error
				err := eachRecord(first, data, func(id int64, rec []byte) bool {
					if id >= before || id < minID {
						return true
					}
					t, err := decodeTouch(id, f.App, rec)
					if err != nil {
						derr = err
						return false
					}
					row = append(row, t)
					return true
				})
				if err == nil {
					err = derr
				}
				if err != nil {
					rows.Close()
					return err
				}
				slices.Reverse(row)
				batch = append(batch, row...)
				before = first
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, t := range batch {
				if matches(t, f) && !fn(t) {
					return nil
				}
			}
			if n < rowsPerQuery {
				break
			}
		}
	}
	return nil
}

// matches applies the filter to a touch.
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
	ids := db.tail.find(keys, minID)
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, int64(k))
	}
	args = append(args, minID)
	for _, w := range db.partitions(since) {
		rows, err := db.read.QueryContext(ctx, `/* DB.TouchesByKeys */ SELECT id FROM `+keyTable(w)+
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
			ids = append(ids, id)
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
		if c := &out[len(out)-1]; verdict >= 0 && int(verdict) < len(c.Counts) {
			c.Counts[verdict] = n
		}
	}
	return out, rows.Err()
}
