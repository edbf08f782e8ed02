package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// testStream is a Streamer for the suite: it wants the listed event types
// (every type when none are listed) and owes a delivery for each event it
// is given, unless it refuses them all. It keeps what it was given, as it
// stood when it was given.
type testStream struct {
	pid    string
	types  map[string]bool
	refuse bool // Delivery returns nil (a filter that excludes everything)
	seen   []streamed
}

// streamed is a StreamedEvent as a stream saw it, its maps frozen as JSON.
type streamed struct {
	touchpoint.StreamedEvent
	user, groups string
}

func newTestStream(pid string, types ...string) *testStream {
	s := &testStream{pid: pid}
	if len(types) > 0 {
		s.types = map[string]bool{}
		for _, t := range types {
			s.types[t] = true
		}
	}
	return s
}

func (s *testStream) Wants(eventType string) bool { return s.types == nil || s.types[eventType] }

func (s *testStream) Delivery(e *touchpoint.StreamedEvent) *touchpoint.Delivery {
	c := streamed{StreamedEvent: *e, user: props(e.UserProperties), groups: "{}"}
	if len(e.GroupProperties) > 0 {
		c.groups = props(e.GroupProperties)
	}
	c.Data = slices.Clone(e.Data)
	c.UserProperties, c.GroupProperties = maps.Clone(e.UserProperties), maps.Clone(e.GroupProperties)
	s.seen = append(s.seen, c)
	if s.refuse {
		return nil
	}
	return &touchpoint.Delivery{Project: e.Project, PID: s.pid, Kind: touchpoint.KindEventStream, Method: "POST",
		URL: "https://stream.example.net/inappevent/id123", Host: "stream.example.net", ContentType: "application/json",
		Body:    streamBody(e.EventType, e.Time, e.UserID, c.user, c.groups),
		Headers: map[string]string{"authentication": "k"}, MaxTries: touchpoint.StreamTries}
}

func streamBody(eventType string, t int64, userID, user, groups string) string {
	return fmt.Sprintf(`{"event":%q,"time":%d,"user_id":%q,"user":%s,"groups":%s}`, eventType, t, userID, user, groups)
}

// uploadStreams decodes events as /2/httpapi would at now and records
// them with streams; it returns the events stored.
func uploadStreams(tb testing.TB, s touchpoint.Store, p *touchpoint.Project, now time.Time, streams []touchpoint.Streamer, events ...string) int {
	tb.Helper()
	body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: now, RemoteIP: "203.0.113.9"})
	if rej != nil {
		tb.Fatalf("DecodeUpload: %+v", rej)
	}
	u := &touchpoint.EventUpload{Project: p.ID, Received: now, Events: up.Events, Streams: streams}
	if err := s.RecordEvents(ctxb(), []*touchpoint.EventUpload{u}); err != nil {
		tb.Fatalf("RecordEvents: %v", err)
	}
	return u.Stored
}

func destinationIDs(ds []*touchpoint.Destination) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

var integrationTests = []subtest{
	{"Integration/AnalyticsForwards", func(t *testing.T, s touchpoint.Store, c *Clock) {
		const game, other, third = "com.example.game", "com.example.other", "com.example.third"
		MustCreateApp(t, s, game)
		MustCreateApp(t, s, other)
		MustCreateApp(t, s, third)
		f := &touchpoint.AnalyticsForward{App: game, URL: "https://api2.amplitude.com/", APIKey: "k1", Enabled: true}
		if err := s.PutAnalyticsForward(ctxb(), f); err != nil {
			t.Fatal(err)
		}
		if f.Mode != touchpoint.ForwardAttributionAPI || f.Style != touchpoint.StyleAppsFlyer || f.Company != "AppsFlyer" ||
			f.URL != "https://api2.amplitude.com" || !f.CreatedAt.Equal(Start) || !f.UpdatedAt.Equal(Start) {
			t.Fatalf("put %+v", f)
		}
		got, err := s.FindAnalyticsForward(ctxb(), game)
		if err != nil || got.App != game || got.APIKey != "k1" || got.Mode != touchpoint.ForwardAttributionAPI ||
			got.Style != touchpoint.StyleAppsFlyer || got.Company != "AppsFlyer" || got.URL != "https://api2.amplitude.com" ||
			!got.Enabled || !got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start) {
			t.Fatalf("FindAnalyticsForward = %+v, %v", got, err)
		}
		// The Adjust style names its company Adjust; an explicit mode stays.
		adj := &touchpoint.AnalyticsForward{App: other, APIKey: "k2", Mode: touchpoint.ForwardHTTPV2, Style: touchpoint.StyleAdjust}
		if err := s.PutAnalyticsForward(ctxb(), adj); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindAnalyticsForward(ctxb(), other); err != nil || got.Company != "Adjust" || got.Mode != touchpoint.ForwardHTTPV2 ||
			got.Style != touchpoint.StyleAdjust || got.URL != "" || got.Enabled {
			t.Fatalf("adjust forward %+v, %v", got, err)
		}
		list, err := s.ListAnalyticsForwards(ctxb())
		if err != nil || len(list) != 2 || list[0].App != game || list[1].App != other || list[0].APIKey != "k1" || list[1].Company != "Adjust" {
			t.Fatalf("ListAnalyticsForwards = %+v, %v", list, err)
		}
		// Replacing keeps when the forward was created.
		c.Add(time.Hour)
		repl := &touchpoint.AnalyticsForward{App: game, APIKey: "k3", Mode: touchpoint.ForwardHTTPV2}
		if err := s.PutAnalyticsForward(ctxb(), repl); err != nil {
			t.Fatal(err)
		}
		if !repl.CreatedAt.Equal(Start) || !repl.UpdatedAt.Equal(Start.Add(time.Hour)) {
			t.Fatalf("replaced: created %s updated %s", repl.CreatedAt, repl.UpdatedAt)
		}
		got, err = s.FindAnalyticsForward(ctxb(), game)
		if err != nil || got.APIKey != "k3" || got.Mode != touchpoint.ForwardHTTPV2 || got.URL != "" || got.Enabled ||
			!got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start.Add(time.Hour)) {
			t.Fatalf("after replacing %+v, %v", got, err)
		}
		if l, _ := s.ListAnalyticsForwards(ctxb()); len(l) != 2 {
			t.Fatalf("replacing added a forward: %d", len(l))
		}
		// Missing apps and forwards.
		if err := s.PutAnalyticsForward(ctxb(), &touchpoint.AnalyticsForward{App: "com.example.missing", APIKey: "k"}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("forward of a missing app: %v", err)
		}
		if _, err := s.FindAnalyticsForward(ctxb(), "com.example.missing"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindAnalyticsForward(missing app): %v", err)
		}
		if _, err := s.FindAnalyticsForward(ctxb(), third); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindAnalyticsForward(app without one): %v", err)
		}
		if err := s.DeleteAnalyticsForward(ctxb(), third); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("DeleteAnalyticsForward(app without one): %v", err)
		}
		// Refused forwards store nothing and replace nothing.
		for _, bad := range []touchpoint.AnalyticsForward{
			{APIKey: "k", Mode: "batch"},
			{APIKey: "k", Style: "branch"},
			{APIKey: ""},
			{APIKey: strings.Repeat("k", 201)},
			{APIKey: "k", URL: "ftp://api2.amplitude.com"},
			{APIKey: "k", URL: "https://api2.amplitude.com?x=1"},
			{APIKey: "k", URL: "api2.amplitude.com"},
			{APIKey: "k", URL: "https://"},
			{APIKey: "k", Company: "[AppsFlyer]"},
		} {
			for _, app := range []string{third, game} {
				f := bad
				f.App = app
				if err := s.PutAnalyticsForward(ctxb(), &f); code(err) != touchpoint.EINVALID {
					t.Errorf("PutAnalyticsForward(%s, %+v): %v, want EINVALID", app, bad, err)
				}
			}
		}
		if _, err := s.FindAnalyticsForward(ctxb(), third); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("a refused forward was stored: %v", err)
		}
		if got, err := s.FindAnalyticsForward(ctxb(), game); err != nil || got.APIKey != "k3" || got.Mode != touchpoint.ForwardHTTPV2 {
			t.Fatalf("a refused forward replaced one: %+v, %v", got, err)
		}
		// Delete.
		if err := s.DeleteAnalyticsForward(ctxb(), game); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindAnalyticsForward(ctxb(), game); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindAnalyticsForward after delete: %v", err)
		}
		if err := s.DeleteAnalyticsForward(ctxb(), game); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("DeleteAnalyticsForward twice: %v", err)
		}
		if l, err := s.ListAnalyticsForwards(ctxb()); err != nil || len(l) != 1 || l[0].App != other {
			t.Fatalf("after delete %+v, %v", l, err)
		}
	}},
	{"Integration/Destinations", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p1 := MustCreateProject(t, s, "Game")
		p2 := MustCreateProject(t, s, "Other")
		empty := MustCreateProject(t, s, "Empty")
		newDest := func(project int64, name string) *touchpoint.Destination {
			return &touchpoint.Destination{Project: project, Name: name, AppsFlyerAppID: "id123456", Key: "dev-key",
				URL: "https://api3.appsflyer.com/", Filter: touchpoint.EventFilter{EventTypes: []string{"purchase"}},
				AppsFlyerIDProperty: "af_id", Enabled: true}
		}
		d1 := newDest(p1.ID, "AppsFlyer")
		if err := s.CreateDestination(ctxb(), d1); err != nil {
			t.Fatal(err)
		}
		if d1.ID == 0 || d1.Kind != touchpoint.DestinationAppsFlyerEvents || d1.URL != "https://api3.appsflyer.com" ||
			!d1.CreatedAt.Equal(Start) || !d1.UpdatedAt.Equal(Start) {
			t.Fatalf("created %+v", d1)
		}
		got, err := s.FindDestination(ctxb(), d1.ID)
		if err != nil || got.ID != d1.ID || got.Project != p1.ID || got.Kind != touchpoint.DestinationAppsFlyerEvents || got.Name != "AppsFlyer" ||
			got.AppsFlyerAppID != "id123456" || got.Key != "dev-key" || got.URL != "https://api3.appsflyer.com" ||
			props(got.Filter) != `{"event_types":["purchase"]}` || got.AppsFlyerIDProperty != "af_id" || !got.Enabled ||
			!got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start) {
			t.Fatalf("FindDestination = %+v, %v", got, err)
		}
		d2 := newDest(p2.ID, "Other's")
		d3 := newDest(p1.ID, "Second")
		d3.URL, d3.Filter, d3.Enabled = "", touchpoint.EventFilter{}, false
		for _, d := range []*touchpoint.Destination{d2, d3} {
			if err := s.CreateDestination(ctxb(), d); err != nil {
				t.Fatal(err)
			}
		}
		if d2.ID == d1.ID || d3.ID == d2.ID || d3.ID == d1.ID {
			t.Fatalf("ids %d %d %d", d1.ID, d2.ID, d3.ID)
		}
		list := func(project int64) []int64 {
			t.Helper()
			l, err := s.ListDestinations(ctxb(), project)
			if err != nil {
				t.Fatalf("ListDestinations(%d): %v", project, err)
			}
			for _, d := range l {
				if project != 0 && d.Project != project {
					t.Fatalf("ListDestinations(%d) has %+v", project, d)
				}
			}
			return destinationIDs(l)
		}
		all := []int64{d1.ID, d2.ID, d3.ID}
		slices.Sort(all)
		if got := list(p1.ID); !slices.Equal(got, []int64{min(d1.ID, d3.ID), max(d1.ID, d3.ID)}) {
			t.Fatalf("project 1's destinations %v", got)
		}
		if got := list(p2.ID); !slices.Equal(got, []int64{d2.ID}) {
			t.Fatalf("project 2's destinations %v", got)
		}
		if got := list(0); !slices.Equal(got, all) {
			t.Fatalf("every destination %v, want %v", got, all)
		}
		if got := list(empty.ID); len(got) != 0 {
			t.Fatalf("a project without destinations has %v", got)
		}
		if l, _ := s.ListDestinations(ctxb(), p2.ID); len(l) != 1 || l[0].Key != "dev-key" || l[0].Name != "Other's" {
			t.Fatalf("listed %+v", l)
		}

		// A partial update changes what it names.
		c.Add(time.Hour)
		where := &touchpoint.PropertyCondition{On: touchpoint.OnUser, Property: "plan", Op: touchpoint.OpIs, Values: []string{"gold"}}
		upd, err := s.UpdateDestination(ctxb(), d1.ID, touchpoint.DestinationUpdate{Name: ptr("AppsFlyer 2"),
			Filter: &touchpoint.EventFilter{EventTypes: []string{"purchase", "open"}, Where: where}})
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, d *touchpoint.Destination) {
			t.Helper()
			if d.ID != d1.ID || d.Project != p1.ID || d.Name != "AppsFlyer 2" || d.Key != "dev-key" || d.AppsFlyerAppID != "id123456" ||
				d.URL != "https://api3.appsflyer.com" || d.AppsFlyerIDProperty != "af_id" || !d.Enabled ||
				props(d.Filter) != `{"event_types":["purchase","open"],"where":{"on":"user","property":"plan","op":"is","values":["gold"]}}` ||
				!d.CreatedAt.Equal(Start) || !d.UpdatedAt.Equal(Start.Add(time.Hour)) {
				t.Fatalf("%s %+v (filter %s)", what, d, props(d.Filter))
			}
		}
		check("updated", upd)
		got, err = s.FindDestination(ctxb(), d1.ID)
		if err != nil {
			t.Fatal(err)
		}
		check("found after the update", got)
		if upd, err := s.UpdateDestination(ctxb(), d3.ID, touchpoint.DestinationUpdate{Enabled: ptr(true), URL: ptr("http://attribution.example.net:8080/"),
			Key: ptr("key-2")}); err != nil || !upd.Enabled || upd.URL != "http://attribution.example.net:8080" || upd.Key != "key-2" || upd.Name != "Second" {
			t.Fatalf("UpdateDestination(d3) = %+v, %v", upd, err)
		}
		if got, _ := s.FindDestination(ctxb(), d3.ID); !got.Enabled || got.Key != "key-2" || got.URL != "http://attribution.example.net:8080" {
			t.Fatalf("d3 after update %+v", got)
		}
		if _, err := s.UpdateDestination(ctxb(), 999999, touchpoint.DestinationUpdate{Name: ptr("x")}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("UpdateDestination(missing): %v", err)
		}

		// Refusals change nothing.
		if err := s.CreateDestination(ctxb(), newDest(999999, "Nowhere")); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("destination of a missing project: %v", err)
		}
		cond := func(on, property, op string, values ...string) touchpoint.EventFilter {
			return touchpoint.EventFilter{Where: &touchpoint.PropertyCondition{On: on, Property: property, Op: op, Values: values}}
		}
		for name, change := range map[string]func(*touchpoint.Destination){
			"bad kind":              func(d *touchpoint.Destination) { d.Kind = "webhook" },
			"no name":               func(d *touchpoint.Destination) { d.Name = "" },
			"long name":             func(d *touchpoint.Destination) { d.Name = strings.Repeat("n", 201) },
			"no key":                func(d *touchpoint.Destination) { d.Key = "" },
			"no appsflyer_app_id":   func(d *touchpoint.Destination) { d.AppsFlyerAppID = "" },
			"empty event type":      func(d *touchpoint.Destination) { d.Filter.EventTypes = []string{"purchase", ""} },
			"where on device":       func(d *touchpoint.Destination) { d.Filter = cond("device", "plan", "is", "gold") },
			"where without prop":    func(d *touchpoint.Destination) { d.Filter = cond("user", "", "is", "gold") },
			"where op contains":     func(d *touchpoint.Destination) { d.Filter = cond("event", "plan", "contains", "gold") },
			"where without values":  func(d *touchpoint.Destination) { d.Filter = cond("event", "plan", "is not") },
			"ftp url":               func(d *touchpoint.Destination) { d.URL = "ftp://api3.appsflyer.com" },
			"url with a query":      func(d *touchpoint.Destination) { d.URL = "https://api3.appsflyer.com?x=1" },
			"url without a scheme":  func(d *touchpoint.Destination) { d.URL = "api3.appsflyer.com" },
			"url with a fragment":   func(d *touchpoint.Destination) { d.URL = "https://api3.appsflyer.com#x" },
			"long appsflyer_app_id": func(d *touchpoint.Destination) { d.AppsFlyerAppID = strings.Repeat("i", 201) },
		} {
			d := newDest(p2.ID, "Bad")
			change(d)
			if err := s.CreateDestination(ctxb(), d); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateDestination(%s): %v, want EINVALID", name, err)
			}
		}
		if got := list(0); !slices.Equal(got, all) {
			t.Fatalf("after refused creates %v, want %v", got, all)
		}
		badFilter := cond("user", "plan", "matches", "gold")
		for name, u := range map[string]touchpoint.DestinationUpdate{
			"no name":             {Name: ptr("")},
			"no key":              {Key: ptr("")},
			"no appsflyer_app_id": {AppsFlyerAppID: ptr("")},
			"bad url":             {URL: ptr("mailto:someone@example.net")},
			"bad where":           {Filter: &badFilter, Name: ptr("Changed")},
		} {
			if _, err := s.UpdateDestination(ctxb(), d1.ID, u); code(err) != touchpoint.EINVALID {
				t.Errorf("UpdateDestination(%s): %v, want EINVALID", name, err)
			}
		}
		got, err = s.FindDestination(ctxb(), d1.ID)
		if err != nil {
			t.Fatal(err)
		}
		check("after refused updates", got)

		// Delete.
		if err := s.DeleteDestination(ctxb(), d3.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindDestination(ctxb(), d3.ID); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindDestination after delete: %v", err)
		}
		if err := s.DeleteDestination(ctxb(), d3.ID); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("DeleteDestination twice: %v", err)
		}
		if _, err := s.UpdateDestination(ctxb(), d3.ID, touchpoint.DestinationUpdate{Name: ptr("back")}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("UpdateDestination(deleted): %v", err)
		}
		if got := list(p1.ID); !slices.Equal(got, []int64{d1.ID}) {
			t.Fatalf("project 1 after delete %v", got)
		}
		if _, err := s.FindDestination(ctxb(), 999999); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindDestination(missing): %v", err)
		}
	}},
	{"Install/FindDeviceByCustomerUserID", func(t *testing.T, s touchpoint.Store, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		MustCreateApp(t, s, "com.example.other")
		find := func(cuid string) (*touchpoint.Device, error) {
			return s.FindDeviceByCustomerUserID(ctxb(), game, cuid)
		}
		write := func(ws ...*touchpoint.LaunchWrite) {
			t.Helper()
			if err := s.WriteLaunches(ctxb(), ws); err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				if w.Stale || w.Duplicate != 0 {
					t.Fatalf("write of %s: stale %v, duplicate %d", w.Device.ID, w.Stale, w.Duplicate)
				}
			}
		}
		// relaunch writes a later launch of a device at the time given.
		relaunch := func(id string, at time.Time, cuid string) {
			t.Helper()
			seen, err := s.FindDevice(ctxb(), game, id)
			if err != nil {
				t.Fatal(err)
			}
			next := *seen
			next.Launches, next.LastLaunch, next.CustomerUserID = seen.Launches+1, at, cuid
			write(&touchpoint.LaunchWrite{Seen: seen, Version: seen.Launches, Device: &next})
		}
		// Two devices of one customer, the first written launched last.
		w1 := newInstall(game, "dev-1", "k1", "GAID-1", Start.Add(time.Hour), "net_a")
		w1.Device.CustomerUserID = "user-42"
		w2 := newInstall(game, "dev-2", "k2", "GAID-2", Start, "")
		w2.Device.CustomerUserID = "user-42"
		w3 := newInstall(game, "dev-3", "k3", "GAID-3", Start, "")
		write(w1)
		write(w2, w3)
		d, err := find("user-42")
		if err != nil || d.ID != "dev-1" || d.CustomerUserID != "user-42" || d.App != game || d.Attribution.MediaSource != "net_a" {
			t.Fatalf("FindDeviceByCustomerUserID(user-42) = %+v, %v; want dev-1, launched last", d, err)
		}
		relaunch("dev-2", Start.Add(2*time.Hour), "user-42")
		if d, err := find("user-42"); err != nil || d.ID != "dev-2" || d.Launches != 2 {
			t.Fatalf("after dev-2 launched again: %+v, %v; want dev-2", d, err)
		}
		for _, cuid := range []string{"user-43", "USER-42", "user-4", "user-42 ", ""} {
			if d, err := find(cuid); code(err) != touchpoint.ENOTFOUND {
				t.Errorf("FindDeviceByCustomerUserID(%q) = %+v, %v; want ENOTFOUND", cuid, d, err)
			}
		}
		if _, err := s.FindDeviceByCustomerUserID(ctxb(), "com.example.other", "user-42"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("another app's customer: %v", err)
		}
		if _, err := s.FindDeviceByCustomerUserID(ctxb(), "com.example.missing", "user-42"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a missing app: %v", err)
		}
		// A customer user id set on a later launch, then changed.
		relaunch("dev-3", Start.Add(3*time.Hour), "Old-ID")
		if d, err := find("Old-ID"); err != nil || d.ID != "dev-3" {
			t.Fatalf("FindDeviceByCustomerUserID(Old-ID) = %+v, %v", d, err)
		}
		if _, err := find("old-id"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("found in another letter case: %v", err)
		}
		relaunch("dev-3", Start.Add(4*time.Hour), "New-ID")
		if d, err := find("New-ID"); err != nil || d.ID != "dev-3" || d.CustomerUserID != "New-ID" || d.Launches != 3 {
			t.Fatalf("FindDeviceByCustomerUserID(New-ID) = %+v, %v", d, err)
		}
		if d, err := find("Old-ID"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("found by the old customer user id: %+v, %v", d, err)
		}
		// dev-1 changes customer too: user-42 is dev-2 alone.
		relaunch("dev-1", Start.Add(5*time.Hour), "user-7")
		if d, err := find("user-42"); err != nil || d.ID != "dev-2" {
			t.Fatalf("user-42 after dev-1 changed = %+v, %v; want dev-2", d, err)
		}
		if d, err := find("user-7"); err != nil || d.ID != "dev-1" {
			t.Fatalf("user-7 = %+v, %v; want dev-1", d, err)
		}
	}},
	{"Integration/EventStreams", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		// A group set before, by /groupidentify.
		events, err := analytics.DecodeGroupIdentify(`[{"group_type":"org","group_value":"acme","group_properties":{"$set":{"tier":"pro"}}}]`, Start)
		if err != nil {
			t.Fatal(err)
		}
		record(t, s, p, Start, events)

		stream := newTestStream("destination/1", "purchase", "open")
		never := newTestStream("destination/2", "never-sent") // wants no type the upload has
		refuser := newTestStream("destination/3")             // wants every type, refuses each event
		refuser.refuse = true
		streams := []touchpoint.Streamer{stream, never, refuser}
		t1, t2, t3 := Start.Add(-3*time.Minute).UnixMilli(), Start.Add(-2*time.Minute).UnixMilli(), Start.Add(-time.Minute).UnixMilli()
		purchase := fmt.Sprintf(`{"device_id":"device-1","user_id":"user-1","event_type":"purchase","time":%d,"insert_id":"i-1",`+
			`"groups":{"org":"acme","team":"red"},"event_properties":{"price":3},"user_properties":{"$add":{"purchases":1}}}`, t1)
		n := uploadStreams(t, s, p, Start, streams,
			`{"device_id":"device-1","user_id":"user-1","event_type":"$identify","user_properties":{"$set":{"plan":"gold"}}}`,
			`{"device_id":"device-1","event_type":"$groupidentify","groups":{"team":"red"},"group_properties":{"$set":{"lead":"ann"}}}`,
			purchase,
			purchase, // a repeat
			`{"device_id":"device-1","user_id":"user-1","event_type":"browse"}`,
			fmt.Sprintf(`{"device_id":"device-2","event_type":"open","time":%d,"user_properties":{"color":"red"}}`, t2),
			fmt.Sprintf(`{"device_id":"device-1","user_id":"user-1","event_type":"purchase","time":%d,"insert_id":"i-2","user_properties":{"$add":{"purchases":1}}}`, t3))
		if n != 4 {
			t.Fatalf("stored %d events, want 4", n)
		}
		// A later upload: a repeat, an identify and an event no stream
		// wants owe nothing.
		if n := uploadStreams(t, s, p, Start, streams, purchase,
			`{"device_id":"device-1","user_id":"user-1","event_type":"$identify","user_properties":{"$set":{"plan":"silver"}}}`,
			`{"device_id":"device-2","event_type":"browse"}`); n != 1 {
			t.Fatalf("second upload stored %d, want 1", n)
		}

		// What the streams were given.
		if len(refuser.seen) != 5 {
			t.Errorf("a stream wanting every type was given %d events, want the 5 stored", len(refuser.seen))
		}
		if len(never.seen) != 0 {
			t.Errorf("a stream was given %d events of types it does not want", len(never.seen))
		}
		if len(stream.seen) != 3 {
			t.Fatalf("the stream was given %d events, want 3: %+v", len(stream.seen), stream.seen)
		}
		u1 := mustLookup(t, s, p, "user-1", "")
		u2 := mustLookup(t, s, p, "", "device-2")
		var ids []int64
		for _, e := range append(userEvents(t, s, p, u1.AmplitudeID), userEvents(t, s, p, u2.AmplitudeID)...) {
			if e["event_type"] == "purchase" || e["event_type"] == "open" {
				ids = append(ids, int64(e["id"].(float64)))
			}
		}
		slices.Sort(ids)
		if len(ids) != 3 {
			t.Fatalf("stored events the stream wants: %v", ids)
		}
		for i, want := range []struct {
			id           int64
			eventType    string
			time         int64
			userID       string
			user, groups string
		}{
			{ids[0], "purchase", t1, "user-1", `{"plan":"gold","purchases":1}`, `{"lead":"ann","tier":"pro"}`},
			{ids[1], "open", t2, "", `{"color":"red"}`, `{}`},
			{ids[2], "purchase", t3, "user-1", `{"plan":"gold","purchases":2}`, `{}`},
		} {
			e := stream.seen[i]
			if e.ID != want.id || e.Project != p.ID || e.EventType != want.eventType || e.Time != want.time || e.UserID != want.userID ||
				e.user != want.user || e.groups != want.groups {
				t.Errorf("streamed event %d: id %d project %d %s at %d by %q, user %s, groups %s; want %+v",
					i, e.ID, e.Project, e.EventType, e.Time, e.UserID, e.user, e.groups, want)
			}
			var data map[string]any
			if err := json.Unmarshal(e.Data, &data); err != nil || data["event_type"] != want.eventType {
				t.Errorf("streamed event %d data %s: %v", i, e.Data, err)
			}
		}
		if e := stream.seen[0]; !strings.Contains(string(e.Data), `"price":3`) {
			t.Errorf("the stored form lost the event properties: %s", e.Data)
		}

		// The deliveries: one per event the stream wanted, none from the
		// others.
		ds, next, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{Project: p.ID})
		if err != nil || next != 0 {
			t.Fatalf("ListDeliveries = %v, %d, %v", ds, next, err)
		}
		if len(ds) != 3 {
			for _, d := range ds {
				t.Logf("delivery %+v", d)
			}
			t.Fatalf("%d deliveries, want 3", len(ds))
		}
		for i, d := range ds {
			e := stream.seen[len(ds)-1-i] // newest first
			if d.App != "" || d.Project != p.ID || d.PID != "destination/1" || d.Kind != touchpoint.KindEventStream ||
				d.Source != "event/"+strconv.FormatInt(e.ID, 10) || d.State != touchpoint.DeliveryPending || d.Tries != 0 ||
				d.MaxTries != touchpoint.StreamTries || d.Method != "POST" || d.Host != "stream.example.net" ||
				d.Body != streamBody(e.EventType, e.Time, e.UserID, e.user, e.groups) || props(d.Headers) != `{"authentication":"k"}` {
				t.Errorf("delivery %d: %+v", i, d)
			}
			f, err := s.FindDelivery(ctxb(), d.ID)
			if err != nil || f.Source != d.Source || f.App != "" || f.Project != p.ID || f.Kind != touchpoint.KindEventStream ||
				props(f.Headers) != `{"authentication":"k"}` || f.Body != d.Body {
				t.Errorf("FindDelivery(%d) = %+v, %v", d.ID, f, err)
			}
		}
		if l, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{Project: other.ID}); err != nil || len(l) != 0 {
			t.Errorf("another project's deliveries: %v, %v", l, err)
		}
		if l, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{}); err != nil || len(l) != 3 {
			t.Errorf("every delivery: %d, %v", len(l), err)
		}
		backlog, err := s.DeliveryBacklog(ctxb())
		if err != nil || len(backlog) != 1 || backlog[0] != (touchpoint.Backlog{App: "", PID: "destination/1", Pending: 3}) {
			t.Fatalf("DeliveryBacklog = %+v, %v", backlog, err)
		}

		// Without streams, or with a stream of another project's upload,
		// events owe nothing more.
		upload(t, s, p, Start, `{"device_id":"device-3","event_type":"purchase"}`)
		if n := uploadStreams(t, s, other, Start, []touchpoint.Streamer{never}, `{"device_id":"device-1","event_type":"purchase"}`); n != 1 {
			t.Fatalf("stored %d in the other project", n)
		}
		if l, _, _ := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{}); len(l) != 3 {
			t.Errorf("%d deliveries after uploads without a stream wanting them, want 3", len(l))
		}
	}},
}
