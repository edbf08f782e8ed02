package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// The HTTP fuzz targets send random requests through the real handler
// over a real SQLite store, made once per target, and check end to end:
// no answer is a 5xx; every answer is JSON where the API answers JSON; a
// refused request leaves the store holding what it held (every table's
// row count is the same before and after it).

// fuzzClock is the store's clock during fuzzing.
var fuzzClock = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fuzzServer is a server's handler over a store in a temp dir, and a
// read-only view of the store's file to count its rows.
type fuzzServer struct {
	h    http.Handler
	view *sql.DB
	log  *syncBuffer
}

// syncBuffer keeps what the server logs, so that a failure can show it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<16 {
		b.b.Reset()
	}
	return b.b.Write(p)
}

func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	b.b.Reset()
	return s
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	path := filepath.Join(tb.TempDir(), "touchpoint.db")
	db := sqlite.NewDB(path)
	db.Clock = func() time.Time { return fuzzClock }
	db.Logger = logger
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	s := httpapi.NewServer(db)
	s.Addr = "127.0.0.1:0"
	s.AdminToken = token
	s.Logger = logger
	// No background work: what changes in the store is what the requests
	// did (a lease taken by the expiry task would look like a refused
	// request's write).
	s.ExternalTasks = true
	if err := s.Open(); err != nil {
		db.Close()
		tb.Fatal(err)
	}
	view, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		view.Close()
		s.Close(context.Background())
		db.Close()
	})
	return &fuzzServer{h: s.Handler(), view: view, log: logs}
}

// do sends one request through the handler.
func (s *fuzzServer) do(method, target string, header map[string]string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// mustDo sends a JSON request and decodes the answer into out, failing
// unless the status is want.
func (s *fuzzServer) mustDo(tb testing.TB, want int, method, target string, header map[string]string, body any, out any) {
	tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	rec := s.do(method, target, header, b)
	if rec.Code != want {
		tb.Fatalf("%s %s = %d, want %d: %s", method, target, rec.Code, want, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, target, err, rec.Body)
		}
	}
}

// admin is the admin API's header.
var admin = map[string]string{"Authorization": "Bearer " + token}

// counts returns the row count of every table of the store.
func (s *fuzzServer) counts(tb testing.TB) map[string]int64 {
	tb.Helper()
	rows, err := s.view.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	var parts []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		q := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		parts = append(parts, `SELECT '`+strings.ReplaceAll(name, `'`, `''`)+`', count(*) FROM `+q)
	}
	rows.Close()
	out := map[string]int64{}
	rows, err = s.view.Query(strings.Join(parts, " UNION ALL "))
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			tb.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// send sends a fuzzed request and checks what every answer promises: not
// a 5xx, and JSON (isJSON says of which shape); a refusal (any status
// but 200) changes no row count.
func (s *fuzzServer) send(t *testing.T, target string, header map[string]string, body []byte, isJSON func([]byte) bool) *httptest.ResponseRecorder {
	t.Helper()
	before := s.counts(t)
	s.log.take()
	rec := s.do("POST", target, header, body)
	if rec.Code >= 500 {
		t.Fatalf("POST %s = %d %s\nbody %q\nlog: %s", target, rec.Code, rec.Body, body, s.log.take())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !isJSON(rec.Body.Bytes()) {
		t.Fatalf("POST %s = %d %q (%s): not the API's JSON", target, rec.Code, rec.Body, ct)
	}
	if rec.Code != http.StatusOK {
		if after := s.counts(t); !maps.Equal(before, after) {
			t.Fatalf("POST %s = %d %s, yet the store changed:\nbefore %v\nafter  %v", target, rec.Code, rec.Body, before, after)
		}
	}
	return rec
}

// fuzzHeader is a header value a client can send, or ok false.
func fuzzHeader(v string) (string, bool) {
	return v, httpguts.ValidHeaderFieldValue(v)
}

// sendable reports whether a path segment names a route: not empty, and
// clean once unescaped (ServeMux cleans the unescaped path first: "." and
// "..", which clients resolve before sending anyway, and a segment that
// is or ends in an escaped slash never reach the handler; net/http
// answers those itself).
func sendable(segment string) bool {
	p := "/r/" + segment + "/x"
	return segment != "" && path.Clean(p) == p
}

const (
	fuzzAndroidApp = "com.example.game"
	fuzzIOSApp     = "id123456789"
	fuzzGAID       = "38400000-8cf0-11bd-b23e-10b96e40000d"
)

// FuzzInAppEvent sends random S2S events (POST /inappevent/{app_id},
// AppsFlyer's in-app events API) for an app with one launched device.
// In the inputs, {dev_key} stands for the app's dev key, {other_dev_key}
// for another app's, and {device_id} for the device's appsflyer_id. Every
// answer is a JSON string; "OK" with 200.
func FuzzInAppEvent(f *testing.F) {
	s := newFuzzServer(f)
	var app, other struct {
		DevKey string `json:"dev_key"`
	}
	s.mustDo(f, 201, "POST", "/api/v1/apps", admin, map[string]any{"app_id": fuzzAndroidApp, "platform": "android", "name": "Game"}, &app)
	s.mustDo(f, 201, "POST", "/api/v1/apps", admin, map[string]any{"app_id": fuzzIOSApp, "platform": "ios", "name": "iOS"}, &other)
	if app.DevKey == "" || other.DevKey == "" {
		f.Fatal("creating an app answered no dev key")
	}
	var launch httpapi.LaunchResponse
	s.mustDo(f, 200, "POST", "/sdk/v1/apps/"+fuzzAndroidApp+"/launches", map[string]string{"Authorization": "Bearer " + app.DevKey},
		map[string]any{"advertising_id": fuzzGAID, "customer_user_id": "user-7"}, &launch)
	subst := strings.NewReplacer("{dev_key}", app.DevKey, "{other_dev_key}", other.DevKey, "{device_id}", launch.DeviceID)
	jsonString := func(b []byte) bool {
		var s string
		return json.Unmarshal(b, &s) == nil
	}

	f.Fuzz(func(t *testing.T, appID, auth string, body []byte) {
		auth, ok := fuzzHeader(subst.Replace(auth))
		if !sendable(appID) || !ok {
			return // no route, or no header a client can send
		}
		body = []byte(subst.Replace(string(body)))
		rec := s.send(t, "/inappevent/"+url.PathEscape(appID), map[string]string{"authentication": auth}, body, jsonString)
		if rec.Code == http.StatusOK && rec.Body.String() != `"OK"` {
			t.Fatalf("200 %s, want \"OK\"", rec.Body)
		}
	})
}

// FuzzAudienceImport sends random Audiences import calls (POST
// /api/audiences-import-api/v2/{action}: add, remove, overwrite) for an
// app with an Android and an iOS audience. In the inputs, {api_token}
// stands for the app's API token and {other_api_token} for another app's;
// {import_key}, {ios_import_key} and {other_import_key} for the import
// keys of the app's Android and iOS audiences and of the other app's.
// Every answer is a JSON object: {"message":…} where the route is the
// import API's.
func FuzzAudienceImport(f *testing.F) {
	s := newFuzzServer(f)
	var app, other struct {
		APIToken string `json:"api_token"`
	}
	s.mustDo(f, 201, "POST", "/api/v1/apps", admin, map[string]any{"app_id": fuzzAndroidApp, "platform": "android", "name": "Game"}, &app)
	s.mustDo(f, 201, "POST", "/api/v1/apps", admin, map[string]any{"app_id": fuzzIOSApp, "platform": "ios", "name": "iOS"}, &other)
	if app.APIToken == "" || other.APIToken == "" {
		f.Fatal("creating an app answered no API token")
	}
	importKey := func(token, name, platform string) string {
		var resp struct {
			Message struct {
				ImportKey string `json:"import_key"`
			} `json:"message"`
		}
		s.mustDo(f, 200, "POST", "/api/audiences-external-api/audience", map[string]string{"Authorization": "Bearer " + token},
			map[string]any{"audience_name": name, "platform": platform}, &resp)
		return resp.Message.ImportKey
	}
	subst := strings.NewReplacer("{api_token}", app.APIToken, "{other_api_token}", other.APIToken,
		"{import_key}", importKey(app.APIToken, "Fuzz Android", "android"),
		"{ios_import_key}", importKey(app.APIToken, "Fuzz iOS", "ios"),
		"{other_import_key}", importKey(other.APIToken, "Other", "ios"))
	// The import API answers {"message":…}; a path it does not route
	// (an action holding a slash) gets the admin API's JSON error.
	jsonObject := func(b []byte) bool {
		var m map[string]json.RawMessage
		return json.Unmarshal(b, &m) == nil && m != nil
	}

	f.Fuzz(func(t *testing.T, action, auth string, body []byte) {
		auth, ok := fuzzHeader(subst.Replace(auth))
		if !sendable(action) || !ok {
			return
		}
		body = []byte(subst.Replace(string(body)))
		rec := s.send(t, "/api/audiences-import-api/v2/"+url.PathEscape(action), map[string]string{"Authorization": auth}, body, jsonObject)
		if rec.Code == http.StatusOK && rec.Body.String() != `{"message":"The request was successful"}` {
			t.Fatalf("200 %s", rec.Body)
		}
	})
}
