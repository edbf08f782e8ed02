package sqlite

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Touches are kept in one pair of tables per week of their id (weeks are
// counted from the Unix epoch, so they start on Thursdays, 00:00 UTC):
//
//	touch_log_<week>  (first_id INTEGER PRIMARY KEY, last_id, app_seq, data)
//	touch_keys_<week> (k, id) PRIMARY KEY (k, id) WITHOUT ROWID
//
// The log is the durable append: one row per app per group commit, holding
// the touches with ids first_id..last_id, encoded one after another (see
// touch.go). Ids grow with time, so rows are appended at the end of the
// table. The key table is the lookup index (device ids, IP, click id,
// referrer; see touchpoint.LookupKey), filled behind the log in large
// sorted batches (index.go). A week is the unit of retention: dropping its
// two tables purges its touches. Weeks rather than days keep the number of
// tables a lookup over a 7- to 30-day window reads small (2 to 6).

const weekSeconds = 7 * 24 * 3600

// week returns the partition of a time.
func week(t time.Time) int { return int(t.Unix() / weekSeconds) }

// weekStart returns the first instant of a partition.
func weekStart(w int) time.Time { return time.Unix(int64(w)*weekSeconds, 0).UTC() }

func logTable(w int) string { return "touch_log_" + strconv.Itoa(w) }
func keyTable(w int) string { return "touch_keys_" + strconv.Itoa(w) }

func (db *DB) loadPartitions(ctx context.Context) (map[int]bool, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'touch_log_[0-9]*'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	weeks := make(map[int]bool)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if w, err := strconv.Atoi(strings.TrimPrefix(name, "touch_log_")); err == nil {
			weeks[w] = true
		}
	}
	return weeks, rows.Err()
}

// createPartition creates a week's tables in their own transaction. The
// caller holds stmtMu.
func (db *DB) createPartition(ctx context.Context, w int) error {
	if _, err := db.exec(ctx, `BEGIN IMMEDIATE;
		CREATE TABLE IF NOT EXISTS `+logTable(w)+` (
			first_id INTEGER PRIMARY KEY,
			last_id  INTEGER NOT NULL,
			app_seq  INTEGER NOT NULL,
			data     BLOB NOT NULL
		);
		CREATE INDEX IF NOT EXISTS `+logTable(w)+`_app ON `+logTable(w)+` (app_seq, first_id);
		CREATE TABLE IF NOT EXISTS `+keyTable(w)+` (
			k  INTEGER NOT NULL,
			id INTEGER NOT NULL,
			PRIMARY KEY (k, id)
		) WITHOUT ROWID;
		COMMIT;`); err != nil {
		return err
	}
	db.mu.Lock()
	db.weeks[w] = true
	db.mu.Unlock()
	return nil
}

func (db *DB) hasPartition(w int) bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.weeks[w]
}

// wasPurged reports whether week w was dropped by PurgeTouches in this
// process: keys that still point into it are not written.
func (db *DB) wasPurged(w int) bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return w < db.purged
}

// partitions returns the existing weeks from since's week on (all when
// since is zero), newest first.
func (db *DB) partitions(since time.Time) []int {
	min := 0
	if !since.IsZero() {
		min = week(since)
	}
	db.mu.RLock()
	out := make([]int, 0, len(db.weeks))
	for w := range db.weeks {
		if w >= min {
			out = append(out, w)
		}
	}
	db.mu.RUnlock()
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// PurgeTouches drops every week whose touches are all older than before.
// Touches still on their way from the journal are loaded first, so that
// they are purged alike.
func (db *DB) PurgeTouches(ctx context.Context, before time.Time) (int64, error) {
	if err := db.LoadPending(ctx); err != nil {
		return 0, err
	}
	var total int64
	for _, w := range db.partitions(time.Time{}) {
		if weekStart(w + 1).After(before) {
			continue
		}
		n, err := db.dropPartition(ctx, w)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (db *DB) dropPartition(ctx context.Context, w int) (int64, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	var n int64
	if err := db.write.QueryRowContext(ctx, `SELECT coalesce(sum(last_id - first_id + 1), 0) FROM `+logTable(w)).Scan(&n); err != nil {
		return 0, err
	}
	db.forgetReadStmts(logTable(w))
	db.forgetReadStmts(keyTable(w))
	for q, s := range db.stmts {
		if strings.Contains(q, logTable(w)+" ") || strings.Contains(q, keyTable(w)+" ") {
			s.Close()
			delete(db.stmts, q)
		}
	}
	if _, err := db.exec(ctx, `BEGIN IMMEDIATE; DROP TABLE `+logTable(w)+`; DROP TABLE `+keyTable(w)+`; COMMIT;`); err != nil {
		return 0, err
	}
	db.mu.Lock()
	delete(db.weeks, w)
	db.purged = max(db.purged, w+1)
	db.mu.Unlock()
	db.Logger.Info("purged touches", "week_from", weekStart(w), "touches", n)
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
