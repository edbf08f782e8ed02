package httpapi_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
	"github.com/touchpointhq/touchpoint/httpapi"
)

const loopApp = "com.example.loop"

// loop is one server running both planes, with an app, a partner whose
// in-app postbacks go to a local sink, and an analytics project linked to
// the app.
type loop struct {
	*testServer
	sink    *sink
	devKey  string
	project *touchpoint.Project
}

func startLoop(t *testing.T, configure ...func(*httpapi.Server)) *loop {
	t.Helper()
	s := startServer(t, append([]func(*httpapi.Server){func(s *httpapi.Server) { s.AllowPrivatePostbackHosts = true }}, configure...)...)
	var app touchpoint.App
	// A test clock lets the launch come two hours after the click.
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": loopApp, "platform": "android", "name": "Loop",
		"test_mode": true, "test_clock": T0}, &app)
	sk := newSink(t)
	s.mustAPI(t, 201, "POST", "/api/v1/apps/"+loopApp+"/partners", map[string]any{"pid": "net_a", "postbacks": []map[string]any{
		{"kind": "event_postback", "send_revenue": true, "url": sk.URL + "/event?e=(event-name)&m=(monetary)&c=(campaign)&gaid=(advertiserId)"},
	}}, nil)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Loop", "apps": []string{loopApp}}, &p)
	return &loop{testServer: s, sink: sk, devKey: app.DevKey, project: &p}
}

// launch reports a first launch through the SDK API.
func (l *loop) launch(t *testing.T, body map[string]any) httpapi.LaunchResponse {
	t.Helper()
	var resp httpapi.LaunchResponse
	code, raw := l.post(t, "/sdk/v1/apps/"+loopApp+"/launches", "Authorization", "Bearer "+l.devKey, body)
	if code != 200 {
		t.Fatalf("launch = %d %s", code, raw)
	}
	if err := json.Unmarshal([]byte(raw), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// post sends a JSON body with one header and returns the answer.
func (l *loop) post(t *testing.T, path, header, value string, body any) (int, string) {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest("POST", l.URL()+path, bytes.NewReader(b))
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// ingest sends events to /2/httpapi with the project's key.
func (l *loop) ingest(t *testing.T, events ...map[string]any) {
	t.Helper()
	code, raw := l.post(t, "/2/httpapi", "", "", map[string]any{"api_key": l.project.APIKey, "events": events})
	if code != 200 {
		t.Fatalf("/2/httpapi = %d %s", code, raw)
	}
}

// deliveries lists deliveries with a query, waiting until n of them are in
// state (any state when state is "").
func (l *loop) deliveries(t *testing.T, query string, state touchpoint.DeliveryState, n int) []*touchpoint.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page httpapi.DeliveryPage
		l.mustAPI(t, 200, "GET", "/api/v1/deliveries?"+query, nil, &page)
		var in []*touchpoint.Delivery
		for _, d := range page.Deliveries {
			if state == "" || d.State == state {
				in = append(in, d)
			}
		}
		if len(in) >= n || time.Now().After(deadline) {
			if len(in) != n {
				var all []string
				for _, d := range page.Deliveries {
					all = append(all, fmt.Sprintf("%d %s %s tries=%d reason=%q", d.ID, d.Kind, d.State, d.Tries, d.Reason))
				}
				t.Fatalf("deliveries?%s: %d %s, want %d; all: %q", query, len(in), state, n, all)
			}
			return in
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// delivery returns a delivery with its attempts.
func (l *loop) delivery(t *testing.T, id int64) *touchpoint.Delivery {
	t.Helper()
	var d touchpoint.Delivery
	l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries/%d", id), nil, &d)
	return &d
}

// user looks an analytics user up by user id.
func (l *loop) user(t *testing.T, userID string) *touchpoint.User {
	t.Helper()
	var u touchpoint.User
	l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?user_id=%s", l.project.ID, url.QueryEscape(userID)), nil, &u)
	return &u
}

// TestIntegrationLoop runs the whole loop on one server, in AppsFlyer's
// style and in Adjust's: a click, a launch, the install attributed and
// forwarded to the analytics plane through the Attribution API, held until
// the app's analytics events arrive with the advertising id, the user's
// attribution properties; the app's purchase streamed to /inappevent as
// AppsFlyer's S2S API, a conversion with the original media source, and
// the partner's in-app postback.
func TestIntegrationLoop(t *testing.T) {
	for _, tc := range []struct {
		style, installEvent, mediaSource, campaign string
		idProperty                                 string // "": the destination's default
	}{
		{"appsflyer", "[AppsFlyer] Install", "[AppsFlyer] media source", "[AppsFlyer] campaign", ""},
		{"adjust", "[Adjust] Install", "[adjust] network", "[adjust] campaign", "[adjust] adid"},
	} {
		t.Run(tc.style, func(t *testing.T) {
			l := startLoop(t)
			var f touchpoint.AnalyticsForward
			l.mustAPI(t, 200, "PUT", "/api/v1/apps/"+loopApp+"/analytics-forward",
				map[string]any{"api_key": l.project.APIKey, "mode": "attribution-api", "style": tc.style}, &f)
			if f.URL != "" || !f.Enabled || f.Mode != touchpoint.ForwardAttributionAPI {
				t.Fatalf("forward %+v", f)
			}
			var dest touchpoint.Destination
			l.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", l.project.ID), map[string]any{
				"name": "AppsFlyer events", "appsflyer_app_id": loopApp, "key": l.devKey, "appsflyer_id_property": tc.idProperty,
				"filter": map[string]any{"event_types": []string{"purchase"}}}, &dest)
			if dest.ID == 0 || !dest.Enabled || dest.Kind != touchpoint.DestinationAppsFlyerEvents ||
				dest.AppsFlyerIDProperty != cmp.Or(tc.idProperty, touchpoint.DefaultAppsFlyerIDProperty) {
				t.Fatalf("destination %+v", dest)
			}

			gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
			if resp, body := l.get(t, "/c/"+loopApp+"?pid=net_a&c=spring&af_adset=set-1&advertising_id="+gaid); resp.StatusCode != 302 {
				t.Fatalf("click = %d %s", resp.StatusCode, body)
			}
			l.mustAPI(t, 200, "POST", "/api/v1/apps/"+loopApp+"/test_clock", map[string]any{"advance": "2h"}, nil)
			lr := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-42"})
			if lr.Type != "install" || lr.ConversionData["media_source"] != "net_a" {
				var v httpapi.InstallView
				l.mustAPI(t, 200, "GET", "/api/v1/apps/"+loopApp+"/installs/"+lr.DeviceID, nil, &v)
				b, _ := json.Marshal(v)
				t.Fatalf("launch %+v\n%s", lr, b)
			}

			// The install reaches the Attribution API and waits there
			// for a user with its advertising id.
			fw := l.deliveries(t, "kind=analytics_forward", touchpoint.DeliverySucceeded, 1)[0]
			if fw.App != loopApp || fw.PID != "analytics-forward" || !strings.HasSuffix(fw.URL, "/attribution") {
				t.Errorf("forward delivery %+v", fw)
			}
			var pending touchpoint.PendingAttributions
			l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", l.project.ID), nil, &pending)
			if pending.Count != 1 {
				t.Fatalf("pending %+v", pending)
			}

			// The app's analytics events carry the advertising id and
			// the user id the attribution plane knows as customer user id.
			l.ingest(t,
				map[string]any{"user_id": "user-42", "device_id": "amp-device-1", "event_type": "session_start", "adid": gaid, "platform": "Android", "os_version": "14"},
				map[string]any{"user_id": "user-42", "device_id": "amp-device-1", "event_type": "purchase", "adid": gaid, "os_version": "14",
					"revenue": 4.99, "event_properties": map[string]any{"sku": "gem"}, "insert_id": "p-1"})
			u := l.user(t, "user-42")
			if u.Properties[tc.mediaSource] != "net_a" || u.Properties[tc.campaign] != "spring" || len(u.Attribution) != 1 {
				t.Fatalf("user properties %v, attribution %d", u.Properties, len(u.Attribution))
			}
			var page struct{ Events []map[string]any }
			l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events", l.project.ID, u.AmplitudeID), nil, &page)
			var types []string
			for _, e := range page.Events {
				types = append(types, fmt.Sprint(e["event_type"]))
			}
			if strings.Join(types, ",") != tc.installEvent+",session_start,purchase" {
				t.Errorf("events %q", types)
			}

			// Only the purchase streams; it becomes a conversion with the
			// install's media source, and the partner's postback follows.
			st := l.deliveries(t, fmt.Sprintf("project_id=%d", l.project.ID), touchpoint.DeliverySucceeded, 1)[0]
			if st.Kind != touchpoint.KindEventStream || st.PID != fmt.Sprintf("destination/%d", dest.ID) ||
				!strings.HasSuffix(st.URL, "/inappevent/"+loopApp) || st.Note != "" {
				t.Errorf("stream delivery %+v", st)
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(st.Body), &sent); err != nil {
				t.Fatal(err)
			}
			// appsflyer_id: the device id, from the user property the
			// forward set.
			if sent["appsflyer_id"] != lr.DeviceID || sent["customer_user_id"] != "user-42" || sent["eventName"] != "purchase" ||
				sent["advertising_id"] != gaid || sent["os"] != "14" || sent["eventCurrency"] != "USD" ||
				!strings.Contains(fmt.Sprint(sent["eventValue"]), `"af_revenue":"4.99"`) {
				t.Errorf("S2S body %s", st.Body)
			}
			if err := afspec.MustLoad(t).S2SRequest(touchpoint.Android, []byte(st.Body)); err != nil {
				t.Errorf("S2S body %s: %v", st.Body, err)
			}
			if got := l.delivery(t, st.ID).Attempts; len(got) != 1 || got[0].Status != 200 || got[0].Body != `"OK"` {
				t.Errorf("attempts %+v", got)
			}
			got := l.sink.waitRequests(t, 1)
			if want := "/event?e=purchase&m=4.99&c=spring&gaid=" + gaid; got[0] != want {
				t.Errorf("in-app postback %s, want %s", got[0], want)
			}
			var v httpapi.InstallView
			l.mustAPI(t, 200, "GET", "/api/v1/apps/"+loopApp+"/installs/"+lr.DeviceID, nil, &v)
			if len(v.Conversions) != 1 || v.Conversions[0].Source != "S2S" || v.Conversions[0].Attribution.MediaSource != "net_a" ||
				v.Conversions[0].Revenue.String() != "4.99" || v.Conversions[0].Currency != "USD" {
				t.Errorf("conversions %+v", v.Conversions)
			}
		})
	}
}

// s2s posts to /inappevent with a dev key ("" for none) and returns the
// status and the message of the answer, which must be one AppsFlyer's
// OpenAPI file for the API describes (a JSON string).
func (l *loop) s2s(t *testing.T, app, key string, body any) (int, string) {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest("POST", l.URL()+"/inappevent/"+app, bytes.NewReader(b))
	if key != "" {
		req.Header.Set("authentication", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := afspec.MustLoad(t).S2SResponse(resp.StatusCode, resp.Header.Get("Content-Type"), raw); err != nil {
		t.Errorf("the answer %d %s is not AppsFlyer's: %v", resp.StatusCode, raw, err)
	}
	var msg string
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Errorf("the answer %s is not a JSON string", raw)
	}
	return resp.StatusCode, msg
}

// conversions returns a device's conversions.
func (l *loop) conversions(t *testing.T, deviceID string) []*touchpoint.Conversion {
	t.Helper()
	var v httpapi.InstallView
	l.mustAPI(t, 200, "GET", "/api/v1/apps/"+loopApp+"/installs/"+deviceID, nil, &v)
	return v.Conversions
}

// TestInAppEventAPI: POST /inappevent answers as AppsFlyer's S2S API v3
// does, refuses bad input with its messages and stores nothing then, and
// turns accepted events into conversions.
func TestInAppEventAPI(t *testing.T) {
	l := startLoop(t)
	var other touchpoint.App // its dev key is in the create answer only
	l.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.other", "platform": "android", "name": "Other"}, &other)
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	dev := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-7"}).DeviceID
	ok := map[string]any{"customer_user_id": "user-7", "eventName": "af_purchase", "eventValue": `{"af_revenue":"6","af_content_id":"15854"}`,
		"eventCurrency": "EUR", "eventTime": "2026-11-02 08:30:00.250", "ip": "203.0.113.7", "os": "14"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	const sharingWant = `Bad request: sharing_filter: want "all" or a list of partner ids, such as ["googleadwords_int"]`
	for _, tc := range []struct {
		name, app, key string
		body           any
		code           int
		msg            string
	}{
		{"no key", loopApp, "", ok, 400, "Failed to Authenticate"},
		{"wrong key", loopApp, "not-the-key", ok, 401, "Unauthorized"},
		{"another app's key", loopApp, other.DevKey, ok, 400, "app_id does not match the key"},
		{"unknown app", "com.example.none", l.devKey, ok, 400, "app_id does not match the key"},
		{"empty body", loopApp, l.devKey, []byte(""), 400, "Payload is missing or failed to parse"},
		{"not JSON", loopApp, l.devKey, []byte("{eventName"), 400, "Payload is missing or failed to parse"},
		{"no ids", loopApp, l.devKey, with("customer_user_id", nil), 400, "appsflyer_id is a mandatory field"},
		{"no event name", loopApp, l.devKey, with("eventName", nil), 400, "Bad request: eventName is required"},
		{"eventValue object", loopApp, l.devKey, with("eventValue", map[string]any{"a": 1}), 400,
			`Bad request: eventValue must be a string holding a JSON object, such as "{\"af_revenue\":\"6\"}", or "" for none`},
		{"eventValue not an object", loopApp, l.devKey, with("eventValue", "[1]"), 400, "Bad request: eventValue does not hold a JSON object"},
		{"bad revenue", loopApp, l.devKey, with("eventValue", `{"af_revenue":"six"}`), 400, `Bad request: af_revenue "six" is not a decimal number`},
		{"bad time", loopApp, l.devKey, with("eventTime", "2026-11-02T08:30:00Z"), 400, "Bad request: eventTime 2026-11-02T08:30:00Z: want yyyy-mm-dd hh:mm:ss.sss in UTC"},
		{"bad currency", loopApp, l.devKey, with("eventCurrency", "euro"), 400, `Bad request: eventCurrency "euro": want an ISO-4217 code in upper case, such as USD or EUR`},
		{"lower-case currency", loopApp, l.devKey, with("eventCurrency", "eur"), 400, `Bad request: eventCurrency "eur": want an ISO-4217 code in upper case, such as USD or EUR`},
		{"not an ISO-4217 code", loopApp, l.devKey, with("eventCurrency", "ABC"), 400, `Bad request: eventCurrency "ABC": want an ISO-4217 code in upper case, such as USD or EUR`},
		{"att 4", loopApp, l.devKey, with("att", 4), 400, "Bad request: att 4: want 0 (not determined), 1 (restricted), 2 (denied) or 3 (authorized)"},
		{"app_type web", loopApp, l.devKey, with("app_type", "web"), 400, `Bad request: app_type "web": want app_clip, or none`},
		{"sharing_filter none", loopApp, l.devKey, with("sharing_filter", "none"), 400, sharingWant},
		{"sharing_filter empty", loopApp, l.devKey, with("sharing_filter", []string{}), 400, sharingWant},
		{"sharing_filter empty id", loopApp, l.devKey, with("sharing_filter", []string{"net_a", ""}), 400, sharingWant},
		{"sharing_filter a number", loopApp, l.devKey, with("sharing_filter", 1), 400, sharingWant},
		{"bad ip", loopApp, l.devKey, with("ip", "nowhere"), 400, "Bad request: ip nowhere is not an IP address"},
		{"over 1 KB", loopApp, l.devKey, with("eventValue", `{"x":"`+strings.Repeat("a", 1000)+`"}`), 400, "Bad request: the body is over the 1 KB limit of the S2S API"},
		{"unknown customer user", loopApp, l.devKey, with("customer_user_id", "nobody"), 400,
			`Bad request: customer_user_id "nobody" matches no device of app com.example.loop: the app must launch with this customer user id before events can be sent for it`},
		{"unknown appsflyer_id", loopApp, l.devKey, with("appsflyer_id", "123-456"), 400,
			`Bad request: appsflyer_id "123-456" is not a device of app com.example.loop: the app must have launched on it`},
	} {
		code, msg := l.s2s(t, tc.app, tc.key, tc.body)
		if code != tc.code || msg != tc.msg {
			t.Errorf("%s: %d %q\nwant %d %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	if c := l.conversions(t, dev); len(c) != 0 {
		t.Fatalf("refused events stored conversions: %+v", c)
	}

	// Accepted: by customer user id, and by appsflyer_id with "" for no
	// value. The clock is 2026-11-02 09:00.
	if code, msg := l.s2s(t, loopApp, l.devKey, ok); code != 200 || msg != "OK" {
		t.Fatalf("ok = %d %q", code, msg)
	}
	if code, msg := l.s2s(t, loopApp, l.devKey, map[string]any{"appsflyer_id": dev, "eventName": "level_up", "eventValue": ""}); code != 200 || msg != "OK" {
		t.Fatalf("by appsflyer_id = %d %q", code, msg)
	}
	// An event of yesterday arriving after 02:00 UTC is stamped at
	// arrival; one of today keeps its time.
	late := with("eventTime", "2026-11-01 23:00:00.000")
	late["eventName"] = "late"
	if code, msg := l.s2s(t, loopApp, l.devKey, late); code != 200 {
		t.Fatalf("late = %d %q", code, msg)
	}
	convs := l.conversions(t, dev)
	byName := map[string]*touchpoint.Conversion{}
	for _, c := range convs {
		byName[c.Name] = c
	}
	p, lv, lt := byName["af_purchase"], byName["level_up"], byName["late"]
	if len(convs) != 3 || p == nil || lv == nil || lt == nil {
		t.Fatalf("conversions %+v", convs)
	}
	if p.Source != "S2S" || p.Revenue.String() != "6" || p.Currency != "EUR" || p.Value != ok["eventValue"] ||
		!p.Time.Equal(time.Date(2026, 11, 2, 8, 30, 0, 250e6, time.UTC)) || p.Attribution.MediaSource != "organic" {
		t.Errorf("purchase %+v", p)
	}
	if lv.Value != "" || lv.Revenue != 0 || !lv.Time.Equal(T0) {
		t.Errorf("level_up %+v", lv)
	}
	if !lt.Time.Equal(T0) {
		t.Errorf("late event kept %s, want arrival %s", lt.Time, T0)
	}
}

// TestStreamFaults: what a destination's faults come to, each visible on
// the delivery: a wrong key, a user AppsFlyer does not know, a user with
// no AppsFlyer id (not sent), a host that is down, 429 and 5xx answers,
// and an event over 1 KB.
func TestStreamFaults(t *testing.T) {
	// On a clock of its own: the retry falls due exactly 30 s after the
	// attempt, and the quick retries' budget is not spent by a busy
	// machine's slowness.
	l := startLoop(t, withClock(func() time.Time { return T0.Add(time.Hour) }))
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	dev := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-9"}).DeviceID
	dest := func(name, key, base string, types ...string) int64 {
		var d touchpoint.Destination
		l.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", l.project.ID), map[string]any{
			"name": name, "appsflyer_app_id": loopApp, "key": key, "url": base,
			"filter": map[string]any{"event_types": types}}, &d)
		return d.ID
	}
	of := func(id int64) string { return fmt.Sprintf("project_id=%d&pid=destination/%d", l.project.ID, id) }

	wrongKey := dest("wrong key", "not-the-key", "", "wrong_key")
	unknownUser := dest("unknown user", l.devKey, "", "unknown_user")
	down := dest("down", l.devKey, "http://127.0.0.1:1", "down")
	busy := newSink(t)
	busy.status["/inappevent/"+loopApp] = []int{429, 503, 200}
	flaky := dest("flaky", l.devKey, busy.URL, "flaky")
	large := dest("large", l.devKey, "", "large")
	noID := dest("no id", l.devKey, "", "no_id")

	// The users' AppsFlyer ids, as the analytics forward sets them:
	// user-9's is the device's; nobody's is no device's here.
	const unknownID = "1700000000000-0000000000000000001"
	setID := func(user, id string) map[string]any {
		return map[string]any{"user_id": user, "event_type": "$identify",
			"user_properties": map[string]any{"$set": map[string]any{touchpoint.DefaultAppsFlyerIDProperty: id}}}
	}
	l.ingest(t, setID("user-9", dev), setID("nobody", unknownID))
	ev := func(user, typ string, props map[string]any) map[string]any {
		return map[string]any{"user_id": user, "event_type": typ, "event_properties": props, "os_version": "14"}
	}
	l.ingest(t, ev("user-9", "wrong_key", nil), ev("nobody", "unknown_user", nil), ev("user-9", "down", nil),
		ev("user-9", "flaky", nil),
		ev("user-9", "large", map[string]any{"small": "s", "big": strings.Repeat("b", 700), "bigger": strings.Repeat("c", 800)}),
		ev("user-no-id", "no_id", nil))

	d := l.deliveries(t, of(wrongKey), touchpoint.DeliveryFailed, 1)[0]
	if d = l.delivery(t, d.ID); len(d.Attempts) != 1 || d.Attempts[0].Status != 401 || d.Attempts[0].Body != `"Unauthorized"` ||
		d.Reason != "the destination answered 401: not retried" {
		t.Errorf("wrong key: %+v", d)
	}
	d = l.deliveries(t, of(unknownUser), touchpoint.DeliveryFailed, 1)[0]
	if d = l.delivery(t, d.ID); len(d.Attempts) != 1 || d.Attempts[0].Status != 400 ||
		!strings.HasPrefix(d.Attempts[0].Body, `"Bad request: appsflyer_id \"`+unknownID+`\" is not a device`) {
		t.Errorf("unknown user: %+v", d)
	}
	// No AppsFlyer id: the S2S API would refuse it, so it is not sent;
	// the delivery is there, failed, with the reason and no attempt.
	d = l.deliveries(t, of(noID), touchpoint.DeliveryFailed, 1)[0]
	if d = l.delivery(t, d.ID); len(d.Attempts) != 0 || d.Tries != 0 ||
		d.Reason != `not sent: the user has no AppsFlyer id (user property "[AppsFlyer] appsflyer_id"), which the S2S API requires` {
		t.Errorf("no id: %+v", d)
	}
	d = l.deliveries(t, of(down), "", 1)[0]
	for deadline := time.Now().Add(30 * time.Second); d.Tries == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		d = l.delivery(t, d.ID)
	}
	if d = l.delivery(t, d.ID); d.State != touchpoint.DeliveryPending || len(d.Attempts) != 1 || d.Attempts[0].Status != 0 ||
		!strings.Contains(d.Attempts[0].Error, "connection refused") || !d.NextAt.Equal(d.Attempts[0].Time.Add(30*time.Second)) {
		t.Errorf("down: %+v", d)
	}
	// 429 and 503 are retried within the attempt: one attempt, three
	// requests, delivered.
	d = l.deliveries(t, of(flaky), touchpoint.DeliverySucceeded, 1)[0]
	if d = l.delivery(t, d.ID); len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || len(busy.requests()) != 3 {
		t.Errorf("flaky: %+v, %d requests", d, len(busy.requests()))
	}
	// Over 1 KB: the largest properties are dropped and the delivery
	// says so; AppsFlyer takes the rest.
	d = l.deliveries(t, of(large), touchpoint.DeliverySucceeded, 1)[0]
	var body struct{ EventValue string }
	json.Unmarshal([]byte(d.Body), &body)
	if len(d.Body) > 1024 || !strings.Contains(d.Note, "bigger") || strings.Contains(d.Note, "small") ||
		body.EventValue != `{"big":"`+strings.Repeat("b", 700)+`","small":"s"}` {
		t.Errorf("large: %d bytes, note %q, value %s", len(d.Body), d.Note, body.EventValue)
	}
	// The refused events left no conversions; the accepted ones did.
	var names []string
	for _, c := range l.conversions(t, dev) {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "large" {
		t.Errorf("conversions %q", names)
	}
}

// TestForwardHTTPV2: a forward in http-v2 mode sends the install and the
// SDK's in-app events to /2/httpapi on this server (reached without
// --allow-private-postback-hosts: it is the server itself), matched on the
// customer user id; an event stream with no filter does not send those
// events back; a wrong API key fails the delivery with the answer.
func TestForwardHTTPV2(t *testing.T) {
	s := startServer(t)
	var app touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": loopApp, "platform": "android", "name": "Loop"}, &app)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Loop", "apps": []string{loopApp}}, &p)
	l := &loop{testServer: s, devKey: app.DevKey, project: &p}
	l.mustAPI(t, 200, "PUT", "/api/v1/apps/"+loopApp+"/analytics-forward",
		map[string]any{"api_key": p.APIKey, "mode": "http-v2", "company": "MMP"}, nil)
	var dest touchpoint.Destination
	l.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID),
		map[string]any{"name": "all", "appsflyer_app_id": loopApp, "key": app.DevKey}, &dest)

	dev := l.launch(t, map[string]any{"advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d", "customer_user_id": "user-5",
		"os_version": "14", "app_version": "3.1"}).DeviceID
	code, raw := l.post(t, "/sdk/v1/apps/"+loopApp+"/events", "Authorization", "Bearer "+app.DevKey, map[string]any{
		"device_id": dev, "event_id": "e-1", "event_name": "af_purchase", "event_value": map[string]any{"sku": "gem"},
		"revenue": "2.50", "currency": "EUR"})
	if code != 200 {
		t.Fatalf("event = %d %s", code, raw)
	}
	l.deliveries(t, "kind=analytics_forward", touchpoint.DeliverySucceeded, 2)
	u := l.user(t, "user-5")
	if u.Properties["[MMP] is organic"] != true || u.Properties["[MMP] install time"] == nil || len(u.DeviceIDs) != 1 || u.DeviceIDs[0] != dev {
		t.Errorf("user %+v", u)
	}
	var page struct{ Events []map[string]any }
	l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events", p.ID, u.AmplitudeID), nil, &page)
	if len(page.Events) != 2 {
		t.Fatalf("events %v", page.Events)
	}
	// The two forwards may arrive in either order.
	install, purchase := page.Events[0], page.Events[1]
	if install["event_type"] != "[MMP] Install" {
		install, purchase = purchase, install
	}
	if install["event_type"] != "[MMP] Install" || install["library"] != touchpoint.ForwardLibrary || install["app_version"] != "3.1" ||
		install["adid"] != "38400000-8cf0-11bd-b23e-10b96e40000d" {
		t.Errorf("install event %v", install)
	}
	if purchase["event_type"] != "af_purchase" || purchase["revenue"] != 2.5 ||
		fmt.Sprint(purchase["event_properties"]) != "map[currency:EUR sku:gem]" {
		t.Errorf("purchase event %v", purchase)
	}
	// A retried SDK event is stored once in the attribution plane, and its
	// forward (sent again only if the first was lost) has a stable
	// insert_id: nothing doubles. The stream sent nothing back.
	time.Sleep(200 * time.Millisecond)
	var streamed httpapi.DeliveryPage
	l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries?project_id=%d", p.ID), nil, &streamed)
	if len(streamed.Deliveries) != 0 {
		t.Errorf("forwarded events were streamed back: %+v", streamed.Deliveries)
	}

	// A wrong key: the analytics plane refuses, the delivery keeps why.
	l.mustAPI(t, 200, "PUT", "/api/v1/apps/"+loopApp+"/analytics-forward", map[string]any{"api_key": "wrong", "mode": "attribution-api"}, nil)
	l.launch(t, map[string]any{"advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000e"})
	d := l.deliveries(t, "kind=analytics_forward&state=failed", touchpoint.DeliveryFailed, 1)[0]
	if d = l.delivery(t, d.ID); len(d.Attempts) != 1 || d.Attempts[0].Status != 400 || !strings.Contains(d.Attempts[0].Body, "invalid api_key") {
		t.Errorf("wrong key: %+v", d)
	}
}

// TestIntegrationsAPI: the admin API refuses bad forwards and destinations
// with a message, changing nothing, and finds, updates and removes them.
func TestIntegrationsAPI(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "P"}, &p)
	fw := "/api/v1/apps/com.example.game/analytics-forward"
	s.mustAPI(t, 404, "GET", fw, nil, nil)
	for _, bad := range []map[string]any{
		{"api_key": "k", "mode": "v3"},
		{"api_key": "k", "style": "branch"},
		{"mode": "http-v2"},
		{"api_key": "k", "url": "ftp://example.com"},
		{"api_key": "k", "company": "[x]"},
		{"api_key": "k", "extra": 1},
	} {
		var e struct{ Code, Error string }
		if code := s.api(t, "PUT", fw, bad, &e); code != 400 || e.Code != "invalid" || e.Error == "" {
			t.Errorf("PUT %v = %d %+v", bad, code, e)
		}
	}
	s.mustAPI(t, 404, "GET", fw, nil, nil)
	s.mustAPI(t, 404, "PUT", "/api/v1/apps/com.example.none/analytics-forward", map[string]any{"api_key": "k"}, nil)
	var f touchpoint.AnalyticsForward
	s.mustAPI(t, 200, "PUT", fw, map[string]any{"api_key": "k", "style": "adjust", "url": "https://api2.amplitude.com/"}, &f)
	if f.Company != "Adjust" || f.Mode != touchpoint.ForwardAttributionAPI || f.URL != "https://api2.amplitude.com" || !f.Enabled {
		t.Errorf("forward %+v", f)
	}
	s.mustAPI(t, 200, "GET", fw, nil, &f)
	s.mustAPI(t, 204, "DELETE", fw, nil, nil)
	s.mustAPI(t, 404, "DELETE", fw, nil, nil)

	ds := fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID)
	good := map[string]any{"name": "AF", "appsflyer_app_id": "id123456789", "key": "dev"}
	for _, change := range []map[string]any{
		{"name": ""}, {"key": ""}, {"appsflyer_app_id": ""}, {"kind": "webhook"}, {"url": "not a url"},
		{"appsflyer_app_id": "123456789"}, {"appsflyer_app_id": "id12"},
		{"filter": map[string]any{"where": map[string]any{"on": "group", "property": "x", "op": "is", "values": []string{"1"}}}},
		{"filter": map[string]any{"where": map[string]any{"on": "event", "property": "x", "op": "contains", "values": []string{"1"}}}},
		{"filter": map[string]any{"event_types": []string{""}}},
	} {
		body := map[string]any{}
		for k, v := range good {
			body[k] = v
		}
		for k, v := range change {
			body[k] = v
		}
		if code := s.api(t, "POST", ds, body, nil); code != 400 {
			t.Errorf("POST %v = %d", change, code)
		}
	}
	var list struct{ Destinations []touchpoint.Destination }
	s.mustAPI(t, 200, "GET", ds, nil, &list)
	if len(list.Destinations) != 0 {
		t.Fatalf("refused destinations were stored: %+v", list)
	}
	s.mustAPI(t, 404, "POST", "/api/v1/projects/99/destinations", good, nil)
	var d touchpoint.Destination
	s.mustAPI(t, 201, "POST", ds, good, &d)
	one := fmt.Sprintf("%s/%d", ds, d.ID)
	s.mustAPI(t, 200, "PATCH", one, map[string]any{"enabled": false, "filter": map[string]any{"event_types": []string{"purchase"}}}, &d)
	if d.Enabled || d.Name != "AF" || len(d.Filter.EventTypes) != 1 {
		t.Errorf("updated %+v", d)
	}
	s.mustAPI(t, 400, "PATCH", one, map[string]any{"key": ""}, nil)
	s.mustAPI(t, 200, "GET", one, nil, &d)
	if d.Key != "dev" {
		t.Errorf("a refused update changed the key: %+v", d)
	}
	var q touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Q"}, &q)
	s.mustAPI(t, 404, "GET", fmt.Sprintf("/api/v1/projects/%d/destinations/%d", q.ID, d.ID), nil, nil)
	s.mustAPI(t, 404, "GET", ds+"/x", nil, nil)
	s.mustAPI(t, 204, "DELETE", one, nil, nil)
	s.mustAPI(t, 404, "GET", one, nil, nil)
	s.mustAPI(t, 400, "GET", "/api/v1/deliveries?project_id=x", nil, nil)
}
