package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestChartDeferred: a browser opening a chart's page gets the form at
// once and a placeholder its script fills from the page with part=result,
// which answers the chart alone; other clients get the chart in the page.
func TestChartDeferred(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	var p touchpoint.Project
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Deferred"}, &p)
	up, _ := json.Marshal(map[string]any{"api_key": p.APIKey, "events": []map[string]any{
		{"user_id": "user-1", "event_type": "open", "time": epoch.Add(-48 * 3600e9).UnixMilli()}}})
	if code, body := s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}}, string(up)); code != 200 {
		t.Fatalf("/2/httpapi: %d %s", code, body)
	}
	path := fmt.Sprintf("/projects/%d/charts/segmentation?e0=open", p.ID)

	// Not a browser: the chart is in the page.
	b.mustGet(path, `id="chart-table"`)

	// A browser: a placeholder, and where to fetch the chart.
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	page := b.do(req)
	if page.Status != 200 || strings.Contains(page.Body, `id="chart-table"`) || !strings.Contains(page.Body, "Computing the chart") {
		t.Fatalf("a browser's page: %d %s", page.Status, page.Body)
	}
	m := regexp.MustCompile(`data-fragment="([^"]+)"`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatal("no data-fragment")
	}
	inline := regexp.MustCompile(`<noscript><p><a href="([^"]+)"`).FindStringSubmatch(page.Body)
	if inline == nil || !strings.Contains(inline[1], "inline=1") {
		t.Fatalf("no link for a browser without scripts: %s", page.Body)
	}
	part := b.get(html.UnescapeString(m[1]))
	if part.Status != 200 || !strings.Contains(part.Body, `id="chart-table"`) || strings.Contains(part.Body, "<html") {
		t.Fatalf("the part: %d %s", part.Status, part.Body)
	}
	req, _ = http.NewRequest("GET", s.URL()+html.UnescapeString(inline[1]), nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	if page := b.do(req); !strings.Contains(page.Body, `id="chart-table"`) || !strings.Contains(page.Body, "<html") {
		t.Fatalf("inline=1: %s", page.Body)
	}

	// A form the page cannot read is refused in the page at once; a query
	// only the chart refuses (its range ends before it starts) is refused
	// in the part, in words, without the layout.
	req, _ = http.NewRequest("GET", s.URL()+fmt.Sprintf("/projects/%d/charts/retention?e0=open&periods=many", p.ID), nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	page = b.do(req)
	if page.Status != 400 || !strings.Contains(page.Body, `class="error"`) || strings.Contains(page.Body, "data-fragment") {
		t.Fatalf("an unreadable form: %d %s", page.Status, page.Body)
	}
	bad := fmt.Sprintf("/projects/%d/charts/segmentation?e0=open&start=2026-03-10&end=2026-01-01", p.ID)
	part = b.get(bad + "&part=result")
	if part.Status != 400 || !strings.Contains(part.Body, `class="error"`) || strings.Contains(part.Body, "<html") {
		t.Fatalf("a refused query's part: %d %s", part.Status, part.Body)
	}
}

// TestOverviewDeferred: a browser asking for a range longer than a month
// gets the form at once and the counts from the page with part=result.
func TestOverviewDeferred(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.long", "platform": "android", "name": "Long"}, nil)
	if code, body := s.send(t, "GET", "/c/com.example.long?pid=net_a&c=spring", nil, ""); code != http.StatusFound {
		t.Fatalf("click: %d %s", code, body)
	}
	long := "/apps/com.example.long/overview?from=2026-01-01&to=2026-03-10"
	req, _ := http.NewRequest("GET", s.URL()+long, nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	page := b.do(req)
	m := regexp.MustCompile(`data-fragment="([^"]+)"`).FindStringSubmatch(page.Body)
	if page.Status != 200 || m == nil || strings.Contains(page.Body, `class="tiles"`) {
		t.Fatalf("a browser's long range: %d %s", page.Status, page.Body)
	}
	part := b.get(html.UnescapeString(m[1]))
	if part.Status != 200 || !strings.Contains(part.Body, `class="tiles"`) || !strings.Contains(part.Body, "net_a") || strings.Contains(part.Body, "<html") {
		t.Fatalf("the part: %d %s", part.Status, part.Body)
	}
	// A week is counted in the page itself.
	req, _ = http.NewRequest("GET", s.URL()+"/apps/com.example.long/overview", nil)
	req.Header.Set("Sec-Fetch-Dest", "document")
	if page := b.do(req); strings.Contains(page.Body, "data-fragment") || !strings.Contains(page.Body, `class="tiles"`) {
		t.Fatalf("the default week: %s", page.Body)
	}
}
