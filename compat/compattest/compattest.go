// Package compattest is what the compatibility tests share: a real
// Touchpoint server over a real store on a random port, and the checks they
// make through its admin API and metrics that every event an official
// Amplitude SDK sent arrived, once.
package compattest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// token is the admin token of the servers Start starts.
const token = "compat-admin-token"

// Server is a running Touchpoint server.
type Server struct {
	*httpapi.Server
	client *http.Client
}

// Start starts a server on 127.0.0.1 over a store in a temporary
// directory; the test's cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(db)
	srv.Addr = "127.0.0.1:0"
	srv.AdminToken = token
	if err := srv.Open(); err != nil {
		db.Close()
		t.Fatal(err)
	}
	s := &Server{Server: srv, client: &http.Client{}}
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		srv.Close(context.Background())
		db.Close()
	})
	return s
}

// Admin sends an admin API request and decodes the JSON answer into out
// (when not nil); it fails the test unless the status is want.
func (s *Server) Admin(t testing.TB, want int, method, path string, body, out any) {
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
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// Project is an analytics project.
type Project struct {
	ID     int64  `json:"id"`
	APIKey string `json:"api_key"`
}

// CreateProject creates a project with Amplitude's default limits.
func (s *Server) CreateProject(t testing.TB, name string) Project {
	t.Helper()
	var p Project
	s.Admin(t, 201, "POST", "/api/v1/projects", map[string]any{"name": name}, &p)
	if p.ID == 0 || p.APIKey == "" {
		t.Fatalf("project %+v", p)
	}
	return p
}

// User is what the admin API says of a user.
type User struct {
	AmplitudeID    int64          `json:"amplitude_id"`
	UserID         string         `json:"user_id"`
	DeviceIDs      []string       `json:"device_ids"`
	UserProperties map[string]any `json:"user_properties"`
}

// FindUser looks a user up by user id or, when that is empty, by device
// id; ok is false when there is none.
func (s *Server) FindUser(t testing.TB, p Project, userID, deviceID string) (u User, ok bool) {
	t.Helper()
	q := url.Values{}
	if userID != "" {
		q.Set("user_id", userID)
	} else {
		q.Set("device_id", deviceID)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/projects/%d/users?%s", s.URL(), p.ID, q.Encode()), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case 404:
		return User{}, false
	case 200:
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		return u, true
	}
	t.Fatalf("user lookup = %d %s", resp.StatusCode, b)
	return User{}, false
}

// Events returns every event of a user (none when there is no such user),
// oldest first, reading every page.
func (s *Server) Events(t testing.TB, p Project, userID, deviceID string) []map[string]any {
	t.Helper()
	u, ok := s.FindUser(t, p, userID, deviceID)
	if !ok {
		return nil
	}
	var all []map[string]any
	for cursor := ""; ; {
		var page struct {
			Events     []map[string]any `json:"events"`
			NextCursor string           `json:"next_cursor"`
		}
		path := fmt.Sprintf("/api/v1/projects/%d/users/%d/events?limit=1000", p.ID, u.AmplitudeID)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		s.Admin(t, 200, "GET", path, nil, &page)
		all = append(all, page.Events...)
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
}

// Metric sums the samples of a metric whose labels include those given.
func (s *Server) Metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := s.client.Get(s.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		have := map[string]string{}
		for _, m := range labelRE.FindAllStringSubmatch(line[len(name)+1:end], -1) {
			have[m[1]] = m[2]
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// Requests is how many requests a route answered with a status code.
func (s *Server) Requests(t testing.TB, route string, code int) int {
	t.Helper()
	return int(s.Metric(t, "touchpoint_http_requests_total", map[string]string{"route": route, "code": strconv.Itoa(code)}))
}

// Ingested is how many events an ingestion endpoint acknowledged (200),
// repeats of an insert_id included: more than were sent means the client
// sent some twice.
func (s *Server) Ingested(t testing.TB, endpoint string) int {
	t.Helper()
	return int(s.Metric(t, "touchpoint_analytics_events_total", map[string]string{"endpoint": endpoint, "code": "200"}))
}

// ExactlyOnce checks that events hold each of want (a key of each event,
// as key(event) makes it) once, and nothing else.
func ExactlyOnce(t testing.TB, events []map[string]any, key func(map[string]any) string, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, e := range events {
		count[key(e)]++
	}
	var problems []string
	for _, w := range want {
		switch n := count[w]; n {
		case 1:
		case 0:
			problems = append(problems, w+": missing")
		default:
			problems = append(problems, fmt.Sprintf("%s: %d times", w, n))
		}
		delete(count, w)
	}
	for k, n := range count {
		problems = append(problems, fmt.Sprintf("%s: not sent, stored %d times", k, n))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d events stored, %d sent: %s", len(events), len(want), strings.Join(problems, "; "))
	}
}
