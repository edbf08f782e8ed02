package analytics

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Amplitude's ingestion rules as a planner: given uploads and the state
// they apply to, Plan decides the writes (users created, identified,
// merged; devices and advertising ids mapped; property versions; events;
// attribution held, applied or dropped; groups; deliveries) and does no
// I/O beyond State's reads. The store executes the writes in one
// transaction and, once it commits, applies them to what it keeps in
// memory; a failed commit leaves that memory as it was.
//
// Rule time is the uploads' Received (dedup, the hold of an attribution
// event) and Expire's now: never a clock read here.

// Input is what a plan needs besides State.
type Input struct {
	Uploads []*touchpoint.EventUpload
	// Next are the first free ids.
	Next IDs
}

// Writes are a plan's decisions, for the store to execute list by list in
// the order of the fields, each list in order (the order of the
// decisions). A list may change what an earlier one creates (new users,
// then their updates; holds, then unholds), never the other way round.
type Writes struct {
	// Next are the first free ids after the plan: the store reserves
	// what the plan used.
	Next IDs
	// Stored counts the events stored of each upload (EventUpload.Stored).
	Stored []int

	NewUsers []NewUser
	UserIDs  []SetUserID
	Merges   []Merge
	Devices  []MapDevice
	AdIDs    []MapAdID
	Types    []NewEventType
	// Versions are new versions of users' properties.
	Versions []PropsVersion
	// Events are the stored events, ids ascending.
	Events     []Event
	Attributed []Attributed
	Holds      []*Held
	Unholds    []Unhold
	Groups     []GroupProps
	// PropsSet, FirstSeen and Seen change users' rows: the final version
	// of each user whose properties changed, the earliest event time of
	// each user first seen earlier, and the columns of the latest event
	// with platform, country or advertising ids (non-empty ones only).
	PropsSet   []SetProps
	FirstSeen  []SetFirstSeen
	Seen       []SetSeen
	Deliveries []*touchpoint.Delivery
	// Changed are the users the plan created or changed, as they stand
	// after it (memory-only fields included), in the order first touched.
	Changed []*User
}

// NewUser creates a user.
type NewUser struct {
	ID, Project int64
	UserID      string
	FirstSeen   int64
}

// SetUserID identifies an anonymous user.
type SetUserID struct {
	User, Project int64
	UserID        string
}

// Merge merges an anonymous user into an identified one.
type Merge struct{ User, Into int64 }

// MapDevice points a device id at a user.
type MapDevice struct {
	Project  int64
	DeviceID string
	User     int64
}

// MapAdID points an advertising id at a user.
type MapAdID struct {
	Project int64
	Key     touchpoint.AdIDKey
	User    int64
}

// NewEventType names a project's new event type.
type NewEventType struct {
	ID, Project int64
	Name        string
}

// PropsVersion is a new version of a user's properties.
type PropsVersion struct {
	Version, User int64
	Props         map[string]any
}

// Event is a stored event: its row and its data.
type Event struct {
	ID, Project, User, Type int64
	Time                    int64
	Version                 int64  // of its user's properties after it
	Dedup                   uint64 // DedupHash of its insert id; 0: none
	Received                int64
	Data                    []byte
}

// Attributed records an attribution event applied to a user.
type Attributed struct{ User, Event int64 }

// Unhold forgets a held attribution event: applied, or expired (dropped,
// counted in the project's attributions_dropped).
type Unhold struct {
	Held    *Held
	Expired bool
}

// GroupProps sets a group's properties.
type GroupProps struct {
	Project     int64
	Type, Value string
	Props       map[string]any
	UpdatedAt   int64
}

// SetProps sets the version of a user's properties.
type SetProps struct{ User, Version int64 }

// SetFirstSeen moves a user's first seen back.
type SetFirstSeen struct{ User, Time int64 }

// SetSeen writes the platform, country and advertising ids of a user's
// event; "" leaves a column as it was.
type SetSeen struct {
	User                          int64
	Platform, Country, IDFA, IDFV string
	ADID                          string
}

// Plan decides the writes of uploads, each event in order.
func Plan(st State, in Input) (*Writes, error) {
	n := 0
	for _, up := range in.Uploads {
		n += len(up.Events)
	}
	p := newPlanner(st, in.Next, time.Time{}, n) // no expiry: no now
	p.w.Stored = make([]int, len(in.Uploads))
	for i, up := range in.Uploads {
		received := up.Received.UnixMilli()
		for _, e := range up.Events {
			stored, err := p.record(up.Project, e, received, up.Streams)
			if err != nil {
				return nil, err
			}
			if stored {
				p.w.Stored[i]++
			}
		}
	}
	return p.finish(), nil
}

// Expire decides the dropping of a project's held attribution events past
// the hold at now (project 0: every project's), oldest first.
func Expire(st State, project int64, now time.Time, next IDs) *Writes {
	p := newPlanner(st, next, now, 0)
	p.expire(project)
	return p.finish()
}

// record decides one event. It reports whether an event was stored.
func (p *planner) record(project int64, e *touchpoint.IncomingEvent, received int64, streams []touchpoint.Streamer) (bool, error) {
	switch e.Kind {
	case touchpoint.TrackEvent:
		var h uint64
		if e.InsertID != "" {
			h = DedupHash(project, e.DeviceID, e.InsertID)
			if at, ok := p.insertID(project, h); ok && received-at < touchpoint.DedupWindow.Milliseconds() {
				return false, nil // a repeat: acknowledged, not stored again
			}
			p.dedup[h] = received
		}
		uid := p.resolve(project, e.UserID, e.DeviceID, e.Time)
		if err := p.seeAdIDs(uid, e.AdIDs, received); err != nil {
			return false, err
		}
		p.seeDevice(uid, e)
		if e.UserProperties != nil {
			if err := p.changeProps(uid, e.UserProperties); err != nil {
				return false, err
			}
		}
		id := p.storeEvent(uid, e.EventType, e.Time, received, h, e.Data)
		return true, p.stream(streams, uid, e, id)
	case touchpoint.IdentifyEvent:
		uid := p.resolve(project, e.UserID, e.DeviceID, e.Time)
		if err := p.seeAdIDs(uid, e.AdIDs, received); err != nil {
			return false, err
		}
		p.seeDevice(uid, e)
		return false, p.changeProps(uid, e.UserProperties)
	case touchpoint.GroupIdentifyEvent:
		return false, p.groupIdentify(project, e, received)
	case touchpoint.AttributionEvent:
		return p.attribution(project, e, received)
	}
	return false, fmt.Errorf("unknown event kind %d", e.Kind)
}

// expire drops the held attribution events past the hold.
func (p *planner) expire(project int64) {
	var expired []*Held
	seen := make(map[int64]bool)
	add := func(h *Held) {
		if (project == 0 || h.Project == project) && !seen[h.ID] && !p.unheld[h.ID] &&
			p.now-h.Received > touchpoint.AttributionHold.Milliseconds() {
			seen[h.ID] = true
			expired = append(expired, h)
		}
	}
	for h := range p.st.AllHeld() {
		add(h)
	}
	for _, l := range p.held {
		for _, h := range l {
			add(h)
		}
	}
	slices.SortFunc(expired, func(a, b *Held) int { return cmp.Compare(a.ID, b.ID) })
	for _, h := range expired {
		p.unhold(h, true)
	}
}

// finish lists the per-user row changes and returns the writes.
func (p *planner) finish() *Writes {
	for _, u := range p.w.Changed {
		f := p.users[u.ID].flags
		if f&propsSet != 0 {
			p.w.PropsSet = append(p.w.PropsSet, SetProps{User: u.ID, Version: u.Version})
		}
		if f&firstSeenSet != 0 {
			p.w.FirstSeen = append(p.w.FirstSeen, SetFirstSeen{User: u.ID, Time: u.FirstSeen})
		}
	}
	p.w.Next = p.next
	return p.w
}
