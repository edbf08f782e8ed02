package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/sqlite"
)

const token = "test-admin-token"

// testServer is a real server on a random port over a real SQLite store.
type testServer struct {
	*httpapi.Server
	DB  *sqlite.DB
	now time.Time
}

func startServer(t *testing.T, configure ...func(*httpapi.Server)) *testServer {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	s := httpapi.NewServer(db)
	s.Addr = "127.0.0.1:0"
	s.AdminToken = token
	// Configured before the store opens: a clock set then is the one
	// its background tasks read from the start.
	for _, c := range configure {
		c(s)
	}
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A connection the client dialed but never used is "new" to the
		// server, and Shutdown waits 5 s for those: drop them first.
		http.DefaultClient.CloseIdleConnections()
		noRedirect.CloseIdleConnections()
		s.Close(context.Background())
		db.Close()
	})
	return &testServer{Server: s, DB: db}
}

// withClock makes now the server's one clock (the store's, which the
// handlers, the outbox and the syncer read).
func withClock(now func() time.Time) func(*httpapi.Server) {
	return func(s *httpapi.Server) { s.Store.(*sqlite.DB).Clock = now }
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// api sends an admin request and decodes the JSON answer into out (when
// non-nil); it returns the status code.
func (s *testServer) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// mustAPI is api that fails the test unless the status is want.
func (s *testServer) mustAPI(t *testing.T, want int, method, path string, body any, out any) {
	t.Helper()
	var raw json.RawMessage
	if got := s.api(t, method, path, body, &raw); got != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// get sends a link request and returns the response, body read.
func (s *testServer) get(t *testing.T, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *testServer) setup(t *testing.T) {
	t.Helper()
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, nil)
	s.mustAPI(t, 201, "POST", "/api/v1/apps/com.example.game/partners", map[string]any{"pid": "examplenet_int"}, nil)
}

func TestAdminAuth(t *testing.T) {
	s := startServer(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token} {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v1/apps", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e httpapi.ErrorResponse
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 401 || e.Code != "unauthorized" || !strings.Contains(e.Error, "admin token") || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("auth %q: %d %+v", auth, resp.StatusCode, e)
		}
	}
	var e httpapi.ErrorResponse
	if got := s.api(t, "GET", "/api/v1/nothing", nil, &e); got != 404 || e.Code != "not_found" {
		t.Fatalf("unknown endpoint: %d %+v", got, e)
	}
}

func TestApps(t *testing.T) {
	s := startServer(t)
	var app touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game",
		"windows": map[string]any{"click_lookback": "10d"}}, &app)
	if app.StoreURL != "https://play.google.com/store/apps/details?id=com.example.game" || len(app.DevKey) != 22 ||
		app.Windows.ClickLookback != 10*touchpoint.Day || app.Windows.Reattribution != 90*touchpoint.Day {
		t.Fatalf("created %+v", app)
	}
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "id123456789", "platform": "ios", "name": "Game iOS"}, &app)
	if app.StoreURL != "https://apps.apple.com/app/id123456789" {
		t.Fatalf("iOS store URL %s", app.StoreURL)
	}
	for _, tc := range []struct {
		body map[string]any
		code int
		msg  string
	}{
		{map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Again"}, 409, "exists already"},
		{map[string]any{"app_id": "123456", "platform": "ios", "name": "X"}, 400, "not an iOS App Store id"},
		{map[string]any{"app_id": "game", "platform": "android", "name": "X"}, 400, "not an Android package name"},
		{map[string]any{"app_id": "com.a.b", "platform": "web", "name": "X"}, 400, "platform"},
		{map[string]any{"app_id": "com.a.b", "platform": "android"}, 400, "name is required"},
		{map[string]any{"app_id": "com.a.b", "platform": "android", "name": "X", "windows": map[string]any{"click_lookback": "31d"}}, 400, "click_lookback 31d is out of range"},
		{map[string]any{"app_id": "com.a.b", "platform": "android", "name": "X", "windows": map[string]any{"click_lookback": "week"}}, 400, "window"},
		{map[string]any{"app_id": "com.a.b", "platform": "android", "name": "X", "colour": "red"}, 400, "unknown field"},
	} {
		var e httpapi.ErrorResponse
		if got := s.api(t, "POST", "/api/v1/apps", tc.body, &e); got != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%v: %d %q, want %d with %q", tc.body, got, e.Error, tc.code, tc.msg)
		}
	}
	var list struct{ Apps []touchpoint.App }
	s.mustAPI(t, 200, "GET", "/api/v1/apps", nil, &list)
	if len(list.Apps) != 2 {
		t.Fatalf("list %+v", list)
	}
	s.mustAPI(t, 200, "PATCH", "/api/v1/apps/com.example.game", map[string]any{"name": "Renamed", "windows": map[string]any{"reattribution_window": "30d"}}, &app)
	if app.Name != "Renamed" || app.Windows.Reattribution != 30*touchpoint.Day || app.Windows.ClickLookback != 10*touchpoint.Day {
		t.Fatalf("patched %+v", app)
	}
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game", nil, &app)
	if app.Name != "Renamed" {
		t.Fatalf("get after patch %+v", app)
	}
	if got := s.api(t, "PATCH", "/api/v1/apps/com.example.game", map[string]any{"platform": "ios"}, nil); got != 400 {
		t.Fatalf("patching the platform: %d", got)
	}
	if got := s.api(t, "GET", "/api/v1/apps/com.nope.app", nil, nil); got != 404 {
		t.Fatalf("unknown app: %d", got)
	}
}

func TestPartnersAndSecrets(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	base := "/api/v1/apps/com.example.game/partners"
	var p touchpoint.Partner
	s.mustAPI(t, 201, "POST", base, map[string]any{"pid": "other_int", "click_lookback": "14d", "allow_ip_ua": true, "restricted": true}, &p)
	if p.ClickLookback != 14*touchpoint.Day || p.ViewThroughLookback != touchpoint.Day || !p.AllowIPUA || !p.Restricted || p.ClickSigning != "disabled" {
		t.Fatalf("created %+v", p)
	}
	for _, tc := range []struct {
		body map[string]any
		code int
	}{
		{map[string]any{"pid": "other_int"}, 409},
		{map[string]any{"pid": ""}, 400},
		{map[string]any{"pid": "x", "click_signing": "enabled"}, 409},
		{map[string]any{"pid": "x", "click_signing": "sometimes"}, 400},
		{map[string]any{"pid": "x", "view_through_lookback": "8d"}, 400},
		{map[string]any{"pid": "x", "probabilistic_window": "25h"}, 400},
	} {
		if got := s.api(t, "POST", base, tc.body, nil); got != tc.code {
			t.Errorf("%v: %d, want %d", tc.body, got, tc.code)
		}
	}
	if got := s.api(t, "POST", "/api/v1/apps/com.nope.app/partners", map[string]any{"pid": "x"}, nil); got != 404 {
		t.Fatalf("partner of unknown app: %d", got)
	}
	var ps struct{ Partners []touchpoint.Partner }
	s.mustAPI(t, 200, "GET", base, nil, &ps)
	if len(ps.Partners) != 2 || ps.Partners[0].PID != "examplenet_int" {
		t.Fatalf("list %+v", ps)
	}
	// Secrets: create with a TTL, listed without the secret, revoked.
	var sec touchpoint.SigningSecret
	s.mustAPI(t, 201, "POST", base+"/examplenet_int/secrets?ttl-hours=48", nil, &sec)
	if sec.Secret == "" || sec.ExpiresAt.Sub(sec.CreatedAt) != 48*time.Hour {
		t.Fatalf("secret %+v", sec)
	}
	var def touchpoint.SigningSecret
	s.mustAPI(t, 201, "POST", base+"/examplenet_int/secrets", nil, &def)
	if def.ExpiresAt.Sub(def.CreatedAt) != 36*time.Hour {
		t.Fatalf("default TTL %v", def.ExpiresAt.Sub(def.CreatedAt))
	}
	for _, q := range []string{"0", "1441", "x"} {
		if got := s.api(t, "POST", base+"/examplenet_int/secrets?ttl-hours="+q, nil, nil); got != 400 {
			t.Errorf("ttl-hours=%s: %d", q, got)
		}
	}
	var raw json.RawMessage
	s.mustAPI(t, 200, "GET", base+"/examplenet_int/secrets", nil, &raw)
	if strings.Contains(string(raw), sec.Secret) || !strings.Contains(string(raw), sec.ID) || !strings.Contains(string(raw), `"active": true`) {
		t.Fatalf("secret list %s", raw)
	}
	s.mustAPI(t, 200, "PATCH", base+"/examplenet_int", map[string]any{"click_signing": "enabled", "click_lookback": "3d"}, &p)
	if p.ClickSigning != "enabled" || p.ClickLookback != 3*touchpoint.Day {
		t.Fatalf("patched %+v", p)
	}
	s.mustAPI(t, 204, "DELETE", base+"/examplenet_int/secrets/"+sec.ID, nil, nil)
	if got := s.api(t, "DELETE", base+"/examplenet_int/secrets/nope", nil, nil); got != 404 {
		t.Fatalf("revoke unknown: %d", got)
	}
	s.mustAPI(t, 200, "GET", base+"/examplenet_int/secrets", nil, &raw)
	if !strings.Contains(string(raw), `"revoked_at"`) {
		t.Fatalf("revoked secret not shown as revoked: %s", raw)
	}
	s.mustAPI(t, 204, "DELETE", base+"/other_int", nil, nil)
	if got := s.api(t, "GET", base+"/other_int", nil, nil); got != 404 {
		t.Fatalf("deleted partner: %d", got)
	}
}

// touchPage is the list answer as a client reads it.
type touchPage struct {
	Touches    []touchpoint.Touch `json:"touches"`
	NextCursor string             `json:"next_cursor"`
	Next       string             `json:"next"`
}

// TestClicksEndToEnd creates an app and a partner through the API, sends
// clicks and impressions through links, and reads them back.
func TestClicksEndToEnd(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"

	// A click with the recommended parameters is redirected to Google Play
	// with our touch id in the referrer.
	resp, _ := s.get(t, "/c/com.example.game?pid=examplenet_int&c=summer&clickid=ck1&advertising_id="+gaid+
		"&af_siteid=site42&af_adset=set&af_ad=ad7&af_cost_model=CPI&af_cost_value=1.25&af_cost_currency=EUR&is_incentivized=false&my_param=x",
		"User-Agent", "Mozilla/5.0 (Linux; Android 14)", "Accept-Language", "en-GB,en;q=0.8")
	if resp.StatusCode != 302 {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ref, _ := url.ParseQuery(loc.Query().Get("referrer"))
	if loc.Host != "play.google.com" || loc.Query().Get("id") != "com.example.game" || ref.Get("pid") != "examplenet_int" || ref.Get("clickid") != "ck1" {
		t.Fatalf("redirect %s", loc)
	}
	touchID := ref.Get("af_tranid")

	var got touchpoint.Touch
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches/"+touchID, nil, &got)
	inc := false
	want := touchpoint.LinkParams{Campaign: "summer", ClickID: "ck1", SiteID: "site42", Adset: "set", Ad: "ad7", CostModel: "CPI",
		CostValue: "1.25", CostCurrency: "EUR", Incentivized: &inc}
	if got.Kind != touchpoint.Click || got.PID != "examplenet_int" || got.CustomSource || got.IP != "127.0.0.1" ||
		got.UA != "Mozilla/5.0 (Linux; Android 14)" || got.Language != "en-GB" || got.Verdict != touchpoint.VerdictUnchecked || got.Rejected {
		t.Fatalf("touch %+v", got)
	}
	if got.Params.Campaign != want.Campaign || got.Params.ClickID != want.ClickID || got.Params.CostValue != "1.25" || got.Params.CostCurrency != "EUR" ||
		got.Params.Incentivized == nil || *got.Params.Incentivized || got.Params.SiteID != "site42" || got.Params.Ad != "ad7" {
		t.Fatalf("params %+v", got.Params)
	}
	if d := got.Device[touchpoint.GAID]; d.Raw != gaid || d.SHA1 != "4dfaa92388699ac6539885aef1719293879985bf" || d.MD5 != "5756ae9022b2ea1e47d84fead75220c8" {
		t.Fatalf("device %+v", d)
	}
	if len(got.Extra) != 1 || got.Extra[0] != (touchpoint.Param{Key: "my_param", Value: "x"}) {
		t.Fatalf("extra %+v", got.Extra)
	}
	if time.Since(got.Time) > time.Minute {
		t.Fatalf("time %v", got.Time)
	}

	// A malformed value never breaks the redirect.
	resp, _ = s.get(t, "/c/com.example.game?pid=examplenet_int&clickid=ck2&af_cost_value=1.23456&af_click_lookback=7weeks")
	if resp.StatusCode != 302 {
		t.Fatalf("malformed click: %d", resp.StatusCode)
	}
	// af_r redirects; a non-http af_r is ignored.
	resp, _ = s.get(t, "/c/com.example.game?pid=examplenet_int&clickid=ck3&af_r=https%3A%2F%2Fexample.com%2Fland")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://example.com/land" {
		t.Fatalf("af_r: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = s.get(t, "/c/com.example.game?pid=examplenet_int&clickid=ck4&af_r=javascript:alert(1)")
	if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "https://play.google.com/") {
		t.Fatalf("javascript af_r: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A server-to-server click is answered 200 without a redirect.
	resp, body := s.get(t, "/c/com.example.game?pid=examplenet_int&clickid=ck5&redirect=false&idfa=ABC")
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || strings.TrimSpace(body) != "ok" {
		t.Fatalf("s2s click: %d %q", resp.StatusCode, body)
	}
	// An impression answers a 1×1 GIF.
	resp, body = s.get(t, "/v/com.example.game?pid=examplenet_int&advertising_id="+gaid+"&af_viewthrough_lookback=12h")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(body, "GIF89a") {
		t.Fatalf("impression: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// An unconfigured pid is a custom media source.
	resp, _ = s.get(t, "/c/com.example.game?pid=owned_email&clickid=ck6")
	if resp.StatusCode != 302 {
		t.Fatalf("custom source click: %d", resp.StatusCode)
	}
	// Errors: unknown app, missing pid. Neither records anything.
	resp, body = s.get(t, "/c/com.nope.app?pid=examplenet_int")
	if resp.StatusCode != 404 || !strings.Contains(body, "com.nope.app") {
		t.Fatalf("unknown app: %d %q", resp.StatusCode, body)
	}
	resp, body = s.get(t, "/c/com.example.game?c=summer")
	if resp.StatusCode != 400 || !strings.Contains(body, "pid is required") {
		t.Fatalf("no pid: %d %q", resp.StatusCode, body)
	}
	// A HEAD request (a link checker) is answered but records nothing.
	req, _ := http.NewRequest("HEAD", s.URL()+"/c/com.example.game?pid=examplenet_int&clickid=head", nil)
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != 302 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}

	var page touchPage
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches", nil, &page)
	if len(page.Touches) != 7 || page.NextCursor != "" {
		t.Fatalf("%d touches, cursor %q", len(page.Touches), page.NextCursor)
	}
	for i := 1; i < len(page.Touches); i++ {
		if page.Touches[i].ID >= page.Touches[i-1].ID {
			t.Fatalf("not newest first: %d after %d", page.Touches[i].ID, page.Touches[i-1].ID)
		}
	}
	byClick := map[string]touchpoint.Touch{}
	for _, tc := range page.Touches {
		byClick[tc.Params.ClickID] = tc
	}
	if n := byClick["ck2"].Notes; len(n) != 2 || !strings.Contains(strings.Join(n, " "), "more than 4 decimals") {
		t.Fatalf("notes of the malformed click: %q", n)
	}
	if !byClick["ck6"].CustomSource || byClick["ck6"].PID != "owned_email" {
		t.Fatalf("custom source %+v", byClick["ck6"])
	}
	if r := byClick["ck5"].Params.Redirect; r == nil || *r || byClick["ck5"].Device[touchpoint.IDFA].Raw != "ABC" {
		t.Fatalf("s2s click %+v", byClick["ck5"])
	}
	if _, ok := byClick["head"]; ok {
		t.Fatal("a HEAD request was recorded")
	}

	// Filters and pagination, before and after the store settles its
	// journal and index in the background.
	check := func(state string) {
		for _, tc := range []struct {
			query string
			n     int
		}{
			{"kind=impression", 1},
			{"kind=click", 6},
			{"pid=owned_email", 1},
			{"device_id=" + gaid, 2},
			{"device_id=" + strings.ToUpper(gaid), 2},
			{"device_id=4dfaa92388699ac6539885aef1719293879985bf", 2},
			{"click_id=ck3", 1},
			{"click_id=ck3&pid=owned_email", 0},
			{"from=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 7},
			{"to=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 0},
		} {
			var p touchPage
			s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches?"+tc.query, nil, &p)
			var c struct{ Count int }
			s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches/count?"+tc.query, nil, &c)
			if len(p.Touches) != tc.n || c.Count != tc.n {
				t.Errorf("%s %s: %d touches, count %d; want %d", state, tc.query, len(p.Touches), c.Count, tc.n)
			}
		}
		var seen []int64
		next := "/api/v1/apps/com.example.game/touches?limit=3"
		for next != "" {
			var p touchPage
			s.mustAPI(t, 200, "GET", next, nil, &p)
			for _, tc := range p.Touches {
				seen = append(seen, tc.ID)
			}
			next = p.Next
		}
		if len(seen) != 7 {
			t.Errorf("%s: pages of 3 gave %d touches", state, len(seen))
		}
	}
	check("unsettled")
	if err := s.DB.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("settled")

	for _, q := range []string{"kind=view", "from=yesterday", "limit=0", "limit=5000", "cursor=abc", "colour=red"} {
		var e httpapi.ErrorResponse
		if got := s.api(t, "GET", "/api/v1/apps/com.example.game/touches?"+q, nil, &e); got != 400 || e.Code != "invalid" {
			t.Errorf("%s: %d %+v", q, got, e)
		}
	}
	for _, p := range []string{"/api/v1/apps/com.example.game/touches/123", "/api/v1/apps/com.example.game/touches/abc", "/api/v1/apps/com.nope.app/touches/" + touchID} {
		if got := s.api(t, "GET", p, nil, nil); got != 404 {
			t.Errorf("%s: %d", p, got)
		}
	}
}

func TestSignedClicks(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	base := "/api/v1/apps/com.example.game/partners/examplenet_int"
	s.mustAPI(t, 200, "PATCH", base, map[string]any{"click_signing": "report-only"}, nil)
	// report-only without secrets: recorded, attributable, verdict no_active_secrets
	resp, _ := s.get(t, "/c/com.example.game?pid=examplenet_int&clickid=nosecret")
	if resp.StatusCode != 302 {
		t.Fatal(resp.Status)
	}
	var sec touchpoint.SigningSecret
	s.mustAPI(t, 201, "POST", base+"/secrets", nil, &sec)
	sign := func(q string) string {
		signed, err := linkSign(s.URL()+"/c/com.example.game?"+q, sec.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(signed, s.URL())
	}
	for _, p := range []string{
		sign("pid=examplenet_int&clickid=good1"),
		"/c/com.example.game?pid=examplenet_int&clickid=unsigned",
		strings.Replace(sign("pid=examplenet_int&clickid=tampered"), "tampered", "tampered2", 1),
	} {
		if resp, _ := s.get(t, p); resp.StatusCode != 302 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	s.mustAPI(t, 200, "PATCH", base, map[string]any{"click_signing": "enabled"}, nil)
	for _, p := range []string{
		sign("pid=examplenet_int&clickid=good2"),
		"/c/com.example.game?pid=examplenet_int&clickid=blocked",
	} {
		// A rejected click still gets its redirect: the user is never stranded.
		if resp, _ := s.get(t, p); resp.StatusCode != 302 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	var page touchPage
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches", nil, &page)
	want := map[string]struct {
		verdict  touchpoint.Verdict
		rejected bool
	}{
		"nosecret":  {touchpoint.VerdictNoActiveSecrets, false},
		"good1":     {touchpoint.VerdictValid, false},
		"unsigned":  {touchpoint.VerdictMissingSignature, false},
		"tampered2": {touchpoint.VerdictInvalidSignature, false},
		"good2":     {touchpoint.VerdictValid, false},
		"blocked":   {touchpoint.VerdictMissingSignature, true},
	}
	if len(page.Touches) != len(want) {
		t.Fatalf("%d touches", len(page.Touches))
	}
	for _, tc := range page.Touches {
		if w := want[tc.Params.ClickID]; tc.Verdict != w.verdict || tc.Rejected != w.rejected {
			t.Errorf("%s: %s rejected=%v, want %s %v", tc.Params.ClickID, tc.Verdict, tc.Rejected, w.verdict, w.rejected)
		}
	}
	var report struct {
		Hours []httpapi.SigningReportRow
	}
	s.mustAPI(t, 200, "GET", base+"/signing-report", nil, &report)
	if len(report.Hours) == 0 {
		t.Fatal("empty report")
	}
	var total httpapi.SigningReportRow
	for _, h := range report.Hours {
		total.TotalClicks += h.TotalClicks
		total.ValidClicks += h.ValidClicks
		total.MissingSignature += h.MissingSignature
		total.InvalidSignature += h.InvalidSignature
		total.NoActiveSecrets += h.NoActiveSecrets
	}
	if total.TotalClicks != 6 || total.ValidClicks != 2 || total.MissingSignature != 2 || total.InvalidSignature != 1 || total.NoActiveSecrets != 1 {
		t.Fatalf("report totals %+v", total)
	}
	if got := s.api(t, "GET", base+"/signing-report?from=nope", nil, nil); got != 400 {
		t.Fatalf("bad from: %d", got)
	}
	// The test endpoint answers like AppsFlyer's: passed, or failed with a code.
	for _, tc := range []struct{ url, result, reason string }{
		{s.URL() + sign("pid=examplenet_int&clickid=t1"), "passed", ""},
		{s.URL() + "/c/com.example.game?pid=examplenet_int", "failed", "missing_signature"},
		{s.URL() + strings.Replace(sign("pid=examplenet_int&clickid=t2"), "t2", "t3", 1), "failed", "invalid_signature"},
	} {
		var res httpapi.LinkTestResult
		s.mustAPI(t, 200, "POST", "/api/v1/links/test", map[string]string{"url": tc.url}, &res)
		if res.Result != tc.result || res.Reason != tc.reason {
			t.Errorf("%s: %+v", tc.url, res)
		}
	}
	s.mustAPI(t, 204, "DELETE", base+"/secrets/"+sec.ID, nil, nil)
	var res httpapi.LinkTestResult
	s.mustAPI(t, 200, "POST", "/api/v1/links/test", map[string]string{"url": s.URL() + sign("pid=examplenet_int")}, &res)
	if res.Reason != "no_active_secrets" {
		t.Fatalf("after revoking: %+v", res)
	}
	for _, body := range []map[string]string{{"url": "https://x.example/other/path?pid=a"}, {"url": s.URL() + "/c/com.example.game"}} {
		if got := s.api(t, "POST", "/api/v1/links/test", body, nil); got != 400 {
			t.Errorf("%v: %d", body, got)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	s := startServer(t, func(s *httpapi.Server) {
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	s.setup(t)
	for _, tc := range []struct{ xff, want string }{
		{"", "127.0.0.1"},
		{"203.0.113.5", "203.0.113.5"},
		{"198.51.100.1, 203.0.113.5", "203.0.113.5"}, // a client cannot forge its own address
		{"203.0.113.5, 10.1.2.3", "203.0.113.5"},     // behind two trusted proxies
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"garbage", "127.0.0.1"},
	} {
		h := []string{}
		if tc.xff != "" {
			h = []string{"X-Forwarded-For", tc.xff}
		}
		resp, _ := s.get(t, "/c/com.example.game?pid=examplenet_int&clickid="+url.QueryEscape(tc.xff), h...)
		if resp.StatusCode != 302 {
			t.Fatal(resp.Status)
		}
		var p touchPage
		s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches?click_id="+url.QueryEscape(tc.xff), nil, &p)
		if tc.xff == "" {
			s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.game/touches?limit=1", nil, &p)
		}
		if len(p.Touches) != 1 || p.Touches[0].IP != tc.want {
			t.Errorf("X-Forwarded-For %q: %+v, want IP %s", tc.xff, p.Touches, tc.want)
		}
	}
}

func TestOpsEndpoints(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	for _, p := range []string{"/c/com.example.game?pid=examplenet_int", "/c/com.example.game?pid=examplenet_int", "/v/com.example.game?pid=examplenet_int", "/c/com.example.game"} {
		s.get(t, p)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, body := s.get(t, path)
		if resp.StatusCode != 200 || strings.TrimSpace(body) != want {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	_, metrics := s.get(t, "/metrics")
	for _, line := range []string{
		`touchpoint_http_requests_total{code="302",route="GET /c/{app_id}"} 2`,
		`touchpoint_http_requests_total{code="400",route="GET /c/{app_id}"} 1`,
		`touchpoint_http_requests_total{code="200",route="GET /v/{app_id}"} 1`,
		`touchpoint_touches_recorded_total{kind="click",verdict="unchecked"} 2`,
		`touchpoint_touches_recorded_total{kind="impression",verdict="unchecked"} 1`,
		`touchpoint_http_request_duration_seconds_count{route="GET /c/{app_id}"} 3`,
		`touchpoint_commit_batch_size_sum 3`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

func linkSign(rawURL, secret string) (string, error) {
	return link.SignURL(rawURL, secret, time.Now().Add(time.Hour))
}
