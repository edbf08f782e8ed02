package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/storetest"
)

// ingestPaths are the ingestion routes a browser may call.
var ingestPaths = []string{"/2/httpapi", "/batch", "/identify", "/groupidentify", "/attribution", "/", "/2/unknown"}

// send sends a request with headers (name, value, …) and returns the
// response, body read.
func send(t *testing.T, method, rawURL, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestIngestPreflight: a browser's preflight of any ingestion route is
// answered 204, for any origin, with the methods, the headers it asked for
// and a max-age; and nothing is stored.
func TestIngestPreflight(t *testing.T) {
	s := startServer(t)
	for _, path := range ingestPaths {
		for _, tc := range []struct {
			name, requested, wantHeaders string
		}{
			{"fetch transport", "content-type", "content-type"},
			{"gzip", "Content-Type, Content-Encoding", "Content-Type, Content-Encoding"},
			{"amplitude-js", "content-type,cross-origin-resource-policy", "content-type, cross-origin-resource-policy"},
			{"none named", "", "Content-Type, Content-Encoding, Accept, Cross-Origin-Resource-Policy"},
			{"names that are no tokens are dropped", "content-type, x y, a\"b", "content-type"},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				header := []string{"Origin", "http://app.example.com:3000", "Access-Control-Request-Method", "POST"}
				if tc.requested != "" {
					header = append(header, "Access-Control-Request-Headers", tc.requested)
				}
				resp, body := send(t, "OPTIONS", s.URL()+path, "", header...)
				h := resp.Header
				if resp.StatusCode != 204 || body != "" {
					t.Fatalf("= %d %q, want 204 and no body", resp.StatusCode, body)
				}
				if got := h.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("Allow-Origin %q", got)
				}
				if got := h.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") || !strings.Contains(got, "GET") {
					t.Errorf("Allow-Methods %q", got)
				}
				if got := h.Get("Access-Control-Allow-Headers"); got != tc.wantHeaders {
					t.Errorf("Allow-Headers %q, want %q", got, tc.wantHeaders)
				}
				if got := h.Get("Access-Control-Max-Age"); got != "86400" {
					t.Errorf("Max-Age %q", got)
				}
				if got := h.Get("Access-Control-Allow-Private-Network"); got != "" {
					t.Errorf("Allow-Private-Network %q unasked", got)
				}
			})
		}
	}
	// A public page calling a server on a private address (Chromium's
	// Private Network Access) is let through.
	resp, _ := send(t, "OPTIONS", s.URL()+"/2/httpapi", "", "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Private-Network", "true")
	if got := resp.Header.Get("Access-Control-Allow-Private-Network"); resp.StatusCode != 204 || got != "true" {
		t.Errorf("private network preflight = %d, Allow-Private-Network %q", resp.StatusCode, got)
	}
	// Only the ingestion API is open to other origins: the admin API is
	// not.
	resp, _ = send(t, "OPTIONS", s.URL()+"/api/v1/projects", "", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if resp.StatusCode == 204 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("admin API preflight = %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ = send(t, "GET", s.URL()+"/api/v1/projects", "", "Authorization", "Bearer "+token, "Origin", "http://evil.example")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("admin API answer = %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// failingStore refuses every analytics write, as a store that lost its
// disk.
type failingStore struct{ touchpoint.Store }

func (failingStore) RecordEvents(context.Context, []*touchpoint.EventUpload) error {
	return errors.New("the disk is on fire")
}

// TestIngestCORSOnEveryAnswer: every answer of the ingestion API lets any
// origin read it, errors included, as Amplitude's does: a browser SDK that
// cannot read a 400 or a 429 retries what it should drop or delay.
func TestIngestCORSOnEveryAnswer(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(storetest.NewClock(now).Now))
	p := s.createProject(t, map[string]int{"http_eps": 1})
	events := func(n int, device string) string {
		l := make([]string, n)
		for i := range l {
			l[i] = `{"device_id":"` + device + `","event_type":"tap"}`
		}
		return `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(l, ",") + `]}`
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const formType = "application/x-www-form-urlencoded"
	big := `{"api_key":"` + p.APIKey + `","events":[{"device_id":"device-big","event_type":"a","event_properties":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}]}`
	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
	}{
		{"upload", "POST", "/2/httpapi", "application/json", events(1, "device-1"), 200},
		{"batch", "POST", "/batch", "text/plain", events(1, "device-2"), 200},
		{"bad key", "POST", "/2/httpapi", "application/json", `{"api_key":"nope","events":[{"device_id":"device-1","event_type":"a"}]}`, 400},
		{"no body", "POST", "/2/httpapi", "application/json", ``, 400},
		{"invalid path", "POST", "/2/nope", "application/json", `{}`, 400},
		{"too large", "POST", "/2/httpapi", "application/json", big, 413},
		{"throttled", "POST", "/2/httpapi", "application/json", events(31, "device-3"), 429},
		{"identify", "POST", "/identify", formType, form("api_key", p.APIKey, "identification", `{"device_id":"device-1","user_properties":{"a":1}}`), 200},
		{"identify, bad key", "GET", "/identify?" + form("api_key", "nope", "identification", "{}"), "", "", 400},
		{"group identify, no identification", "POST", "/groupidentify", formType, form("api_key", p.APIKey), 400},
		{"attribution, bad event", "POST", "/attribution", formType, form("api_key", p.APIKey, "event", "{"), 400},
		{"legacy", "POST", "/", formType, form("client", p.APIKey, "e", `[{"device_id":"device-4","event_type":"a"}]`, "v", "2"), 200},
		{"legacy, bad key", "POST", "/", formType, form("client", "nope", "e", `[]`), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, tc.method, s.URL()+tc.path, tc.body, "Content-Type", tc.contentType, "Origin", "http://app.example.com")
			if resp.StatusCode != tc.status {
				t.Fatalf("= %d %.200s, want %d", resp.StatusCode, body, tc.status)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%d answer: Allow-Origin %q, want *", resp.StatusCode, got)
			}
		})
	}

	// A store failure (503) too.
	f := startServer(t, func(s *httpapi.Server) { s.Store = failingStore{s.Store} })
	fp := f.createProject(t, nil)
	for _, tc := range []struct{ path, contentType, body string }{
		{"/2/httpapi", "application/json", `{"api_key":"` + fp.APIKey + `","events":[{"device_id":"device-1","event_type":"a"}]}`},
		{"/", formType, form("client", fp.APIKey, "e", `[{"device_id":"device-1","event_type":"a"}]`)},
	} {
		resp, body := send(t, "POST", f.URL()+tc.path, tc.body, "Content-Type", tc.contentType, "Origin", "http://app.example.com")
		if resp.StatusCode != 503 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s on a failing store = %d %s, Allow-Origin %q", tc.path, resp.StatusCode, body, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}
