package httpapi_test

import (
	"strings"
	"testing"
)

// A fresh server exposes no per-route series: each route's latency
// histogram and request counters appear with its first request, so an
// idle server's /metrics stays small.
func TestMetricsRouteSeriesOnFirstUse(t *testing.T) {
	s := startServer(t)
	_, idle := s.get(t, "/metrics")
	t.Logf("/metrics at idle: %d bytes", len(idle))
	for _, name := range []string{"touchpoint_http_request_duration_seconds_", "touchpoint_http_requests_total{"} {
		if n := countSeries(idle, name); n != 0 {
			t.Errorf("idle /metrics has %d %s series, want none:\n%s", n, name, grepLines(idle, name))
		}
	}

	if resp, _ := s.get(t, "/healthz"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	_, after := s.get(t, "/metrics")
	lat := grepLines(after, "touchpoint_http_request_duration_seconds_")
	if n := strings.Count(lat, `route="GET /healthz"`); n != 12+1+2 { // buckets, +Inf, sum, count
		t.Errorf("want the /healthz histogram only (15 lines), got %d of it:\n%s", n, lat)
	}
	if n := countSeries(after, "touchpoint_http_request_duration_seconds_"); n != 15 {
		t.Errorf("want exactly the /healthz latency series, got %d lines:\n%s", n, lat)
	}
	if !strings.Contains(after, `touchpoint_http_request_duration_seconds_count{route="GET /healthz"} 1`) {
		t.Errorf("the /healthz request is not counted:\n%s", lat)
	}
	reqs := grepLines(after, "touchpoint_http_requests_total{")
	if reqs != `touchpoint_http_requests_total{code="200",route="GET /healthz"} 1`+"\n" {
		t.Errorf("requests counters: want the one /healthz 200, got:\n%s", reqs)
	}
}

// countSeries counts the sample lines of /metrics that start with prefix.
func countSeries(metrics, prefix string) int {
	return strings.Count(grepLines(metrics, prefix), "\n")
}

func grepLines(metrics, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(metrics) {
		if strings.HasPrefix(line, prefix) {
			b.WriteString(line)
		}
	}
	return b.String()
}
