package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.TouchStore = (*DB)(nil)

// A log row holds touches of one app with the consecutive ids
// first_id..last_id. Its data is each touch's stored form
// (touchpoint.Touch.AppendBinary) behind a uvarint length, in id order.
// Rows are written by the loader (load.go), many per transaction.

// RecordTouches makes touches durable in one journal record and gives them
// ids; they are readable at once from the tails, and reach SQLite's tables
// behind the scenes.
func (db *DB) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	seqs := make([]int64, len(ts))
	keys := make([][]touchpoint.LookupKey, len(ts))
	// Ids are never below the latest touch time of a production app. A
	// test-mode app's touch times follow its own clock, which must not
	// move anyone's ids (they would land in a partition of the wrong week,
	// that retention drops too early or never): its touches take ids of the
	// store's clock.
	var latest time.Time
	for i, t := range ts {
		seq, err := db.appSeq(t.App)
		if err != nil {
			return err
		}
		seqs[i], keys[i] = seq, t.Keys()
		at := t.Time
		if db.isTestApp(t.App) {
			at = db.now()
		}
		if at.After(latest) {
			latest = at
		}
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if db.journal == nil {
		return errClosed
	}
	// The group's ids are consecutive and not below its latest touch time,
	// so every id's time is at or after its touch's time.
	first := touchpoint.NextTouchID(db.lastID, latest)
	payload := binary.AppendUvarint(db.encBuf[:0], uint64(first))
	payload = binary.AppendUvarint(payload, uint64(len(ts)))
	starts := make([]int, len(ts)) // record i is payload[starts[i]:ends[i]]
	ends := make([]int, len(ts))
	for i, t := range ts {
		payload = binary.AppendUvarint(payload, uint64(seqs[i]))
		db.recBuf = t.AppendBinary(db.recBuf[:0])
		payload = binary.AppendUvarint(payload, uint64(len(db.recBuf)))
		starts[i] = len(payload)
		payload = append(payload, db.recBuf...)
		ends[i] = len(payload)
	}
	if err := db.journal.append(payload); err != nil {
		db.encBuf = payload
		if err := db.classify(err); err == errFull {
			return err
		}
		return fmt.Errorf("append to journal: %w", err)
	}
	db.wrote()
	// The tail keeps its own copy of the records; the buffer is reused.
	owned := slices.Clone(payload)
	db.encBuf = payload
	tts := make([]tailTouch, len(ts))
	ids := make([]int64, len(ts))
	for i, t := range ts {
		t.ID = first + int64(i)
		ids[i] = t.ID
		tts[i] = tailTouch{id: t.ID, app: seqs[i], rec: owned[starts[i]:ends[i]:ends[i]]}
	}
	db.lastID = ids[len(ids)-1]
	db.touchTail.add(tts)
	db.keyTail.add(ids, keys)
	return nil
}

// decodeGroup reads a journal payload into tail touches.
func decodeGroup(payload []byte) ([]tailTouch, error) {
	bad := errors.New("journal record is malformed")
	first, w := binary.Uvarint(payload)
	if w <= 0 {
		return nil, bad
	}
	payload = payload[w:]
	n, w := binary.Uvarint(payload)
	if w <= 0 || n > uint64(len(payload)) {
		return nil, bad
	}
	payload = payload[w:]
	out := make([]tailTouch, 0, n)
	for i := uint64(0); i < n; i++ {
		app, w := binary.Uvarint(payload)
		if w <= 0 {
			return nil, bad
		}
		payload = payload[w:]
		l, w := binary.Uvarint(payload)
		if w <= 0 || uint64(len(payload)-w) < l {
			return nil, bad
		}
		out = append(out, tailTouch{id: int64(first + i), app: int64(app), rec: payload[w : w+int(l) : w+int(l)]})
		payload = payload[w+int(l):]
	}
	return out, nil
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
// exist (or belong to another app) are skipped. The tail is read first,
// then the touch log for the rest.
func (db *DB) touchesByID(ctx context.Context, seq int64, appID string, ids []int64) ([]*touchpoint.Touch, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	found, ids := db.touchTail.find(ids)
	var out []*touchpoint.Touch
	for _, tt := range found {
		if tt.app != seq {
			continue
		}
		t, err := decodeTouch(tt.id, appID, tt.rec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	err := db.eachRow(ctx, ids, func(first, app int64, data []byte) error {
		if app != seq {
			return nil
		}
		var derr error
		err := eachRecord(first, data, func(id int64, rec []byte) bool {
			if _, ok := slices.BinarySearch(ids, id); ok {
				t, err := decodeTouch(id, appID, rec)
				if err != nil {
					derr = err
					return false
				}
				out = append(out, t)
			}
			return id < ids[len(ids)-1]
		})
		if err == nil {
			err = derr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *touchpoint.Touch) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// rowsBatch is the most ids one eachRow query looks up.
const rowsBatch = 16

// eachRow calls fn with each log row holding one of the (sorted) ids, once
// per row. data is valid only during the call. A row lives in the week of
// its ids (the loader never lets a row cross a week).
func (db *DB) eachRow(ctx context.Context, ids []int64, fn func(first, app int64, data []byte) error) error {
	var seen []int64 // rows already passed to fn
	args := make([]any, 0, rowsBatch)
	for len(ids) > 0 {
		w := week(touchpoint.TouchIDTime(ids[0]))
		n := 1
		for n < len(ids) && n < rowsBatch && week(touchpoint.TouchIDTime(ids[n])) == w {
			n++
		}
		want := ids[:n]
		ids = ids[n:]
		if !db.hasPartition(w) {
			continue
		}
		args = args[:0]
		for _, id := range want {
			args = append(args, id)
		}
		rows, err := db.query(ctx, rowsQuery(w, n), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var first, last, app int64
			var data sql.RawBytes
			if err := rows.Scan(&first, &last, &app, &data); err != nil {
				rows.Close()
				return err
			}
			if slices.Contains(seen, first) {
				continue
			}
			seen = append(seen, first)
			if err := fn(first, app, data); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// rowsQuery finds, for each of n ids, the row of a week that begins at or
// before it (which holds it if any row does): one index seek per id, in
// one statement.
func rowsQuery(w, n int) string {
	one := `SELECT * FROM (SELECT first_id, last_id, app_seq, data FROM ` + logTable(w) + ` WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1)`
	return `/* DB.eachRow */ ` + strings.TrimSuffix(strings.Repeat(one+" UNION ALL ", n), " UNION ALL ")
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
	out, next := touchpoint.CutPage(out, limit, func(x *touchpoint.Touch) int64 { return x.ID })
	return out, next, nil
}

// CountTouches counts the touches that match f. Without filters it adds
// the tail's touches of the app to the row sizes of the touch log below the
// tail; with filters it reads the touches.
func (db *DB) CountTouches(ctx context.Context, f touchpoint.TouchFilter) (int64, error) {
	seq, err := db.appSeq(f.App)
	if err != nil {
		return 0, err
	}
	f.Before, f.Limit = 0, 0
	if f != (touchpoint.TouchFilter{App: f.App}) {
		var n int64
		err = db.eachTouch(ctx, f, func(*touchpoint.Touch) bool { n++; return true })
		return n, err
	}
	tail := db.touchTail.snapshot()
	below := int64(1<<63 - 1) // the log holds every touch below the tail
	var total int64
	for _, tt := range tail {
		if tt.app == seq {
			total++
		}
	}
	if len(tail) > 0 {
		below = tail[0].id
	}
	for _, w := range db.partitions(time.Time{}) {
		var n int64
		if err := db.read.QueryRowContext(ctx, `/* DB.CountTouches */ SELECT coalesce(sum(min(last_id, ?) - first_id + 1), 0) FROM `+
			logTable(w)+` WHERE app_seq = ? AND first_id < ?`, below-1, seq, below).Scan(&n); err != nil {
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
	minID, from := int64(0), f.From
	if db.isTestApp(f.App) {
		from = time.Time{}
	} else if !f.From.IsZero() {
		minID = touchpoint.FirstTouchID(f.From)
	}
	before := f.Before
	if before == 0 {
		before = 1<<63 - 1
	}
	// The tail first (it holds the newest touches), then the log below it.
	tail := db.touchTail.snapshot()
	for i := len(tail) - 1; i >= 0; i-- {
		tt := tail[i]
		if tt.app != seq || tt.id >= before || tt.id < minID {
			continue
		}
		t, err := decodeTouch(tt.id, f.App, tt.rec)
		if err != nil {
			return err
		}
		if matches(t, f) && !fn(t) {
			return nil
		}
	}
	if len(tail) > 0 {
		before = min(before, tail[0].id)
	}
	const rowsPerQuery = 32
	for _, w := range db.partitions(from) {
		for {
			rows, err := db.query(ctx, `/* DB.eachTouch */ SELECT first_id, data FROM `+logTable(w)+
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
func matches(t *touchpoint.Touch, f touchpoint.TouchFilter) bool { return f.Matches(t) }

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
	minID, from := int64(0), since
	if db.isTestApp(app) {
		from = time.Time{}
	} else if !since.IsZero() {
		minID = touchpoint.FirstTouchID(since)
	}
	ids := db.keyTail.find(keys, minID)
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, int64(k))
	}
	args = append(args, minID)
	for _, w := range db.partitions(from) {
		rows, err := db.query(ctx, `/* DB.TouchesByKeys */ SELECT id FROM `+keyTable(w)+
			` WHERE k IN (`+inList(len(keys))+`) AND id >= ?`, args...)
		if err != nil {
			return nil, err
		}
		found, err := scanColumn[int64](rows)
		if err != nil {
			return nil, err
		}
		ids = append(ids, found...)
	}
	ts, err := db.touchesByID(ctx, seq, app, ids)
	if err != nil {
		return nil, err
	}
	return touchpoint.TouchesSince(ts, since), nil
}

// SigningReport returns per-hour verdict counts of a partner: the counts the
// loader keeps with the touch log, plus the tail's touches above the loaded
// high-water mark read in the same snapshot.
func (db *DB) SigningReport(ctx context.Context, app, pid string, from, to time.Time) ([]touchpoint.SigningCount, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	tail := db.touchTail.snapshot()
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	hwm, err := readMeta(ctx, tx, loadedKey)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `/* DB.SigningReport */ SELECT hour, verdict, n FROM signing_counts
		WHERE app_seq = ? AND pid = ? AND hour >= ? AND hour < ?`,
		seq, pid, from.Truncate(time.Hour).Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hours := map[int64]*touchpoint.SigningCount{}
	add := func(hour int64, v touchpoint.Verdict, n int64) {
		c := hours[hour]
		if c == nil {
			c = &touchpoint.SigningCount{Hour: time.Unix(hour, 0).UTC()}
			hours[hour] = c
		}
		if int(v) < len(c.Counts) {
			c.Counts[v] += n
		}
	}
	for rows.Next() {
		var hour, verdict, n int64
		if err := rows.Scan(&hour, &verdict, &n); err != nil {
			return nil, err
		}
		add(hour, touchpoint.Verdict(verdict), n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, tt := range tail {
		if tt.id <= hwm || tt.app != seq {
			continue
		}
		t, err := decodeTouch(tt.id, app, tt.rec)
		if err != nil {
			return nil, err
		}
		if t.PID == pid && t.Verdict != touchpoint.VerdictUnchecked && !t.Time.Before(from.Truncate(time.Hour)) && t.Time.Before(to) {
			add(t.Time.Truncate(time.Hour).Unix(), t.Verdict, 1)
		}
	}
	out := make([]touchpoint.SigningCount, 0, len(hours))
	for _, c := range hours {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b touchpoint.SigningCount) int { return a.Hour.Compare(b.Hour) })
	return out, nil
}
