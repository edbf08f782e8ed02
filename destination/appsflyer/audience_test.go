package appsflyer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// cohortDestination returns an appsflyer-cohort destination.
func cohortDestination(platform touchpoint.Platform, appID, identifier, url string) *touchpoint.Destination {
	return &touchpoint.Destination{ID: 5, Project: 1, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF audiences",
		AppsFlyerAppID: appID, APIToken: "tok-1", URL: url, Platform: platform, Identifier: identifier, Enabled: true}
}

func TestImportBody(t *testing.T) {
	for _, tc := range []struct {
		name, appID, identifier string
		platform                touchpoint.Platform
		key                     string
		ids                     []string
		want                    string
	}{
		{"ios idfa", "id123456789", touchpoint.MapIDFA, touchpoint.IOS, "key-1",
			[]string{"6D92078A-8246-4BA4-AE5B-76104861E7DC", "AEBE52E7-03EE-455A-B3C4-E57283966239"},
			`{"import_key":"key-1","platform":"ios","devices":[` +
				`{"app_id":"id123456789","idfa":"6D92078A-8246-4BA4-AE5B-76104861E7DC"},` +
				`{"app_id":"id123456789","idfa":"AEBE52E7-03EE-455A-B3C4-E57283966239"}]}`},
		{"android gaid", "com.example.game", touchpoint.MapGAID, touchpoint.Android, "key-2",
			[]string{"00000000-0000-4000-8000-000000000001"},
			`{"import_key":"key-2","platform":"android","devices":[{"app_id":"com.example.game","gaid":"00000000-0000-4000-8000-000000000001"}]}`},
		{"user_id as amplitude_id", "com.example.game", touchpoint.MapUserID, touchpoint.Android, "key-3",
			[]string{"user-1", "user-2", "user-3"},
			`{"import_key":"key-3","platform":"android","devices":[{"app_id":"com.example.game","amplitude_id":"user-1"},` +
				`{"app_id":"com.example.game","amplitude_id":"user-2"},{"app_id":"com.example.game","amplitude_id":"user-3"}]}`},
		{"cuid", "id123456789", touchpoint.MapCUID, touchpoint.IOS, "key-4",
			[]string{"customer-9"},
			`{"import_key":"key-4","platform":"ios","devices":[{"app_id":"id123456789","cuid":"customer-9"}]}`},
		{"odd ids", "com.example.game", touchpoint.MapCUID, touchpoint.Android, `k"e\y`,
			[]string{`say "hi"`, `back\slash`, "new\nline\ttab", "ctl\x01", "Käufer 日本 🎮", "</script>&"},
			`{"import_key":"k\"e\\y","platform":"android","devices":[` +
				`{"app_id":"com.example.game","cuid":"say \"hi\""},` +
				`{"app_id":"com.example.game","cuid":"back\\slash"},` +
				`{"app_id":"com.example.game","cuid":"new\nline\ttab"},` +
				`{"app_id":"com.example.game","cuid":"ctl\u0001"},` +
				`{"app_id":"com.example.game","cuid":"Käufer 日本 🎮"},` +
				`{"app_id":"com.example.game","cuid":"</script>&"}]}`},
		{"no ids", "id123456789", touchpoint.MapIDFA, touchpoint.IOS, "key-5", nil,
			`{"import_key":"key-5","platform":"ios","devices":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAudiences(cohortDestination(tc.platform, tc.appID, tc.identifier, ""), "http://127.0.0.1:8080", http.DefaultClient)
			got := a.ImportBody(tc.key, tc.ids)
			if string(got) != tc.want {
				t.Fatalf("ImportBody =\n%s\nwant\n%s", got, tc.want)
			}
			// The body is JSON that gives back the key and every id.
			var back struct {
				ImportKey string              `json:"import_key"`
				Devices   []map[string]string `json:"devices"`
			}
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("ImportBody is not JSON: %v", err)
			}
			if back.ImportKey != tc.key || len(back.Devices) != len(tc.ids) {
				t.Fatalf("decoded %+v", back)
			}
			for i, d := range back.Devices {
				if d[touchpoint.MappingField(tc.identifier)] != tc.ids[i] || d["app_id"] != tc.appID || len(d) != 2 {
					t.Errorf("device %d = %q, want %q", i, d, tc.ids[i])
				}
			}
		})
	}
}

// audienceServer answers every request with status and body and records
// the requests.
type audienceServer struct {
	*httptest.Server
	mu     sync.Mutex
	paths  []string
	bodies []string
	header http.Header
}

func newAudienceServer(t *testing.T, status int, body string) *audienceServer {
	s := &audienceServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.paths = append(s.paths, r.Method+" "+r.URL.Path)
		s.bodies = append(s.bodies, string(b))
		s.header = r.Header.Clone()
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// got returns the requests received ("METHOD /path"), their bodies and
// the last one's header.
func (s *audienceServer) got() ([]string, []string, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paths, s.bodies, s.header
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	const created = `{"message":{"audience_id":7,"import_key":"K"}}`
	s := newAudienceServer(t, 200, created)
	// A trailing slash on the destination's URL is dropped.
	a := NewAudiences(cohortDestination(touchpoint.Android, "com.example.game", touchpoint.MapGAID, s.URL+"/"), "http://self", s.Client())
	res, c, err := a.Create(ctx, `Payers "VIP" 1a2B3c4D5e`)
	if err != nil || c == nil || *c != (Created{AudienceID: 7, ImportKey: "K"}) || res == nil || res.Status != 200 || res.Body != created {
		t.Fatalf("Create = %+v, %+v, %v; want audience 7 with import key K", res, c, err)
	}
	paths, bodies, header := s.got()
	if len(paths) != 1 || paths[0] != "POST /api/audiences-external-api/audience" {
		t.Fatalf("requests %q", paths)
	}
	var req map[string]any
	if err := json.Unmarshal([]byte(bodies[0]), &req); err != nil {
		t.Fatal(err)
	}
	if len(req) != 3 || req["audience_name"] != `Payers "VIP" 1a2B3c4D5e` || req["platform"] != "android" ||
		req["connections"] == nil || len(req["connections"].([]any)) != 0 {
		t.Errorf("create body %s, want the name, the platform and no connections", bodies[0])
	}
	if header.Get("Authorization") != "Bearer tok-1" || header.Get("Content-Type") != "application/json" ||
		header.Get("User-Agent") != "Touchpoint-Cohort-Sync/1" {
		t.Errorf("headers %v", header)
	}

	// A 200 with no import_key is an error.
	for _, body := range []string{`{"message":{"audience_id":7}}`, `{"message":"ok"}`, `not json`, ``} {
		s := newAudienceServer(t, 200, body)
		a := NewAudiences(cohortDestination(touchpoint.IOS, "id123456789", touchpoint.MapIDFA, s.URL), "", s.Client())
		res, c, err := a.Create(ctx, "Payers 1a2B3c4D5e")
		if err == nil || c != nil || res == nil || res.Status != 200 || res.Body != body {
			t.Errorf("Create answered 200 %q = %+v, %+v, %v; want an error", body, res, c, err)
		}
	}

	// Another status: the answer, no audience, no error.
	s = newAudienceServer(t, 403, `{"message":"Forbidden"}`)
	a = NewAudiences(cohortDestination(touchpoint.IOS, "id123456789", touchpoint.MapIDFA, s.URL), "", s.Client())
	res, c, err = a.Create(ctx, "Payers 1a2B3c4D5e")
	if err != nil || c != nil || res == nil || res.Status != 403 || res.Body != `{"message":"Forbidden"}` || res.Retryable(err) {
		t.Errorf("Create answered 403 = %+v, %+v, %v", res, c, err)
	}

	// No answer: an error and a response with no status, retryable.
	s = newAudienceServer(t, 200, created)
	s.Close()
	a = NewAudiences(cohortDestination(touchpoint.IOS, "id123456789", touchpoint.MapIDFA, s.URL), "", s.Client())
	res, c, err = a.Create(ctx, "Payers 1a2B3c4D5e")
	if err == nil || c != nil || (res != nil && res.Status != 0) || !res.Retryable(err) {
		t.Errorf("Create with nothing listening = %+v, %+v, %v", res, c, err)
	}

	// A destination with no URL targets this server.
	s = newAudienceServer(t, 200, created)
	a = NewAudiences(cohortDestination(touchpoint.IOS, "id123456789", touchpoint.MapIDFA, ""), s.URL, s.Client())
	if _, c, err := a.Create(ctx, "Payers 1a2B3c4D5e"); err != nil || c == nil {
		t.Errorf("Create to self = %+v, %v", c, err)
	}
	if paths, _, _ := s.got(); len(paths) != 1 {
		t.Errorf("%d requests to self, want 1", len(paths))
	}
}

func TestImport(t *testing.T) {
	s := newAudienceServer(t, 200, `{"message":"The request was successful"}`)
	a := NewAudiences(cohortDestination(touchpoint.Android, "com.example.game", touchpoint.MapGAID, s.URL), "", s.Client())
	for _, action := range []string{touchpoint.AudienceAdd, touchpoint.AudienceRemove} {
		res, err := a.Import(context.Background(), action, "K", []string{"g1", "g2"})
		if err != nil || res.Status != 200 {
			t.Fatalf("Import %s = %+v, %v", action, res, err)
		}
	}
	want := `{"import_key":"K","platform":"android","devices":[{"app_id":"com.example.game","gaid":"g1"},{"app_id":"com.example.game","gaid":"g2"}]}`
	paths, bodies, _ := s.got()
	if len(paths) != 2 || paths[0] != "POST /api/audiences-import-api/v2/add" || paths[1] != "POST /api/audiences-import-api/v2/remove" ||
		bodies[0] != want || bodies[1] != want {
		t.Errorf("requests %q with bodies %q", paths, bodies)
	}
	// A long answer is cut to 1 KB.
	long := strings.Repeat("x", 5000)
	s = newAudienceServer(t, 500, long)
	a = NewAudiences(cohortDestination(touchpoint.Android, "com.example.game", touchpoint.MapGAID, s.URL), "", s.Client())
	res, err := a.Import(context.Background(), touchpoint.AudienceAdd, "K", []string{"g1"})
	if err != nil || res.Status != 500 || res.Body != long[:1024] || !res.Retryable(err) {
		t.Errorf("Import answered a long 500 = %d, %d bytes, %v", res.Status, len(res.Body), err)
	}
}

func TestRetryable(t *testing.T) {
	fail := errors.New("connection reset")
	for _, tc := range []struct {
		name string
		res  *Response
		err  error
		want bool
	}{
		{"nil response", nil, nil, true},
		{"nil response, error", nil, fail, true},
		{"error, no status", &Response{}, fail, true},
		// An answer that could not be read is an answer: a create call
		// answered 200 has created the audience.
		{"error after a 200", &Response{Status: 200}, fail, false},
		{"429", &Response{Status: 429}, nil, true},
		{"500", &Response{Status: 500}, nil, true},
		{"502", &Response{Status: 502}, nil, true},
		{"503", &Response{Status: 503}, nil, true},
		{"400", &Response{Status: 400}, nil, false},
		{"401", &Response{Status: 401}, nil, false},
		{"403", &Response{Status: 403}, nil, false},
		{"404", &Response{Status: 404}, nil, false},
		{"200", &Response{Status: 200}, nil, false},
	} {
		if got := tc.res.Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
