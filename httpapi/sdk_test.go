package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"go.yaml.in/yaml/v3"
)

// T0 is where the test app's clock starts.
var T0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const appID = "com.example.game"

// sdkApp is a test-mode app with two partners, over a real server.
type sdkApp struct {
	*testServer
	devKey string
}

func startSDKApp(t *testing.T, configure ...func(*httpapi.Server)) *sdkApp {
	t.Helper()
	s := startServer(t, configure...)
	var app touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": appID, "platform": "android", "name": "Game",
		"test_mode": true, "test_clock": T0}, &app)
	if !app.TestMode || app.TestClock == nil || !app.TestClock.Equal(T0) {
		t.Fatalf("created %+v", app)
	}
	s.mustAPI(t, 201, "POST", "/api/v1/apps/"+appID+"/partners", map[string]any{"pid": "net_a"}, nil)
	s.mustAPI(t, 201, "POST", "/api/v1/apps/"+appID+"/partners", map[string]any{"pid": "net_b", "daily_click_cap": 1}, nil)
	return &sdkApp{testServer: s, devKey: app.DevKey}
}

// advance moves the app's clock.
func (a *sdkApp) advance(t *testing.T, step string) {
	t.Helper()
	a.mustAPI(t, 200, "POST", "/api/v1/apps/"+appID+"/test_clock", map[string]any{"advance": step}, nil)
}

// click follows a click link and returns its redirect.
func (a *sdkApp) click(t *testing.T, query string) string {
	t.Helper()
	resp, body := a.get(t, "/c/"+appID+"?"+query)
	if resp.StatusCode != 302 {
		t.Fatalf("click %s = %d %s", query, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// sdk posts to the SDK API with the app's dev key.
func (a *sdkApp) sdk(t *testing.T, path string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", a.URL()+"/sdk/v1/apps/"+appID+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+a.devKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v in %s", path, err, raw)
		}
	}
	return resp.StatusCode
}

func (a *sdkApp) launch(t *testing.T, body map[string]any) httpapi.LaunchResponse {
	t.Helper()
	var resp httpapi.LaunchResponse
	if code := a.sdk(t, "/launches", body, &resp); code != 200 {
		t.Fatalf("launch %v = %d", body, code)
	}
	return resp
}

func (a *sdkApp) explain(t *testing.T, deviceID string) httpapi.InstallView {
	t.Helper()
	var v httpapi.InstallView
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/installs/"+deviceID, nil, &v)
	return v
}

func (a *sdkApp) report(t *testing.T, groupBy string) []touchpoint.ReportRow {
	t.Helper()
	var out struct{ Rows []touchpoint.ReportRow }
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&group_by="+groupBy, nil, &out)
	return out.Rows
}

func row(rows []touchpoint.ReportRow, dim, value string) touchpoint.ReportRow {
	for _, r := range rows {
		if r.Group[dim] == value {
			return r
		}
	}
	return touchpoint.ReportRow{}
}

// The path a marketer and an integrator rehearse with a test clock: a
// click, a launch hours later, a retried launch, in-app events, a
// re-engagement, and the report and explanation that follow.
func TestLaunchesEndToEnd(t *testing.T) {
	a := startSDKApp(t)

	// A click, then the first launch two hours later on the app's clock.
	a.click(t, "pid=net_a&c=spring&af_adset=set1&af_siteid=site9&advertising_id=G-1&af_cost_model=CPI&af_cost_value=0.75&af_cost_currency=EUR&af_dp=game%3A%2F%2Flevel&deep_link_value=level3&af_sub1=s1")
	a.advance(t, "2h")
	first := a.launch(t, map[string]any{"advertising_id": "G-1", "launch_id": "L-1", "device_model": "Pixel 7", "os_version": "14"})
	cd := first.ConversionData
	if !first.FirstLaunch || first.Type != "install" || !strings.Contains(first.DeviceID, "-") || first.InstallID == 0 {
		t.Fatalf("first launch: %+v", first)
	}
	for k, want := range map[string]any{"af_status": "Non-organic", "media_source": "net_a", "campaign": "spring", "af_adset": "set1",
		"af_siteid": "site9", "match_type": "id_matching", "af_dp": "game://level", "deep_link_value": "level3", "af_sub1": "s1",
		"click_time": "2026-11-02 09:00:00.000", "install_time": "2026-11-02 11:00:00.000", "is_first_launch": true} {
		if cd[k] != want {
			t.Errorf("conversion_data[%s] = %v, want %v", k, cd[k], want)
		}
	}

	// The SDK retries the launch: the same answer, one install.
	again := a.launch(t, map[string]any{"advertising_id": "G-1", "launch_id": "L-1", "device_model": "Pixel 7", "os_version": "14"})
	if again.DeviceID != first.DeviceID || again.InstallID != first.InstallID || !again.FirstLaunch || again.ConversionData["media_source"] != "net_a" {
		t.Fatalf("retried launch: %+v, first %+v", again, first)
	}

	// In-app events, one retried.
	var e1, e2, e3 httpapi.EventResponse
	ev := map[string]any{"device_id": first.DeviceID, "event_id": "E-1", "event_name": "af_purchase", "event_value": map[string]any{"sku": "gems"},
		"revenue": "9.99", "currency": "EUR"}
	if a.sdk(t, "/events", ev, &e1) != 200 || a.sdk(t, "/events", ev, &e2) != 200 || e1.Duplicate || !e2.Duplicate || e1.ConversionID != e2.ConversionID {
		t.Fatalf("events: %+v %+v", e1, e2)
	}
	if a.sdk(t, "/events", map[string]any{"device_id": first.DeviceID, "event_name": "af_level", "revenue": 1}, &e3) != 200 || e3.Duplicate {
		t.Fatalf("event without id: %+v", e3)
	}

	// A retargeting click a day later, then a later launch: a
	// re-engagement, credited to net_b while the install keeps net_a.
	a.advance(t, "1d")
	a.click(t, "pid=net_b&c=winback&is_retargeting=true&af_reengagement_window=7d&advertising_id=G-1")
	a.advance(t, "10m")
	re := a.launch(t, map[string]any{"device_id": first.DeviceID, "advertising_id": "G-1"})
	if re.FirstLaunch || re.Type != "re-engagement" || re.ConversionData["media_source"] != "net_b" {
		t.Fatalf("re-engagement: %+v", re)
	}
	a.advance(t, "1m")
	plain := a.launch(t, map[string]any{"device_id": first.DeviceID, "advertising_id": "G-1"})
	if plain.Type != "launch" || plain.ConversionData["media_source"] != "net_a" {
		t.Fatalf("ordinary launch: %+v", plain)
	}
	// An event in the re-engagement window counts for both sources.
	var e4 httpapi.EventResponse
	a.sdk(t, "/events", map[string]any{"device_id": first.DeviceID, "event_id": "E-4", "event_name": "af_purchase", "revenue": 2, "currency": "USD"}, &e4)

	v := a.explain(t, first.DeviceID)
	if len(v.Installs) != 2 || v.Installs[0].Type != touchpoint.TypeReengagement || v.Installs[1].Type != touchpoint.TypeInstall ||
		v.Device.Attribution.MediaSource != "net_a" || v.Device.Reengagement == nil || v.Device.Reengagement.MediaSource != "net_b" {
		t.Fatalf("explained: %+v", v)
	}
	if !strings.Contains(v.Summary, "Installed on 2026-11-02 11:00:00 UTC: credited to net_a (campaign spring) for click") ||
		!strings.Contains(v.Summary, "Re-engaged") {
		t.Errorf("summary: %s", v.Summary)
	}
	if c := v.Installs[1].Candidates; len(c) != 1 || c[0].Reason != "won" || !strings.HasPrefix(c[0].Explanation, "Won: it matched the device's advertising_id, 2h before the launch") {
		t.Errorf("install candidates: %+v", c)
	}
	if len(v.Conversions) != 3 || v.Conversions[0].Reengagement == nil || v.Conversions[0].Reengagement.MediaSource != "net_b" ||
		v.Conversions[2].Reengagement != nil || v.Conversions[2].Attribution.MediaSource != "net_a" || v.Conversions[2].Revenue.String() != "9.99" {
		t.Errorf("conversions: %+v", v.Conversions)
	}

	rows := a.report(t, "media_source")
	na, nb := row(rows, "media_source", "net_a"), row(rows, "media_source", "net_b")
	if na.Clicks != 1 || na.Installs != 1 || na.Cost["EUR"].String() != "0.75" || na.ECPI["EUR"].String() != "0.75" ||
		na.Conversions != 3 || na.Revenue["EUR"].String() != "9.99" || na.Revenue["USD"].String() != "3" {
		t.Errorf("net_a row: %+v", na)
	}
	if nb.Clicks != 1 || nb.Reengagements != 1 || nb.Installs != 0 || nb.Conversions != 1 || nb.Revenue["USD"].String() != "2" {
		t.Errorf("net_b row: %+v", nb)
	}
	// A dimension's value filters the report: net_b's aggregates alone,
	// as one row of totals.
	var only struct{ Rows []touchpoint.ReportRow }
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&media_source=net_b", nil, &only)
	if len(only.Rows) != 1 || only.Rows[0].Clicks != nb.Clicks || only.Rows[0].Conversions != nb.Conversions || only.Rows[0].Installs != 0 {
		t.Errorf("report of media_source=net_b: %+v, want %+v", only.Rows, nb)
	}
	var e httpapi.ErrorResponse
	if code := a.api(t, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&day=2026-11-02", nil, &e); code != 400 || !strings.Contains(e.Error, "unknown parameter") {
		t.Errorf("day as a filter: %d %+v", code, e)
	}
}

// A click, then a launch 8 days later: outside the 7-day click lookback,
// so organic, and the explanation says so.
func TestLaunchEightDaysLater(t *testing.T) {
	a := startSDKApp(t)
	a.click(t, "pid=net_a&c=c1&advertising_id=G-8")
	a.advance(t, "8d")
	r := a.launch(t, map[string]any{"advertising_id": "G-8"})
	if r.Type != "install" || r.ConversionData["af_status"] != "Organic" {
		t.Fatalf("launch: %+v", r)
	}
	v := a.explain(t, r.DeviceID)
	c := v.Installs[0].Candidates
	if len(c) != 1 || c[0].Reason != "outside_window" || !strings.Contains(c[0].Explanation, "8d before the launch, outside net_a's 7-day click lookback") {
		t.Fatalf("candidates: %+v", c)
	}
	if row(a.report(t, ""), "", "").OrganicInstalls != 1 {
		t.Fatalf("report: %+v", a.report(t, ""))
	}
}

// The Google Play referrer our redirect hands out matches its click even
// when a later click matched the device id.
func TestLaunchReferrer(t *testing.T) {
	a := startSDKApp(t)
	loc := a.click(t, "pid=net_a&c=ref_campaign")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	referrer := u.Query().Get("referrer")
	a.advance(t, "30m")
	a.click(t, "pid=net_b&advertising_id=G-R")
	a.advance(t, "30m")
	r := a.launch(t, map[string]any{"advertising_id": "G-R", "referrer": referrer, "click_ts": T0.Unix(), "install_begin_ts": T0.Unix() + 60})
	if r.ConversionData["media_source"] != "net_a" || r.ConversionData["match_type"] != "referrer" {
		t.Fatalf("launch: %+v (referrer %q)", r, referrer)
	}
	v := a.explain(t, r.DeviceID)
	var reasons []string
	for _, c := range v.Installs[0].Candidates {
		reasons = append(reasons, c.MediaSource+":"+c.Reason)
	}
	if strings.Join(reasons, ",") != "net_b:referrer_won,net_a:won" {
		t.Fatalf("candidates: %v", reasons)
	}
}

// A partner's daily click cap: the click over it would have won, so the
// install is rejected for click_flood and, with no other touch, organic.
func TestLaunchClickCap(t *testing.T) {
	a := startSDKApp(t)
	a.click(t, "pid=net_b&advertising_id=G-C&af_siteid=s1")
	a.advance(t, "1h")
	a.click(t, "pid=net_b&advertising_id=G-C&af_siteid=s2")
	a.advance(t, "1h")
	r := a.launch(t, map[string]any{"advertising_id": "G-C"})
	if r.ConversionData["af_status"] != "Organic" {
		t.Fatalf("launch: %+v", r)
	}
	v := a.explain(t, r.DeviceID)
	in := v.Installs[0]
	if len(in.Rejections) != 1 || in.Rejections[0].Reason != "click_flood" || in.Rejections[0].Value != "s2" {
		t.Fatalf("rejections: %+v", in.Rejections)
	}
	nb := row(a.report(t, "media_source"), "media_source", "net_b")
	if nb.Clicks != 1 || nb.Rejected["click_flood"] != 1 {
		t.Fatalf("net_b: %+v", nb)
	}
	// The next day the cap starts over.
	a.advance(t, "1d")
	a.click(t, "pid=net_b&advertising_id=G-D")
	a.advance(t, "1m")
	if r := a.launch(t, map[string]any{"advertising_id": "G-D"}); r.ConversionData["media_source"] != "net_b" {
		t.Fatalf("next day: %+v", r)
	}
}

// Concurrent tries of one first launch, and tries without a launch_id,
// make one install.
func TestLaunchIdempotent(t *testing.T) {
	a := startSDKApp(t)
	a.click(t, "pid=net_a&advertising_id=G-I")
	a.advance(t, "5m")
	var wg sync.WaitGroup
	got := make([]httpapi.LaunchResponse, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = a.launch(t, map[string]any{"advertising_id": "G-I", "launch_id": "same"})
		}()
	}
	wg.Wait()
	for _, r := range got[1:] {
		if r.DeviceID != got[0].DeviceID || r.InstallID != got[0].InstallID || !r.FirstLaunch {
			t.Fatalf("concurrent tries: %+v vs %+v", r, got[0])
		}
	}
	// No launch_id: the same launch time and ids are the same launch.
	body := map[string]any{"android_id": "a1b2c3", "ip": "198.51.100.4", "launch_time": T0.Add(time.Minute).UnixMilli()}
	r1, r2 := a.launch(t, body), a.launch(t, body)
	if r1.InstallID != r2.InstallID || r1.DeviceID != r2.DeviceID {
		t.Fatalf("derived key: %+v vs %+v", r1, r2)
	}
	rows := a.report(t, "")
	if rows[0].Installs != 1 || rows[0].OrganicInstalls != 1 {
		t.Fatalf("report: %+v", rows)
	}
	// A new first launch of a known device (the app was deleted and
	// installed again) is a reinstall, not an install.
	a.advance(t, "3d")
	re := a.launch(t, map[string]any{"advertising_id": "G-I", "launch_id": "other"})
	if re.Type != "reinstall" || re.DeviceID != got[0].DeviceID || re.ConversionData["af_status"] != "Organic" {
		t.Fatalf("reinstall: %+v", re)
	}
	if rows := a.report(t, ""); rows[0].Reinstalls != 1 || rows[0].Installs != 1 {
		t.Fatalf("report after reinstall: %+v", rows)
	}
}

// Bad SDK requests get a clear error and change nothing.
func TestSDKErrors(t *testing.T) {
	a := startSDKApp(t)
	post := func(path, key, body string) (int, httpapi.ErrorResponse) {
		req, _ := http.NewRequest("POST", a.URL()+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("authentication", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e httpapi.ErrorResponse
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	for _, tc := range []struct {
		path, key, body string
		code            int
		msg             string
	}{
		{"/sdk/v1/apps/" + appID + "/launches", "", `{}`, 401, "dev key"},
		{"/sdk/v1/apps/" + appID + "/launches", "wrong", `{}`, 401, "dev key"},
		{"/sdk/v1/apps/com.unknown.app/launches", a.devKey, `{}`, 404, "not configured"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, ``, 400, "empty"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"advertising_id": 5}`, 400, "not valid JSON"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"att": "maybe"}`, 400, "att"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"ip": "not-an-ip"}`, 400, "not an IP"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"launch_time": "yesterday"}`, 400, "RFC 3339"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"launch_time": 1000}`, 400, "days ago"},
		{"/sdk/v1/apps/" + appID + "/launches", a.devKey, `{"device_id": "nope"}`, 400, "not a device"},
		{"/sdk/v1/apps/" + appID + "/events", a.devKey, `{"event_name": "x"}`, 400, "device_id is required"},
		{"/sdk/v1/apps/" + appID + "/events", a.devKey, `{"device_id": "nope", "event_name": "x"}`, 400, "not a device"},
		{"/sdk/v1/apps/" + appID + "/events", a.devKey, `{"device_id": "d", "event_name": "x", "revenue": "1e3"}`, 400, "decimal"},
		{"/sdk/v1/apps/" + appID + "/events", a.devKey, `{"device_id": "d", "event_name": "x", "revenue": 1, "currency": "euro"}`, 400, "ISO-4217"},
	} {
		code, e := post(tc.path, tc.key, tc.body)
		if code != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s %s = %d %+v, want %d with %q", tc.path, tc.body, code, e, tc.code, tc.msg)
		}
	}
	if rows := a.report(t, ""); len(rows) != 0 {
		t.Fatalf("bad requests changed the report: %+v", rows)
	}
	// Test clocks move forward only, and only test apps have one.
	if code := a.api(t, "POST", "/api/v1/apps/"+appID+"/test_clock", map[string]any{"time": T0.Add(-time.Hour)}, nil); code != 400 {
		t.Fatalf("clock moved back: %d", code)
	}
	a.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.prod", "platform": "android", "name": "Prod"}, nil)
	var e httpapi.ErrorResponse
	if code := a.api(t, "POST", "/api/v1/apps/com.example.prod/test_clock", map[string]any{"advance": "1d"}, &e); code != 400 || !strings.Contains(e.Error, "not in test mode") {
		t.Fatalf("production clock: %d %+v", code, e)
	}
	if code := a.api(t, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&group_by=region", nil, &e); code != 400 || !strings.Contains(e.Error, "media_source") {
		t.Fatalf("bad group_by: %d %+v", code, e)
	}
}

// The OpenAPI file documents every route the server registers, with its
// method: the list is the server's own (Server.Routes), so a route added
// without its documentation fails here.
func TestOpenAPIDocumentsRoutes(t *testing.T) {
	b, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// Path templates compare without their parameters' names.
	params := regexp.MustCompile(`\{[^}]*\}`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+params.ReplaceAllString(path, "{}")] = true
		}
	}
	routes := (&httpapi.Server{}).Routes()
	if len(routes) < 80 {
		t.Fatalf("only %d routes listed: %v", len(routes), routes)
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r, " ")
		switch {
		case !ok:
			continue // catch-alls (/api/, /2/) answer "no such endpoint" in each API's shape
		case method == "OPTIONS":
			continue // CORS preflights of the ingestion paths, described with them
		case strings.HasPrefix(path, "/debug/pprof/"):
			continue // Go's profiler, for operators
		}
		path = strings.TrimSuffix(path, "{$}")
		if !documented[method+" "+params.ReplaceAllString(path, "{}")] {
			t.Errorf("api/openapi.yaml does not document %s", r)
		}
	}
	for _, f := range []string{"advertising_id", "install_begin_ts", "customer_user_id", "att", "launch_id", "event_id", "conversion_data"} {
		if !strings.Contains(string(b), f) {
			t.Errorf("api/openapi.yaml does not mention %s", f)
		}
	}
}
