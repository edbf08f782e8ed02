package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

var _ touchpoint.EventStore = (*DB)(nil)

// The analytics plane's write path. Amplitude's rules are package
// analytics' planner (amp.Plan): it reads the tables through txState in
// the write transaction and returns the writes, which execWrites executes
// in the same transaction. The transaction first takes an advisory lock on
// each project the uploads touch, in project order (so nodes never wait on
// each other in a circle): analytics writes of one project are serialised
// across nodes, which keeps merges, property versions and insert ids
// consistent. Then it reads the sequences FOR UPDATE: ids are reserved by
// the transaction that uses them, which also makes writers of different
// projects take turns from there to their commit, as the embedded store's
// single writer does; expiry takes its turn too. Each of these
// transactions advances the analytics generation, which tells a node
// whether what it keeps in memory of the plane (event_memo.go) is still
// all there is.
//
// A user's memory-only fields (analytics.User AdIDs and Seen) are kept
// with the memo; a user read from its row gets the Seen of the row's
// values, and its AdIDs start at zero, so the first event of such a user
// that carries advertising ids maps them again.

// analyticsLockClass is the first key of the advisory locks on projects
// (two-key form: pg_advisory_xact_lock(class, project)); "tpev" in ASCII.
const analyticsLockClass = 0x74706576

// eventWeekLock is the advisory lock key that creating event partitions
// holds ("tpevwks" in ASCII).
const eventWeekLock = 0x74706576776b73

// createEventWeeks makes sure the partitions of the weeks of events'
// times exist.
func (db *DB) createEventWeeks(ctx context.Context, times []int64) error {
	return db.createWeeks(ctx, &db.eventWeeks, "events", eventWeekLock, times)
}

// errMissingWeeks is a plan that stores events in weeks with no partition
// yet (an applied attribution's time): its transaction is rolled back, the
// partitions created, and the plan made again.
var errMissingWeeks = errors.New("postgres: event partitions missing")

// RecordEvents records uploads in one transaction (see
// touchpoint.EventStore).
func (db *DB) RecordEvents(ctx context.Context, ups []*touchpoint.EventUpload) error {
	var projects, times []int64
	for _, up := range ups {
		projects = append(projects, up.Project)
		for _, e := range up.Events {
			if e.Kind == touchpoint.TrackEvent || e.Kind == touchpoint.AttributionEvent {
				times = append(times, e.Time)
			}
		}
	}
	if len(projects) == 0 {
		return nil
	}
	if err := db.createEventWeeks(ctx, times); err != nil {
		return err
	}
	for range 3 {
		var w *amp.Writes
		err := db.writeAnalytics(ctx, projects, func(st *txState, next amp.IDs) (*amp.Writes, error) {
			if err := st.prefetch(ups); err != nil {
				return nil, err
			}
			var err error
			w, err = amp.Plan(st, amp.Input{Uploads: ups, Next: next})
			if err != nil {
				return nil, err
			}
			var missing []int64
			for i := range w.Events {
				if !db.eventWeeks.has(millisWeek(w.Events[i].Time)) {
					missing = append(missing, w.Events[i].Time)
				}
			}
			if len(missing) > 0 {
				times = missing
				return nil, errMissingWeeks
			}
			return w, nil
		})
		if errors.Is(err, errMissingWeeks) {
			if err := db.createEventWeeks(ctx, times); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		for i, up := range ups {
			up.Stored = w.Stored[i]
		}
		return nil
	}
	return errMissingWeeks
}

// ExpireAttributions drops a project's held attribution events past the
// hold at now (see touchpoint.EventStore), and with a project forgets its
// insert ids past the dedup window. Only a project with something to drop
// takes its lock.
func (db *DB) ExpireAttributions(ctx context.Context, project int64, now time.Time) (int64, error) {
	cutoff := now.Add(-touchpoint.AttributionHold).UnixMilli()
	if project != 0 {
		// Without the project's lock: a writer that read an insert id
		// past the window stores it again whether or not it is deleted
		// meanwhile, and one stored again is not past the window.
		if _, err := db.pool.Exec(ctx, `/* ExpireAttributions */ DELETE FROM insert_ids WHERE project = $1 AND received <= $2`,
			project, now.Add(-touchpoint.DedupWindow).UnixMilli()); err != nil {
			return 0, err
		}
	}
	// The projects with something to drop: a read outside the
	// transaction, as a hint; the plan reads again under their locks, and
	// what was held meanwhile is not past the hold.
	rows, err := db.pool.Query(ctx, `/* ExpireAttributions */ SELECT DISTINCT project FROM pending_attributions
		WHERE received < $1 AND ($2 = 0 OR project = $2)`, cutoff, project)
	if err != nil {
		return 0, err
	}
	projects, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(projects) == 0 {
		return 0, err
	}
	var dropped int64
	err = db.writeAnalytics(ctx, projects, func(st *txState, next amp.IDs) (*amp.Writes, error) {
		st.expiring, st.cutoff = projects, cutoff
		w := amp.Expire(st, project, now, next)
		dropped = int64(len(w.Unholds))
		return w, nil
	})
	if err != nil {
		return 0, err
	}
	return dropped, nil
}

// writeAnalytics plans and executes writes of the analytics plane in one
// transaction holding the locks of projects and the sequences' rows, with
// the node's memo of the generation it reads. plan may return nil:
// nothing to write.
func (db *DB) writeAnalytics(ctx context.Context, projects []int64, plan func(*txState, amp.IDs) (*amp.Writes, error)) error {
	projects = slices.Clone(projects)
	slices.Sort(projects)
	projects = slices.Compact(projects)
	db.memo.mu.Lock()
	defer db.memo.mu.Unlock()
	var w *amp.Writes
	var gen int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, p := range projects {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(analyticsLockClass), int32(p)); err != nil {
				return err
			}
		}
		next, cur, err := readSequences(ctx, tx)
		if err != nil {
			return err
		}
		st := newTxState(ctx, tx, db.memo.take(cur))
		w, err = plan(st, next)
		if st.err != nil {
			return st.err
		}
		if err != nil || w == nil {
			return err
		}
		if err := db.execWrites(ctx, tx, w); err != nil {
			return err
		}
		// The ids the plan used (a plan of expiry uses none: its Next are
		// the ones it was given), and the generation it makes.
		gen = cur + 1
		n := w.Next
		_, err = tx.Exec(ctx, `/* RecordEvents */ UPDATE sequences SET next = CASE name WHEN 'events' THEN $1::bigint WHEN 'users' THEN $2::bigint
			WHEN 'user_props' THEN $3::bigint WHEN 'event_types' THEN $4::bigint WHEN 'pending_attributions' THEN $5::bigint
			WHEN 'analytics_generation' THEN $6::bigint ELSE next END`,
			n.Event, n.User, n.Version, n.Type, n.Held, gen)
		return err
	})
	db.memo.committed(w, gen, err)
	return err
}

// readSequences reads the next ids and the analytics generation, locking
// their rows until the commit.
func readSequences(ctx context.Context, tx pgx.Tx) (next amp.IDs, gen int64, err error) {
	rows, err := tx.Query(ctx, `/* RecordEvents */ SELECT name, next FROM sequences ORDER BY name FOR UPDATE`)
	if err != nil {
		return next, 0, err
	}
	var name string
	var v int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error {
		if !next.Set(name, v) && name == "analytics_generation" {
			gen = v
		}
		return nil
	}); err != nil {
		return next, 0, err
	}
	if !next.Complete() || gen == 0 {
		return next, 0, errors.New("postgres: the analytics sequences are missing")
	}
	return next, gen, nil
}

// encodeProps encodes properties for storage.
func encodeProps(what string, v map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "the %s cannot be stored: %v", what, err)
	}
	return b, nil
}

// orNil is s as bytes, or NULL when empty.
func orNil(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// lastByKey keeps the last of the items with one key, in the order of
// their last occurrence: an upsert may touch a row once per statement.
func lastByKey[T any, K comparable](items []T, key func(T) K) []T {
	at := make(map[K]int, len(items))
	for i, it := range items {
		at[key(it)] = i
	}
	out := make([]T, 0, len(at))
	for i, it := range items {
		if at[key(it)] == i {
			out = append(out, it)
		}
	}
	return out
}

// execWrites executes a plan's writes, list by list in the order of
// analytics.Writes' fields, each list in one statement.
func (db *DB) execWrites(ctx context.Context, tx pgx.Tx, w *amp.Writes) error {
	exec := func(q string, args ...any) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	}
	if n := len(w.NewUsers); n > 0 {
		ids, projects, userIDs, first := make([]int64, n), make([]int64, n), make([][]byte, n), make([]int64, n)
		for i, u := range w.NewUsers {
			ids[i], projects[i], userIDs[i], first[i] = u.ID, u.Project, orNil(u.UserID), u.FirstSeen
		}
		if err := exec(`/* RecordEvents */ INSERT INTO users (id, project, user_id, first_seen)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[])`, ids, projects, userIDs, first); err != nil {
			return err
		}
	}
	if n := len(w.UserIDs); n > 0 {
		ids, userIDs := make([]int64, n), make([][]byte, n)
		for i, s := range w.UserIDs {
			ids[i], userIDs[i] = s.User, []byte(s.UserID)
		}
		if err := exec(`/* RecordEvents */ UPDATE users SET user_id = u.user_id
			FROM unnest($1::bigint[], $2::bytea[]) AS u (id, user_id) WHERE users.id = u.id`, ids, userIDs); err != nil {
			return err
		}
	}
	if n := len(w.Merges); n > 0 {
		ids, into := make([]int64, n), make([]int64, n)
		for i, m := range w.Merges {
			ids[i], into[i] = m.User, m.Into
		}
		if err := exec(`/* RecordEvents */ UPDATE users SET merged_into = u.merged_into
			FROM unnest($1::bigint[], $2::bigint[]) AS u (id, merged_into) WHERE users.id = u.id`, ids, into); err != nil {
			return err
		}
	}
	if ds := lastByKey(w.Devices, func(d amp.MapDevice) projectString { return projectString{d.Project, d.DeviceID} }); len(ds) > 0 {
		projects, devices, users := make([]int64, len(ds)), make([][]byte, len(ds)), make([]int64, len(ds))
		for i, d := range ds {
			projects[i], devices[i], users[i] = d.Project, []byte(d.DeviceID), d.User
		}
		if err := exec(`/* RecordEvents */ INSERT INTO user_devices (project, device_id, amplitude_id)
			SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[])
			ON CONFLICT (project, device_id) DO UPDATE SET amplitude_id = excluded.amplitude_id
			WHERE user_devices.amplitude_id <> excluded.amplitude_id`, projects, devices, users); err != nil {
			return err
		}
	}
	if as := lastByKey(w.AdIDs, func(a amp.MapAdID) projectAdID { return projectAdID{a.Project, a.Key} }); len(as) > 0 {
		projects, keys, users := make([]int64, len(as)), make([][]byte, len(as)), make([]int64, len(as))
		for i, a := range as {
			projects[i], keys[i], users[i] = a.Project, a.Key[:], a.User
		}
		if err := exec(`/* RecordEvents */ INSERT INTO user_adids (project, key, amplitude_id)
			SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[])
			ON CONFLICT (project, key) DO UPDATE SET amplitude_id = excluded.amplitude_id
			WHERE user_adids.amplitude_id <> excluded.amplitude_id`, projects, keys, users); err != nil {
			return err
		}
	}
	if n := len(w.Types); n > 0 {
		ids, projects, names := make([]int64, n), make([]int64, n), make([][]byte, n)
		for i, t := range w.Types {
			ids[i], projects[i], names[i] = t.ID, t.Project, []byte(t.Name)
		}
		if err := exec(`/* RecordEvents */ INSERT INTO event_types (id, project, name)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])`, ids, projects, names); err != nil {
			return err
		}
	}
	if n := len(w.Versions); n > 0 {
		versions, users, props := make([]int64, n), make([]int64, n), make([][]byte, n)
		for i, v := range w.Versions {
			b, err := encodeProps("user properties", v.Props)
			if err != nil {
				return err
			}
			versions[i], users[i], props[i] = v.Version, v.User, b
		}
		if err := exec(`/* RecordEvents */ INSERT INTO user_props (version, amplitude_id, props)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])`, versions, users, props); err != nil {
			return err
		}
	}
	if err := insertEvents(ctx, tx, w.Events); err != nil {
		return err
	}
	if n := len(w.Attributed); n > 0 {
		times := make(map[int64]int64, n)
		for i := range w.Events {
			times[w.Events[i].ID] = w.Events[i].Time
		}
		users, events, at := make([]int64, n), make([]int64, n), make([]int64, n)
		for i, a := range w.Attributed {
			users[i], events[i], at[i] = a.User, a.Event, times[a.Event]
		}
		if err := exec(`/* RecordEvents */ INSERT INTO user_attributions (amplitude_id, event, time)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])`, users, events, at); err != nil {
			return err
		}
	}
	if n := len(w.Holds); n > 0 {
		ids, projects, received, times := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		keys, types, props, data := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		var keyProjects, keyIDs []int64
		var keyKeys [][]byte
		for i, h := range w.Holds {
			b, err := encodeProps("attribution's user properties", h.Props)
			if err != nil {
				return err
			}
			blob := make([]byte, 0, 16*len(h.Keys))
			for _, k := range h.Keys {
				blob = append(blob, k[:]...)
				keyProjects, keyIDs, keyKeys = append(keyProjects, h.Project), append(keyIDs, h.ID), append(keyKeys, k[:])
			}
			ids[i], projects[i], received[i], times[i] = h.ID, h.Project, h.Received, h.Time
			keys[i], types[i], props[i], data[i] = blob, []byte(h.EventType), b, h.Data
			if data[i] == nil {
				data[i] = []byte{}
			}
		}
		if err := exec(`/* RecordEvents */ INSERT INTO pending_attributions (id, project, keys, received, event_type, time, user_properties, data)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bytea[], $6::bigint[], $7::bytea[], $8::bytea[])`,
			ids, projects, keys, received, types, times, props, data); err != nil {
			return err
		}
		if len(keyIDs) > 0 {
			if err := exec(`/* RecordEvents */ INSERT INTO pending_attribution_keys (project, key, id)
				SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[]) ON CONFLICT DO NOTHING`, keyProjects, keyKeys, keyIDs); err != nil {
				return err
			}
		}
	}
	if len(w.Unholds) > 0 {
		var ids []int64
		dropped := map[int64]int64{}
		for _, u := range w.Unholds {
			ids = append(ids, u.Held.ID)
			if u.Expired {
				dropped[u.Held.Project]++
			}
		}
		if err := exec(`/* RecordEvents */ DELETE FROM pending_attributions WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		for _, p := range slices.Sorted(maps.Keys(dropped)) {
			if err := exec(`/* RecordEvents */ UPDATE projects SET attributions_dropped = attributions_dropped + $1 WHERE id = $2`,
				dropped[p], p); err != nil {
				return err
			}
		}
	}
	if gs := lastByKey(w.Groups, func(g amp.GroupProps) groupName { return groupName{g.Project, g.Type, g.Value} }); len(gs) > 0 {
		n := len(gs)
		projects, updated := make([]int64, n), make([]int64, n)
		types, values, props := make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, g := range gs {
			b, err := encodeProps("group properties", g.Props)
			if err != nil {
				return err
			}
			projects[i], types[i], values[i], props[i], updated[i] = g.Project, []byte(g.Type), []byte(g.Value), b, g.UpdatedAt
		}
		if err := exec(`/* RecordEvents */ INSERT INTO groups (project, type, value, props, updated_at)
			SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bigint[])
			ON CONFLICT (project, type, value) DO UPDATE SET props = excluded.props, updated_at = excluded.updated_at`,
			projects, types, values, props, updated); err != nil {
			return err
		}
	}
	if n := len(w.PropsSet); n > 0 {
		ids, versions := make([]int64, n), make([]int64, n)
		for i, s := range w.PropsSet {
			ids[i], versions[i] = s.User, s.Version
		}
		if err := exec(`/* RecordEvents */ UPDATE users SET props_version = u.version
			FROM unnest($1::bigint[], $2::bigint[]) AS u (id, version) WHERE users.id = u.id`, ids, versions); err != nil {
			return err
		}
	}
	if n := len(w.FirstSeen); n > 0 {
		ids, first := make([]int64, n), make([]int64, n)
		for i, s := range w.FirstSeen {
			ids[i], first[i] = s.User, s.Time
		}
		if err := exec(`/* RecordEvents */ UPDATE users SET first_seen = u.first_seen
			FROM unnest($1::bigint[], $2::bigint[]) AS u (id, first_seen) WHERE users.id = u.id`, ids, first); err != nil {
			return err
		}
	}
	if len(w.Seen) > 0 {
		// A user's changes folded in order: each non-empty value
		// replaces the one before.
		folded := map[int64]*amp.SetSeen{}
		var order []int64
		for _, s := range w.Seen {
			f := folded[s.User]
			if f == nil {
				f = &amp.SetSeen{User: s.User}
				folded[s.User] = f
				order = append(order, s.User)
			}
			f.Platform, f.Country = cmp.Or(s.Platform, f.Platform), cmp.Or(s.Country, f.Country)
			f.IDFA, f.IDFV, f.ADID = cmp.Or(s.IDFA, f.IDFA), cmp.Or(s.IDFV, f.IDFV), cmp.Or(s.ADID, f.ADID)
		}
		n := len(order)
		ids := make([]int64, n)
		platform, country, idfa, idfv, adid := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, id := range order {
			f := folded[id]
			ids[i] = id
			platform[i], country[i], idfa[i], idfv[i], adid[i] = orNil(f.Platform), orNil(f.Country), orNil(f.IDFA), orNil(f.IDFV), orNil(f.ADID)
		}
		if err := exec(`/* RecordEvents */ UPDATE users SET platform = coalesce(u.platform, users.platform),
			country = coalesce(u.country, users.country), idfa = coalesce(u.idfa, users.idfa), idfv = coalesce(u.idfv, users.idfv),
			adid = coalesce(u.adid, users.adid)
			FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])
				AS u (id, platform, country, idfa, idfv, adid) WHERE users.id = u.id`,
			ids, platform, country, idfa, idfv, adid); err != nil {
			return err
		}
	}
	return db.insertDeliveries(ctx, tx, w.Deliveries)
}

// insertEvents writes events with COPY (each into its week's partition),
// and remembers their insert ids: when each was last stored, by its
// upload's time.
func insertEvents(ctx context.Context, tx pgx.Tx, events []amp.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	type dedupKey struct {
		project int64
		hash    uint64
	}
	dedup := map[dedupKey]int64{}
	for i := range events {
		e := &events[i]
		data := e.Data
		if data == nil {
			data = []byte("{}")
		}
		rows[i] = []any{e.ID, e.Project, e.User, e.Type, e.Time, e.Version, int64(e.Dedup), e.Received, data}
		if e.Dedup != 0 {
			k := dedupKey{e.Project, e.Dedup}
			dedup[k] = max(dedup[k], e.Received)
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"id", "project", "amplitude_id", "type", "time", "props", "dedup",
		"received", "data"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if len(dedup) == 0 {
		return nil
	}
	var projects, hashes, received []int64
	for k, at := range dedup {
		projects, hashes, received = append(projects, k.project), append(hashes, int64(k.hash)), append(received, at)
	}
	_, err := tx.Exec(ctx, `/* RecordEvents */ INSERT INTO insert_ids (project, hash, received)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
		ON CONFLICT (project, hash) DO UPDATE SET received = greatest(insert_ids.received, excluded.received)`, projects, hashes, received)
	return err
}
