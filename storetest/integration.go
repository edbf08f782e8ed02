package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
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

var integrationTests = []part[IntegrationStore]{
	{"Integration/AnalyticsForwards", func(t *testing.T, s IntegrationStore, c *Clock) {
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
	{"Integration/Destinations", func(t *testing.T, s IntegrationStore, c *Clock) {
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
	{"Integration/CohortDestinations", func(t *testing.T, s IntegrationStore, c *Clock) {
		p, q := MustCreateProject(t, s, "Game").ID, MustCreateProject(t, s, "Other").ID
		cohortDest := func(project int64, appID string) *touchpoint.Destination {
			return &touchpoint.Destination{Project: project, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
				AppsFlyerAppID: appID, URL: "https://hq1.appsflyer.com/", APIToken: "token", Platform: touchpoint.IOS,
				Identifier: touchpoint.MapIDFA, Enabled: true}
		}
		dest := cohortDest(p, "id123456789")
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindDestination(ctxb(), dest.ID)
		if err != nil || got.ID != dest.ID || got.Project != p || got.Kind != touchpoint.DestinationAppsFlyerCohort ||
			got.Name != "AppsFlyer audiences" || got.AppsFlyerAppID != "id123456789" || got.URL != "https://hq1.appsflyer.com" ||
			got.APIToken != "token" || got.Platform != touchpoint.IOS || got.Identifier != touchpoint.MapIDFA || !got.Enabled ||
			got.Key != "" || got.AppsFlyerIDProperty != "" || props(got.Filter) != `{}` ||
			!got.CreatedAt.Equal(Start) || !got.UpdatedAt.Equal(Start) {
			t.Fatalf("FindDestination = %+v, %v", got, err)
		}
		// One cohort destination per AppsFlyer app in a project.
		if err := s.CreateDestination(ctxb(), cohortDest(p, "id123456789")); code(err) != touchpoint.ECONFLICT {
			t.Errorf("a second cohort destination for the app: %v, want ECONFLICT", err)
		} else if !strings.Contains(err.Error(), strconv.FormatInt(dest.ID, 10)) {
			t.Errorf("the conflict does not name destination %d: %v", dest.ID, err)
		}
		android := &touchpoint.Destination{Project: p, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "Android audiences",
			AppsFlyerAppID: "com.example.game", APIToken: "token-2", Platform: touchpoint.Android, Identifier: touchpoint.MapGAID, Enabled: true}
		if err := s.CreateDestination(ctxb(), android); err != nil {
			t.Fatalf("a cohort destination for another app: %v", err)
		}
		c.Add(time.Hour)
		onto := touchpoint.DestinationUpdate{AppsFlyerAppID: ptr("id123456789"), Platform: ptr(touchpoint.IOS), Identifier: ptr(touchpoint.MapIDFA)}
		if _, err := s.UpdateDestination(ctxb(), android.ID, onto); code(err) != touchpoint.ECONFLICT {
			t.Errorf("moving a cohort destination onto the app of another: %v, want ECONFLICT", err)
		}
		if got, err := s.FindDestination(ctxb(), android.ID); err != nil || got.AppsFlyerAppID != "com.example.game" ||
			got.Platform != touchpoint.Android || got.Identifier != touchpoint.MapGAID || !got.UpdatedAt.Equal(Start) {
			t.Fatalf("a refused update changed the destination: %+v, %v", got, err)
		}
		// The app in another project, and an events destination of the
		// app in the same project, are no conflict.
		if err := s.CreateDestination(ctxb(), cohortDest(q, "id123456789")); err != nil {
			t.Errorf("the app's cohort destination in another project: %v", err)
		}
		events := &touchpoint.Destination{Project: p, Name: "Events", AppsFlyerAppID: "id123456789", Key: "dev-key", Enabled: true}
		if err := s.CreateDestination(ctxb(), events); err != nil {
			t.Fatal(err)
		}
		// Refusals: a missing project, fields of the other kind.
		if err := s.CreateDestination(ctxb(), cohortDest(999999, "id987654321")); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("cohort destination of a missing project: %v, want ENOTFOUND", err)
		}
		for name, change := range map[string]func(*touchpoint.Destination){
			"a dev key":              func(d *touchpoint.Destination) { d.Key = "dev-key" },
			"a filter":               func(d *touchpoint.Destination) { d.Filter.EventTypes = []string{"purchase"} },
			"no api token":           func(d *touchpoint.Destination) { d.APIToken = "" },
			"the gaid on iOS":        func(d *touchpoint.Destination) { d.Identifier = touchpoint.MapGAID },
			"no platform":            func(d *touchpoint.Destination) { d.Platform = "" },
			"a package name on iOS":  func(d *touchpoint.Destination) { d.AppsFlyerAppID = "com.example.other" },
			"an id without its 'id'": func(d *touchpoint.Destination) { d.AppsFlyerAppID = "987654321" },
		} {
			d := cohortDest(q, "id987654321")
			change(d)
			if err := s.CreateDestination(ctxb(), d); code(err) != touchpoint.EINVALID {
				t.Errorf("cohort destination with %s: %v, want EINVALID", name, err)
			}
		}
		if _, err := s.UpdateDestination(ctxb(), events.ID, touchpoint.DestinationUpdate{APIToken: ptr("token")}); code(err) != touchpoint.EINVALID {
			t.Errorf("an API token on an events destination: %v, want EINVALID", err)
		}
		if l, err := s.ListDestinations(ctxb(), 0); err != nil || len(l) != 4 {
			t.Fatalf("after refusals: %d destinations, %v; want 4", len(l), err)
		}
		// Once the app's destination is gone, another may take the app.
		if err := s.DeleteDestination(ctxb(), dest.ID); err != nil {
			t.Fatal(err)
		}
		moved, err := s.UpdateDestination(ctxb(), android.ID, onto)
		if err != nil || moved.AppsFlyerAppID != "id123456789" || moved.Platform != touchpoint.IOS || moved.APIToken != "token-2" ||
			!moved.UpdatedAt.Equal(Start.Add(time.Hour)) {
			t.Fatalf("moving onto a free app: %+v, %v", moved, err)
		}
		if err := s.CreateDestination(ctxb(), cohortDest(p, "id123456789")); code(err) != touchpoint.ECONFLICT {
			t.Errorf("a cohort destination for the app taken by the moved one: %v, want ECONFLICT", err)
		}
	}},
	{"Integration/ConcurrentWrites", func(t *testing.T, s IntegrationStore, c *Clock) {
		// Nodes creating one app's cohort destination at once: one has it,
		// the others are refused. Nodes putting one app's forward at once:
		// each succeeds, and one forward is left.
		MustCreateApp(t, s, "com.example.game")
		p := MustCreateProject(t, s, "Game").ID
		const n = 8
		created, forwarded := make([]error, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				created[i] = s.CreateDestination(ctxb(), &touchpoint.Destination{Project: p, Kind: touchpoint.DestinationAppsFlyerCohort,
					Name: fmt.Sprintf("Audiences %d", i), AppsFlyerAppID: "id123456789", APIToken: "token", Platform: touchpoint.IOS,
					Identifier: touchpoint.MapIDFA, Enabled: true})
			}()
			go func() {
				defer wg.Done()
				forwarded[i] = s.PutAnalyticsForward(ctxb(), &touchpoint.AnalyticsForward{App: "com.example.game", APIKey: fmt.Sprintf("k%d", i)})
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range created {
			switch {
			case err == nil:
				ok++
			case code(err) != touchpoint.ECONFLICT:
				t.Errorf("create %d: %v, want ECONFLICT", i, err)
			}
			if err := forwarded[i]; err != nil {
				t.Errorf("put %d: %v", i, err)
			}
		}
		if l, err := s.ListDestinations(ctxb(), p); ok != 1 || err != nil || len(l) != 1 {
			t.Fatalf("%d creates succeeded, %d destinations kept (%v); want 1", ok, len(l), err)
		}
		l, err := s.ListAnalyticsForwards(ctxb())
		if err != nil || len(l) != 1 || l[0].App != "com.example.game" || !strings.HasPrefix(l[0].APIKey, "k") || !l[0].CreatedAt.Equal(Start) {
			t.Fatalf("forwards after concurrent puts: %+v, %v", l, err)
		}
	}},
}

// streamTests are the cases of event streams.
var streamTests = []subtest{
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
