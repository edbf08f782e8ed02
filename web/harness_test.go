package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

const token = "dashboard-test-token"

// server is a real Touchpoint server (the HTTP API and the dashboard) on
// an embedded store in a temporary directory.
type server struct {
	*httpapi.Server
	DB *sqlite.DB
}

// clock is a test's movable time: the store's one clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// epoch is the tests' start time: a fixed day, never today.
var epoch = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// startServer starts a server whose clock starts at epoch; configure
// changes the server's settings before it opens.
func startServer(t *testing.T, configure ...func(*httpapi.Server)) (*server, *clock) {
	t.Helper()
	clk := &clock{now: epoch}
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	db.Clock = clk.Now
	s := httpapi.NewServer(db)
	s.Addr = "127.0.0.1:0"
	s.AdminToken = token
	s.AllowPrivatePostbackHosts = true
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
		http.DefaultClient.CloseIdleConnections()
		s.Close(context.Background())
		db.Close()
	})
	return &server{Server: s, DB: db}, clk
}

// api calls the JSON admin API (to set up what a test looks at) and
// fails the test on an answer other than want.
func (s *server) api(t *testing.T, want int, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// send sends a request to the server as an SDK or ad network would, and
// returns the status and body.
func (s *server) send(t *testing.T, method, path string, header http.Header, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// browser is a plain HTTP client with cookies: a signed-in dashboard user
// without JavaScript (the pages must work without it).
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the session's, read from the last page that had a form
}

// page is an answer of the dashboard.
type page struct {
	Status int
	Body   string
	Header http.Header
	URL    string // after redirects
}

// newBrowser returns a client that has not signed in.
func newBrowser(t *testing.T, s *server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL(), c: &http.Client{Jar: jar}}
}

// signIn returns a signed-in client.
func signIn(t *testing.T, s *server) *browser {
	t.Helper()
	b := newBrowser(t, s)
	b.get("/signin")
	p := b.post("/signin", url.Values{"token": {token}})
	if p.Status != http.StatusOK || strings.Contains(p.URL, "/signin") {
		t.Fatalf("sign in: %d at %s: %s", p.Status, p.URL, p.Body)
	}
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{Status: resp.StatusCode, Body: string(body), Header: resp.Header, URL: resp.Request.URL.Path}
}

// get opens a page.
func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form as the dashboard's own pages do: with the CSRF token
// of the last page read and this site as its origin.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if _, ok := f["csrf"]; !ok {
		f.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

// mustGet opens a page that must answer 200 and contain every want.
func (b *browser) mustGet(path string, want ...string) page {
	b.t.Helper()
	p := b.get(path)
	if p.Status != http.StatusOK {
		b.t.Fatalf("GET %s: %d: %s", path, p.Status, p.Body)
	}
	p.mustContain(b.t, want...)
	return p
}

func (p page) mustContain(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s does not contain %q:\n%s", p.URL, w, p.Body)
		}
	}
}
