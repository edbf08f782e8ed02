package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
	"github.com/touchpointhq/touchpoint/storetest"
)

// post sends a raw request and returns the status and body.
func post(t *testing.T, rawURL, contentType string, body []byte, header ...string) (int, string) {
	t.Helper()
	if contentType != "" {
		header = append([]string{"Content-Type", contentType}, header...)
	}
	resp, answer := send(t, "POST", rawURL, string(body), header...)
	return resp.StatusCode, answer
}

func (s *testServer) createProject(t *testing.T, limits map[string]int) *touchpoint.Project {
	t.Helper()
	var p touchpoint.Project
	body := map[string]any{"name": "Game"}
	if limits != nil {
		body["limits"] = limits
	}
	s.mustAPI(t, 201, "POST", "/api/v1/projects", body, &p)
	return &p
}

// events returns the events stored for a device (none when its user does
// not exist).
func (s *testServer) deviceEvents(t *testing.T, p *touchpoint.Project, device string) []map[string]any {
	t.Helper()
	var u touchpoint.User
	path := fmt.Sprintf("/api/v1/projects/%d/users?device_id=%s", p.ID, url.QueryEscape(device))
	if code := s.api(t, "GET", path, nil, &u); code == 404 {
		return nil
	} else if code != 200 {
		t.Fatalf("GET %s = %d", path, code)
	}
	var page struct{ Events []map[string]any }
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events", p.ID, u.AmplitudeID), nil, &page)
	return page.Events
}

func TestUploadErrors(t *testing.T) {
	s := startServer(t)
	p := s.createProject(t, nil)
	key := p.APIKey
	ev := func(device string) string { return `{"device_id":"` + device + `","event_type":"open"}` }
	many := strings.TrimSuffix(strings.Repeat(ev("device-many")+",", 2001), ",")
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"empty body", "/2/httpapi", ``, 400, `{"code":400,"error":"Missing request body"}`},
		{"blank body", "/2/httpapi", "  \n", 400, `{"code":400,"error":"Missing request body"}`},
		{"not JSON", "/2/httpapi", `{"api_key":`, 400, `{"code":400,"error":"Invalid JSON request body"}`},
		{"broken event", "/2/httpapi", `{"api_key":"` + key + `","events":[{"device_id":"device-x",]}`, 400, `{"code":400,"error":"Invalid JSON request body"}`},
		{"trailing garbage", "/2/httpapi", `{"api_key":"` + key + `","events":[` + ev("device-x") + `]} x`, 400, `{"code":400,"error":"Invalid JSON request body"}`},
		{"no api_key", "/2/httpapi", `{"events":[` + ev("device-x") + `]}`, 400, `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"no events", "/2/httpapi", `{"api_key":"` + key + `"}`, 400, `{"code":400,"error":"Request missing required field","missing_field":"events"}`},
		{"empty events", "/batch", `{"api_key":"` + key + `","events":[]}`, 400, `{"code":400,"error":"Request missing required field","missing_field":"events"}`},
		{"unknown key", "/2/httpapi", `{"api_key":"0123456789abcdef0123456789abcdef","events":[` + ev("device-x") + `]}`, 400, `{"code":400,"error":"Invalid API key: 0123456789abcdef0123456789abcdef"}`},
		{"events not a list", "/2/httpapi", `{"api_key":"` + key + `","events":{"a":1}}`, 400, `{"code":400,"error":"Invalid event JSON"}`},
		{"event not an object", "/2/httpapi", `{"api_key":"` + key + `","events":[` + ev("device-x") + `,"open"]}`, 400, `{"code":400,"error":"Invalid event JSON"}`},
		{"invalid and missing fields", "/2/httpapi", `{"api_key":"` + key + `","events":[` + ev("device-x") + `,` +
			`{"device_id":"device-x"},{"device_id":"device-x","event_type":"a","time":"2026-11-23T12:00:00Z"},` +
			`{"user_id":"null","device_id":"abc","event_type":"a"},{"event_type":"a"}]}`, 400,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"device_id":[3],"time":[2],"user_id":[3]},"events_with_missing_fields":{"event_type":[1],"user_id":[4]}}`},
		{"missing fields only", "/2/httpapi", `{"api_key":"` + key + `","events":[` + ev("device-x") + `,{"device_id":"device-x"}]}`, 400,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[1]}}`},
		{"2,001 events", "/2/httpapi", `{"api_key":"` + key + `","events":[` + many + `]}`, 413, `{"code":413,"error":"Payload too large"}`},
		{"over 1 MB", "/2/httpapi", `{"api_key":"` + key + `","events":[{"device_id":"device-x","event_type":"open","event_properties":{"pad":"` +
			strings.Repeat("x", 1<<20) + `"}}]}`, 413, `{"code":413,"error":"Payload too large"}`},
		{"batch: 2,001 events", "/batch", `{"api_key":"` + key + `","events":[` + many + `]}`, 413, `{"code":413,"error":"Payload too large"}`},
		{"unknown path", "/2/httpapi/x", `{}`, 400, `{"code":400,"error":"Invalid request path"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, s.URL()+tc.path, "application/json", []byte(tc.body))
			if status != tc.status || body != tc.want {
				t.Errorf("= %d %s\nwant %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	// Nothing of a refused request was stored, not even its valid events.
	for _, d := range []string{"device-x", "device-many"} {
		if evs := s.deviceEvents(t, p, d); len(evs) != 0 {
			t.Errorf("%s has %d events stored from refused requests", d, len(evs))
		}
	}
	// More than 1 MB is fine on /batch (up to 20 MB).
	big := `{"api_key":"` + key + `","events":[{"device_id":"device-big","event_type":"open","event_properties":{"pad":"` + strings.Repeat("x", 1000) + `"}}` +
		strings.Repeat(`,{"device_id":"device-big","event_type":"open","event_properties":{"pad":"`+strings.Repeat("x", 1000)+`"}}`, 1500) + `]}`
	if status, body := post(t, s.URL()+"/batch", "application/json", []byte(big)); status != 200 || !strings.Contains(body, `"events_ingested":1501`) {
		t.Fatalf("a 1.5 MB batch = %d %s", status, body)
	}
}

func TestUploadFormsAndEncodings(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	s := startServer(t, withClock(clock.Now))
	p := s.createProject(t, nil)
	body := `{"api_key":"` + p.APIKey + `","client_upload_time":"2026-11-23T12:00:00.000Z","request_metadata":{"sdk":{"metrics":{}}},` +
		`"events":[{"device_id":"device-1","event_type":"open","ip":"$remote","insert_id":"ins-1","language":"en-US","library":"amplitude-ts/2.0.0"}]}`
	status, got := post(t, s.URL()+"/2/httpapi", "application/json", []byte(body))
	want := fmt.Sprintf(`{"code":200,"server_upload_time":%d,"payload_size_bytes":%d,"events_ingested":1}`, clock.Now().UnixMilli(), len(body))
	if status != 200 || got != want {
		t.Fatalf("upload = %d %s\nwant 200 %s", status, got, want)
	}
	// gzip: the same body again counts as ingested, stored once (insert_id).
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	if status, got := post(t, s.URL()+"/2/httpapi", "application/json", gz.Bytes(), "Content-Encoding", "gzip"); status != 200 || !strings.Contains(got, `"events_ingested":1`) {
		t.Fatalf("gzip upload = %d %s", status, got)
	}
	if status, got := post(t, s.URL()+"/2/httpapi", "application/json", []byte("not gzip"), "Content-Encoding", "gzip"); status != 400 || got != `{"code":400,"error":"Invalid JSON request body"}` {
		t.Fatalf("bad gzip = %d %s", status, got)
	}
	// sendBeacon: text/plain.
	beacon := `{"api_key":"` + p.APIKey + `","events":[{"device_id":"device-1","event_type":"page_hidden","insert_id":"ins-2"}]}`
	if status, got := post(t, s.URL()+"/2/httpapi", "text/plain;charset=UTF-8", []byte(beacon)); status != 200 {
		t.Fatalf("text/plain upload = %d %s", status, got)
	}
	evs := s.deviceEvents(t, p, "device-1")
	if len(evs) != 2 {
		t.Fatalf("device-1 has %d events, want 2", len(evs))
	}
	if evs[0]["ip"] != "127.0.0.1" || evs[0]["language"] != "English" || evs[0]["library"] != "amplitude-ts/2.0.0" || evs[1]["event_type"] != "page_hidden" {
		t.Errorf("stored events %v", evs)
	}

	// /identify: form-encoded, one object or a list.
	form := func(path string, v url.Values) (int, string) {
		return post(t, s.URL()+path, "application/x-www-form-urlencoded", []byte(v.Encode()))
	}
	status, got = form("/identify", url.Values{"api_key": {p.APIKey}, "identification": {`{"device_id":"device-1","user_properties":{"$set":{"plan":"gold"},"$add":{"n":2}}}`}})
	if status != 200 || got != "success\n" {
		t.Fatalf("/identify = %d %q", status, got)
	}
	status, _ = form("/identify", url.Values{"api_key": {p.APIKey}, "identification": {`[{"user_id":"user-1","device_id":"device-1","user_properties":{"$append":{"tags":"a"}}},{"device_id":"device-2","user_properties":{"x":1}}]`}})
	if status != 200 {
		t.Fatalf("/identify list = %d", status)
	}
	var u touchpoint.User
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?user_id=user-1", p.ID), nil, &u)
	if b, _ := json.Marshal(u.Properties); string(b) != `{"n":2,"plan":"gold","tags":["a"]}` || u.UserID != "user-1" {
		t.Fatalf("user after identify %+v", u)
	}
	for _, tc := range []struct {
		path string
		v    url.Values
		want int
	}{
		{"/identify", url.Values{"identification": {`{"device_id":"device-1"}`}}, 400},
		{"/identify", url.Values{"api_key": {"nope"}, "identification": {`{"device_id":"device-1"}`}}, 400},
		{"/identify", url.Values{"api_key": {p.APIKey}}, 400},
		{"/identify", url.Values{"api_key": {p.APIKey}, "identification": {`{"device_id":"device-1"`}}, 400},
		{"/identify", url.Values{"api_key": {p.APIKey}, "identification": {`{"device_id":"abc"}`}}, 400},
		{"/identify", url.Values{"api_key": {p.APIKey}, "identification": {`{"device_id":"device-1","user_properties":{"$set":{"a":1},"b":2}}`}}, 400},
		{"/groupidentify", url.Values{"api_key": {p.APIKey}, "identification": {`{"group_type":"org"}`}}, 400},
		{"/attribution", url.Values{"api_key": {p.APIKey}, "event": {`{"event_type":"[AppsFlyer] Install","platform":"ios"}`}}, 400},
		{"/attribution", url.Values{"api_key": {p.APIKey}, "event": {`{"platform":"ios","idfa":"x"}`}}, 400},
		{"/attribution", url.Values{"api_key": {p.APIKey}, "event": {`{"event_type":"i","idfa":"x"}`}}, 400},
		{"/attribution", url.Values{"api_key": {p.APIKey}, "event": {`not json`}}, 400},
	} {
		if status, body := form(tc.path, tc.v); status != tc.want || !strings.HasSuffix(body, "\n") || len(body) < 5 {
			t.Errorf("%s %v = %d %q, want %d with a message", tc.path, tc.v, status, body, tc.want)
		}
	}
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?user_id=user-1", p.ID), nil, &u)
	if b, _ := json.Marshal(u.Properties); string(b) != `{"n":2,"plan":"gold","tags":["a"]}` {
		t.Fatalf("refused identifies changed the user: %s", b)
	}
	status, _ = form("/groupidentify", url.Values{"api_key": {p.APIKey}, "identification": {`{"group_type":"org","group_value":"acme","group_properties":{"$set":{"plan":"pro"}}}`}})
	if status != 200 {
		t.Fatalf("/groupidentify = %d", status)
	}
	var g touchpoint.Group
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/groups/org/acme", p.ID), nil, &g)
	if g.Properties["plan"] != "pro" {
		t.Fatalf("group %+v", g)
	}

	// /attribution: held, then matched by the first event with the idfa;
	// the install event is stored without it.
	status, got = form("/attribution", url.Values{"api_key": {p.APIKey}, "event": {`{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"IDFA-1234-ABCD",` +
		`"user_properties":{"[AppsFlyer] media source":"examplenet_int","[AppsFlyer] campaign":"spring"}}`}})
	if status != 200 || got != "success\n" {
		t.Fatalf("/attribution = %d %q", status, got)
	}
	var pend touchpoint.PendingAttributions
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", p.ID), nil, &pend)
	if pend.Count != 1 {
		t.Fatalf("pending %+v", pend)
	}
	clock.Add(time.Hour)
	ios := `{"api_key":"` + p.APIKey + `","events":[{"device_id":"device-9","event_type":"open","idfa":"IDFA-1234-ABCD","platform":"iOS"},` +
		`{"device_id":"device-9","event_type":"purchase","revenue":4.99}]}`
	if status, got := post(t, s.URL()+"/2/httpapi", "application/json", []byte(ios)); status != 200 {
		t.Fatalf("upload = %d %s", status, got)
	}
	evs = s.deviceEvents(t, p, "device-9")
	if len(evs) != 3 || evs[0]["event_type"] != "[AppsFlyer] Install" || evs[0]["idfa"] != nil {
		t.Fatalf("device-9's events %v", evs)
	}
	if raw, _ := json.Marshal(evs); strings.Contains(string(raw), `"IDFA-1234-ABCD"`) && strings.Count(string(raw), "IDFA-1234-ABCD") != 1 {
		t.Fatalf("the idfa was stored with the install: %s", raw)
	}
	if m, _ := evs[2]["user_properties"].(map[string]any); m["[AppsFlyer] media source"] != "examplenet_int" {
		t.Fatalf("the purchase does not carry the media source: %v", evs[2])
	}
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", p.ID), nil, &pend)
	if pend.Count != 0 {
		t.Fatalf("pending after the match %+v", pend)
	}
	// The purchase carries the media source the attribution set, in
	// charts too.
	var seg chart.SegmentationResult
	charts := fmt.Sprintf("/api/v1/projects/%d/charts/", p.ID)
	s.mustAPI(t, 200, "POST", charts+"segmentation", map[string]any{"events": []any{map[string]any{"event_type": "purchase"}},
		"metric": "sum", "property": "revenue", "start": "2026-11-22", "end": "2026-11-23",
		"group_by": []any{map[string]any{"property": "[AppsFlyer] media source"}}}, &seg)
	if b, _ := json.Marshal(seg.Series); string(b) != `[{"event":"purchase","index":0,"group":["examplenet_int"],"values":[0,4.99],"total":4.99}]` {
		t.Fatalf("segmentation %s", b)
	}
	s.mustAPI(t, 400, "POST", charts+"segmentation", map[string]any{"events": []any{map[string]any{"event_type": "purchase"}}, "start": "23-11-2026", "end": "2026-11-23"}, nil)
	s.mustAPI(t, 400, "POST", charts+"segmentation", map[string]any{"events": []any{}, "start": "2026-11-22", "end": "2026-11-23"}, nil)
	s.mustAPI(t, 400, "POST", charts+"funnel", map[string]any{"steps": []any{map[string]any{"event_type": "open"}}, "start": "2026-11-22", "end": "2026-11-23"}, nil)
	s.mustAPI(t, 400, "POST", charts+"retention", map[string]any{"start_event": map[string]any{"event_type": "open"}, "start": "2026-11-22", "end": "2026-11-23", "mode": "sometimes"}, nil)
	s.mustAPI(t, 400, "POST", charts+"ltv", map[string]any{"start": "2026-11-22", "end": "2026-11-23", "unknown": 1}, nil)
	s.mustAPI(t, 404, "POST", charts+"pie", map[string]any{}, nil)
	s.mustAPI(t, 404, "POST", "/api/v1/projects/99/charts/segmentation", map[string]any{"events": []any{map[string]any{"event_type": "purchase"}}, "start": "2026-11-22", "end": "2026-11-23"}, nil)
}

func TestUploadThrottled(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	s := startServer(t, withClock(clock.Now))
	p := s.createProject(t, map[string]int{"http_eps": 1, "batch_eps": 2})
	events := func(n int, device, user string) string {
		var l []string
		for range n {
			l = append(l, `{"device_id":"`+device+`","user_id":"`+user+`","event_type":"tap"}`)
		}
		return `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(l, ",") + `]}`
	}
	// 1 event/s over 30 s: 30 events pass, the 31st does not.
	if status, body := post(t, s.URL()+"/2/httpapi", "application/json", []byte(events(30, "device-1", "user-1"))); status != 200 {
		t.Fatalf("30 events = %d %s", status, body)
	}
	status, body := post(t, s.URL()+"/2/httpapi", "application/json", []byte(events(2, "device-1", "user-2")))
	want := `{"code":429,"error":"Too many requests for some devices and users","eps_threshold":1,` +
		`"throttled_devices":{"device-1":1.0666666666666667},"throttled_users":{},"throttled_events":[0,1]}`
	if status != 429 || body != want {
		t.Fatalf("over the rate = %d %s\nwant 429 %s", status, body, want)
	}
	if evs := s.deviceEvents(t, p, "device-1"); len(evs) != 30 {
		t.Fatalf("device-1 has %d events, want 30: the refused upload must store nothing", len(evs))
	}
	// /batch has its own, higher limit.
	if status, body := post(t, s.URL()+"/batch", "application/json", []byte(events(2, "device-1", "user-2"))); status != 200 {
		t.Fatalf("batch = %d %s", status, body)
	}
	// A minute later the window has moved on.
	clock.Add(time.Minute)
	if status, body := post(t, s.URL()+"/2/httpapi", "application/json", []byte(events(2, "device-1", "user-1"))); status != 200 {
		t.Fatalf("a minute later = %d %s", status, body)
	}
}

func TestProjectsAPI(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Game", "apps": []string{"com.example.game"}}, &p)
	if p.Limits.HTTPEPS != 30 || p.Limits.BatchEPS != 1000 || len(p.APIKey) != 32 {
		t.Fatalf("project %+v", p)
	}
	s.mustAPI(t, 404, "POST", "/api/v1/projects", map[string]any{"name": "X", "apps": []string{"com.example.missing"}}, nil)
	s.mustAPI(t, 400, "POST", "/api/v1/projects", map[string]any{"name": ""}, nil)
	s.mustAPI(t, 400, "POST", "/api/v1/projects", map[string]any{"name": "X", "bogus": 1}, nil)
	var list struct{ Projects []touchpoint.Project }
	s.mustAPI(t, 200, "GET", "/api/v1/projects", nil, &list)
	if len(list.Projects) != 1 {
		t.Fatalf("projects %+v", list)
	}
	var got touchpoint.Project
	s.mustAPI(t, 200, "PATCH", fmt.Sprintf("/api/v1/projects/%d", p.ID), map[string]any{"name": "Game 2", "limits": map[string]int{"http_eps": 10, "batch_eps": 100}}, &got)
	if got.Name != "Game 2" || got.Limits.HTTPEPS != 10 || got.APIKey != "" || got.APIKeyLast4 != p.APIKey[28:] {
		t.Fatalf("updated %+v", got)
	}
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d", p.ID), nil, &got)
	if got.Name != "Game 2" || got.Stats == nil {
		t.Fatalf("get %+v", got)
	}
	s.mustAPI(t, 404, "GET", "/api/v1/projects/abc", nil, nil)
	s.mustAPI(t, 404, "GET", "/api/v1/projects/77", nil, nil)
	s.mustAPI(t, 404, "GET", fmt.Sprintf("/api/v1/projects/%d/users/12345", p.ID), nil, nil)
	s.mustAPI(t, 400, "GET", fmt.Sprintf("/api/v1/projects/%d/users", p.ID), nil, nil)
	if code := s.api(t, "GET", "/api/v1/projects", nil, nil); code != 200 {
		t.Fatal(code)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/api/v1/projects", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without a token: %v %v", resp.StatusCode, err)
	}
}
