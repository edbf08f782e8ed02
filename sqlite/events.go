package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.EventStore = (*DB)(nil)

// The analytics plane's write path. Every user, device, advertising id,
// event type and held attribution is kept in memory (analytics), so that
// recording an event costs map lookups and one narrow row; the tables are
// the truth the memory is loaded from on start, and reloaded from after a
// failed commit. RecordEvents is the only writer and holds amu throughout.

// analytics is the in-memory state of the analytics plane.
type analytics struct {
	users    map[int64]*auser
	byUserID map[projectKey]*auser
	byDevice map[projectKey]*auser
	byAdID   map[adKey]*auser
	types    map[projectKey]int64
	// dedup maps the hash of (project, device id, insert id) to when it
	// was first received (ms). Entries older than DedupWindow are swept.
	dedup   map[uint64]int64
	pending map[adKey][]*heldAttribution
	// When held attributions (every minute) and insert ids (every hour)
	// were last swept.
	lastSweep, lastDedupSweep int64

	lastEvent, lastUser, lastVersion, lastType int64
}

type projectKey struct {
	project int64
	id      string
}

type adKey struct {
	project int64
	key     touchpoint.AdIDKey
}

// auser is a user as the writer knows it.
type auser struct {
	id        int64
	project   int64
	userID    string
	merged    int64
	version   int64            // of its properties; 0: none
	props     map[string]any   // loaded when first changed
	firstSeen int64            // the earliest event time (ms): storeEvent
	adIDs     touchpoint.AdIDs // of its last event (memory only)
	// seen hashes the platform, country and advertising ids last written
	// to its row (memory only: 0 after a start, so written again once).
	seen uint64
}

// heldAttribution is an attribution event waiting for its user.
type heldAttribution struct {
	id        int64
	project   int64
	keys      []touchpoint.AdIDKey
	received  int64
	eventType string
	time      int64
	props     map[string]any
	data      []byte
	done      bool
}

// Queries of the write path.
const (
	eventsPerInsert = 16
	qInsertUser     = `/* RecordEvents */ INSERT INTO users (id, project, user_id, props_version, first_seen) VALUES (?, ?, ?, 0, ?)`
	qSetUserID      = `/* RecordEvents */ UPDATE users SET user_id = ? WHERE id = ?`
	qMergeUser      = `/* RecordEvents */ UPDATE users SET merged_into = ? WHERE id = ?`
	qSetUserProps   = `/* RecordEvents */ UPDATE users SET props_version = ? WHERE id = ?`
	qSetFirstSeen   = `/* RecordEvents */ UPDATE users SET first_seen = ? WHERE id = ?`
	qSetUserSeen    = `/* RecordEvents */ UPDATE users SET platform = coalesce(?, platform), country = coalesce(?, country),
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
	eventQueries = []string{qInsertUser, qSetUserID, qMergeUser, qSetUserProps, qSetFirstSeen, qSetUserSeen, qUserDevice, qUserAdID, qInsertProps,
		qLoadProps, qInsertType, qInsertBlock, qAttributed, qHold, qUnhold, qDropped, qLoadGroup, qUpsertGroup,
		qInsertEvents, qInsertEvent, qInsertDeliveries, qInsertDelivery}
)

// eventWriter records one commit's uploads.
type eventWriter struct {
	db   *DB
	ctx  context.Context
	a    *analytics
	stmt func(string) *sql.Stmt
	now  int64

	rows     []any // pending events rows, 7 values each
	block    []byte
	first    int64
	min, max int64
	propsSet map[int64]*auser // users whose props_version changed
	seenSet  map[int64]*auser // users whose first_seen moved earlier
	dropped  map[int64]int64  // per project
	// deliveries are the event streams' deliveries.
	deliveries []*touchpoint.Delivery
}

// RecordEvents records uploads in one transaction (see
// touchpoint.EventStore).
func (db *DB) RecordEvents(ctx context.Context, ups []*touchpoint.EventUpload) error {
	db.amu.Lock()
	defer db.amu.Unlock()
	if db.astale {
		if err := db.loadAnalytics(ctx); err != nil {
			return err
		}
	}
	err := db.writeTx(ctx, eventQueries, func(stmt func(string) *sql.Stmt) error {
		w := &eventWriter{db: db, ctx: ctx, a: db.an, stmt: stmt, now: db.now().UnixMilli(),
			propsSet: make(map[int64]*auser), seenSet: make(map[int64]*auser), dropped: make(map[int64]int64)}
		for _, up := range ups {
			up.Stored = 0
			for _, e := range up.Events {
				stored, err := w.record(up.Project, e, up.Received.UnixMilli(), up.Streams)
				if err != nil {
					return err
				}
				if stored {
					up.Stored++
				}
			}
		}
		if err := w.sweep(db.an); err != nil {
			return err
		}
		return w.flush()
	})
	if err != nil {
		// The memory may hold what the rollback undid: reload it before
		// the next write.
		db.astale = true
	}
	return err
}

// record applies one event. It reports whether an event was stored.
func (w *eventWriter) record(project int64, e *touchpoint.IncomingEvent, received int64, streams []touchpoint.Streamer) (bool, error) {
	switch e.Kind {
	case touchpoint.TrackEvent:
		var h uint64
		if e.InsertID != "" {
			h = dedupHash(project, e.DeviceID, e.InsertID)
			if at, ok := w.a.dedup[h]; ok && received-at < touchpoint.DedupWindow.Milliseconds() {
				return false, nil // a repeat: acknowledged, not stored again
			}
			w.a.dedup[h] = received
		}
		u, err := w.resolve(project, e.UserID, e.DeviceID, e.Time)
		if err != nil {
			return false, err
		}
		if err := w.seeAdIDs(u, e.AdIDs, received); err != nil {
			return false, err
		}
		if err := w.seeDevice(u, e); err != nil {
			return false, err
		}
		if e.UserProperties != nil {
			if err := w.changeProps(u, e.UserProperties); err != nil {
				return false, err
			}
		}
		id, err := w.storeEvent(u, e.EventType, e.Time, received, h, e.Data)
		if err != nil {
			return false, err
		}
		return true, w.stream(streams, u, e, id)
	case touchpoint.IdentifyEvent:
		u, err := w.resolve(project, e.UserID, e.DeviceID, e.Time)
		if err != nil {
			return false, err
		}
		if err := w.seeAdIDs(u, e.AdIDs, received); err != nil {
			return false, err
		}
		if err := w.seeDevice(u, e); err != nil {
			return false, err
		}
		return false, w.changeProps(u, e.UserProperties)
	case touchpoint.GroupIdentifyEvent:
		return false, w.groupIdentify(project, e, received)
	case touchpoint.AttributionEvent:
		return w.attribution(project, e, received)
	}
	return false, fmt.Errorf("unknown event kind %d", e.Kind)
}

// dedupHash is the key insert_ids are remembered by: FNV-1a over the
// project, device id and insert id; never 0 (which means none).
func dedupHash(project int64, device, insertID string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(project))
	h.Write(b[:])
	h.Write([]byte(device))
	h.Write([]byte{0})
	h.Write([]byte(insertID))
	return max(h.Sum64(), 1)
}

// resolve finds the user of an event, creating or joining users by
// Amplitude's rules:
//   - a known user id is that user; its device (re)joins it, and an
//     anonymous user that had the device is merged into it;
//   - a new user id on a device of an anonymous user makes that user
//     identified (same amplitude_id);
//   - a new user id otherwise is a new user;
//   - a device id alone is the device's user, or a new anonymous user.
//
// A user it creates is first seen at the time of the event that made it
// (at); storeEvent moves that back for earlier events.
func (w *eventWriter) resolve(project int64, userID, deviceID string, at int64) (*auser, error) {
	a := w.a
	var u, du *auser
	if userID != "" {
		u = a.byUserID[projectKey{project, userID}]
	}
	if deviceID != "" {
		du = a.byDevice[projectKey{project, deviceID}]
		if du != nil && du.merged != 0 {
			du = a.users[du.merged]
		}
	}
	var err error
	switch {
	case u != nil:
		if du != u && deviceID != "" {
			if du != nil && du.userID == "" {
				du.merged = u.id
				if _, err := w.stmt(qMergeUser).ExecContext(w.ctx, u.id, du.id); err != nil {
					return nil, err
				}
			}
			err = w.setDevice(project, deviceID, u)
		}
		return u, err
	case userID != "":
		if du != nil && du.userID == "" {
			du.userID = userID
			a.byUserID[projectKey{project, userID}] = du
			_, err := w.stmt(qSetUserID).ExecContext(w.ctx, userID, du.id)
			return du, err
		}
		u, err = w.newUser(project, userID, at)
		if err == nil && deviceID != "" {
			err = w.setDevice(project, deviceID, u)
		}
		return u, err
	case du != nil:
		return du, nil
	default:
		u, err = w.newUser(project, "", at)
		if err == nil {
			err = w.setDevice(project, deviceID, u)
		}
		return u, err
	}
}

func (w *eventWriter) newUser(project int64, userID string, at int64) (*auser, error) {
	a := w.a
	a.lastUser++
	u := &auser{id: a.lastUser, project: project, userID: userID, firstSeen: at}
	a.users[u.id] = u
	var uid any
	if userID != "" {
		a.byUserID[projectKey{project, userID}] = u
		uid = userID
	}
	_, err := w.stmt(qInsertUser).ExecContext(w.ctx, u.id, project, uid, at)
	return u, err
}

func (w *eventWriter) setDevice(project int64, deviceID string, u *auser) error {
	w.a.byDevice[projectKey{project, deviceID}] = u
	_, err := w.stmt(qUserDevice).ExecContext(w.ctx, project, deviceID, u.id)
	return err
}

// seeAdIDs records the advertising ids of a user's event and applies the
// attribution events held for them.
func (w *eventWriter) seeAdIDs(u *auser, ids touchpoint.AdIDs, received int64) error {
	if ids == (touchpoint.AdIDs{}) || ids == u.adIDs {
		// The same ids as the user's last event: they map to it already,
		// and nothing can be held for them (an attribution for a known id
		// applies at once). No hashing.
		return nil
	}
	u.adIDs = ids
	for _, k := range ids.Keys() {
		ak := adKey{u.project, k}
		if prev := w.a.byAdID[ak]; prev != u {
			if prev != nil {
				prev.adIDs = touchpoint.AdIDs{}
			}
			w.a.byAdID[ak] = u
			if _, err := w.stmt(qUserAdID).ExecContext(w.ctx, u.project, k[:], u.id); err != nil {
				return err
			}
		}
		for _, h := range w.a.pending[ak] {
			if h.done {
				continue
			}
			if received-h.received > touchpoint.AttributionHold.Milliseconds() {
				if err := w.unhold(h, true); err != nil {
					return err
				}
				continue
			}
			if err := w.apply(u, h.eventType, h.time, received, h.props, h.data); err != nil {
				return err
			}
			if err := w.unhold(h, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// seeDevice keeps on the user's row the platform, country and advertising
// ids of its latest event that had them: what cohorts filter on and
// syncs send. An event like the user's last costs a hash.
func (w *eventWriter) seeDevice(u *auser, e *touchpoint.IncomingEvent) error {
	vals := [...]string{e.Platform, e.Country, e.AdIDs.IDFA, e.AdIDs.IDFV, e.AdIDs.ADID}
	if vals == [5]string{} {
		return nil
	}
	h := fnv.New64a()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	sum := max(h.Sum64(), 1)
	if sum == u.seen {
		return nil
	}
	u.seen = sum
	args := make([]any, 0, 6)
	for _, v := range vals {
		if v == "" {
			args = append(args, nil)
		} else {
			args = append(args, v)
		}
	}
	_, err := w.stmt(qSetUserSeen).ExecContext(w.ctx, append(args, u.id)...)
	return err
}

// attribution applies an attribution event to the user with one of its
// advertising ids, or holds it.
func (w *eventWriter) attribution(project int64, e *touchpoint.IncomingEvent, received int64) (bool, error) {
	keys := e.AdIDs.Keys()
	for _, k := range keys {
		if u := w.a.byAdID[adKey{project, k}]; u != nil {
			if u.merged != 0 {
				u = w.a.users[u.merged]
			}
			return true, w.apply(u, e.EventType, e.Time, received, e.UserProperties, e.Data)
		}
	}
	props := e.UserProperties
	if props == nil {
		props = map[string]any{}
	}
	pj, err := encodeJSON("attribution's user properties", props)
	if err != nil {
		return false, err
	}
	blob := make([]byte, 0, 16*len(keys))
	for _, k := range keys {
		blob = append(blob, k[:]...)
	}
	res, err := w.stmt(qHold).ExecContext(w.ctx, nil, project, blob, received, e.EventType, e.Time, string(pj), string(e.Data))
	if err != nil {
		return false, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	h := &heldAttribution{id: id, project: project, keys: keys, received: received, eventType: e.EventType,
		time: e.Time, props: props, data: e.Data}
	for _, k := range keys {
		ak := adKey{project, k}
		w.a.pending[ak] = append(w.a.pending[ak], h)
	}
	return false, nil
}

// apply stores an attribution event on a user and sets its user
// properties, so the user's later events carry them.
func (w *eventWriter) apply(u *auser, eventType string, t, received int64, props map[string]any, data []byte) error {
	if props != nil {
		if err := w.changeProps(u, props); err != nil {
			return err
		}
	}
	id, err := w.storeEvent(u, eventType, t, received, 0, data)
	if err != nil {
		return err
	}
	_, err = w.stmt(qAttributed).ExecContext(w.ctx, u.id, id)
	return err
}

// unhold forgets a held attribution, counting it as dropped if it expired.
func (w *eventWriter) unhold(h *heldAttribution, expired bool) error {
	h.done = true
	for _, k := range h.keys {
		ak := adKey{h.project, k}
		l := slices.DeleteFunc(w.a.pending[ak], func(x *heldAttribution) bool { return x == h })
		if len(l) == 0 {
			delete(w.a.pending, ak)
		} else {
			w.a.pending[ak] = l
		}
	}
	if expired {
		w.dropped[h.project]++
	}
	_, err := w.stmt(qUnhold).ExecContext(w.ctx, h.id)
	return err
}

// sweep drops the held attributions past the hold, at most once a minute,
// and forgets insert ids past the dedup window, at most once an hour.
func (w *eventWriter) sweep(a *analytics) error {
	if w.now-a.lastSweep < time.Minute.Milliseconds() {
		return nil
	}
	a.lastSweep = w.now
	var expired []*heldAttribution
	for _, l := range a.pending {
		for _, h := range l {
			if !h.done && w.now-h.received > touchpoint.AttributionHold.Milliseconds() {
				expired = append(expired, h)
			}
		}
	}
	for _, h := range expired {
		if !h.done {
			if err := w.unhold(h, true); err != nil {
				return err
			}
		}
	}
	if w.now-a.lastDedupSweep >= time.Hour.Milliseconds() {
		a.lastDedupSweep = w.now
		for k, at := range a.dedup {
			if w.now-at >= touchpoint.DedupWindow.Milliseconds() {
				delete(a.dedup, k)
			}
		}
	}
	return nil
}

// stream writes the deliveries the streams owe for a stored event.
func (w *eventWriter) stream(streams []touchpoint.Streamer, u *auser, e *touchpoint.IncomingEvent, id int64) error {
	var se *touchpoint.StreamedEvent
	for _, s := range streams {
		if !s.Wants(e.EventType) {
			continue
		}
		if se == nil {
			if err := w.loadProps(u); err != nil {
				return err
			}
			groups, err := w.groupProps(u.project, e.Groups)
			if err != nil {
				return err
			}
			se = &touchpoint.StreamedEvent{ID: id, Project: u.project, EventType: e.EventType, Time: e.Time,
				UserID: u.userID, Data: e.Data, UserProperties: u.props, GroupProperties: groups}
		}
		if d := s.Delivery(se); d != nil {
			d.Source = "event/" + strconv.FormatInt(id, 10)
			w.deliveries = append(w.deliveries, d)
		}
	}
	return nil
}

// groupValues are the values of one group type in an event's groups:
// one, or a list.
func groupValues(v any) []string {
	values, ok := v.([]any)
	if !ok {
		values = []any{v}
	}
	out := make([]string, len(values))
	for i, x := range values {
		out[i], _ = x.(string)
	}
	return out
}

// groupProps returns the properties of an event's groups, merged.
func (w *eventWriter) groupProps(project int64, groups map[string]any) (map[string]any, error) {
	var out map[string]any
	for typ, v := range groups {
		for _, value := range groupValues(v) {
			var cur string
			err := w.stmt(qLoadGroup).QueryRowContext(w.ctx, project, typ, value).Scan(&cur)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return nil, err
			}
			props, err := touchpoint.DecodeProperties([]byte(cur))
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = make(map[string]any, len(props))
			}
			maps.Copy(out, props)
		}
	}
	return out, nil
}

// loadProps loads a user's properties into memory, where the writer keeps
// them once it has read or changed them.
func (w *eventWriter) loadProps(u *auser) error {
	if u.props != nil {
		return nil
	}
	u.props = map[string]any{}
	if u.version == 0 {
		return nil
	}
	var props string
	if err := w.stmt(qLoadProps).QueryRowContext(w.ctx, u.version).Scan(&props); err != nil {
		return fmt.Errorf("load properties of user %d: %w", u.id, err)
	}
	p, err := touchpoint.DecodeProperties([]byte(props))
	if err != nil {
		return err
	}
	if p != nil {
		u.props = p
	}
	return nil
}

// changeProps applies user-property changes, making a new version when
// anything changed.
func (w *eventWriter) changeProps(u *auser, changes map[string]any) error {
	if len(changes) == 0 {
		return nil
	}
	if err := w.loadProps(u); err != nil {
		return err
	}
	if !touchpoint.ApplyUserProperties(u.props, changes) {
		return nil
	}
	b, err := encodeJSON("user properties", u.props)
	if err != nil {
		return err
	}
	w.a.lastVersion++
	u.version = w.a.lastVersion
	w.propsSet[u.id] = u
	_, err = w.stmt(qInsertProps).ExecContext(w.ctx, u.version, u.id, string(b))
	return err
}

// groupIdentify changes the properties of each group named.
func (w *eventWriter) groupIdentify(project int64, e *touchpoint.IncomingEvent, received int64) error {
	for typ, v := range e.Groups {
		for _, value := range groupValues(v) {
			props := map[string]any{}
			var cur string
			err := w.stmt(qLoadGroup).QueryRowContext(w.ctx, project, typ, value).Scan(&cur)
			if err == nil {
				if props, err = touchpoint.DecodeProperties([]byte(cur)); err != nil {
					return err
				}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			touchpoint.ApplyUserProperties(props, e.GroupProperties)
			b, err := encodeJSON("group properties", props)
			if err != nil {
				return err
			}
			if _, err := w.stmt(qUpsertGroup).ExecContext(w.ctx, project, typ, value, string(b), received); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventType returns the id of an event type, adding it when new.
func (w *eventWriter) eventType(project int64, name string) (int64, error) {
	k := projectKey{project, name}
	if id, ok := w.a.types[k]; ok {
		return id, nil
	}
	w.a.lastType++
	id := w.a.lastType
	w.a.types[k] = id
	_, err := w.stmt(qInsertType).ExecContext(w.ctx, id, project, name)
	return id, err
}

// storeEvent adds an event to the commit and returns its id.
func (w *eventWriter) storeEvent(u *auser, eventType string, t, received int64, dedup uint64, data []byte) (int64, error) {
	typ, err := w.eventType(u.project, eventType)
	if err != nil {
		return 0, err
	}
	w.a.lastEvent++
	id := w.a.lastEvent
	if w.first == 0 {
		w.first, w.min, w.max = id, t, t
	}
	w.min, w.max = min(w.min, t), max(w.max, t)
	if t < u.firstSeen {
		// An event from before the user's first (an offline device's
		// backlog, an install attribution): first seen moves back.
		u.firstSeen = t
		w.seenSet[u.id] = u
	}
	w.rows = append(w.rows, id, u.project, u.id, typ, t, u.version, int64(dedup))
	w.block = binary.AppendUvarint(w.block, uint64(received))
	w.block = binary.AppendUvarint(w.block, uint64(len(data)))
	w.block = append(w.block, data...)
	if len(w.rows) == 7*eventsPerInsert {
		if _, err := w.stmt(qInsertEvents).ExecContext(w.ctx, w.rows...); err != nil {
			return 0, err
		}
		w.rows = w.rows[:0]
	}
	return id, nil
}

// flush writes what the commit holds back.
func (w *eventWriter) flush() error {
	for len(w.rows) > 0 {
		if _, err := w.stmt(qInsertEvent).ExecContext(w.ctx, w.rows[:7]...); err != nil {
			return err
		}
		w.rows = w.rows[7:]
	}
	if w.first != 0 {
		if _, err := w.stmt(qInsertBlock).ExecContext(w.ctx, w.first, w.a.lastEvent, w.now, w.min, w.max, compressBlock(w.block)); err != nil {
			return err
		}
	}
	for _, u := range w.propsSet {
		if _, err := w.stmt(qSetUserProps).ExecContext(w.ctx, u.version, u.id); err != nil {
			return err
		}
	}
	for _, u := range w.seenSet {
		if _, err := w.stmt(qSetFirstSeen).ExecContext(w.ctx, u.firstSeen, u.id); err != nil {
			return err
		}
	}
	for p, n := range w.dropped {
		if _, err := w.stmt(qDropped).ExecContext(w.ctx, n, p); err != nil {
			return err
		}
	}
	return w.db.insertDeliveries(w.ctx, w.stmt, w.deliveries)
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
