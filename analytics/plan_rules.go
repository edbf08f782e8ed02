package analytics

import (
	"hash/fnv"
	"maps"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// planner makes one plan. What it decided earlier in the plan overlays
// State: a user created or changed by one event is found, as it now
// stands, by the next.
type planner struct {
	st   State
	now  int64
	next IDs
	w    *Writes

	users    map[int64]*planUser
	byUserID map[projectKey]int64
	byDevice map[projectKey]int64
	byAdID   map[adKey]int64
	types    map[projectKey]int64
	dedup    map[uint64]int64
	held     map[adKey][]*Held // held by this plan
	unheld   map[int64]bool    // held attribution ids this plan unheld
	groups   map[groupKey]map[string]any
}

// planUser is a user the plan created or changed.
type planUser struct {
	User
	flags uint8
}

// What a plan changed of a user's row besides what its own writes say.
const (
	propsSet uint8 = 1 << iota
	firstSeenSet
)

type projectKey struct {
	project int64
	id      string
}

type adKey struct {
	project int64
	key     touchpoint.AdIDKey
}

type groupKey struct {
	project    int64
	typ, value string
}

func newPlanner(st State, next IDs, now time.Time, events int) *planner {
	return &planner{st: st, now: now.UnixMilli(), next: next, w: &Writes{Events: make([]Event, 0, events)},
		users: make(map[int64]*planUser), byUserID: make(map[projectKey]int64), byDevice: make(map[projectKey]int64),
		byAdID: make(map[adKey]int64), types: make(map[projectKey]int64), dedup: make(map[uint64]int64, events),
		held: make(map[adKey][]*Held), unheld: make(map[int64]bool), groups: make(map[groupKey]map[string]any)}
}

// user returns a user as it stands in the plan.
func (p *planner) user(id int64) *User {
	if u := p.users[id]; u != nil {
		return &u.User
	}
	return p.st.User(id)
}

// edit returns the plan's own copy of a user, to change.
func (p *planner) edit(id int64) *planUser {
	if u := p.users[id]; u != nil {
		return u
	}
	u := &planUser{User: *p.st.User(id)}
	p.users[id] = u
	p.w.Changed = append(p.w.Changed, &u.User)
	return u
}

func (p *planner) userByUserID(project int64, userID string) *User {
	if id, ok := p.byUserID[projectKey{project, userID}]; ok {
		return p.user(id)
	}
	if u := p.st.UserByUserID(project, userID); u != nil {
		return p.user(u.ID)
	}
	return nil
}

func (p *planner) userByDevice(project int64, deviceID string) *User {
	if id, ok := p.byDevice[projectKey{project, deviceID}]; ok {
		return p.user(id)
	}
	if u := p.st.UserByDevice(project, deviceID); u != nil {
		return p.user(u.ID)
	}
	return nil
}

func (p *planner) userByAdID(k adKey) *User {
	if id, ok := p.byAdID[k]; ok {
		return p.user(id)
	}
	if u := p.st.UserByAdID(k.project, k.key); u != nil {
		return p.user(u.ID)
	}
	return nil
}

func (p *planner) insertID(project int64, h uint64) (int64, bool) {
	if at, ok := p.dedup[h]; ok {
		return at, true
	}
	return p.st.InsertIDReceived(project, h)
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
func (p *planner) resolve(project int64, userID, deviceID string, at int64) int64 {
	var u, du *User
	if userID != "" {
		u = p.userByUserID(project, userID)
	}
	if deviceID != "" {
		du = p.userByDevice(project, deviceID)
		if du != nil && du.Merged != 0 {
			du = p.user(du.Merged)
		}
	}
	switch {
	case u != nil:
		if deviceID != "" && (du == nil || du.ID != u.ID) {
			if du != nil && du.UserID == "" {
				p.edit(du.ID).Merged = u.ID
				p.w.Merges = append(p.w.Merges, Merge{User: du.ID, Into: u.ID})
			}
			p.mapDevice(project, deviceID, u.ID)
		}
		return u.ID
	case userID != "":
		if du != nil && du.UserID == "" {
			p.edit(du.ID).UserID = userID
			p.byUserID[projectKey{project, userID}] = du.ID
			p.w.UserIDs = append(p.w.UserIDs, SetUserID{User: du.ID, Project: project, UserID: userID})
			return du.ID
		}
		id := p.newUser(project, userID, at)
		if deviceID != "" {
			p.mapDevice(project, deviceID, id)
		}
		return id
	case du != nil:
		return du.ID
	default:
		id := p.newUser(project, "", at)
		p.mapDevice(project, deviceID, id)
		return id
	}
}

func (p *planner) newUser(project int64, userID string, at int64) int64 {
	id := p.next.User
	p.next.User++
	u := &planUser{User: User{ID: id, Project: project, UserID: userID, FirstSeen: at}}
	p.users[id] = u
	p.w.Changed = append(p.w.Changed, &u.User)
	if userID != "" {
		p.byUserID[projectKey{project, userID}] = id
	}
	p.w.NewUsers = append(p.w.NewUsers, NewUser{ID: id, Project: project, UserID: userID, FirstSeen: at})
	return id
}

func (p *planner) mapDevice(project int64, deviceID string, user int64) {
	p.byDevice[projectKey{project, deviceID}] = user
	p.w.Devices = append(p.w.Devices, MapDevice{Project: project, DeviceID: deviceID, User: user})
}

// seeAdIDs maps the advertising ids of a user's event to it and applies
// the attribution events held for them.
func (p *planner) seeAdIDs(uid int64, ids touchpoint.AdIDs, received int64) error {
	u := p.user(uid)
	if ids == (touchpoint.AdIDs{}) || ids == u.AdIDs {
		// The same ids as the user's last event: they map to it already,
		// and nothing can be held for them (an attribution for a known id
		// applies at once). No hashing.
		return nil
	}
	p.edit(uid).AdIDs = ids
	for _, k := range ids.Keys() {
		ak := adKey{u.Project, k}
		if prev := p.userByAdID(ak); prev == nil || prev.ID != uid {
			if prev != nil {
				p.edit(prev.ID).AdIDs = touchpoint.AdIDs{}
			}
			p.byAdID[ak] = uid
			p.w.AdIDs = append(p.w.AdIDs, MapAdID{Project: u.Project, Key: k, User: uid})
		}
		for _, l := range [2][]*Held{p.st.Held(ak.project, k), p.held[ak]} {
			for _, h := range l {
				if p.unheld[h.ID] {
					continue
				}
				if received-h.Received > touchpoint.AttributionHold.Milliseconds() {
					p.unhold(h, true)
					continue
				}
				if err := p.apply(uid, h.EventType, h.Time, received, h.Props, h.Data); err != nil {
					return err
				}
				p.unhold(h, false)
			}
		}
	}
	return nil
}

// seeDevice keeps on the user's row the platform, country and advertising
// ids of its latest event that had them: what cohorts filter on and
// syncs send. An event like the user's last costs a hash.
func (p *planner) seeDevice(uid int64, e *touchpoint.IncomingEvent) {
	sum := SeenSum(e.Platform, e.Country, e.AdIDs.IDFA, e.AdIDs.IDFV, e.AdIDs.ADID)
	if sum == 0 || sum == p.user(uid).Seen {
		return
	}
	p.edit(uid).Seen = sum
	p.w.Seen = append(p.w.Seen, SetSeen{User: uid, Platform: e.Platform, Country: e.Country, IDFA: e.AdIDs.IDFA, IDFV: e.AdIDs.IDFV,
		ADID: e.AdIDs.ADID})
}

// SeenSum is User.Seen for a platform, country and advertising ids: 0 when
// all are empty. A store that reads a user's row may set Seen to the sum
// of the row's values: an event with the same values then writes nothing,
// and one with others writes them as it would anyway.
func SeenSum(platform, country, idfa, idfv, adid string) uint64 {
	vals := [...]string{platform, country, idfa, idfv, adid}
	if vals == [5]string{} {
		return 0
	}
	h := fnv.New64a()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return max(h.Sum64(), 1)
}

// attribution applies an attribution event to the user with one of its
// advertising ids, or holds it. It reports whether an event was stored.
func (p *planner) attribution(project int64, e *touchpoint.IncomingEvent, received int64) (bool, error) {
	keys := e.AdIDs.Keys()
	for _, k := range keys {
		if u := p.userByAdID(adKey{project, k}); u != nil {
			if u.Merged != 0 {
				u = p.user(u.Merged)
			}
			return true, p.apply(u.ID, e.EventType, e.Time, received, e.UserProperties, e.Data)
		}
	}
	props := e.UserProperties
	if props == nil {
		props = map[string]any{}
	}
	h := &Held{ID: p.next.Held, Project: project, Keys: keys, Received: received, EventType: e.EventType,
		Time: e.Time, Props: props, Data: e.Data}
	p.next.Held++
	p.w.Holds = append(p.w.Holds, h)
	for _, k := range keys {
		ak := adKey{project, k}
		p.held[ak] = append(p.held[ak], h)
	}
	return false, nil
}

// apply stores an attribution event on a user and sets its user
// properties, so the user's later events carry them.
func (p *planner) apply(uid int64, eventType string, t, received int64, props map[string]any, data []byte) error {
	if props != nil {
		if err := p.changeProps(uid, props); err != nil {
			return err
		}
	}
	id := p.storeEvent(uid, eventType, t, received, 0, data)
	p.w.Attributed = append(p.w.Attributed, Attributed{User: uid, Event: id})
	return nil
}

// unhold forgets a held attribution event, dropped if it expired.
func (p *planner) unhold(h *Held, expired bool) {
	p.unheld[h.ID] = true
	p.w.Unholds = append(p.w.Unholds, Unhold{Held: h, Expired: expired})
}

// props returns a user's properties as they stand in the plan; nil when it
// has none.
func (p *planner) props(u *User) (map[string]any, error) {
	if u.Props != nil || u.Version == 0 {
		return u.Props, nil
	}
	return p.st.UserProps(u.ID, u.Version)
}

// changeProps applies user-property changes, making a new version when
// anything changed.
func (p *planner) changeProps(uid int64, changes map[string]any) error {
	if len(changes) == 0 {
		return nil
	}
	cur, err := p.props(p.user(uid))
	if err != nil {
		return err
	}
	next := maps.Clone(cur) // cur is State's, or an earlier version's
	if next == nil {
		next = make(map[string]any, len(changes))
	}
	if !touchpoint.ApplyUserProperties(next, changes) {
		return nil
	}
	u := p.edit(uid)
	u.Props, u.Version = next, p.next.Version
	u.flags |= propsSet
	p.next.Version++
	p.w.Versions = append(p.w.Versions, PropsVersion{Version: u.Version, User: uid, Props: next})
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

// groupProps returns a group's properties as they stand in the plan.
func (p *planner) groupProps(k groupKey) (map[string]any, error) {
	if props, ok := p.groups[k]; ok {
		return props, nil
	}
	return p.st.GroupProps(k.project, k.typ, k.value)
}

// groupIdentify changes the properties of each group named.
func (p *planner) groupIdentify(project int64, e *touchpoint.IncomingEvent, received int64) error {
	for typ, v := range e.Groups {
		for _, value := range groupValues(v) {
			k := groupKey{project, typ, value}
			cur, err := p.groupProps(k)
			if err != nil {
				return err
			}
			props := maps.Clone(cur)
			if props == nil {
				props = map[string]any{}
			}
			touchpoint.ApplyUserProperties(props, e.GroupProperties)
			p.groups[k] = props
			p.w.Groups = append(p.w.Groups, GroupProps{Project: project, Type: typ, Value: value, Props: props, UpdatedAt: received})
		}
	}
	return nil
}

// eventType returns the id of an event type, adding it when new.
func (p *planner) eventType(project int64, name string) int64 {
	k := projectKey{project, name}
	if id, ok := p.types[k]; ok {
		return id
	}
	if id, ok := p.st.EventType(project, name); ok {
		return id
	}
	id := p.next.Type
	p.next.Type++
	p.types[k] = id
	p.w.Types = append(p.w.Types, NewEventType{ID: id, Project: project, Name: name})
	return id
}

// storeEvent stores an event on a user and returns its id.
func (p *planner) storeEvent(uid int64, eventType string, t, received int64, dedup uint64, data []byte) int64 {
	u := p.user(uid)
	typ := p.eventType(u.Project, eventType)
	id := p.next.Event
	p.next.Event++
	if t < u.FirstSeen {
		// An event from before the user's first (an offline device's
		// backlog, an install attribution): first seen moves back.
		e := p.edit(uid)
		e.FirstSeen = t
		e.flags |= firstSeenSet
	}
	p.w.Events = append(p.w.Events, Event{ID: id, Project: u.Project, User: uid, Type: typ, Time: t, Version: u.Version,
		Dedup: dedup, Received: received, Data: data})
	return id
}

// stream decides the deliveries the streams owe for a stored event.
func (p *planner) stream(streams []touchpoint.Streamer, uid int64, e *touchpoint.IncomingEvent, id int64) error {
	var se *touchpoint.StreamedEvent
	for _, s := range streams {
		if !s.Wants(e.EventType) {
			continue
		}
		if se == nil {
			u := p.user(uid)
			props, err := p.props(u)
			if err != nil {
				return err
			}
			if props == nil {
				props = map[string]any{}
			}
			groups, err := p.eventGroups(u.Project, e.Groups)
			if err != nil {
				return err
			}
			se = &touchpoint.StreamedEvent{ID: id, Project: u.Project, EventType: e.EventType, Time: e.Time,
				UserID: u.UserID, Data: e.Data, UserProperties: props, GroupProperties: groups}
		}
		if d := s.Delivery(se); d != nil {
			d.Source = "event/" + strconv.FormatInt(id, 10)
			p.w.Deliveries = append(p.w.Deliveries, d)
		}
	}
	return nil
}

// eventGroups returns the properties of an event's groups, merged.
func (p *planner) eventGroups(project int64, groups map[string]any) (map[string]any, error) {
	var out map[string]any
	for typ, v := range groups {
		for _, value := range groupValues(v) {
			props, err := p.groupProps(groupKey{project, typ, value})
			if err != nil {
				return nil, err
			}
			if props == nil {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(props))
			}
			maps.Copy(out, props)
		}
	}
	return out, nil
}
