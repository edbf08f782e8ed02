package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// destSink is a local AppsFlyer S2S events API that answers 200 to
// everything and keeps what it was sent.
type destSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newDestSink(t *testing.T) *destSink {
	k := &destSink{}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		k.bodies = append(k.bodies, r.URL.Path+" "+string(b))
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"OK"`)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *destSink) received() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.bodies...)
}

// destinationFromAPI reads a destination back through the JSON API.
func (e *cohortEnv) destinationFromAPI(t *testing.T, id int64) touchpoint.Destination {
	t.Helper()
	var d touchpoint.Destination
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/destinations/%d", e.api, id), nil, &d)
	return d
}

// onlyDestination is the project's one destination.
func (e *cohortEnv) onlyDestination(t *testing.T) touchpoint.Destination {
	t.Helper()
	var list struct{ Destinations []touchpoint.Destination }
	e.s.api(t, 200, "GET", e.api+"/destinations", nil, &list)
	if len(list.Destinations) != 1 {
		t.Fatalf("destinations = %+v, want one", list.Destinations)
	}
	return list.Destinations[0]
}

// sameDestination compares two destinations but for their ids and times.
func sameDestination(a, b touchpoint.Destination) bool {
	a.ID, a.CreatedAt, a.UpdatedAt = 0, time.Time{}, time.Time{}
	b.ID, b.CreatedAt, b.UpdatedAt = 0, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// TestDestinationEventStream: an AppsFlyer event stream created, changed
// and deleted through the form, each step read back through the JSON API;
// its key masked once saved; its deliveries' health on the list.
func TestDestinationEventStream(t *testing.T) {
	e := startCohortEnv(t)
	sink := newDestSink(t)
	e.b.mustGet(e.base+"/destinations", "sends its events nowhere yet", "/destinations/new?kind=appsflyer-events")
	if p := e.b.get(e.base + "/destinations/new?kind=webhook"); p.Status != 400 || !strings.Contains(cohortError(p.Body), `kind "webhook"`) {
		t.Fatalf("an unknown kind: %d %q", p.Status, cohortError(p.Body))
	}

	const key = "devkey-0123456789abcdef"
	form := url.Values{"kind": {"appsflyer-events"}, "name": {"AF events"}, "appsflyer_app_id": {cohortApp}, "key": {key},
		"url": {sink.URL}, "event_types": {"purchase\r\nlevel_up\r\n"}, "where_on": {"event"}, "where_property": {"store"},
		"where_op": {"is"}, "where_values": {"google\r\namazon"}, "appsflyer_id_property": {""}, "enabled": {"1"}}

	// Refused: nothing stored, the error in words, the values kept.
	e.b.mustGet(e.base+"/destinations/new?kind=appsflyer-events", `name="key"`, `name="event_types"`)
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("appsflyer_app_id", "123456789")
	p := e.b.post(e.base+"/destinations/new", bad)
	if p.Status != 400 || !strings.Contains(cohortError(p.Body), `starts with "id"`) {
		t.Fatalf("a bare iOS id: %d %q", p.Status, cohortError(p.Body))
	}
	p.mustContain(t, `value="AF events"`, `value="123456789"`)
	var list struct{ Destinations []touchpoint.Destination }
	e.s.api(t, 200, "GET", e.api+"/destinations", nil, &list)
	if len(list.Destinations) != 0 {
		t.Fatalf("a refused form stored %+v", list.Destinations)
	}

	// Created: the same destination as the API call with the same fields.
	p = e.b.post(e.base+"/destinations/new", form)
	if p.Status != 200 || cohortError(p.Body) != "" {
		t.Fatalf("create: %d %q", p.Status, cohortError(p.Body))
	}
	d := e.onlyDestination(t)
	var viaAPI touchpoint.Destination
	e.s.api(t, 201, "POST", e.api+"/destinations", map[string]any{"kind": "appsflyer-events", "name": "AF events",
		"appsflyer_app_id": cohortApp, "key": key, "url": sink.URL, "filter": map[string]any{"event_types": []string{"purchase", "level_up"},
			"where": map[string]any{"on": "event", "property": "store", "op": "is", "values": []string{"google", "amazon"}}}}, &viaAPI)
	if !sameDestination(d, viaAPI) {
		t.Fatalf("the form made %+v, the API %+v", d, viaAPI)
	}
	if d.Key != key || d.AppsFlyerIDProperty != touchpoint.DefaultAppsFlyerIDProperty || !d.Enabled {
		t.Fatalf("destination = %+v", d)
	}
	e.s.api(t, 204, "DELETE", fmt.Sprintf("%s/destinations/%d", e.api, viaAPI.ID), nil, nil)
	page := fmt.Sprintf("%s/destinations/%d", e.base, d.ID)
	if p.URL != page {
		t.Fatalf("created, the browser is at %s, want %s", p.URL, page)
	}
	p.mustContain(t, "Destination AF events saved.", "••••cdef", "No delivery yet")
	if strings.Contains(p.Body, key) {
		t.Fatal("the page shows the dev key")
	}

	// Health: one event not sent (its user has no AppsFlyer id), one sent,
	// one filtered out.
	e.ingest(t, map[string]any{"user_id": "nobody", "event_type": "purchase", "event_properties": map[string]any{"store": "google"}})
	e.ingest(t, map[string]any{"user_id": "payer", "event_type": "purchase", "event_properties": map[string]any{"store": "google"},
		"user_properties": map[string]any{"$set": map[string]any{touchpoint.DefaultAppsFlyerIDProperty: "1764000000000-1234567890123456789"}}},
		map[string]any{"user_id": "payer", "event_type": "open"})
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sink got nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ds struct{ Deliveries []touchpoint.Delivery }
	for {
		e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries?project_id=%d&pid=destination/%d", e.project.ID, d.ID), nil, &ds)
		if len(ds.Deliveries) == 2 && ds.Deliveries[0].State == touchpoint.DeliverySucceeded || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(ds.Deliveries) != 2 || ds.Deliveries[0].State != touchpoint.DeliverySucceeded || ds.Deliveries[1].State != touchpoint.DeliveryFailed {
		t.Fatalf("deliveries = %+v", ds.Deliveries)
	}
	p = e.b.mustGet(e.base+"/destinations", ">AF events</a>", `<span class="badge ok">succeeded</span>`)
	if !strings.Contains(p.Body, `<td class="num">0</td><td class="num">1</td>`) {
		t.Errorf("the list does not show 0 pending and 1 given up:\n%s", p.Body)
	}
	e.b.mustGet(page, "not sent: the user has no AppsFlyer id", datetimeText(ds.Deliveries[0].CreatedAt))

	// Changed: every event, another id property, disabled; the key left
	// blank stays.
	p = e.b.post(page, url.Values{"name": {"AF events (all)"}, "appsflyer_app_id": {cohortApp}, "key": {""}, "url": {sink.URL},
		"event_types": {""}, "where_on": {""}, "where_property": {""}, "where_op": {"is"}, "where_values": {""},
		"appsflyer_id_property": {"af_id"}})
	p.mustContain(t, "Destination AF events (all) saved.")
	got := e.destinationFromAPI(t, d.ID)
	want := d
	want.Name, want.Filter, want.AppsFlyerIDProperty, want.Enabled = "AF events (all)", touchpoint.EventFilter{}, "af_id", false
	if !sameDestination(got, want) {
		t.Fatalf("after the change: %+v, want %+v", got, want)
	}

	// A new key replaces the old, and is masked too.
	e.b.post(page, url.Values{"name": {"AF events (all)"}, "appsflyer_app_id": {cohortApp}, "key": {"devkey-new-9999wxyz"}, "url": {sink.URL},
		"appsflyer_id_property": {"af_id"}, "enabled": {"1"}})
	if got := e.destinationFromAPI(t, d.ID); got.Key != "devkey-new-9999wxyz" || !got.Enabled {
		t.Fatalf("after the new key: %+v", got)
	}
	e.b.mustGet(page, "••••wxyz")

	// A refused change changes nothing.
	before := e.destinationFromAPI(t, d.ID)
	p = e.b.post(page, url.Values{"name": {"AF events (all)"}, "appsflyer_app_id": {""}, "url": {"ftp://example.com"}, "enabled": {"1"}})
	if p.Status != 400 || cohortError(p.Body) == "" {
		t.Fatalf("a refused change: %d %q", p.Status, cohortError(p.Body))
	}
	if after := e.destinationFromAPI(t, d.ID); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused change changed %+v into %+v", before, after)
	}

	// Deleted.
	p = e.b.post(page+"/delete", nil)
	p.mustContain(t, "Destination AF events (all) deleted")
	e.s.api(t, 404, "GET", fmt.Sprintf("%s/destinations/%d", e.api, d.ID), nil, nil)
	if p := e.b.get(page); p.Status != 404 {
		t.Fatalf("a deleted destination's page: %d", p.Status)
	}
}

// TestDestinationCohortKind: an AppsFlyer Audiences destination through
// its form, changed with its token kept, refused when its identifier does
// not fit its platform.
func TestDestinationCohortKind(t *testing.T) {
	e := startCohortEnv(t)
	e.b.mustGet(e.base+"/destinations/new?kind=appsflyer-cohort", `name="api_token"`, `name="identifier"`)
	p := e.b.post(e.base+"/destinations/new", url.Values{"kind": {"appsflyer-cohort"}, "name": {"Audiences"},
		"appsflyer_app_id": {cohortApp}, "api_token": {e.app.APIToken}, "platform": {"android"}, "identifier": {"gaid"}, "enabled": {"1"}})
	if p.Status != 200 || cohortError(p.Body) != "" {
		t.Fatalf("create: %d %q", p.Status, cohortError(p.Body))
	}
	d := e.onlyDestination(t)
	if d.Kind != touchpoint.DestinationAppsFlyerCohort || d.APIToken != e.app.APIToken || d.Platform != touchpoint.Android ||
		d.Identifier != touchpoint.MapGAID || d.Key != "" || !d.Enabled {
		t.Fatalf("destination = %+v", d)
	}
	page := fmt.Sprintf("%s/destinations/%d", e.base, d.ID)
	e.b.mustGet(page, "No cohort syncs to it yet")

	p = e.b.post(page, url.Values{"name": {"Audiences"}, "appsflyer_app_id": {cohortApp}, "platform": {"android"}, "identifier": {"idfa"}, "enabled": {"1"}})
	if p.Status != 400 || !strings.Contains(cohortError(p.Body), `identifier "idfa"`) {
		t.Fatalf("idfa on android: %d %q", p.Status, cohortError(p.Body))
	}
	p = e.b.post(page, url.Values{"name": {"Audiences by user"}, "appsflyer_app_id": {cohortApp}, "platform": {"android"}, "identifier": {"user_id"}, "enabled": {"1"}})
	p.mustContain(t, "Destination Audiences by user saved.")
	got := e.destinationFromAPI(t, d.ID)
	want := d
	want.Name, want.Identifier = "Audiences by user", touchpoint.MapUserID
	if !sameDestination(got, want) {
		t.Fatalf("after the change: %+v, want %+v", got, want)
	}
	e.b.mustGet(e.base+"/destinations", "Audiences by user", "0 syncs")
}
