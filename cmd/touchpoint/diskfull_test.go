package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// smallFS mounts a tmpfs of size bytes on a new directory, for as long as
// the test runs. It needs the right to mount (root); without it the test
// is skipped (and fails under CI).
func smallFS(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		testenv.Skip(t, "mounting a %d-byte tmpfs for the data dir: %v (run as root, as CI does)", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file in dir until the filesystem has no room left.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for size := len(chunk); size >= 1; {
		if _, err := f.Write(chunk[:size]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			size /= 2
		}
	}
	return path
}

type diskClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *diskClient) do(method, path, auth, body string) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// clicks sends clicks with click ids prefix-0, prefix-1, … until n have
// been answered 503 in a row (or limit clicks were sent), and returns the
// acknowledged ones.
func (c *diskClient) clicks(prefix string, n, limit int) (acked []string, refused []string) {
	c.t.Helper()
	for i, row := 0, 0; i < limit && row < n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		code, body := c.do("GET", "/c/com.example.game?pid=net_a&clickid="+id+"&af_sub1="+strings.Repeat("x", 200), "", "")
		switch code {
		case 302:
			acked, row = append(acked, id), 0
		case 503:
			refused, row = append(refused, body), row+1
		default:
			c.t.Fatalf("click %s: %d %s", id, code, body)
		}
	}
	return acked, refused
}

// waitReady polls /readyz until it answers want.
func (c *diskClient) waitReady(want int) string {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := c.do("GET", "/readyz", "", "")
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("/readyz = %d %q, want %d", code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The data dir's disk fills up: writes answer 503 saying so, /readyz says
// not ready, reads work, and nothing acknowledged is lost across a stop and
// a start while full; when space returns the server resumes by itself.
func TestDiskFull(t *testing.T) {
	dir := smallFS(t, 24<<20)
	srv, _, stop := serve(t, "--data-dir", dir)
	token := adminTokenOf(t, dir)
	c := &diskClient{t: t, base: srv.URL(), token: token}
	var app struct {
		DevKey string `json:"dev_key"`
	}
	code, body := c.do("POST", "/api/v1/apps", c.token, `{"app_id":"com.example.game","platform":"android","name":"Game"}`)
	if code != 201 || json.Unmarshal([]byte(body), &app) != nil {
		t.Fatalf("create app: %d %s", code, body)
	}
	var project struct {
		ID     int64  `json:"id"`
		APIKey string `json:"api_key"`
	}
	if code, body := c.do("POST", "/api/v1/projects", c.token, `{"name":"Game"}`); code != 201 || json.Unmarshal([]byte(body), &project) != nil {
		t.Fatalf("create project: %d %s", code, body)
	}
	acked, _ := c.clicks("before", 1, 100)

	filler := fill(t, dir)
	more, refused := c.clicks("full", 20, 20_000)
	acked = append(acked, more...)
	if len(refused) == 0 || !strings.Contains(refused[0], "disk of the data directory is full") {
		t.Fatalf("clicks on a full disk: refused %d, first %q", len(refused), refused)
	}
	t.Logf("%d clicks acknowledged, then the disk was full", len(acked))
	if body := c.waitReady(503); !strings.Contains(body, "full") {
		t.Errorf("/readyz while full: %q", body)
	}
	// Every write path says so; reads work.
	for _, w := range []struct{ method, path, auth, body string }{
		{"POST", "/sdk/v1/apps/com.example.game/launches", app.DevKey, `{"advertising_id":"38400000-8cf0-11bd-b23e-10b96e40000d"}`},
		{"POST", "/2/httpapi", "", `{"api_key":"` + project.APIKey + `","events":[{"event_type":"open","device_id":"device-1"}]}`},
		{"POST", "/api/v1/apps/com.example.game/partners", c.token, `{"pid":"net_b"}`},
	} {
		code, body := c.do(w.method, w.path, w.auth, w.body)
		if code != 503 || !strings.Contains(body, "full") {
			t.Errorf("%s %s on a full disk: %d %s, want 503 saying the disk is full", w.method, w.path, code, body)
		}
	}
	if code, body := c.do("GET", "/api/v1/apps/com.example.game/touches?limit=1", c.token, ""); code != 200 {
		t.Errorf("reading touches on a full disk: %d %s", code, body)
	}

	// Stopped and started again while the disk is full.
	if err := stop(); err != nil {
		t.Logf("stop on a full disk: %v", err)
	}
	srv, _, stop = serve(t, "--data-dir", dir)
	c.base = srv.URL()
	c.waitReady(503)

	// Space returns: the server resumes by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	c.waitReady(200)
	after, refused := c.clicks("after", 1, 100)
	if len(refused) > 0 {
		t.Fatalf("clicks after space returned: %q", refused)
	}
	acked = append(acked, after...)
	if code, body := c.do("POST", "/sdk/v1/apps/com.example.game/launches", app.DevKey, `{"advertising_id":"38400000-8cf0-11bd-b23e-10b96e40000d"}`); code != 200 {
		t.Errorf("launch after space returned: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// Every acknowledged click is there after another start.
	srv, _, _ = serve(t, "--data-dir", dir)
	c.base = srv.URL()
	stored := map[string]bool{}
	for cursor := ""; ; {
		code, body := c.do("GET", "/api/v1/apps/com.example.game/touches?limit=100"+cursor, c.token, "")
		var page struct {
			Touches []struct {
				Params struct {
					ClickID string `json:"clickid"`
				} `json:"params"`
			} `json:"touches"`
			Next string `json:"next_cursor"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("touches: %d %s", code, body[:min(len(body), 300)])
		}
		for _, tc := range page.Touches {
			stored[tc.Params.ClickID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = "&cursor=" + page.Next
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged click %s was lost", id)
		}
	}
	if len(stored) != len(acked) {
		t.Errorf("%d clicks stored, %d acknowledged", len(stored), len(acked))
	}
}
