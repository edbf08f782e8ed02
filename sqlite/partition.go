package sqlite

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Touches are kept in one pair of tables per UTC day of their id:
//
//	touches_YYYYMMDD    (id INTEGER PRIMARY KEY, app_seq, kind, ts, pid, verdict, rejected, data)
//	touch_keys_YYYYMMDD (k, id) PRIMARY KEY (k, id) WITHOUT ROWID
//
// Ids grow with time, so a day's touches are appended at the end of its
// table. The key table is the lookup index (device ids, IP, click id,
// referrer; see touchpoint.LookupKey), filled in sorted batches by the
// indexer (index.go). Dropping a day is how old touches are purged.

// day returns the partition day (yyyymmdd) of a time.
func day(t time.Time) int {
	y, m, d := t.UTC().Date()
	return y*10000 + int(m)*100 + d
}

// dayStart returns the first instant of a partition day.
func dayStart(d int) time.Time {
	return time.Date(d/10000, time.Month(d/100%100), d%100, 0, 0, 0, 0, time.UTC)
}

func touchTable(d int) string { return "touches_" + strconv.Itoa(d) }
func keyTable(d int) string   { return "touch_keys_" + strconv.Itoa(d) }

func (db *DB) loadPartitions(ctx context.Context) (map[int]bool, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'touches_[0-9]*'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	days := make(map[int]bool)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		d, err := strconv.Atoi(strings.TrimPrefix(name, "touches_"))
		if err == nil {
			days[d] = true
		}
	}
	return days, rows.Err()
}

// createPartition creates a day's tables in their own transaction. The
// caller holds writeMu.
func (db *DB) createPartition(ctx context.Context, d int) error {
	if _, err := db.write.ExecContext(ctx, `BEGIN IMMEDIATE;
		CREATE TABLE IF NOT EXISTS `+touchTable(d)+` (
			id       INTEGER PRIMARY KEY,
			app_seq  INTEGER NOT NULL,
			kind     INTEGER NOT NULL,
			ts       INTEGER NOT NULL,
			pid      TEXT NOT NULL,
			verdict  INTEGER NOT NULL,
			rejected INTEGER NOT NULL,
			data     BLOB NOT NULL
		);
		CREATE TABLE IF NOT EXISTS `+keyTable(d)+` (
			k  INTEGER NOT NULL,
			id INTEGER NOT NULL,
			PRIMARY KEY (k, id)
		) WITHOUT ROWID;
		COMMIT;`); err != nil {
		return err
	}
	db.mu.Lock()
	db.days[d] = true
	db.mu.Unlock()
	return nil
}

// partitions returns the existing days from since's day on (all when since
// is zero), newest first.
func (db *DB) partitions(since time.Time) []int {
	min := 0
	if !since.IsZero() {
		min = day(since)
	}
	db.mu.RLock()
	out := make([]int, 0, len(db.days))
	for d := range db.days {
		if d >= min {
			out = append(out, d)
		}
	}
	db.mu.RUnlock()
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// PurgeTouches drops every day whose touches are all older than before.
func (db *DB) PurgeTouches(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, d := range db.partitions(time.Time{}) {
		if dayStart(d).AddDate(0, 0, 1).After(before) {
			continue
		}
		n, err := db.dropPartition(ctx, d)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (db *DB) dropPartition(ctx context.Context, d int) (int64, error) {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	var n int64
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM `+touchTable(d)).Scan(&n); err != nil {
		return 0, err
	}
	for q, s := range db.stmts {
		if strings.Contains(q, touchTable(d)+" ") || strings.Contains(q, keyTable(d)+" ") {
			s.Close()
			delete(db.stmts, q)
		}
	}
	if _, err := db.write.ExecContext(ctx, `BEGIN IMMEDIATE; DROP TABLE `+touchTable(d)+`; DROP TABLE `+keyTable(d)+`; COMMIT;`); err != nil {
		return 0, err
	}
	db.mu.Lock()
	delete(db.days, d)
	db.mu.Unlock()
	db.Logger.Info("purged touches", "day", d, "touches", n)
	return n, nil
}

// placeholders returns "(?,?,…),(…)…": rows groups of cols marks.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// inList returns "?,?,…" with n marks.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
