package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/httpapi"
)

// accessLines serves requests through a server's handler with the access
// log on or off and returns the access-log lines it wrote.
func accessLines(t *testing.T, on bool, reqs ...*http.Request) []string {
	t.Helper()
	var buf bytes.Buffer
	s := httpapi.NewServer(nil)
	s.Metrics = httpapi.NewMetrics()
	s.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	s.AccessLog = on
	s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // httptest's RemoteAddr
	h := s.Handler()
	for _, r := range reqs {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `msg="http request"`) {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestAccessLog(t *testing.T) {
	get := httptest.NewRequest("GET", "/healthz?api_key=secret-key", nil)
	get.Header.Set("X-Forwarded-For", "203.0.113.7")
	gone := httptest.NewRequest("DELETE", "/no/such/page", nil)
	lines := accessLines(t, true, get, gone)
	if len(lines) != 2 {
		t.Fatalf("%d access-log lines for 2 requests, want 2: %q", len(lines), lines)
	}
	for i, want := range [][]string{
		{"level=INFO", "method=GET", "path=/healthz ", "status=200", "bytes=3", "duration=", "ip=203.0.113.7"},
		{"method=DELETE", "path=/no/such/page ", "status=404", "ip=192.0.2.1"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	if strings.Contains(strings.Join(lines, "\n"), "secret-key") {
		t.Errorf("the query string was logged: %q", lines[0])
	}

	if lines := accessLines(t, false, httptest.NewRequest("GET", "/healthz", nil)); len(lines) != 0 {
		t.Errorf("access log off: %q, want no lines", lines)
	}
}
