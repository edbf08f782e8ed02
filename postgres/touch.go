package postgres

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.TouchStore = (*DB)(nil)

// Touches live in weekly partitions of id (see the migration
// 2026-12-03-08-touches.sql): weeks are counted from the Unix epoch, as the
// embedded store's, so they start on Thursdays, 00:00 UTC.
const weekSeconds = 7 * 24 * 3600

// touchWeekLock is the advisory lock key that creating and dropping touch
// partitions hold ("tpweeks" in ASCII), so that two nodes never race on
// one week's DDL.
const touchWeekLock = 0x74707765656b73

// listBatch is the most touches one query of a list reads.
const listBatch = 256

// weekOf returns the week of a touch id.
func weekOf(id int64) int64 { return touchpoint.TouchIDTime(id).Unix() / weekSeconds }

// weekFirstID returns the first id of a week: its partitions hold
// [weekFirstID(w), weekFirstID(w+1)).
func weekFirstID(w int64) int64 {
	return touchpoint.FirstTouchID(time.Unix(w*weekSeconds, 0))
}

func touchTable(w int64) string { return "touches_" + strconv.FormatInt(w, 10) }
func keyTable(w int64) string   { return "touch_keys_" + strconv.FormatInt(w, 10) }

// weekSet remembers the weeks whose partitions this node knows exist, so
// that recording does not ask the catalog each time. Another node's purge
// can make it wrong: a write into a dropped week fails, and RecordTouches
// then forgets the set and tries once more.
type weekSet struct {
	mu sync.Mutex
	m  map[int64]bool
}

func (s *weekSet) has(w int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[w]
}

func (s *weekSet) add(w int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[int64]bool)
	}
	s.m[w] = true
}

// forget forgets one week, or every week when w is negative.
func (s *weekSet) forget(w int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w < 0 {
		s.m = nil
	} else {
		delete(s.m, w)
	}
}

// touchApp is what recording and reading touches need of an app.
type touchApp struct {
	seq  int64
	loc  *time.Location
	test bool // its touch times follow its own clock, its ids the store's
}

// touchApps reads the apps named in ids. ENOTFOUND names the first
// unknown one.
func touchApps(ctx context.Context, q querier, ids []string) (map[string]touchApp, error) {
	rows, err := q.Query(ctx, `/* touchApps */ SELECT id, seq, time_zone, test_clock IS NOT NULL FROM apps WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	apps := make(map[string]touchApp, len(ids))
	for rows.Next() {
		var id, zone string
		var a touchApp
		if err := rows.Scan(&id, &a.seq, &zone, &a.test); err != nil {
			return nil, err
		}
		a.loc = (&touchpoint.App{TimeZone: zone}).Location()
		apps[id] = a
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := apps[id]; !ok {
			return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", id)
		}
	}
	return apps, nil
}

func touchAppOf(ctx context.Context, q querier, id string) (touchApp, error) {
	apps, err := touchApps(ctx, q, []string{id})
	if err != nil {
		return touchApp{}, err
	}
	return apps[id], nil
}

// signingKey is one counter of signing_counts.
type signingKey struct {
	app     int64
	pid     string
	hour    int64 // Unix milliseconds
	verdict touchpoint.Verdict
}

// RecordTouches gives the touches consecutive ids and writes them, their
// lookup keys, their signing verdict counts and their report deltas in one
// transaction: the touches and keys with COPY. Ids come from the shared
// counter (touch_ids) before the transaction, as the embedded store's come
// from its memory: never below the latest touch time of a production app,
// and for a test-mode app's touches from the store's clock. A batch that
// fails leaves a gap in the ids, nothing else.
func (db *DB) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	var names []string
	for _, t := range ts {
		if !slices.Contains(names, t.App) {
			names = append(names, t.App)
		}
	}
	apps, err := touchApps(ctx, db.pool, names)
	if err != nil {
		return err
	}
	var latest time.Time
	for _, t := range ts {
		at := t.Time
		if apps[t.App].test {
			at = db.Now()
		}
		if at.After(latest) {
			latest = at
		}
	}
	// The ids, from the one counter, in a transaction of their own that
	// does not wait for its WAL to reach the disk (synchronous_commit off
	// for it alone): every writer of every node takes its turn on the
	// counter's row, so each turn must be short. Nothing is lost by it: a
	// touch written with these ids commits after the counter did, and
	// flushing its commit flushes the counter's before it; a counter lost
	// in a crash gave out ids no stored touch has.
	n := int64(len(ts))
	var first int64
	if err := db.pool.QueryRow(ctx, `/* DB.RecordTouches */ UPDATE touch_ids SET last = GREATEST(last + 1, $1::BIGINT) + $2::BIGINT - 1
		FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async
		RETURNING last - $2::BIGINT + 1`, touchpoint.FirstTouchID(latest), n).Scan(&first); err != nil {
		return err
	}
	touchRows, keyRows := touchRowsOf(apps, ts, func(i int) int64 { return first + int64(i) })
	counts := map[signingKey]int64{}
	sums := touchpoint.ReportSums{}
	for _, t := range ts {
		a := apps[t.App]
		if t.Verdict != touchpoint.VerdictUnchecked {
			counts[signingKey{a.seq, t.PID, t.Time.Truncate(time.Hour).UnixMilli(), t.Verdict}]++
		}
		sums.Add(a.seq, touchpoint.TouchDeltas(t, a.loc))
	}
	last := first + n - 1
	err = db.writeTouches(ctx, first, last, touchRows, keyRows, counts, sums)
	if isMissingPartition(err) {
		db.touchWeeks.forget(-1) // another node dropped a week this one knew
		err = db.writeTouches(ctx, first, last, touchRows, keyRows, counts, sums)
	}
	if err != nil {
		return err
	}
	for i, t := range ts {
		t.ID = first + int64(i)
	}
	return nil
}

// touchRowsOf returns the rows of touches (the i-th with id id(i)) and
// of their lookup keys, these in key order: each page of the key index is
// then written once a group rather than once a key (the keys are hashes:
// random).
func touchRowsOf(apps map[string]touchApp, ts []*touchpoint.Touch, id func(i int) int64) (touchRows, keyRows [][]any) {
	touchRows = make([][]any, len(ts))
	for i, t := range ts {
		touchRows[i] = []any{id(i), apps[t.App].seq, t.Time.UnixMilli(), t.PID, int16(t.Kind), t.AppendBinary(nil)}
		// A touch's keys can repeat (two device ids with one hash); the
		// key table holds each once.
		keys := t.Keys()
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			keyRows = append(keyRows, []any{int64(k), id(i)})
		}
	}
	slices.SortFunc(keyRows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(a[0].(int64), b[0].(int64)), cmp.Compare(a[1].(int64), b[1].(int64)))
	})
	return touchRows, keyRows
}

func (db *DB) writeTouches(ctx context.Context, first, last int64, touchRows, keyRows [][]any, counts map[signingKey]int64,
	sums touchpoint.ReportSums) error {
	for w := weekOf(first); w <= weekOf(last); w++ {
		if err := db.createWeek(ctx, w); err != nil {
			return err
		}
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"touches"}, []string{"id", "app_seq", "at", "pid", "kind", "data"},
			pgx.CopyFromRows(touchRows)); err != nil {
			return err
		}
		if len(keyRows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"touch_keys"}, []string{"k", "id"}, pgx.CopyFromRows(keyRows)); err != nil {
				return err
			}
		}
		if len(counts) > 0 {
			// In one order, as the report's cells: writers adding to the
			// same counters never wait on each other in a circle.
			keys := make([]signingKey, 0, len(counts))
			for k := range counts {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b signingKey) int {
				return cmp.Or(cmp.Compare(a.app, b.app), cmp.Compare(a.pid, b.pid), cmp.Compare(a.hour, b.hour), cmp.Compare(a.verdict, b.verdict))
			})
			var appSeqs, hours, ns []int64
			var pids []string
			var verdicts []int16
			for _, k := range keys {
				appSeqs, pids, hours = append(appSeqs, k.app), append(pids, k.pid), append(hours, k.hour)
				verdicts, ns = append(verdicts, int16(k.verdict)), append(ns, counts[k])
			}
			if _, err := tx.Exec(ctx, `/* DB.RecordTouches */ INSERT INTO signing_counts (app_seq, pid, hour, verdict, n)
				SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::SMALLINT[], $5::BIGINT[])
				ON CONFLICT (app_seq, pid, hour, verdict) DO UPDATE SET n = signing_counts.n + excluded.n`,
				appSeqs, pids, hours, verdicts, ns); err != nil {
				return err
			}
		}
		return writeReport(ctx, tx, sums)
	})
}

// createWeek makes sure a week's partitions exist.
func (db *DB) createWeek(ctx context.Context, w int64) error {
	if db.touchWeeks.has(w) {
		return nil
	}
	lo, hi := weekFirstID(w), weekFirstID(w+1)
	if err := db.createPartitions(ctx, touchWeekLock, partition{"touches", touchTable(w), lo, hi},
		partition{"touch_keys", keyTable(w), lo, hi}); err != nil {
		return err
	}
	db.touchWeeks.add(w)
	return nil
}

// isMissingPartition reports whether err is a write into a range no
// partition holds.
func isMissingPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

func decodeTouch(id int64, app string, data []byte) (*touchpoint.Touch, error) {
	t := &touchpoint.Touch{ID: id, App: app}
	if err := t.UnmarshalBinary(data); err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINTERNAL, "touch %d: %v", id, err)
	}
	return t, nil
}

// scanTouches reads (id, data) rows into touches of app.
func scanTouches(rows pgx.Rows, app string) ([]*touchpoint.Touch, error) {
	defer rows.Close()
	var out []*touchpoint.Touch
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		t, err := decodeTouch(id, app, data)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// FindTouch returns one touch of an app by id.
func (db *DB) FindTouch(ctx context.Context, app string, id int64) (*touchpoint.Touch, error) {
	rows, err := db.pool.Query(ctx, `/* DB.FindTouch */ SELECT id, data FROM touches
		WHERE id = $1 AND app_seq = (SELECT seq FROM apps WHERE id = $2)`, id, app)
	if err != nil {
		return nil, err
	}
	ts, err := scanTouches(rows, app)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "touch %d of app %s not found", id, app)
	}
	return ts[0], nil
}

// ListTouches returns a page of an app's touches, newest first.
func (db *DB) ListTouches(ctx context.Context, f touchpoint.TouchFilter) ([]*touchpoint.Touch, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []*touchpoint.Touch
	err := db.eachTouch(ctx, f, limit+1, func(t *touchpoint.Touch) bool {
		out = append(out, t)
		return len(out) <= limit
	})
	if err != nil {
		return nil, 0, err
	}
	out, next := touchpoint.CutPage(out, limit, func(x *touchpoint.Touch) int64 { return x.ID })
	return out, next, nil
}

// touchWhere returns the conditions of a filter that the touches table's
// columns answer exactly (the time range aside), and their arguments.
func touchWhere(a touchApp, f touchpoint.TouchFilter) (string, []any) {
	minID := int64(0)
	if !a.test && !f.From.IsZero() {
		// A production touch's id is never below its time's first id.
		minID = touchpoint.FirstTouchID(f.From)
	}
	where, args := `app_seq = $1 AND id >= $2`, []any{a.seq, minID}
	if f.PID != "" {
		args = append(args, f.PID)
		where += ` AND pid = $` + strconv.Itoa(len(args))
	}
	if f.Kind != 0 {
		args = append(args, int16(f.Kind))
		where += ` AND kind = $` + strconv.Itoa(len(args))
	}
	return where, args
}

// timeWhere adds the time range's conditions on at (milliseconds): op is
// "range" for every touch whose millisecond may match, "inside" for those
// that match whatever their nanoseconds, "edge" for the others that may.
func timeWhere(f touchpoint.TouchFilter, op, where string, args []any) (string, []any) {
	var conds []string
	mark := func(v int64) string {
		args = append(args, v)
		return `$` + strconv.Itoa(len(args))
	}
	switch op {
	case "range", "inside":
		lo, hi := ">=", "<="
		if op == "inside" {
			lo, hi = ">", "<"
		}
		if !f.From.IsZero() {
			conds = append(conds, `at `+lo+` `+mark(f.From.UnixMilli()))
		}
		if !f.To.IsZero() {
			conds = append(conds, `at `+hi+` `+mark(f.To.UnixMilli()))
		}
	case "edge":
		if !f.From.IsZero() {
			conds = append(conds, `at = `+mark(f.From.UnixMilli()))
		}
		if !f.To.IsZero() {
			conds = append(conds, `at = `+mark(f.To.UnixMilli()))
		}
		if len(conds) == 0 {
			return where + ` AND false`, args
		}
		return where + ` AND (` + strings.Join(conds, ` OR `) + `)`, args
	}
	for _, c := range conds {
		where += ` AND ` + c
	}
	return where, args
}

// eachTouch calls fn for the touches that match f (Limit aside), newest
// first, until fn returns false, reading batch touches a query. A device
// or click id is looked up by key; otherwise the app's touches are read
// down its index, the columns filtering and Matches checking the touch
// times at their nanoseconds.
func (db *DB) eachTouch(ctx context.Context, f touchpoint.TouchFilter, batch int, fn func(*touchpoint.Touch) bool) error {
	a, err := touchAppOf(ctx, db.pool, f.App)
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
		ts, err := db.touchesByKeys(ctx, a, f.App, keys, f.From)
		if err != nil {
			return err
		}
		for i := len(ts) - 1; i >= 0; i-- {
			if t := ts[i]; f.Matches(t) && !fn(t) {
				return nil
			}
		}
		return nil
	}
	where, args := touchWhere(a, f)
	where, args = timeWhere(f, "range", where, args)
	before := f.Before
	if before == 0 {
		before = math.MaxInt64
	}
	batch = min(max(batch, 1), listBatch)
	args = append(args, before, batch)
	query := `/* DB.eachTouch */ SELECT id, data FROM touches WHERE ` + where + ` AND id < $` + strconv.Itoa(len(args)-1) +
		` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	for {
		args[len(args)-2] = before
		rows, err := db.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		ts, err := scanTouches(rows, f.App)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if f.Matches(t) && !fn(t) {
				return nil
			}
		}
		if len(ts) < batch {
			return nil
		}
		before = ts[len(ts)-1].ID
	}
}

// CountTouches counts the touches that match f: by the columns, reading
// only the touches at the range's edge milliseconds, whose nanoseconds
// decide; a device or click id's touches are read and counted.
func (db *DB) CountTouches(ctx context.Context, f touchpoint.TouchFilter) (int64, error) {
	f.Before, f.Limit = 0, 0
	if f.DeviceID != "" || f.ClickID != "" {
		var n int64
		err := db.eachTouch(ctx, f, listBatch, func(*touchpoint.Touch) bool { n++; return true })
		return n, err
	}
	a, err := touchAppOf(ctx, db.pool, f.App)
	if err != nil {
		return 0, err
	}
	where, args := touchWhere(a, f)
	inside, insideArgs := timeWhere(f, "inside", where, args)
	var n int64
	if err := db.pool.QueryRow(ctx, `/* DB.CountTouches */ SELECT count(*) FROM touches WHERE `+inside, insideArgs...).Scan(&n); err != nil {
		return 0, err
	}
	if f.From.IsZero() && f.To.IsZero() {
		return n, nil
	}
	edge, edgeArgs := timeWhere(f, "edge", where, args)
	rows, err := db.pool.Query(ctx, `/* DB.CountTouches */ SELECT id, data FROM touches WHERE `+edge, edgeArgs...)
	if err != nil {
		return 0, err
	}
	ts, err := scanTouches(rows, f.App)
	if err != nil {
		return 0, err
	}
	for _, t := range ts {
		if f.Matches(t) {
			n++
		}
	}
	return n, nil
}

// TouchesByKeys finds an app's touches by lookup key in the key table,
// then reads them, oldest first.
func (db *DB) TouchesByKeys(ctx context.Context, app string, keys []touchpoint.LookupKey, since time.Time) ([]*touchpoint.Touch, error) {
	a, err := touchAppOf(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	return db.touchesByKeys(ctx, a, app, keys, since)
}

func (db *DB) touchesByKeys(ctx context.Context, a touchApp, app string, keys []touchpoint.LookupKey, since time.Time) ([]*touchpoint.Touch, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	minID := int64(0)
	if !a.test && !since.IsZero() {
		minID = touchpoint.FirstTouchID(since)
	}
	ks := make([]int64, len(keys))
	for i, k := range keys {
		ks[i] = int64(k)
	}
	// Keys are hashes that can collide across apps: the touch's app is
	// checked too.
	rows, err := db.pool.Query(ctx, `/* DB.TouchesByKeys */ SELECT id, data FROM touches
		WHERE app_seq = $1 AND id >= $3 AND id IN (SELECT id FROM touch_keys WHERE k = ANY($2) AND id >= $3) ORDER BY id`,
		a.seq, ks, minID)
	if err != nil {
		return nil, err
	}
	ts, err := scanTouches(rows, app)
	if err != nil {
		return nil, err
	}
	return touchpoint.TouchesSince(ts, since), nil
}

// SigningReport returns per-hour verdict counts of a partner's clicks from
// the counters RecordTouches keeps: the hours that start in [from's hour,
// to).
func (db *DB) SigningReport(ctx context.Context, app, pid string, from, to time.Time) ([]touchpoint.SigningCount, error) {
	a, err := touchAppOf(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.SigningReport */ SELECT hour, verdict, n FROM signing_counts
		WHERE app_seq = $1 AND pid = $2 AND hour >= $3 AND hour < $4 ORDER BY hour`,
		a.seq, pid, from.Truncate(time.Hour).UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []touchpoint.SigningCount
	for rows.Next() {
		var hour, n int64
		var verdict int16
		if err := rows.Scan(&hour, &verdict, &n); err != nil {
			return nil, err
		}
		h := touchpoint.StoredTime(hour)
		if len(out) == 0 || !out[len(out)-1].Hour.Equal(h) {
			out = append(out, touchpoint.SigningCount{Hour: h})
		}
		if c := &out[len(out)-1]; verdict >= 0 && int(verdict) < len(c.Counts) {
			c.Counts[verdict] += n
		}
	}
	return out, rows.Err()
}

// PurgeTouches drops every week whose touches were all given ids before
// before (one transaction each), then deletes the rest of the week that
// before falls in: the touches with an id below before's. A production
// touch's id is never below its time's, so every touch that goes is older
// than before; a touch of before's week recorded late, with an id after its
// time, may stay until its week goes.
func (db *DB) PurgeTouches(ctx context.Context, before time.Time) (int64, error) {
	cut := touchpoint.FirstTouchID(before)
	rows, err := db.pool.Query(ctx, `/* DB.PurgeTouches */ SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'touches'::regclass`)
	if err != nil {
		return 0, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	var weeks []int64
	for _, name := range names {
		if w, err := strconv.ParseInt(strings.TrimPrefix(name, "touches_"), 10, 64); err == nil && weekFirstID(w+1) <= cut {
			weeks = append(weeks, w)
		}
	}
	slices.Sort(weeks)
	var total int64
	for _, w := range weeks {
		n, err := db.dropWeek(ctx, w)
		if err != nil {
			return total, err
		}
		total += n
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `/* DB.PurgeTouches */ DELETE FROM touches WHERE id < $1`, cut)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `/* DB.PurgeTouches */ DELETE FROM touch_keys WHERE id < $1`, cut); err != nil {
			return err
		}
		total += tag.RowsAffected()
		return nil
	})
	return total, err
}

// dropWeek counts a week's touches and drops its partitions, under the
// advisory lock that creating them holds. The count takes no lock that
// writers wait for: ids only grow, so a week below the cut is rarely
// written any more (a touch that lands between the count and the drop
// goes uncounted).
// Dropping a partition locks the parent table (parent first, so it cannot
// deadlock with a reader): lock_timeout bounds how long reads and writes
// queue behind a drop that waits for a long query, and the purge is tried
// again later.
func (db *DB) dropWeek(ctx context.Context, w int64) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(touchWeekLock)); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, touchTable(w)).Scan(&exists); err != nil || !exists {
			return err // another node dropped it
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+touchTable(w)).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+touchTable(w)+`, `+keyTable(w))
		return err
	})
	db.touchWeeks.forget(w)
	return n, err
}
