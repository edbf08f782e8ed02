package analytics_test

import (
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// memState is a State over maps, for the planner's tests. Project 1 only.
type memState struct {
	users    map[int64]*analytics.User
	byUserID map[string]int64
	byDevice map[string]int64
	byAdID   map[touchpoint.AdIDKey]int64
	versions map[int64]map[string]any
	groups   map[string]map[string]any
	dedup    map[uint64]int64
	held     []*analytics.Held
	types    map[string]int64
}

func newState() *memState {
	return &memState{users: map[int64]*analytics.User{}, byUserID: map[string]int64{}, byDevice: map[string]int64{},
		byAdID: map[touchpoint.AdIDKey]int64{}, versions: map[int64]map[string]any{}, groups: map[string]map[string]any{},
		dedup: map[uint64]int64{}, types: map[string]int64{}}
}

// user adds a user with its devices.
func (s *memState) user(id int64, userID string, devices ...string) *analytics.User {
	u := &analytics.User{ID: id, Project: 1, UserID: userID, FirstSeen: t0}
	s.users[id] = u
	if userID != "" {
		s.byUserID[userID] = id
	}
	for _, d := range devices {
		s.byDevice[d] = id
	}
	return u
}

func (s *memState) get(id int64, ok bool) *analytics.User {
	if !ok {
		return nil
	}
	return s.users[id]
}

func (s *memState) User(id int64) *analytics.User { return s.users[id] }
func (s *memState) UserByUserID(_ int64, userID string) *analytics.User {
	id, ok := s.byUserID[userID]
	return s.get(id, ok)
}
func (s *memState) UserByDevice(_ int64, deviceID string) *analytics.User {
	id, ok := s.byDevice[deviceID]
	return s.get(id, ok)
}
func (s *memState) UserByAdID(_ int64, key touchpoint.AdIDKey) *analytics.User {
	id, ok := s.byAdID[key]
	return s.get(id, ok)
}
func (s *memState) UserProps(_, version int64) (map[string]any, error) {
	p, ok := s.versions[version]
	if !ok {
		return nil, fmt.Errorf("no version %d", version)
	}
	return p, nil
}
func (s *memState) GroupProps(_ int64, typ, value string) (map[string]any, error) {
	return s.groups[typ+"/"+value], nil
}
func (s *memState) InsertIDReceived(_ int64, h uint64) (int64, bool) {
	at, ok := s.dedup[h]
	return at, ok
}
func (s *memState) Held(_ int64, key touchpoint.AdIDKey) []*analytics.Held {
	var out []*analytics.Held
	for _, h := range s.held {
		for _, k := range h.Keys {
			if k == key {
				out = append(out, h)
			}
		}
	}
	return out
}
func (s *memState) AllHeld() iter.Seq[*analytics.Held] {
	return func(yield func(*analytics.Held) bool) {
		for _, h := range s.held {
			if !yield(h) {
				return
			}
		}
	}
}
func (s *memState) EventType(_ int64, name string) (int64, bool) {
	id, ok := s.types[name]
	return id, ok
}

var (
	t0   = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixMilli()
	next = analytics.IDs{Event: 100, User: 10, Version: 50, Type: 5, Held: 7}
)

func track(user, device, typ string) *touchpoint.IncomingEvent {
	return &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: user, DeviceID: device, EventType: typ, Time: t0,
		Data: []byte(`{}`)}
}

// plan plans events uploaded at received (ms).
func plan(t *testing.T, st analytics.State, received int64, events ...*touchpoint.IncomingEvent) *analytics.Writes {
	t.Helper()
	at := time.UnixMilli(received)
	w, err := analytics.Plan(st, analytics.Input{Uploads: []*touchpoint.EventUpload{{Project: 1, Received: at, Events: events}},
		Next: next})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func eventUsers(w *analytics.Writes) []int64 {
	var out []int64
	for _, e := range w.Events {
		out = append(out, e.User)
	}
	return out
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// TestPlanIdentity checks Amplitude's identity rules: who an event's user
// is, and the writes that make it so.
func TestPlanIdentity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(*memState)
		events   []*touchpoint.IncomingEvent
		users    []int64 // of the stored events
		newUsers []analytics.NewUser
		userIDs  []analytics.SetUserID
		merges   []analytics.Merge
		devices  []analytics.MapDevice
	}{
		{name: "new device: a new anonymous user",
			events:   []*touchpoint.IncomingEvent{track("", "d1", "open")},
			users:    []int64{10},
			newUsers: []analytics.NewUser{{ID: 10, Project: 1, FirstSeen: t0}},
			devices:  []analytics.MapDevice{{Project: 1, DeviceID: "d1", User: 10}}},
		{name: "known device: its user, no write",
			setup:  func(s *memState) { s.user(1, "", "d1") },
			events: []*touchpoint.IncomingEvent{track("", "d1", "open")},
			users:  []int64{1}},
		{name: "new user id on an anonymous device: that user identified",
			setup:   func(s *memState) { s.user(1, "", "d1") },
			events:  []*touchpoint.IncomingEvent{track("u1", "d1", "login")},
			users:   []int64{1},
			userIDs: []analytics.SetUserID{{User: 1, Project: 1, UserID: "u1"}}},
		{name: "known user id on an anonymous device: merged into the user",
			setup:   func(s *memState) { s.user(1, "u1", "d1"); s.user(2, "", "d2") },
			events:  []*touchpoint.IncomingEvent{track("u1", "d2", "login")},
			users:   []int64{1},
			merges:  []analytics.Merge{{User: 2, Into: 1}},
			devices: []analytics.MapDevice{{Project: 1, DeviceID: "d2", User: 1}}},
		{name: "known user id on another user's device: the device moves, no merge",
			setup:   func(s *memState) { s.user(1, "u1", "d1"); s.user(2, "u2", "d2") },
			events:  []*touchpoint.IncomingEvent{track("u1", "d2", "login")},
			users:   []int64{1},
			devices: []analytics.MapDevice{{Project: 1, DeviceID: "d2", User: 1}}},
		{name: "new user id on an identified device: a new user, the device goes with it",
			setup:    func(s *memState) { s.user(1, "u1", "d1") },
			events:   []*touchpoint.IncomingEvent{track("u2", "d1", "login")},
			users:    []int64{10},
			newUsers: []analytics.NewUser{{ID: 10, Project: 1, UserID: "u2", FirstSeen: t0}},
			devices:  []analytics.MapDevice{{Project: 1, DeviceID: "d1", User: 10}}},
		{name: "a merged user's device: the user it was merged into",
			setup:  func(s *memState) { s.user(1, "u1", "d1"); s.user(2, "", "d2").Merged = 1 },
			events: []*touchpoint.IncomingEvent{track("", "d2", "open")},
			users:  []int64{1}},
		{name: "decisions of the same plan are seen: created, identified, then merged into",
			setup: func(s *memState) { s.user(1, "u1", "d1") },
			events: []*touchpoint.IncomingEvent{track("", "d9", "open"), track("", "d9", "open"), track("u9", "d9", "login"),
				track("", "d8", "open"), track("u9", "d8", "login"), track("", "d8", "open")},
			users:    []int64{10, 10, 10, 11, 10, 10},
			newUsers: []analytics.NewUser{{ID: 10, Project: 1, FirstSeen: t0}, {ID: 11, Project: 1, FirstSeen: t0}},
			userIDs:  []analytics.SetUserID{{User: 10, Project: 1, UserID: "u9"}},
			merges:   []analytics.Merge{{User: 11, Into: 10}},
			devices: []analytics.MapDevice{{Project: 1, DeviceID: "d9", User: 10}, {Project: 1, DeviceID: "d8", User: 11},
				{Project: 1, DeviceID: "d8", User: 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState()
			if tc.setup != nil {
				tc.setup(st)
			}
			before := fmt.Sprint(st.users)
			w := plan(t, st, t0, tc.events...)
			same(t, "event users", eventUsers(w), tc.users)
			same(t, "NewUsers", w.NewUsers, tc.newUsers)
			same(t, "UserIDs", w.UserIDs, tc.userIDs)
			same(t, "Merges", w.Merges, tc.merges)
			same(t, "Devices", w.Devices, tc.devices)
			same(t, "Stored", w.Stored, []int{len(tc.events)})
			if after := fmt.Sprint(st.users); after != before {
				t.Errorf("the plan changed the state's users: %s, was %s", after, before)
			}
			wantNext := next
			wantNext.Event += int64(len(tc.events))
			wantNext.User += int64(len(tc.newUsers))
			wantNext.Type++ // "open" or "login" is new; two names in the last case
			if tc.name[0] == 'd' {
				wantNext.Type++
			}
			same(t, "Next", w.Next, wantNext)
		})
	}
}

// TestPlanDedup checks that a repeated insert id of a device is stored
// once within DedupWindow, and again after it.
func TestPlanDedup(t *testing.T) {
	ev := func(device, insertID string) *touchpoint.IncomingEvent {
		e := track("", device, "buy")
		e.InsertID = insertID
		return e
	}
	now := t0 + touchpoint.DedupWindow.Milliseconds()
	for _, tc := range []struct {
		name    string
		firstAt int64 // when i-1 of d1 was received before; 0: never
		events  []*touchpoint.IncomingEvent
		stored  []string // device/insert id of the stored events
	}{
		{name: "never seen", events: []*touchpoint.IncomingEvent{ev("d1", "i-1")}, stored: []string{"d1/i-1"}},
		{name: "seen inside the window", firstAt: now - touchpoint.DedupWindow.Milliseconds() + 60_000,
			events: []*touchpoint.IncomingEvent{ev("d1", "i-1")}},
		{name: "seen outside the window", firstAt: now - touchpoint.DedupWindow.Milliseconds() - 60_000,
			events: []*touchpoint.IncomingEvent{ev("d1", "i-1")}, stored: []string{"d1/i-1"}},
		{name: "repeated in the same plan; another device's is its own",
			events: []*touchpoint.IncomingEvent{ev("d1", "i-1"), ev("d1", "i-1"), ev("d2", "i-1"), ev("d1", "i-2")},
			stored: []string{"d1/i-1", "d2/i-1", "d1/i-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState()
			if tc.firstAt != 0 {
				st.dedup[analytics.DedupHash(1, "d1", "i-1")] = tc.firstAt
			}
			w := plan(t, st, now, tc.events...)
			same(t, "Stored", w.Stored, []int{len(tc.stored)})
			var want, got []uint64
			for _, s := range tc.stored {
				want = append(want, analytics.DedupHash(1, s[:2], s[3:]))
			}
			for _, e := range w.Events {
				got = append(got, e.Dedup)
				if e.Received != now {
					t.Errorf("event received %d, want %d", e.Received, now)
				}
			}
			same(t, "stored events' insert ids", got, want)
		})
	}
}

// TestPlanProps checks user-property versioning: a version per change, none
// for a change that changes nothing, each event on the version after it.
func TestPlanProps(t *testing.T) {
	st := newState()
	u := st.user(1, "u1", "d1")
	u.Version = 3
	st.versions[3] = map[string]any{"plan": "gold", "logins": json.Number("1")}
	withProps := func(e *touchpoint.IncomingEvent, p map[string]any) *touchpoint.IncomingEvent {
		e.UserProperties = p
		return e
	}
	w := plan(t, st, t0,
		withProps(track("", "d1", "open"), map[string]any{"$set": map[string]any{"plan": "gold"}}), // no change
		withProps(track("", "d1", "buy"), map[string]any{"$add": map[string]any{"logins": json.Number("2")}}),
		&touchpoint.IncomingEvent{Kind: touchpoint.IdentifyEvent, DeviceID: "d1", Time: t0,
			UserProperties: map[string]any{"$unset": map[string]any{"plan": "-"}}},
		track("", "d1", "close"))
	same(t, "Versions", w.Versions, []analytics.PropsVersion{
		{Version: 50, User: 1, Props: map[string]any{"plan": "gold", "logins": json.Number("3")}},
		{Version: 51, User: 1, Props: map[string]any{"logins": json.Number("3")}},
	})
	var versions []int64
	for _, e := range w.Events {
		versions = append(versions, e.Version)
	}
	same(t, "event versions", versions, []int64{3, 50, 51})
	same(t, "PropsSet", w.PropsSet, []analytics.SetProps{{User: 1, Version: 51}})
	same(t, "Stored", w.Stored, []int{3})
	same(t, "state's properties", st.versions[3], map[string]any{"plan": "gold", "logins": json.Number("1")})
	if len(w.Changed) != 1 || w.Changed[0].Version != 51 || w.Changed[0].Props["plan"] != nil || st.users[1].Version != 3 {
		t.Errorf("Changed %+v; state's user %+v", w.Changed, st.users[1])
	}
}

// TestPlanFirstSeen checks that first seen moves back for an earlier event
// only, once per user in a plan.
func TestPlanFirstSeen(t *testing.T) {
	st := newState()
	st.user(1, "", "d1")
	at := func(e *touchpoint.IncomingEvent, ms int64) *touchpoint.IncomingEvent { e.Time = ms; return e }
	w := plan(t, st, t0+1000, at(track("", "d1", "open"), t0+500), at(track("", "d1", "open"), t0-2000),
		at(track("", "d1", "open"), t0-1000), at(track("", "d2", "open"), t0-3000), at(track("", "d2", "open"), t0-4000))
	same(t, "FirstSeen", w.FirstSeen, []analytics.SetFirstSeen{{User: 1, Time: t0 - 2000}, {User: 10, Time: t0 - 4000}})
	same(t, "NewUsers", w.NewUsers, []analytics.NewUser{{ID: 10, Project: 1, FirstSeen: t0 - 3000}})
	if st.users[1].FirstSeen != t0 {
		t.Errorf("the state's user changed: %+v", st.users[1])
	}
}

// TestPlanAttribution checks the hold of attribution events: held without
// a user, applied by the first event with the id inside the hold, dropped
// after it; applied at once to a known id.
func TestPlanAttribution(t *testing.T) {
	const hold = int64(touchpoint.AttributionHold / time.Millisecond)
	gaid := touchpoint.AdIDs{ADID: "gaid-1"}
	key := gaid.Keys()[0]
	install := &touchpoint.IncomingEvent{Kind: touchpoint.AttributionEvent, EventType: "[Adjust] Install", Time: t0 - 5000,
		AdIDs: gaid, UserProperties: map[string]any{"network": "x"}, Data: []byte(`{"event_type":"[Adjust] Install"}`)}
	withID := func(e *touchpoint.IncomingEvent) *touchpoint.IncomingEvent { e.AdIDs = gaid; return e }

	t.Run("held, then applied in the same plan", func(t *testing.T) {
		st := newState()
		w := plan(t, st, t0, install, withID(track("", "d1", "open")))
		if len(w.Holds) != 1 || w.Holds[0].ID != 7 || w.Holds[0].Keys[0] != key || w.Holds[0].Received != t0 {
			t.Fatalf("Holds %+v", w.Holds)
		}
		same(t, "Unholds", w.Unholds, []analytics.Unhold{{Held: w.Holds[0]}})
		same(t, "Attributed", w.Attributed, []analytics.Attributed{{User: 10, Event: 100}})
		same(t, "AdIDs", w.AdIDs, []analytics.MapAdID{{Project: 1, Key: key, User: 10}})
		if len(w.Events) != 2 || w.Events[0].Type == w.Events[1].Type || w.Events[0].Time != t0-5000 || w.Events[1].Version != 50 {
			t.Errorf("Events %+v", w.Events)
		}
		same(t, "Versions", w.Versions, []analytics.PropsVersion{{Version: 50, User: 10, Props: map[string]any{"network": "x"}}})
		// Stored: the open only; the attribution event, stored later, is
		// not one of the upload's events.
		same(t, "Stored", w.Stored, []int{1})
		same(t, "Next.Held", w.Next.Held, int64(8))
	})
	for _, tc := range []struct {
		name    string
		after   int64
		applied bool
	}{{"applied inside the hold", hold - 60_000, true}, {"dropped after the hold", hold + 60_000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState()
			h := &analytics.Held{ID: 3, Project: 1, Keys: []touchpoint.AdIDKey{key}, Received: t0, EventType: "[Adjust] Install",
				Time: t0, Props: map[string]any{}, Data: []byte(`{}`)}
			st.held = []*analytics.Held{h}
			w := plan(t, st, t0+tc.after, withID(track("", "d1", "open")), withID(track("", "d2", "open")))
			same(t, "Unholds", w.Unholds, []analytics.Unhold{{Held: h, Expired: !tc.applied}})
			if tc.applied {
				same(t, "Attributed", w.Attributed, []analytics.Attributed{{User: 10, Event: 100}})
			} else if len(w.Attributed) != 0 || len(w.Events) != 2 {
				t.Errorf("applied after the hold: %+v, %d events", w.Attributed, len(w.Events))
			}
			// The second device takes the id over; nothing is applied twice.
			same(t, "AdIDs", w.AdIDs, []analytics.MapAdID{{Project: 1, Key: key, User: 10}, {Project: 1, Key: key, User: 11}})
		})
	}
	t.Run("a known id: applied at once to the user it was merged into", func(t *testing.T) {
		st := newState()
		st.user(1, "u1", "d1")
		st.user(2, "", "d2").Merged = 1
		st.byAdID[key] = 2
		w := plan(t, st, t0, install)
		if len(w.Holds) != 0 || len(w.Events) != 1 || w.Events[0].User != 1 {
			t.Fatalf("Holds %+v, Events %+v", w.Holds, w.Events)
		}
		same(t, "Attributed", w.Attributed, []analytics.Attributed{{User: 1, Event: 100}})
		same(t, "Stored", w.Stored, []int{1})
	})
	t.Run("expire", func(t *testing.T) {
		st := newState()
		old := &analytics.Held{ID: 3, Project: 1, Keys: []touchpoint.AdIDKey{key}, Received: t0}
		other := &analytics.Held{ID: 2, Project: 2, Keys: []touchpoint.AdIDKey{key}, Received: t0}
		recent := &analytics.Held{ID: 4, Project: 1, Keys: []touchpoint.AdIDKey{key}, Received: t0 + 120_000}
		st.held = []*analytics.Held{recent, old, other}
		now := time.UnixMilli(t0 + hold + 60_000)
		same(t, "project 1", analytics.Expire(st, 1, now, next).Unholds, []analytics.Unhold{{Held: old, Expired: true}})
		same(t, "every project", analytics.Expire(st, 0, now, next).Unholds,
			[]analytics.Unhold{{Held: other, Expired: true}, {Held: old, Expired: true}})
		if w := analytics.Expire(st, 1, time.UnixMilli(t0+hold), next); len(w.Unholds) != 0 || w.Next != next {
			t.Errorf("at exactly the hold: %+v", w)
		}
	})
}

// TestPlanGroupIdentify checks that group identifies change the group's
// properties as the earlier ones of the plan left them, and that a stream
// sees them.
func TestPlanGroupIdentify(t *testing.T) {
	st := newState()
	st.groups["org/acme"] = map[string]any{"seats": json.Number("3")}
	gi := func(values any, changes map[string]any) *touchpoint.IncomingEvent {
		return &touchpoint.IncomingEvent{Kind: touchpoint.GroupIdentifyEvent, EventType: "$groupidentify", Time: t0,
			Groups: map[string]any{"org": values}, GroupProperties: changes}
	}
	add := map[string]any{"$add": map[string]any{"seats": json.Number("2")}}
	e := track("", "d1", "open")
	e.Groups = map[string]any{"org": "acme"}
	s := &stream{}
	at := time.UnixMilli(t0)
	w, err := analytics.Plan(st, analytics.Input{Next: next, Uploads: []*touchpoint.EventUpload{{Project: 1, Received: at,
		Events: []*touchpoint.IncomingEvent{gi("acme", add), gi([]any{"acme", "new"}, add), e}, Streams: []touchpoint.Streamer{s}}}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Groups", w.Groups, []analytics.GroupProps{
		{Project: 1, Type: "org", Value: "acme", Props: map[string]any{"seats": json.Number("5")}, UpdatedAt: t0},
		{Project: 1, Type: "org", Value: "acme", Props: map[string]any{"seats": json.Number("7")}, UpdatedAt: t0},
		{Project: 1, Type: "org", Value: "new", Props: map[string]any{"seats": json.Number("2")}, UpdatedAt: t0},
	})
	same(t, "state's group", st.groups["org/acme"], map[string]any{"seats": json.Number("3")})
	same(t, "Stored", w.Stored, []int{1})
	if len(w.Deliveries) != 1 || w.Deliveries[0].Source != "event/100" {
		t.Fatalf("Deliveries %+v", w.Deliveries)
	}
	same(t, "streamed group properties", s.seen[0].GroupProperties, map[string]any{"seats": json.Number("7")})
	same(t, "streamed user properties", s.seen[0].UserProperties, map[string]any{})
}

// stream wants every event and delivers each.
type stream struct{ seen []*touchpoint.StreamedEvent }

func (s *stream) Wants(string) bool { return true }
func (s *stream) Delivery(e *touchpoint.StreamedEvent) *touchpoint.Delivery {
	s.seen = append(s.seen, e)
	return &touchpoint.Delivery{Project: e.Project}
}

// TestPlanSeen checks that the platform, country and advertising ids are
// written when they differ from the user's last written.
func TestPlanSeen(t *testing.T) {
	st := newState()
	st.user(1, "", "d1")
	ev := func(platform, country string) *touchpoint.IncomingEvent {
		e := track("", "d1", "open")
		e.Platform, e.Country = platform, country
		return e
	}
	w := plan(t, st, t0, ev("Android", "France"), ev("Android", "France"), ev("", ""), ev("iOS", ""))
	same(t, "Seen", w.Seen, []analytics.SetSeen{{User: 1, Platform: "Android", Country: "France"}, {User: 1, Platform: "iOS"}})
	if st.users[1].Seen != 0 || len(w.Changed) != 1 || w.Changed[0].Seen == 0 {
		t.Errorf("state's user %+v, Changed %+v", st.users[1], w.Changed)
	}
}
