package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

// txState is the planner's view of the analytics plane (analytics.State)
// over the tables, in the write transaction that holds the locks of the
// projects planned for: what it reads no one else can change until the
// commit, so it keeps what it read, misses included, for the rest of the
// transaction. RecordEvents reads up front, in a few queries, what the
// uploads name (prefetch); what the planner asks beyond that is read one
// row at a time.
//
// State's lookups return no error: the first one is kept in err, the
// lookup answers nil, and the caller checks err after planning (the plan
// is then thrown away with its transaction).
type txState struct {
	ctx context.Context
	tx  pgx.Tx
	err error

	users    map[int64]*amp.User // nil: no such user
	byUserID map[projectString]int64
	byDevice map[projectString]int64
	byAdID   map[projectAdID]int64
	props    map[int64]map[string]any // by version
	groups   map[groupName]map[string]any
	dedup    map[projectHash]int64 // -1: none
	held     map[projectAdID][]*amp.Held
	types    map[projectString]int64 // 0: none
	// expiring bounds AllHeld: held events of these projects received
	// before cutoff, all a plan of expiry needs.
	expiring []int64
	cutoff   int64
}

type projectString struct {
	project int64
	s       string
}

type projectAdID struct {
	project int64
	key     touchpoint.AdIDKey
}

type projectHash struct {
	project int64
	hash    uint64
}

type groupName struct {
	project    int64
	typ, value string
}

var _ amp.State = (*txState)(nil)

// newTxState starts a transaction's state from a memo of the generation
// it read (event_memo.go): what the memo holds is not read again, and what
// is read is kept in it.
func newTxState(ctx context.Context, tx pgx.Tx, m *memo) *txState {
	return &txState{ctx: ctx, tx: tx, users: m.users, byUserID: m.byUserID, byDevice: m.byDevice, byAdID: m.byAdID,
		types: m.types, held: m.held, props: map[int64]map[string]any{}, groups: map[groupName]map[string]any{},
		dedup: map[projectHash]int64{}}
}

func has[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

func (s *txState) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// userColumns are a user's columns the planner reads. The platform,
// country and advertising ids last written give the user's Seen, so that
// events like the last write nothing to its row.
const userColumns = `u.id, u.project, coalesce(u.user_id, ''), coalesce(u.merged_into, 0), u.props_version, u.first_seen,
	coalesce(u.platform, ''), coalesce(u.country, ''), coalesce(u.idfa, ''), coalesce(u.idfv, ''), coalesce(u.adid, '')`

// scanUsers reads rows of a key and userColumns, keeping each user, and
// calls found with each key and user id.
func (s *txState) scanUsers(rows pgx.Rows, err error, found func(key []byte, user int64)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, userID []byte
		var seen [5][]byte
		u := &amp.User{}
		if err := rows.Scan(&key, &u.ID, &u.Project, &userID, &u.Merged, &u.Version, &u.FirstSeen,
			&seen[0], &seen[1], &seen[2], &seen[3], &seen[4]); err != nil {
			return err
		}
		u.UserID = string(userID)
		u.Seen = amp.SeenSum(string(seen[0]), string(seen[1]), string(seen[2]), string(seen[3]), string(seen[4]))
		if _, ok := s.users[u.ID]; !ok {
			s.users[u.ID] = u
		}
		found(key, u.ID)
	}
	return rows.Err()
}

// The prefetch's lookups of a project's ($1) keys ($2); see prefetch.
const (
	qUsersByUserID = `/* RecordEvents */ SELECT k.id, ` + userColumns + ` FROM unnest($2::bytea[]) AS k (id)
		CROSS JOIN LATERAL (SELECT * FROM users WHERE project = $1 AND user_id = k.id LIMIT 1) u`
	qUsersByDevice = `/* RecordEvents */ SELECT k.id, ` + userColumns + ` FROM unnest($2::bytea[]) AS k (id)
		CROSS JOIN LATERAL (SELECT amplitude_id FROM user_devices WHERE project = $1 AND device_id = k.id LIMIT 1) d
		CROSS JOIN LATERAL (SELECT * FROM users WHERE id = d.amplitude_id) u`
	qUsersByAdID = `/* RecordEvents */ SELECT k.key, ` + userColumns + ` FROM unnest($2::bytea[]) AS k (key)
		CROSS JOIN LATERAL (SELECT amplitude_id FROM user_adids WHERE project = $1 AND key = k.key LIMIT 1) a
		CROSS JOIN LATERAL (SELECT * FROM users WHERE id = a.amplitude_id) u`
	qTypesByName = `/* RecordEvents */ SELECT k.name, t.id FROM unnest($2::bytea[]) AS k (name)
		CROSS JOIN LATERAL (SELECT id FROM event_types WHERE project = $1 AND name = k.name LIMIT 1) t`
	qInsertIDs = `/* RecordEvents */ SELECT k.hash, i.received FROM unnest($2::bigint[]) AS k (hash)
		CROSS JOIN LATERAL (SELECT received FROM insert_ids WHERE project = $1 AND hash = k.hash LIMIT 1) i`
	// heldByAdID is loadHeld's join for the held events of advertising ids.
	heldByAdID = `JOIN (SELECT DISTINCT pk.id FROM unnest($2::bytea[]) AS k (key) CROSS JOIN LATERAL
		(SELECT id FROM pending_attribution_keys WHERE project = $1 AND key = k.key OFFSET 0) pk) k ON k.id = h.id`
)

// prefetch reads what the uploads name: their users by user id, device id
// and advertising id, the attribution events held for those advertising
// ids, their insert ids and their event types, a few queries per project.
//
// Each query probes an index once per key: unnest of the keys, joined
// LATERAL to a subquery on the whole key that LIMIT 1 (OFFSET 0 where the
// key is not unique) keeps from being flattened into a join. Given "key =
// ANY($2)", or the same join flattened, PostgreSQL reads every row of the
// project (and compares each with the array, or hashes it) whenever its
// statistics say a project has few rows (before the first ANALYZE, or
// with autovacuum off), which made a batch's lookups take 30 to 500 ms
// instead of 2 to 10. A probe of one key estimates one row whatever the
// statistics, so the index is the plan chosen.
func (s *txState) prefetch(ups []*touchpoint.EventUpload) error {
	type names struct {
		userIDs, devices, types [][]byte
		keys                    [][]byte
		hashes                  []int64
	}
	// Each key once: marked unknown (0, nil, -1) until read.
	byProject := map[int64]*names{}
	var order []int64
	for _, up := range ups {
		p := up.Project
		n := byProject[p]
		if n == nil {
			n = &names{}
			byProject[p] = n
			order = append(order, p)
		}
		for _, e := range up.Events {
			if k := (projectString{p, e.UserID}); e.UserID != "" && !has(s.byUserID, k) {
				s.byUserID[k] = 0
				n.userIDs = append(n.userIDs, []byte(e.UserID))
			}
			if k := (projectString{p, e.DeviceID}); e.DeviceID != "" && !has(s.byDevice, k) {
				s.byDevice[k] = 0
				n.devices = append(n.devices, []byte(e.DeviceID))
			}
			for _, key := range e.AdIDs.Keys() {
				if k := (projectAdID{p, key}); !has(s.byAdID, k) || !has(s.held, k) {
					s.byAdID[k], s.held[k] = 0, nil
					n.keys = append(n.keys, key[:])
				}
			}
			if k := (projectString{p, e.EventType}); (e.Kind == touchpoint.TrackEvent || e.Kind == touchpoint.AttributionEvent) && !has(s.types, k) {
				s.types[k] = 0
				n.types = append(n.types, []byte(e.EventType))
			}
			if e.Kind == touchpoint.TrackEvent && e.InsertID != "" {
				if k := (projectHash{p, amp.DedupHash(p, e.DeviceID, e.InsertID)}); !has(s.dedup, k) {
					s.dedup[k] = -1
					n.hashes = append(n.hashes, int64(k.hash))
				}
			}
		}
	}
	for _, p := range order {
		n := byProject[p]
		if len(n.userIDs) > 0 {
			rows, err := s.tx.Query(s.ctx, qUsersByUserID, p, n.userIDs)
			if err := s.scanUsers(rows, err, func(key []byte, user int64) { s.byUserID[projectString{p, string(key)}] = user }); err != nil {
				return err
			}
		}
		if len(n.devices) > 0 {
			rows, err := s.tx.Query(s.ctx, qUsersByDevice, p, n.devices)
			if err := s.scanUsers(rows, err, func(key []byte, user int64) { s.byDevice[projectString{p, string(key)}] = user }); err != nil {
				return err
			}
		}
		if len(n.keys) > 0 {
			rows, err := s.tx.Query(s.ctx, qUsersByAdID, p, n.keys)
			if err := s.scanUsers(rows, err, func(key []byte, user int64) {
				s.byAdID[projectAdID{p, touchpoint.AdIDKey(key)}] = user
			}); err != nil {
				return err
			}
			if err := s.loadHeld(heldByAdID,
				p, n.keys); err != nil {
				return err
			}
		}
		if len(n.types) > 0 {
			rows, err := s.tx.Query(s.ctx, qTypesByName, p, n.types)
			if err != nil {
				return err
			}
			var name []byte
			var id int64
			if _, err := pgx.ForEachRow(rows, []any{&name, &id}, func() error {
				s.types[projectString{p, string(name)}] = id
				return nil
			}); err != nil {
				return err
			}
		}
		if len(n.hashes) > 0 {
			rows, err := s.tx.Query(s.ctx, qInsertIDs, p, n.hashes)
			if err != nil {
				return err
			}
			var h, at int64
			if _, err := pgx.ForEachRow(rows, []any{&h, &at}, func() error {
				s.dedup[projectHash{p, uint64(h)}] = at
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadHeld reads held attribution events (where: a join and condition on
// pending_attributions h), in the order they were held, adding each to the
// lists of its keys that are being read (s.held has them, maybe empty).
func (s *txState) loadHeld(where string, args ...any) error {
	rows, err := s.tx.Query(s.ctx, `/* RecordEvents */ SELECT DISTINCT h.id, h.project, h.keys, h.received, h.event_type, h.time,
		h.user_properties, h.data FROM pending_attributions h `+where+` ORDER BY h.id`, args...)
	if err != nil {
		return err
	}
	hs, err := scanHeld(rows)
	if err != nil {
		return err
	}
	for _, h := range hs {
		for _, k := range h.Keys {
			pk := projectAdID{h.Project, k}
			if l, ok := s.held[pk]; ok {
				s.held[pk] = append(l, h)
			}
		}
	}
	return nil
}

func scanHeld(rows pgx.Rows) ([]*amp.Held, error) {
	defer rows.Close()
	var out []*amp.Held
	for rows.Next() {
		h := &amp.Held{}
		var keys, typ, props []byte
		if err := rows.Scan(&h.ID, &h.Project, &keys, &h.Received, &typ, &h.Time, &props, &h.Data); err != nil {
			return nil, err
		}
		h.EventType = string(typ)
		var err error
		if h.Props, err = touchpoint.DecodeProperties(props); err != nil {
			return nil, fmt.Errorf("held attribution %d: %w", h.ID, err)
		}
		if h.Props == nil {
			h.Props = map[string]any{}
		}
		for i := 0; i+16 <= len(keys); i += 16 {
			h.Keys = append(h.Keys, touchpoint.AdIDKey(keys[i:i+16]))
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s *txState) User(id int64) *amp.User {
	if u, ok := s.users[id]; ok {
		return u
	}
	rows, err := s.tx.Query(s.ctx, `/* RecordEvents */ SELECT ''::bytea, `+userColumns+` FROM users u WHERE u.id = $1`, id)
	s.users[id] = nil
	if err := s.scanUsers(rows, err, func([]byte, int64) {}); err != nil {
		s.fail(err)
	}
	return s.users[id]
}

// userBy looks a user up by one key, once per transaction.
func userBy[K comparable](s *txState, cache map[K]int64, k K, query string, args ...any) *amp.User {
	id, ok := cache[k]
	if !ok {
		rows, err := s.tx.Query(s.ctx, query, args...)
		if err := s.scanUsers(rows, err, func(_ []byte, user int64) { id = user }); err != nil {
			s.fail(err)
			return nil
		}
		cache[k] = id
	}
	if id == 0 {
		return nil
	}
	return s.User(id)
}

func (s *txState) UserByUserID(project int64, userID string) *amp.User {
	return userBy(s, s.byUserID, projectString{project, userID}, `/* RecordEvents */ SELECT u.user_id, `+userColumns+`
		FROM users u WHERE u.project = $1 AND u.user_id = $2`, project, []byte(userID))
}

func (s *txState) UserByDevice(project int64, deviceID string) *amp.User {
	return userBy(s, s.byDevice, projectString{project, deviceID}, `/* RecordEvents */ SELECT d.device_id, `+userColumns+`
		FROM user_devices d JOIN users u ON u.id = d.amplitude_id WHERE d.project = $1 AND d.device_id = $2`, project, []byte(deviceID))
}

func (s *txState) UserByAdID(project int64, key touchpoint.AdIDKey) *amp.User {
	return userBy(s, s.byAdID, projectAdID{project, key}, `/* RecordEvents */ SELECT a.key, `+userColumns+`
		FROM user_adids a JOIN users u ON u.id = a.amplitude_id WHERE a.project = $1 AND a.key = $2`, project, key[:])
}

func (s *txState) UserProps(user, version int64) (map[string]any, error) {
	if p, ok := s.props[version]; ok {
		return p, nil
	}
	var b []byte
	if err := s.tx.QueryRow(s.ctx, `/* RecordEvents */ SELECT props FROM user_props WHERE version = $1`, version).Scan(&b); err != nil {
		return nil, fmt.Errorf("load properties of user %d: %w", user, err)
	}
	p, err := touchpoint.DecodeProperties(b)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = map[string]any{}
	}
	s.props[version] = p
	return p, nil
}

func (s *txState) GroupProps(project int64, groupType, groupValue string) (map[string]any, error) {
	k := groupName{project, groupType, groupValue}
	if p, ok := s.groups[k]; ok {
		return p, nil
	}
	var b []byte
	err := s.tx.QueryRow(s.ctx, `/* RecordEvents */ SELECT props FROM groups WHERE project = $1 AND type = $2 AND value = $3`,
		project, []byte(groupType), []byte(groupValue)).Scan(&b)
	var p map[string]any
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		if p, err = touchpoint.DecodeProperties(b); err != nil {
			return nil, err
		}
	}
	s.groups[k] = p
	return p, nil
}

func (s *txState) InsertIDReceived(project int64, hash uint64) (int64, bool) {
	k := projectHash{project, hash}
	at, ok := s.dedup[k]
	if !ok {
		err := s.tx.QueryRow(s.ctx, `/* RecordEvents */ SELECT received FROM insert_ids WHERE project = $1 AND hash = $2`,
			project, int64(hash)).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			at = -1
		} else if err != nil {
			s.fail(err)
			return 0, false
		}
		s.dedup[k] = at
	}
	return at, at >= 0
}

func (s *txState) Held(project int64, key touchpoint.AdIDKey) []*amp.Held {
	k := projectAdID{project, key}
	l, ok := s.held[k]
	if !ok {
		s.held[k] = nil
		if err := s.loadHeld(`JOIN pending_attribution_keys k ON k.id = h.id WHERE k.project = $1 AND k.key = $2`, project, key[:]); err != nil {
			s.fail(err)
			return nil
		}
		l = s.held[k]
	}
	return l
}

// AllHeld yields the held attribution events of the projects being
// expired received before the cutoff: those past the hold, the only ones
// a plan of expiry drops.
func (s *txState) AllHeld() iter.Seq[*amp.Held] {
	return func(yield func(*amp.Held) bool) {
		if len(s.expiring) == 0 {
			return
		}
		rows, err := s.tx.Query(s.ctx, `/* ExpireAttributions */ SELECT h.id, h.project, h.keys, h.received, h.event_type, h.time,
			h.user_properties, h.data FROM pending_attributions h WHERE h.project = ANY($1) AND h.received < $2 ORDER BY h.id`,
			s.expiring, s.cutoff)
		if err != nil {
			s.fail(err)
			return
		}
		hs, err := scanHeld(rows)
		if err != nil {
			s.fail(err)
			return
		}
		for _, h := range hs {
			if !yield(h) {
				return
			}
		}
	}
}

func (s *txState) EventType(project int64, name string) (int64, bool) {
	k := projectString{project, name}
	id, ok := s.types[k]
	if !ok {
		err := s.tx.QueryRow(s.ctx, `/* RecordEvents */ SELECT id FROM event_types WHERE project = $1 AND name = $2`,
			project, []byte(name)).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			s.fail(err)
			return 0, false
		}
		s.types[k] = id
	}
	return id, id != 0
}
