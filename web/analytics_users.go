package web

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// usersPage is the data of templates/analytics_users.html.
type usersPage struct {
	UserID, DeviceID, AmplitudeID string
	Pending                       string
	Send                          *sendEvents
}

// GET /projects/{project}/users?user_id=…&device_id=…&amplitude_id=…:
// find a user (by amplitude id, else user id, else device id, as the
// API's lookup) and open their page.
func (h *Handler) handleUsers(w http.ResponseWriter, r *http.Request, v *View) error {
	p := v.Project
	v.Title, v.Section = "Users", "users"
	q := r.URL.Query()
	data := &usersPage{UserID: strings.TrimSpace(q.Get("user_id")), DeviceID: strings.TrimSpace(q.Get("device_id")),
		AmplitudeID: strings.TrimSpace(q.Get("amplitude_id")), Pending: analyticsBase(p) + "/attributions/pending"}
	var u *touchpoint.User
	var err error
	switch {
	case data.AmplitudeID != "":
		id, perr := strconv.ParseInt(data.AmplitudeID, 10, 64)
		if perr != nil || id <= 0 {
			err = touchpoint.Errorf(touchpoint.EINVALID, "amplitude id %q: amplitude ids are whole numbers", data.AmplitudeID)
			break
		}
		u, err = h.Store.FindUser(r.Context(), p.ID, id)
	case data.UserID != "" || data.DeviceID != "":
		u, err = h.Store.LookupUser(r.Context(), p.ID, data.UserID, data.DeviceID)
	}
	switch {
	case u != nil:
		http.Redirect(w, r, analyticsBase(p)+"/users/"+strconv.FormatInt(u.AmplitudeID, 10), http.StatusSeeOther)
		return nil
	case touchpoint.ErrorCode(err) == touchpoint.EINTERNAL:
		return err
	case err != nil:
		v.Fail(err)
	default:
		has, err := h.projectHasUsers(r.Context(), p.ID)
		if err != nil {
			return err
		}
		if !has {
			data.Send = h.firstEvents(r, p)
		}
	}
	return v.Render("analytics_users", data)
}

// timelineSize is how many events a page of a user's timeline shows.
const timelineSize = 50

// userPage is the data of templates/analytics_user.html.
type userPage struct {
	User        *touchpoint.User
	Base        string
	FirstSeen   string
	LastSeen    string
	Properties  []keyValue
	Attribution []keyValue
	// Applied are the attribution events applied to the user, as JSON.
	Applied []string
	Events  []timelineEvent
	// Older and Newer are the links to the timeline's next pages.
	Older, Newer, Newest string
	Zone                 string
}

type keyValue struct{ Key, Value string }

// timelineEvent is an event of a user's timeline.
type timelineEvent struct {
	ID         int64
	Type       string
	Time       string
	Properties []keyValue
	Revenue    string
	Platform   string
	Country    string
	Device     string
	JSON       string
}

// GET /projects/{project}/users/{amplitude_id}?before=|after=: a user's
// properties, attribution and events, newest first. before (older
// events) and after (newer) are event ids: the cursor the API's events
// page uses.
func (h *Handler) handleUser(w http.ResponseWriter, r *http.Request, v *View) error {
	p := v.Project
	v.Section = "users"
	id, err := pathID(r, "amplitude_id", "user")
	if err != nil {
		return err
	}
	before, err1 := cursorParam(r, "before")
	after, err2 := cursorParam(r, "after")
	switch {
	case err1 != nil:
		return err1
	case err2 != nil:
		return err2
	case before > 0 && after > 0:
		return touchpoint.Errorf(touchpoint.EINVALID, "give before or after, not both")
	}
	ctx := r.Context()
	u, err := h.Store.FindUser(ctx, p.ID, id)
	if err != nil {
		return err
	}
	loc := p.Location()
	base := analyticsBase(p) + "/users/" + strconv.FormatInt(u.AmplitudeID, 10)
	v.Title = "User " + strconv.FormatInt(u.AmplitudeID, 10)
	if u.UserID != "" {
		v.Title = "User " + u.UserID
	}
	data := &userPage{User: u, Base: analyticsBase(p), Zone: loc.String(),
		FirstSeen: zoneTime(u.FirstSeen, loc), LastSeen: zoneTime(u.LastSeen, loc)}
	for _, k := range slices.Sorted(maps.Keys(u.Properties)) {
		kv := keyValue{Key: k, Value: touchpoint.ValueText(u.Properties[k])}
		if isPartnerProperty(k) {
			data.Attribution = append(data.Attribution, kv)
		} else {
			data.Properties = append(data.Properties, kv)
		}
	}
	for _, a := range u.Attribution {
		var b bytes.Buffer
		if json.Indent(&b, a, "", "  ") != nil {
			b.Reset()
			b.Write(a)
		}
		data.Applied = append(data.Applied, b.String())
	}
	t, err := h.timeline(ctx, p.ID, u.AmplitudeID, before, after)
	if err != nil {
		return err
	}
	for i := len(t.events) - 1; i >= 0; i-- {
		data.Events = append(data.Events, timelineEventOf(t.events[i], loc))
	}
	if t.older > 0 {
		data.Older = base + "?before=" + strconv.FormatInt(t.older, 10)
	}
	if t.newer > 0 {
		data.Newer = base + "?after=" + strconv.FormatInt(t.newer, 10)
		data.Newest = base
	}
	return v.Render("analytics_user", data)
}

// cursorParam reads an event id from the query; 0 when absent.
func cursorParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "%s %q: an event id, a whole number", name, s)
	}
	return n, nil
}

// isPartnerProperty reports whether a user property is one an
// attribution partner sets: "[AppsFlyer] media source", "[adjust] network".
func isPartnerProperty(name string) bool {
	end := strings.Index(name, "] ")
	return strings.HasPrefix(name, "[") && end > 1
}

// userEvent is an event as the store reads it back, with its id.
type userEvent struct {
	id  int64
	raw json.RawMessage
}

// timelinePage is a page of a user's timeline: its events oldest first,
// and the ids that continue it (0: none): older, the first event shown
// (the next page holds the events before it); newer, the last.
type timelinePage struct {
	events       []userEvent
	older, newer int64
}

// timeline reads a page of a user's events for a timeline newest first:
// the newest timelineSize with ids below before (0: the newest of all),
// or the first timelineSize after after.
//
// The store pages a user's events oldest first, from a cursor that is
// the id of the event before the page (touchpoint.EventPage.Next, the
// last id of a page), as the JSON API does. Reading the newest first
// reads back from an id in windows of ids that grow fourfold, until one
// holds a page, rather than every event of the user from the first.
func (h *Handler) timeline(ctx context.Context, project, user, before, after int64) (*timelinePage, error) {
	// events reads the events with ids in (from, to), keeping the last
	// n (all when n is 0).
	events := func(from, to int64, n int) ([]userEvent, error) {
		var out []userEvent
		for cursor := from; ; {
			page, err := h.Store.UserEvents(ctx, project, user, cursor, 500)
			if err != nil {
				return nil, err
			}
			read, err := userEvents(page)
			if err != nil {
				return nil, err
			}
			for _, e := range read {
				if e.id >= to {
					return out, nil
				}
				out = append(out, e)
				if n > 0 && len(out) > n {
					out = out[1:]
				}
			}
			if page.Next == 0 {
				return out, nil
			}
			cursor = page.Next
		}
	}
	firstPage, err := h.Store.UserEvents(ctx, project, user, 0, 1)
	if err != nil || len(firstPage.Events) == 0 {
		return &timelinePage{}, err
	}
	first, err := eventID(firstPage.Events[0])
	if err != nil {
		return nil, err
	}
	t := &timelinePage{}
	switch {
	case after > 0:
		page, err := h.Store.UserEvents(ctx, project, user, after, timelineSize)
		if err != nil {
			return nil, err
		}
		if t.events, err = userEvents(page); err != nil {
			return nil, err
		}
		if page.Next != 0 {
			t.newer = page.Next
		}
	default:
		top := before
		if top == 0 {
			// An id past the user's last event: galloping from the first.
			last := first
			for step := int64(1024); ; step *= 4 {
				probe := last + step
				if probe < last || step < 0 {
					probe = math.MaxInt64 - 1
				}
				page, err := h.Store.UserEvents(ctx, project, user, probe, 1)
				if err != nil {
					return nil, err
				}
				if len(page.Events) == 0 {
					top = probe + 1
					break
				}
				if last, err = eventID(page.Events[0]); err != nil {
					return nil, err
				}
			}
		}
		for span := int64(4 * timelineSize); ; span *= 4 {
			from := max(first-1, top-1-span)
			if t.events, err = events(from, top, timelineSize); err != nil {
				return nil, err
			}
			if len(t.events) == timelineSize || from == first-1 || span > math.MaxInt64/8 {
				break
			}
		}
		if before > 0 && len(t.events) > 0 {
			// Newer events exist past the page's last: the next page
			// starts after it.
			page, err := h.Store.UserEvents(ctx, project, user, t.events[len(t.events)-1].id, 1)
			if err != nil {
				return nil, err
			}
			if len(page.Events) > 0 {
				t.newer = t.events[len(t.events)-1].id
			}
		}
	}
	if len(t.events) > 0 && t.events[0].id > first {
		t.older = t.events[0].id
	}
	return t, nil
}

// userEvents reads the ids of a page's events.
func userEvents(page *touchpoint.EventPage) ([]userEvent, error) {
	out := make([]userEvent, 0, len(page.Events))
	for _, raw := range page.Events {
		id, err := eventID(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, userEvent{id, raw})
	}
	return out, nil
}

// eventID reads the id of an event as the store reads it back.
func eventID(raw json.RawMessage) (int64, error) {
	var e struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return 0, err
	}
	return e.ID, nil
}

// timelineEventOf lays out an event for the timeline.
func timelineEventOf(e userEvent, loc *time.Location) timelineEvent {
	te := timelineEvent{ID: e.id}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		te.JSON = string(e.raw)
		return te
	}
	te.JSON = prettyJSON(m)
	te.Type, _ = m["event_type"].(string)
	te.Device, _ = m["device_id"].(string)
	te.Platform, _ = m["platform"].(string)
	te.Country, _ = m["country"].(string)
	if n, ok := m["time"].(json.Number); ok {
		if ms, err := n.Int64(); err == nil {
			te.Time = zoneTime(time.UnixMilli(ms), loc)
		}
	}
	if rev, ok := m["revenue"]; ok && rev != nil {
		te.Revenue = touchpoint.ValueText(rev)
	}
	if props, ok := m["event_properties"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(props)) {
			te.Properties = append(te.Properties, keyValue{Key: k, Value: touchpoint.ValueText(props[k])})
		}
	}
	return te
}

// pendingPage is the data of templates/analytics_pending.html.
type pendingPage struct {
	Pending *touchpoint.PendingAttributions
	Now     string
	Oldest  string
	// Expires is when the oldest held event is dropped, and In how long
	// from the project's now.
	Expires, In string
	Hold        string
	Users       string
	Curl        string
}

// GET /projects/{project}/attributions/pending: the attribution events
// the store holds until an event with their advertising id comes, and
// when the oldest is dropped.
func (h *Handler) handlePending(w http.ResponseWriter, r *http.Request, v *View) error {
	p := v.Project
	v.Title, v.Section = "Pending attributions", "users"
	pend, err := h.Service().PendingAttributions(r.Context(), p.ID)
	if err != nil {
		return err
	}
	loc := p.Location()
	now := h.Service().ProjectNow(p)
	data := &pendingPage{Pending: pend, Now: zoneTime(now, loc), Hold: strconv.Itoa(int(touchpoint.AttributionHold.Hours())) + " hours",
		Users: analyticsBase(p) + "/users"}
	if pend.Oldest != nil {
		exp := pend.Oldest.Add(touchpoint.AttributionHold)
		data.Oldest, data.Expires = zoneTime(*pend.Oldest, loc), zoneTime(exp, loc)
		data.In = shortDuration(max(0, exp.Sub(now).Seconds()))
	}
	data.Curl = "curl -X POST " + h.baseURL(r) + "/attribution --data-urlencode api_key=YOUR_API_KEY \\\n" +
		`  --data-urlencode 'event={"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"AEBE52E7-03EE-455A-B3C4-E57283966239","user_properties":{"[AppsFlyer] media source":"examplenet"}}'`
	return v.Render("analytics_pending", data)
}
