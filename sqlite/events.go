package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

var _ touchpoint.EventStore = (*DB)(nil)

// The analytics plane's write path. Amplitude's rules are package
// analytics' planner (amp.Plan): it reads what the store keeps in memory
// (analytics, events_cache.go) and returns the writes; the store executes
// them in one transaction with its prepared statements and, only once the
// commit succeeded, applies them to its memory. A failed commit leaves the
// memory as the tables are.
//
// Ids come from the sequences table, read and advanced in the write
// transaction. Each commit also advances analytics_generation: a
// transaction that finds it at another value than this process's last
// commit left it (another process wrote, or a commit reported failure
// after all) reloads the memory before planning. amu serialises the
// writers of this process.

// Queries of the write path.
const (
	eventsPerInsert = 64
	qSequences      = `/* RecordEvents */ SELECT name, next FROM sequences WHERE name IN
		('events', 'users', 'user_props', 'event_types', 'pending_attributions', 'analytics_generation')`
	qSetSequences = `/* RecordEvents */ UPDATE sequences SET next = CASE name WHEN 'events' THEN ? WHEN 'users' THEN ?
		WHEN 'user_props' THEN ? WHEN 'event_types' THEN ? WHEN 'pending_attributions' THEN ? ELSE next + 1 END
		WHERE name IN ('events', 'users', 'user_props', 'event_types', 'pending_attributions', 'analytics_generation')`
	qInsertUser   = `/* RecordEvents */ INSERT INTO users (id, project, user_id, props_version, first_seen) VALUES (?, ?, ?, 0, ?)`
	qSetUserID    = `/* RecordEvents */ UPDATE users SET user_id = ? WHERE id = ?`
	qMergeUser    = `/* RecordEvents */ UPDATE users SET merged_into = ? WHERE id = ?`
	qSetUserProps = `/* RecordEvents */ UPDATE users SET props_version = ? WHERE id = ?`
	qSetFirstSeen = `/* RecordEvents */ UPDATE users SET first_seen = ? WHERE id = ?`
	qSetUserSeen  = `/* RecordEvents */ UPDATE users SET platform = coalesce(?, platform), country = coalesce(?, country),
		idfa = coalesce(?, idfa), idfv = coalesce(?, idfv), adid = coalesce(?, adid) WHERE id = ?`
	qUserDevice = `/* RecordEvents */ INSERT INTO user_devices (project, device_id, user) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET user = excluded.user`
	qUserAdID = `/* RecordEvents */ INSERT INTO user_adids (project, key, user) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET user = excluded.user`
	qInsertProps = `/* RecordEvents */ INSERT INTO user_props (version, user, props) VALUES (?, ?, ?)`
	qLoadProps   = `/* RecordEvents */ SELECT props FROM user_props WHERE version = ?`
	qInsertType  = `/* RecordEvents */ INSERT INTO event_types (id, project, name) VALUES (?, ?, ?)`
	qInsertBlock = `/* RecordEvents */ INSERT INTO event_blocks (first_id, last_id, received, min_time, max_time, data) VALUES (?, ?, ?, ?, ?, ?)`
	qAttributed  = `/* RecordEvents */ INSERT INTO user_attributions (user, event) VALUES (?, ?)`
	qHold        = `/* RecordEvents */ INSERT INTO pending_attributions (id, project, keys, received, event_type, time, user_properties, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qUnhold      = `/* RecordEvents */ DELETE FROM pending_attributions WHERE id = ?`
	qDropped     = `/* RecordEvents */ UPDATE projects SET attributions_dropped = attributions_dropped + ? WHERE id = ?`
	qLoadGroup   = `/* RecordEvents */ SELECT props FROM groups WHERE project = ? AND type = ? AND value = ?`
	qUpsertGroup = `/* RecordEvents */ INSERT INTO groups (project, type, value, props, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET props = excluded.props, updated_at = excluded.updated_at`
)

var (
	qInsertEvents = `/* RecordEvents */ INSERT INTO events (id, project, user, type, time, props, dedup) VALUES ` +
		placeholders(eventsPerInsert, 7)
	qInsertEvent = `/* RecordEvents */ INSERT INTO events (id, project, user, type, time, props, dedup) VALUES (?, ?, ?, ?, ?, ?, ?)`
	eventQueries = []string{qSequences, qSetSequences, qInsertUser, qSetUserID, qMergeUser, qSetUserProps, qSetFirstSeen, qSetUserSeen,
		qUserDevice, qUserAdID, qInsertProps, qLoadProps, qInsertType, qInsertBlock, qAttributed, qHold, qUnhold, qDropped,
		qLoadGroup, qUpsertGroup, qInsertEvents, qInsertEvent, qInsertDeliveries, qInsertDelivery}
)

// RecordEvents records uploads in one transaction (see
// touchpoint.EventStore).
func (db *DB) RecordEvents(ctx context.Context, ups []*touchpoint.EventUpload) error {
	db.amu.Lock()
	defer db.amu.Unlock()
	now := db.now()
	// Held attribution events past the hold, and insert ids past the
	// dedup window, are dropped by ExpireAttributions, run by a
	// background task with each project's time: a test-mode project's
	// clock is not the store's.
	_, err := db.writeAnalytics(ctx, now, func(st amp.State, next amp.IDs) (*amp.Writes, error) {
		w, err := amp.Plan(st, amp.Input{Uploads: ups, Next: next})
		if err != nil {
			return nil, err
		}
		for i, up := range ups {
			up.Stored = w.Stored[i]
		}
		return w, nil
	})
	return err
}

// ExpireAttributions drops a project's held attribution events past the
// hold at now (see touchpoint.EventStore).
func (db *DB) ExpireAttributions(ctx context.Context, project int64, now time.Time) (int64, error) {
	db.amu.Lock()
	defer db.amu.Unlock()
	// The memory decides whether there is anything to do without a write
	// transaction; it must be current for that (another process may have
	// held events this one never saw).
	if err := db.currentAnalytics(ctx); err != nil {
		return 0, err
	}
	if project != 0 {
		db.an.sweepDedup(project, now.UnixMilli())
	}
	if !db.an.expired(project, now.UnixMilli()) {
		return 0, nil // nothing to write: no transaction
	}
	w, err := db.writeAnalytics(ctx, db.now(), func(st amp.State, next amp.IDs) (*amp.Writes, error) {
		w := amp.Expire(st, project, now, next)
		if len(w.Unholds) == 0 {
			return nil, nil
		}
		return w, nil
	})
	if w == nil || err != nil {
		return 0, err
	}
	return int64(len(w.Unholds)), nil
}

// writeAnalytics plans and executes writes of the analytics plane in one
// transaction, and applies them to the memory once committed. plan may
// return nil: nothing to write. Callers hold amu.
func (db *DB) writeAnalytics(ctx context.Context, now time.Time, plan func(amp.State, amp.IDs) (*amp.Writes, error)) (*amp.Writes, error) {
	var w *amp.Writes
	err := db.writeTx(ctx, eventQueries, func(stmt func(string) *sql.Stmt) error {
		next, err := db.syncAnalytics(ctx, stmt)
		if err != nil {
			return err
		}
		if w, err = plan(&cacheState{a: db.an, ctx: ctx, stmt: stmt}, next); err != nil || w == nil {
			return err
		}
		return db.execWrites(ctx, stmt, w, now.UnixMilli())
	})
	if err != nil || w == nil {
		return nil, err
	}
	db.an.apply(w)
	db.an.gen++
	db.charts.add(w)
	return w, nil
}

// syncAnalytics reads the sequences in the write transaction, reloading
// the memory when another writer committed since this process's last
// commit.
func (db *DB) syncAnalytics(ctx context.Context, stmt func(string) *sql.Stmt) (amp.IDs, error) {
	var next amp.IDs
	var gen int64
	rows, err := stmt(qSequences).QueryContext(ctx)
	if err != nil {
		return next, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return next, err
		}
		if !next.Set(name, v) && name == "analytics_generation" {
			gen = v
		}
	}
	if err := rows.Err(); err != nil {
		return next, err
	}
	if !next.Complete() {
		return next, errors.New("sqlite: the analytics sequences are missing")
	}
	// Inside the write transaction the read pool sees the last commit,
	// which no one can change meanwhile.
	return next, db.catchUp(ctx, gen)
}

// catchUp reloads the memory when the tables are at another generation
// than it: another process (or a commit reported failed that went
// through) moved them on. Callers hold amu.
// currentAnalytics brings the memory up to the last commit of any
// writer; db.amu is held.
func (db *DB) currentAnalytics(ctx context.Context) error {
	var gen int64
	if err := db.read.QueryRowContext(ctx, `/* currentAnalytics */ SELECT next FROM sequences WHERE name = 'analytics_generation'`).Scan(&gen); err != nil {
		return err
	}
	return db.catchUp(ctx, gen)
}

func (db *DB) catchUp(ctx context.Context, gen int64) error {
	if gen == db.an.gen {
		return nil
	}
	if err := db.loadAnalytics(ctx); err != nil {
		return err
	}
	db.an.gen = gen
	return nil
}

// execWrites executes a plan's writes.
func (db *DB) execWrites(ctx context.Context, stmt func(string) *sql.Stmt, w *amp.Writes, now int64) error {
	exec := func(q string, args ...any) error {
		_, err := stmt(q).ExecContext(ctx, args...)
		return err
	}
	for _, u := range w.NewUsers {
		var uid any
		if u.UserID != "" {
			uid = u.UserID
		}
		if err := exec(qInsertUser, u.ID, u.Project, uid, u.FirstSeen); err != nil {
			return err
		}
	}
	for _, s := range w.UserIDs {
		if err := exec(qSetUserID, s.UserID, s.User); err != nil {
			return err
		}
	}
	for _, m := range w.Merges {
		if err := exec(qMergeUser, m.Into, m.User); err != nil {
			return err
		}
	}
	for _, d := range w.Devices {
		if err := exec(qUserDevice, d.Project, d.DeviceID, d.User); err != nil {
			return err
		}
	}
	for _, a := range w.AdIDs {
		if err := exec(qUserAdID, a.Project, a.Key[:], a.User); err != nil {
			return err
		}
	}
	for _, t := range w.Types {
		if err := exec(qInsertType, t.ID, t.Project, t.Name); err != nil {
			return err
		}
	}
	for _, v := range w.Versions {
		b, err := encodeJSON("user properties", v.Props)
		if err != nil {
			return err
		}
		if err := exec(qInsertProps, v.Version, v.User, string(b)); err != nil {
			return err
		}
	}
	if err := insertEvents(ctx, stmt, w.Events, now); err != nil {
		return err
	}
	for _, a := range w.Attributed {
		if err := exec(qAttributed, a.User, a.Event); err != nil {
			return err
		}
	}
	for _, h := range w.Holds {
		pj, err := encodeJSON("attribution's user properties", h.Props)
		if err != nil {
			return err
		}
		blob := make([]byte, 0, 16*len(h.Keys))
		for _, k := range h.Keys {
			blob = append(blob, k[:]...)
		}
		if err := exec(qHold, h.ID, h.Project, blob, h.Received, h.EventType, h.Time, string(pj), string(h.Data)); err != nil {
			return err
		}
	}
	dropped := make(map[int64]int64)
	for _, u := range w.Unholds {
		if u.Expired {
			dropped[u.Held.Project]++
		}
		if err := exec(qUnhold, u.Held.ID); err != nil {
			return err
		}
	}
	for p, n := range dropped {
		if err := exec(qDropped, n, p); err != nil {
			return err
		}
	}
	for _, g := range w.Groups {
		b, err := encodeJSON("group properties", g.Props)
		if err != nil {
			return err
		}
		if err := exec(qUpsertGroup, g.Project, g.Type, g.Value, string(b), g.UpdatedAt); err != nil {
			return err
		}
	}
	for _, s := range w.PropsSet {
		if err := exec(qSetUserProps, s.Version, s.User); err != nil {
			return err
		}
	}
	for _, s := range w.FirstSeen {
		if err := exec(qSetFirstSeen, s.Time, s.User); err != nil {
			return err
		}
	}
	for _, s := range w.Seen {
		if err := exec(qSetUserSeen, orNull(s.Platform), orNull(s.Country), orNull(s.IDFA), orNull(s.IDFV), orNull(s.ADID), s.User); err != nil {
			return err
		}
	}
	if err := db.insertDeliveries(ctx, stmt, w.Deliveries); err != nil {
		return err
	}
	n := w.Next
	return exec(qSetSequences, n.Event, n.User, n.Version, n.Type, n.Held)
}

// orNull is s, or NULL when empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertEvents writes events' rows, eventsPerInsert a statement, and
// their data in one block.
func insertEvents(ctx context.Context, stmt func(string) *sql.Stmt, events []amp.Event, now int64) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]any, 0, 7*eventsPerInsert)
	size := 0
	for i := range events {
		size += 2*binary.MaxVarintLen32 + len(events[i].Data)
	}
	block := make([]byte, 0, size)
	lo, hi := events[0].Time, events[0].Time
	// Whole groups of eventsPerInsert, then the rest one by one: two
	// prepared statements serve every commit.
	grouped := len(events) / eventsPerInsert * eventsPerInsert
	for i := range events {
		e := &events[i]
		lo, hi = min(lo, e.Time), max(hi, e.Time)
		rows = append(rows, e.ID, e.Project, e.User, e.Type, e.Time, e.Version, int64(e.Dedup))
		block = binary.AppendUvarint(block, uint64(e.Received))
		block = binary.AppendUvarint(block, uint64(len(e.Data)))
		block = append(block, e.Data...)
		q := qInsertEvent
		if i < grouped {
			if len(rows) < 7*eventsPerInsert {
				continue
			}
			q = qInsertEvents
		}
		if _, err := stmt(q).ExecContext(ctx, rows...); err != nil {
			return err
		}
		rows = rows[:0]
	}
	_, err := stmt(qInsertBlock).ExecContext(ctx, events[0].ID, events[len(events)-1].ID, now, lo, hi, compressBlock(block))
	return err
}

// Event blocks are stored compressed with S2 (Snappy's format, faster):
// events of one commit share most of their keys and values, so a block
// shrinks about 7 times, and so do the WAL and database pages written for
// it. The first byte is the format: blockS2.
const blockS2 = 1

func compressBlock(b []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(b)))
	out[0] = blockS2
	return out[:1+len(s2.Encode(out[1:], b))]
}

func decompressBlock(b []byte) ([]byte, error) { return decompressBlockInto(nil, b) }

// decompressBlockInto decompresses a block into dst when it is large
// enough.
func decompressBlockInto(dst, b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != blockS2 {
		return nil, errors.New("unknown event block format")
	}
	return s2.Decode(dst[:cap(dst)], b[1:])
}
