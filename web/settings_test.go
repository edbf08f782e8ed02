package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// settingsShownKey returns the key a page shows once under label ("Dev key"), or
// fails the test.
func settingsShownKey(t *testing.T, p page, label string) string {
	t.Helper()
	m := regexp.MustCompile(`data-copy-label="` + label + `">([^<]+)</code>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s shows no %s:\n%s", p.URL, label, p.Body)
	}
	return m[1]
}

// settingsLacks fails when the page holds any of bad.
func settingsLacks(t *testing.T, p page, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(p.Body, b) {
			t.Errorf("%s contains %q", p.URL, b)
		}
	}
}

// settingsRefused checks a refused form: status 400 and the error in words.
func settingsRefused(t *testing.T, p page, words ...string) {
	t.Helper()
	if p.Status != http.StatusBadRequest {
		t.Fatalf("%s: status %d, want 400:\n%s", p.URL, p.Status, p.Body)
	}
	if !strings.Contains(p.Body, `class="error"`) {
		t.Errorf("%s: the refusal shows no error", p.URL)
	}
	p.mustContain(t, words...)
}

type settingsAPIApp struct {
	ID            string            `json:"app_id"`
	Name          string            `json:"name"`
	StoreURL      string            `json:"store_url"`
	DevKey        string            `json:"dev_key"`
	DevKeyLast4   string            `json:"dev_key_last4"`
	APITokenLast4 string            `json:"api_token_last4"`
	Windows       map[string]string `json:"windows"`
	MinCTIT       int               `json:"min_ctit_seconds"`
	TestMode      bool              `json:"test_mode"`
	TestClock     *time.Time        `json:"test_clock"`
	TimeZone      string            `json:"time_zone"`
}

type settingsAPIProject struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	APIKeyLast4    string   `json:"api_key_last4"`
	SecretKeyLast4 string   `json:"secret_key_last4"`
	Apps           []string `json:"apps"`
	Limits         struct{ HTTPEPS, BatchEPS int }
	TestMode       bool       `json:"test_mode"`
	TestClock      *time.Time `json:"test_clock"`
	TimeZone       string     `json:"time_zone"`
}

func settingsApp(t *testing.T, s *server, id string) settingsAPIApp {
	t.Helper()
	var a settingsAPIApp
	s.api(t, 200, "GET", "/api/v1/apps/"+id, nil, &a)
	return a
}

func settingsProjects(t *testing.T, s *server) []settingsAPIProject {
	t.Helper()
	var out struct {
		Projects []settingsAPIProject `json:"projects"`
	}
	s.api(t, 200, "GET", "/api/v1/projects", nil, &out)
	return out.Projects
}

// settingsDevKeyWorks reports whether the S2S API takes key as the app's dev key
// (it answers 401 to a key it does not know).
func settingsDevKeyWorks(t *testing.T, s *server, app, key string) bool {
	code, _ := s.send(t, "POST", "/inappevent/"+app, http.Header{"Authentication": {key}}, `{}`)
	return code != http.StatusUnauthorized
}

// settingsAPIKeyWorks reports whether an upload with key is accepted.
func settingsAPIKeyWorks(t *testing.T, s *server, key string) bool {
	code, _ := s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}},
		`{"api_key":"`+key+`","events":[{"device_id":"device-1","event_type":"first_open"}]}`)
	return code == http.StatusOK
}

func TestSettingsCreateApp(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	b.mustGet("/settings", "There is no app yet", "There is no analytics project yet", `action="/settings/apps"`)

	p := b.post("/settings/apps", url.Values{"app_id": {"com.example.game"}, "platform": {"android"}, "name": {"Example Game"},
		"click_lookback": {"14d"}, "view_through_lookback": {""}, "min_ctit_seconds": {"5"}, "time_zone": {"Europe/Berlin"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	devKey, token := settingsShownKey(t, p, "Dev key"), settingsShownKey(t, p, "API token")
	p.mustContain(t, "App created", "not shown again")

	a := settingsApp(t, s, "com.example.game")
	if a.Name != "Example Game" || a.Windows["click_lookback"] != "14d" || a.Windows["view_through_lookback"] != "1d" ||
		a.MinCTIT != 5 || a.TimeZone != "Europe/Berlin" || a.TestMode || a.DevKey != "" {
		t.Fatalf("the app made by the form: %+v", a)
	}
	if a.StoreURL != "https://play.google.com/store/apps/details?id=com.example.game" {
		t.Errorf("store URL %q, want the platform's default", a.StoreURL)
	}
	if !strings.HasSuffix(devKey, a.DevKeyLast4) || !strings.HasSuffix(token, a.APITokenLast4) || a.DevKeyLast4 == "" {
		t.Errorf("shown keys %s, %s; stored last four %s, %s", devKey, token, a.DevKeyLast4, a.APITokenLast4)
	}
	if !settingsDevKeyWorks(t, s, a.ID, devKey) || settingsDevKeyWorks(t, s, a.ID, "not-the-key") {
		t.Error("the dev key shown is not the app's")
	}

	// The keys are shown once: never again.
	p = b.mustGet("/settings/apps/com.example.game", "Example Game", "…"+a.DevKeyLast4, "…"+a.APITokenLast4, "14d")
	settingsLacks(t, p, devKey, token)
	p = b.mustGet("/settings", "/settings/apps/com.example.game", "Example Game")
	settingsLacks(t, p, devKey, token, "There is no app yet")

	// An iOS app with its own store URL, in test mode.
	p = b.post("/settings/apps", url.Values{"app_id": {"id123456789"}, "platform": {"ios"}, "name": {"Example iOS"},
		"store_url": {"https://apps.apple.com/app/example/id123456789"}, "test_mode": {"on"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create iOS: %d\n%s", p.Status, p.Body)
	}
	ios := settingsApp(t, s, "id123456789")
	if ios.StoreURL != "https://apps.apple.com/app/example/id123456789" || !ios.TestMode || ios.TestClock == nil || !ios.TestClock.Equal(epoch) {
		t.Errorf("iOS app: %+v", ios)
	}
}

func TestSettingsAppRefused(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	b.mustGet("/settings")

	for _, c := range []struct {
		name  string
		form  url.Values
		words string
	}{
		{"bad app id", url.Values{"app_id": {"not a package"}, "platform": {"android"}, "name": {"Kept Name"}}, "is not an Android package name"},
		{"iOS id on android", url.Values{"app_id": {"id123456789"}, "platform": {"android"}, "name": {"Kept Name"}}, "is not an Android package name"},
		{"bad platform", url.Values{"app_id": {"com.example.x"}, "platform": {"web"}, "name": {"Kept Name"}}, "want android or ios"},
		{"no name", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}}, "name is required"},
		{"bad window", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "click_lookback": {"7x"}}, "Click lookback: window"},
		{"window out of range", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "click_lookback": {"31d"}}, "click_lookback 31d is out of range"},
		{"bad ctit", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "min_ctit_seconds": {"ten"}}, "want a whole number of seconds"},
		{"clock without test mode", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "test_clock": {"2026-03-01T00:00:00Z"}}, "test_clock is only for apps with test_mode true"},
		{"bad clock", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "test_mode": {"on"}, "test_clock": {"tomorrow"}}, "want an RFC 3339 time"},
		{"unknown time zone", url.Values{"app_id": {"com.example.x"}, "platform": {"android"}, "name": {"Kept Name"}, "time_zone": {"Mars/Olympus"}}, "not a time zone name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := b.post("/settings/apps", c.form)
			settingsRefused(t, p, c.words)
			// The form comes back with what was sent.
			if n := c.form.Get("name"); n != "" {
				p.mustContain(t, `value="`+n+`"`)
			}
			p.mustContain(t, `value="`+c.form.Get("app_id")+`"`)
		})
	}
	var out struct{ Apps []settingsAPIApp }
	s.api(t, 200, "GET", "/api/v1/apps", nil, &out)
	if len(out.Apps) != 0 {
		t.Fatalf("refused forms created %+v", out.Apps)
	}

	// A taken id is refused in words too.
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, nil)
	b.mustGet("/settings")
	p := b.post("/settings/apps", url.Values{"app_id": {"com.example.game"}, "platform": {"android"}, "name": {"Other"}})
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, `class="error"`) {
		t.Fatalf("taken id: %d\n%s", p.Status, p.Body)
	}
	if settingsApp(t, s, "com.example.game").Name != "Game" {
		t.Fatal("a refused create changed the app")
	}
}

func TestSettingsAppUpdate(t *testing.T) {
	s, _ := startServer(t)
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, nil)
	b := signIn(t, s)
	b.mustGet("/settings/apps/com.example.game", `value="Game"`, `value="7d"`, `value="10"`)

	form := url.Values{"name": {"Renamed"}, "store_url": {"https://example.com/game"}, "time_zone": {"Asia/Tokyo"},
		"click_lookback": {"3d"}, "view_through_lookback": {"12h"}, "probabilistic_window": {"24h"},
		"reattribution_window": {"180d"}, "reengagement_window": {"30d"}, "min_ctit_seconds": {"0"}}
	p := b.post("/settings/apps/com.example.game", form)
	if p.Status != http.StatusOK || p.URL != "/settings/apps/com.example.game" {
		t.Fatalf("update: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Settings of com.example.game saved", `value="Renamed"`, `value="3d"`)
	a := settingsApp(t, s, "com.example.game")
	if a.Name != "Renamed" || a.StoreURL != "https://example.com/game" || a.TimeZone != "Asia/Tokyo" || a.MinCTIT != 0 ||
		a.Windows["click_lookback"] != "3d" || a.Windows["view_through_lookback"] != "12h" || a.Windows["reattribution_window"] != "180d" {
		t.Fatalf("after the update: %+v", a)
	}

	// Refused changes leave the app as it was, and show what was sent.
	for _, c := range []struct {
		field, value, words string
	}{
		{"click_lookback", "45d", "click_lookback 45d is out of range"},
		{"reengagement_window", "soon", "Re-engagement window: window"},
		{"time_zone", "Mars/Olympus", "not a time zone name"},
		{"store_url", "ftp://example.com", "is not an absolute http(s) URL"},
		{"min_ctit_seconds", "4000", "min_ctit_seconds 4000 is out of range"},
		{"name", "", "name is required"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("name", "Changed Again")
		f.Set(c.field, c.value)
		p := b.post("/settings/apps/com.example.game", f)
		settingsRefused(t, p, c.words)
		if c.value != "" {
			p.mustContain(t, `value="`+c.value+`"`)
		}
		if got := settingsApp(t, s, "com.example.game"); got.Name != "Renamed" || got.Windows["click_lookback"] != "3d" || got.TimeZone != "Asia/Tokyo" {
			t.Fatalf("%s=%s was refused but changed the app: %+v", c.field, c.value, got)
		}
	}

	// An unknown app is a page that says so.
	if p := b.get("/settings/apps/com.example.nope"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "there is no app") {
		t.Fatalf("unknown app: %d", p.Status)
	}
}

func TestSettingsRotateAppKeys(t *testing.T) {
	s, _ := startServer(t)
	var made settingsAPIApp
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, &made)
	b := signIn(t, s)
	b.mustGet("/settings/apps/com.example.game", `data-confirm="Rotate the dev key`, `name="key" value="dev_key"`)

	p := b.post("/settings/apps/com.example.game/keys", url.Values{"key": {"dev_key"}})
	if p.Status != http.StatusOK {
		t.Fatalf("rotate: %d\n%s", p.Status, p.Body)
	}
	p.mustContain(t, "Dev key rotated")
	settingsLacks(t, p, `data-copy-label="API token"`)
	key := settingsShownKey(t, p, "Dev key")
	a := settingsApp(t, s, "com.example.game")
	if key == made.DevKey || !strings.HasSuffix(key, a.DevKeyLast4) || a.APITokenLast4 != made.APITokenLast4 {
		t.Fatalf("rotated key %s; app %+v; before %+v", key, a, made)
	}
	if settingsDevKeyWorks(t, s, a.ID, made.DevKey) || !settingsDevKeyWorks(t, s, a.ID, key) {
		t.Fatal("after rotation the old key still works or the new one does not")
	}
	settingsLacks(t, b.mustGet("/settings/apps/com.example.game", "…"+a.DevKeyLast4), key)

	p = b.post("/settings/apps/com.example.game/keys", url.Values{"key": {"api_token"}})
	token := settingsShownKey(t, p, "API token")
	if a2 := settingsApp(t, s, a.ID); !strings.HasSuffix(token, a2.APITokenLast4) || a2.APITokenLast4 == made.APITokenLast4 || a2.DevKeyLast4 != a.DevKeyLast4 {
		t.Fatalf("rotated token %s; app %+v", token, a2)
	}

	// A key apps do not have.
	settingsRefused(t, b.post("/settings/apps/com.example.game/keys", url.Values{"key": {"secret_key"}}), "an app&#39;s keys are dev_key and api_token")
	if a3 := settingsApp(t, s, a.ID); a3.DevKeyLast4 != a.DevKeyLast4 {
		t.Fatal("a refused rotation changed the key")
	}
}

func TestSettingsAppTestClock(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	b.mustGet("/settings")
	p := b.post("/settings/apps", url.Values{"app_id": {"com.example.test"}, "platform": {"android"}, "name": {"Test"},
		"test_mode": {"on"}, "test_clock": {"2026-03-01T00:00:00Z"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	p.mustContain(t, "2026-03-01 00:00:00 UTC")
	clock := func() time.Time {
		t.Helper()
		a := settingsApp(t, s, "com.example.test")
		if a.TestClock == nil {
			t.Fatal("no test clock")
		}
		return a.TestClock.UTC()
	}
	if got := clock(); !got.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("clock starts at %s", got)
	}

	p = b.post("/settings/apps/com.example.test/test-clock", url.Values{"advance": {"1d"}})
	p.mustContain(t, "moved to 2026-03-02 00:00:00 UTC")
	p = b.post("/settings/apps/com.example.test/test-clock", url.Values{"advance": {"90m"}})
	if got := clock(); !got.Equal(time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)) {
		t.Fatalf("after 1d and 90m: %s", got)
	}
	p = b.post("/settings/apps/com.example.test/test-clock", url.Values{"time": {"2026-03-05T08:00:00Z"}, "advance": {""}})
	if got := clock(); !got.Equal(time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("set to 2026-03-05T08:00: %s", got)
	}
	p.mustContain(t, `value="2026-03-05T08:00:00Z"`)

	// Refused moves change nothing.
	for _, c := range []struct {
		form  url.Values
		words string
	}{
		{url.Values{"time": {"2026-03-04T00:00:00Z"}}, "test clocks only move forward"},
		{url.Values{"advance": {"soon"}}, "want a positive length"},
		{url.Values{"advance": {"1d"}, "time": {"2026-03-06T00:00:00Z"}}, "send either time"},
		{url.Values{}, "send either time"},
		{url.Values{"time": {"next week"}}, "want an RFC 3339 time"},
	} {
		settingsRefused(t, b.post("/settings/apps/com.example.test/test-clock", c.form), c.words)
		if got := clock(); !got.Equal(time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("%v was refused but moved the clock to %s", c.form, got)
		}
	}

	// A production app has no clock to move.
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.prod", "platform": "android", "name": "Prod"}, nil)
	settingsLacks(t, b.mustGet("/settings/apps/com.example.prod", "This is a production app"), "/test-clock")
	settingsRefused(t, b.post("/settings/apps/com.example.prod/test-clock", url.Values{"advance": {"1d"}}), "is not in test mode")
}

func TestSettingsProjects(t *testing.T) {
	s, _ := startServer(t)
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, nil)
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "id123456789", "platform": "ios", "name": "Game iOS"}, nil)
	b := signIn(t, s)
	b.mustGet("/settings", `name="apps" value="com.example.game"`, `name="apps" value="id123456789"`, `<datalist id="zones">`)

	// Refused: nothing is created, the form comes back.
	p := b.post("/settings/projects", url.Values{"name": {"Analytics"}, "time_zone": {"Mars/Olympus"}, "apps": {"id123456789"}})
	settingsRefused(t, p, "not a time zone name")
	p.mustContain(t, `value="Mars/Olympus"`, `value="id123456789" checked`)
	settingsRefused(t, b.post("/settings/projects", url.Values{"name": {"Analytics"}, "http_eps": {"many"}}), "want a whole number of events per second")
	settingsRefused(t, b.post("/settings/projects", url.Values{"name": {"Analytics"}, "batch_eps": {"0"}}), "must be between 1 and")
	settingsRefused(t, b.post("/settings/projects", url.Values{"name": {""}}), "name is required")
	if ps := settingsProjects(t, s); len(ps) != 0 {
		t.Fatalf("refused forms created %+v", ps)
	}

	p = b.post("/settings/projects", url.Values{"name": {"Analytics"}, "time_zone": {"Europe/Berlin"},
		"apps": {"com.example.game", "id123456789"}, "http_eps": {"50"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	apiKey, secret := settingsShownKey(t, p, "API key"), settingsShownKey(t, p, "Secret key")
	ps := settingsProjects(t, s)
	if len(ps) != 1 {
		t.Fatalf("projects: %+v", ps)
	}
	pr := ps[0]
	if pr.Name != "Analytics" || pr.TimeZone != "Europe/Berlin" || len(pr.Apps) != 2 || pr.TestMode ||
		!strings.HasSuffix(apiKey, pr.APIKeyLast4) || !strings.HasSuffix(secret, pr.SecretKeyLast4) {
		t.Fatalf("the project made by the form: %+v", pr)
	}
	var limits struct {
		Limits struct {
			HTTPEPS  int `json:"http_eps"`
			BatchEPS int `json:"batch_eps"`
		} `json:"limits"`
	}
	path := "/settings/projects/" + strconv.FormatInt(pr.ID, 10)
	s.api(t, 200, "GET", "/api/v1/projects/"+strconv.FormatInt(pr.ID, 10), nil, &limits)
	if limits.Limits.HTTPEPS != 50 || limits.Limits.BatchEPS != 1000 {
		t.Errorf("limits %+v, want 50 and the default 1000", limits.Limits)
	}
	if !settingsAPIKeyWorks(t, s, apiKey) {
		t.Error("the API key shown does not take uploads")
	}
	settingsLacks(t, b.mustGet(path, "…"+pr.APIKeyLast4, `value="Europe/Berlin"`, `value="50"`), apiKey, secret)
	settingsLacks(t, b.mustGet("/settings", path, "com.example.game, id123456789"), apiKey, secret)

	// Update: rename, unlink every app, another zone and limits.
	p = b.post(path, url.Values{"name": {"Renamed"}, "time_zone": {"America/New_York"}, "http_eps": {"40"}, "batch_eps": {"900"}})
	if p.Status != http.StatusOK || p.URL != path {
		t.Fatalf("update: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Settings of project Renamed saved")
	s.api(t, 200, "GET", "/api/v1/projects/"+strconv.FormatInt(pr.ID, 10), nil, &limits)
	if got := settingsProjects(t, s)[0]; got.Name != "Renamed" || got.TimeZone != "America/New_York" || len(got.Apps) != 0 ||
		limits.Limits.HTTPEPS != 40 || limits.Limits.BatchEPS != 900 {
		t.Fatalf("after the update: %+v %+v", got, limits)
	}
	p = b.post(path, url.Values{"name": {"Renamed"}, "time_zone": {"Nowhere/City"}, "apps": {"id123456789"}, "http_eps": {"40"}, "batch_eps": {"900"}})
	settingsRefused(t, p, "not a time zone name")
	p.mustContain(t, `value="Nowhere/City"`, `value="id123456789" checked`)
	if got := settingsProjects(t, s)[0]; got.TimeZone != "America/New_York" || len(got.Apps) != 0 {
		t.Fatalf("a refused update changed the project: %+v", got)
	}

	// Rotate the secret key: shown once, the API key untouched.
	p = b.post(path+"/keys", url.Values{"key": {"secret_key"}})
	newSecret := settingsShownKey(t, p, "Secret key")
	settingsLacks(t, p, `data-copy-label="API key"`)
	got := settingsProjects(t, s)[0]
	if newSecret == secret || !strings.HasSuffix(newSecret, got.SecretKeyLast4) || got.APIKeyLast4 != pr.APIKeyLast4 {
		t.Fatalf("rotated secret %s: %+v", newSecret, got)
	}
	settingsLacks(t, b.mustGet(path), newSecret)
	p = b.post(path+"/keys", url.Values{"key": {"api_key"}})
	newKey := settingsShownKey(t, p, "API key")
	if settingsAPIKeyWorks(t, s, apiKey) || !settingsAPIKeyWorks(t, s, newKey) {
		t.Fatal("after rotation the old API key works or the new one does not")
	}
	settingsRefused(t, b.post(path+"/keys", url.Values{"key": {"dev_key"}}), "a project&#39;s keys are api_key and secret_key")

	if p := b.get("/settings/projects/999"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown project: %d", p.Status)
	}
}

func TestSettingsProjectTestClock(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	b.mustGet("/settings")
	p := b.post("/settings/projects", url.Values{"name": {"Rehearsal"}, "test_mode": {"on"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	id := settingsProjects(t, s)[0].ID
	path := "/settings/projects/" + strconv.FormatInt(id, 10)
	p = b.post(path+"/test-clock", url.Values{"advance": {"3d"}})
	p.mustContain(t, "moved to 2026-03-13 12:00:00 UTC")
	if got := settingsProjects(t, s)[0].TestClock; got == nil || !got.Equal(epoch.Add(72*time.Hour)) {
		t.Fatalf("clock %v, want 3 days after %s", got, epoch)
	}
	settingsRefused(t, b.post(path+"/test-clock", url.Values{"time": {"2026-03-11T00:00:00Z"}}), "test clocks only move forward")
	if got := settingsProjects(t, s)[0].TestClock; !got.Equal(epoch.Add(72 * time.Hour)) {
		t.Fatalf("a refused move changed the clock to %s", got)
	}
}

func TestSettingsRates(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)

	// Today is the store clock's day.
	b.mustGet("/settings/rates", `value="2026-03-10"`, "No rates are loaded for this day", "/api/v1/exchange-rates/2026-03-10")

	p := b.post("/settings/rates", url.Values{"date": {"2026-03-09"}, "rates": {"EUR=1.08\r\n\r\n GBP = 1.27 \r\nUSD=1\r\n"}})
	if p.Status != http.StatusOK || p.URL != "/settings/rates" {
		t.Fatalf("put: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Rates of 2026-03-09 saved: 3 currencies", "<td>GBP</td>", "1.27")
	var got struct {
		Rates map[string]float64 `json:"rates"`
	}
	s.api(t, 200, "GET", "/api/v1/exchange-rates/2026-03-09", nil, &got)
	if len(got.Rates) != 3 || got.Rates["EUR"] != 1.08 || got.Rates["GBP"] != 1.27 || got.Rates["USD"] != 1 {
		t.Fatalf("stored rates %v", got.Rates)
	}

	// Rates put through the API show on the page, in the form to edit.
	s.api(t, 200, "PUT", "/api/v1/exchange-rates/2026-03-08", map[string]any{"rates": map[string]float64{"JPY": 0.0067}}, nil)
	b.mustGet("/settings/rates?date=2026-03-08", "<td>JPY</td>", "JPY=0.0067")

	// Refused: the day's rates stay, the form keeps what was sent.
	for _, c := range []struct {
		date, rates, words string
	}{
		{"2026-03-09", "EUR=abc", "line 1"},
		{"2026-03-09", "EUR 1.08", "want a currency code, =, and the US dollars"},
		{"2026-03-09", "EUR=1.1\nEUR=1.2", "EUR is given twice, on lines 1 and 2"},
		{"2026-03-09", "eur=1.1", "want an ISO-4217 code"},
		{"2026-03-09", "EUR=-1", "rate of EUR: want a positive number"},
		{"2026-03-09", "USD=2", "rate of USD is 1"},
		{"2026-03-09", "", "rates is empty"},
		{"9 March", "EUR=1.1", "want YYYY-MM-DD"},
	} {
		p := b.post("/settings/rates", url.Values{"date": {c.date}, "rates": {c.rates}})
		settingsRefused(t, p, c.words)
		p.mustContain(t, c.rates+"</textarea>")
		got.Rates = nil
		s.api(t, 200, "GET", "/api/v1/exchange-rates/2026-03-09", nil, &got)
		if len(got.Rates) != 3 || got.Rates["EUR"] != 1.08 {
			t.Fatalf("%q was refused but changed the rates: %v", c.rates, got.Rates)
		}
	}
	if p := b.get("/settings/rates?date=yesterday"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "want YYYY-MM-DD") {
		t.Fatalf("bad date: %d", p.Status)
	}

	// Putting again replaces the day's table.
	b.post("/settings/rates", url.Values{"date": {"2026-03-09"}, "rates": {"CHF=1.13"}})
	got.Rates = nil
	s.api(t, 200, "GET", "/api/v1/exchange-rates/2026-03-09", nil, &got)
	if len(got.Rates) != 1 || got.Rates["CHF"] != 1.13 {
		t.Fatalf("after replacing: %v", got.Rates)
	}
}

func TestSettingsForward(t *testing.T) {
	s, _ := startServer(t)
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, nil)
	b := signIn(t, s)
	b.mustGet("/settings/apps/com.example.game/forward", "This app forwards nothing yet", "/api/v1/apps/com.example.game/analytics-forward")
	b.mustGet("/settings", `href="/settings/apps/com.example.game/forward">set up`)
	s.api(t, 404, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, nil)

	// Refused: nothing is stored, the form keeps what was sent.
	for _, c := range []struct {
		form  url.Values
		words string
	}{
		{url.Values{"api_key": {""}, "mode": {"http-v2"}, "style": {"appsflyer"}}, "api_key is required"},
		{url.Values{"api_key": {"kept-key"}, "mode": {"carrier-pigeon"}, "style": {"appsflyer"}}, "want attribution-api or http-v2"},
		{url.Values{"api_key": {"kept-key"}, "mode": {"http-v2"}, "style": {"branch"}}, "want appsflyer or adjust"},
		{url.Values{"api_key": {"kept-key"}, "mode": {"http-v2"}, "style": {"adjust"}, "url": {"ftp://analytics.example"}}, "the scheme must be http or https"},
		{url.Values{"api_key": {"kept-key"}, "mode": {"http-v2"}, "style": {"adjust"}, "company": {"[Brackets]"}}, "without brackets"},
	} {
		p := b.post("/settings/apps/com.example.game/forward", c.form)
		settingsRefused(t, p, c.words)
		if k := c.form.Get("api_key"); k != "" {
			p.mustContain(t, `value="`+k+`"`)
		}
		s.api(t, 404, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, nil)
	}

	p := b.post("/settings/apps/com.example.game/forward", url.Values{"api_key": {"0123456789abcdef0123456789abcdef"},
		"mode": {"http-v2"}, "style": {"adjust"}, "url": {"https://api2.amplitude.com/"}, "enabled": {"on"}})
	if p.Status != http.StatusOK || p.URL != "/settings/apps/com.example.game/forward" {
		t.Fatalf("put: %d at %s\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Analytics forward of com.example.game saved", "https://api2.amplitude.com", "[Adjust]", `data-confirm="Remove the analytics forward`)
	type forward struct {
		URL     string `json:"url"`
		APIKey  string `json:"api_key"`
		Mode    string `json:"mode"`
		Style   string `json:"style"`
		Company string `json:"company"`
		Enabled bool   `json:"enabled"`
	}
	var f forward
	s.api(t, 200, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, &f)
	if f.URL != "https://api2.amplitude.com" || f.APIKey != "0123456789abcdef0123456789abcdef" || f.Mode != "http-v2" ||
		f.Style != "adjust" || f.Company != "Adjust" || !f.Enabled {
		t.Fatalf("stored forward %+v", f)
	}
	b.mustGet("/settings", `href="/settings/apps/com.example.game/forward">on`)

	// Unchecking "enabled" pauses it; an empty URL is this server.
	b.post("/settings/apps/com.example.game/forward", url.Values{"api_key": {"0123456789abcdef0123456789abcdef"},
		"mode": {"attribution-api"}, "style": {"appsflyer"}})
	f = forward{}
	s.api(t, 200, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, &f)
	if f.Enabled || f.URL != "" || f.Mode != "attribution-api" || f.Company != "AppsFlyer" {
		t.Fatalf("after pausing: %+v", f)
	}
	b.mustGet("/settings/apps/com.example.game", "paused")

	p = b.post("/settings/apps/com.example.game/forward/delete", nil)
	if p.Status != http.StatusOK {
		t.Fatalf("delete: %d\n%s", p.Status, p.Body)
	}
	p.mustContain(t, "removed", "This app forwards nothing yet")
	s.api(t, 404, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, nil)
	if p := b.post("/settings/apps/com.example.game/forward/delete", nil); p.Status != http.StatusNotFound {
		t.Fatalf("deleting no forward: %d", p.Status)
	}
}
