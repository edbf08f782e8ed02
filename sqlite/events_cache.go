package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

// analytics is what the store keeps in memory of the analytics plane, so
// that planning an event costs map lookups: every user, device,
// advertising id, event type and held attribution, and the insert ids
// received within the dedup window. The tables are the truth it is loaded
// from (events_load.go); only committed writes change it (apply).
type analytics struct {
	users    map[int64]*amp.User
	byUserID map[projectKey]*amp.User
	byDevice map[projectKey]*amp.User
	byAdID   map[adKey]*amp.User
	types    map[projectKey]int64
	// dedup maps a project's insert ids' hashes (amp.DedupHash) to when
	// each was first received (ms, by the project's clock). Entries older
	// than DedupWindow are swept by project (ExpireAttributions), each
	// project by its own clock.
	dedup   map[int64]map[uint64]int64
	swept   map[int64]int64 // when each project's insert ids were last swept (its time, ms)
	pending map[adKey][]*amp.Held
	// gen is the analytics_generation the memory reflects.
	gen int64
}

type projectKey struct {
	project int64
	id      string
}

type adKey struct {
	project int64
	key     touchpoint.AdIDKey
}

// apply applies committed writes.
func (a *analytics) apply(w *amp.Writes) {
	for _, u := range w.Changed {
		if cur := a.users[u.ID]; cur != nil {
			*cur = *u // the maps keep pointing at it
		} else {
			a.users[u.ID] = u
		}
	}
	for _, u := range w.NewUsers {
		if u.UserID != "" {
			a.byUserID[projectKey{u.Project, u.UserID}] = a.users[u.ID]
		}
	}
	for _, s := range w.UserIDs {
		a.byUserID[projectKey{s.Project, s.UserID}] = a.users[s.User]
	}
	for _, d := range w.Devices {
		a.byDevice[projectKey{d.Project, d.DeviceID}] = a.users[d.User]
	}
	for _, m := range w.AdIDs {
		a.byAdID[adKey{m.Project, m.Key}] = a.users[m.User]
	}
	for _, t := range w.Types {
		a.types[projectKey{t.Project, t.Name}] = t.ID
	}
	for i := range w.Events {
		if e := &w.Events[i]; e.Dedup != 0 {
			a.rememberInsertID(e.Project, e.Dedup, e.Received)
		}
	}
	for _, h := range w.Holds {
		for _, k := range h.Keys {
			ak := adKey{h.Project, k}
			a.pending[ak] = append(a.pending[ak], h)
		}
	}
	for _, u := range w.Unholds {
		h := u.Held
		for _, k := range h.Keys {
			ak := adKey{h.Project, k}
			l := slices.DeleteFunc(a.pending[ak], func(x *amp.Held) bool { return x.ID == h.ID })
			if len(l) == 0 {
				delete(a.pending, ak)
			} else {
				a.pending[ak] = l
			}
		}
	}
}

// rememberInsertID notes when a project's insert id was last stored: an
// event stored again once the window had passed starts the window again.
func (a *analytics) rememberInsertID(project int64, hash uint64, at int64) {
	m := a.dedup[project]
	if m == nil {
		m = make(map[uint64]int64)
		a.dedup[project] = m
	}
	if prev, ok := m[hash]; !ok || at > prev {
		m[hash] = at
	}
}

// sweepDedup forgets a project's insert ids past the dedup window at now,
// the project's time, at most once an hour of it: a sweep reads every id
// the project has.
func (a *analytics) sweepDedup(project, now int64) {
	if last, ok := a.swept[project]; ok && now-last < time.Hour.Milliseconds() {
		return
	}
	a.swept[project] = now
	m := a.dedup[project]
	for k, at := range m {
		if now-at >= touchpoint.DedupWindow.Milliseconds() {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		delete(a.dedup, project)
	}
}

// expired reports whether a project has held attribution events past the
// hold at now (ms).
func (a *analytics) expired(project, now int64) bool {
	for _, l := range a.pending {
		for _, h := range l {
			if (project == 0 || h.Project == project) && now-h.Received > touchpoint.AttributionHold.Milliseconds() {
				return true
			}
		}
	}
	return false
}

// cacheState is the planner's view of the memory, in a write transaction:
// properties, which the memory holds only once read, are read from the
// tables.
type cacheState struct {
	a    *analytics
	ctx  context.Context
	stmt func(string) *sql.Stmt
}

var _ amp.State = (*cacheState)(nil)

func (s *cacheState) User(id int64) *amp.User { return s.a.users[id] }

func (s *cacheState) UserByUserID(project int64, userID string) *amp.User {
	return s.a.byUserID[projectKey{project, userID}]
}

func (s *cacheState) UserByDevice(project int64, deviceID string) *amp.User {
	return s.a.byDevice[projectKey{project, deviceID}]
}

func (s *cacheState) UserByAdID(project int64, key touchpoint.AdIDKey) *amp.User {
	return s.a.byAdID[adKey{project, key}]
}

// UserProps reads a version of a user's properties; the memory keeps the
// user's current version's once read (committed data: a failed commit
// leaves it true).
func (s *cacheState) UserProps(user, version int64) (map[string]any, error) {
	u := s.a.users[user]
	if u != nil && u.Version == version && u.Props != nil {
		return u.Props, nil
	}
	var props string
	if err := s.stmt(qLoadProps).QueryRowContext(s.ctx, version).Scan(&props); err != nil {
		return nil, fmt.Errorf("load properties of user %d: %w", user, err)
	}
	p, err := touchpoint.DecodeProperties([]byte(props))
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = map[string]any{}
	}
	if u != nil && u.Version == version {
		u.Props = p
	}
	return p, nil
}

func (s *cacheState) GroupProps(project int64, groupType, groupValue string) (map[string]any, error) {
	var cur string
	err := s.stmt(qLoadGroup).QueryRowContext(s.ctx, project, groupType, groupValue).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return touchpoint.DecodeProperties([]byte(cur))
}

func (s *cacheState) InsertIDReceived(project int64, hash uint64) (int64, bool) {
	at, ok := s.a.dedup[project][hash]
	return at, ok
}

func (s *cacheState) Held(project int64, key touchpoint.AdIDKey) []*amp.Held {
	return s.a.pending[adKey{project, key}]
}

func (s *cacheState) AllHeld() iter.Seq[*amp.Held] {
	return func(yield func(*amp.Held) bool) {
		for _, l := range s.a.pending {
			for _, h := range l {
				if !yield(h) {
					return
				}
			}
		}
	}
}

func (s *cacheState) EventType(project int64, name string) (int64, bool) {
	id, ok := s.a.types[projectKey{project, name}]
	return id, ok
}
