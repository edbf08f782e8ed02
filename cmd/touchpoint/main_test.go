package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// serve runs "touchpoint serve" in-process until the returned stop is
// called; stop returns Run's error.
func serve(t *testing.T, args ...string) (srv *httpapi.Server, stdout *bytes.Buffer, stop func() error) {
	t.Helper()
	return serveLog(t, &bytes.Buffer{}, args...)
}

// serveLog is serve writing the server's log to log (read it only once
// the server stopped).
func serveLog(t *testing.T, log *bytes.Buffer, args ...string) (srv *httpapi.Server, stdout *bytes.Buffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *httpapi.Server, 1)
	stdout = &bytes.Buffer{}
	cmd := &ServeCommand{Stdout: stdout, Stderr: log, Ready: ready}
	done := make(chan error, 1)
	go func() {
		done <- cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, args...))
	}()
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return srv, stdout, stop
}

// cli runs a client command line and returns its output.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("touchpoint %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func TestServeAndCLI(t *testing.T) {
	dir := t.TempDir()
	srv, stdout, stop := serve(t, "--data-dir", dir)
	token := adminTokenOf(t, dir)
	if !strings.Contains(stdout.String(), token) {
		t.Fatalf("the generated token was not printed: %q", stdout.String())
	}
	if info, _ := os.Stat(filepath.Join(dir, "admin-token")); info.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token mode %v", info.Mode())
	}
	c := []string{"--server", srv.URL(), "--data-dir", dir}

	var app touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game", "--click-lookback", "10d"}, c...)...)), &app)
	if app.ID != "com.example.game" || app.Windows.ClickLookback != 10*touchpoint.Day || app.DevKey == "" {
		t.Fatalf("apps create: %+v", app)
	}
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "update", "com.example.game", "--name", "Renamed"}, c...)...)), &app)
	if app.Name != "Renamed" || app.Windows.ClickLookback != 10*touchpoint.Day {
		t.Fatalf("apps update: %+v", app)
	}
	if out := cli(t, append([]string{"apps", "list"}, c...)...); !strings.Contains(out, `"Renamed"`) {
		t.Fatalf("apps list: %s", out)
	}
	var p touchpoint.Partner
	json.Unmarshal([]byte(cli(t, append([]string{"partners", "create", "com.example.game", "net_int", "--click-signing", "report-only", "--allow-ip-ua"}, c...)...)), &p)
	if p.PID != "net_int" || p.ClickSigning != "report-only" || !p.AllowIPUA {
		t.Fatalf("partners create: %+v", p)
	}
	var sec touchpoint.SigningSecret
	json.Unmarshal([]byte(cli(t, append([]string{"partners", "secrets", "create", "com.example.game", "net_int", "--ttl-hours", "24"}, c...)...)), &sec)
	if sec.Secret == "" {
		t.Fatal("no secret")
	}
	link := strings.TrimSpace(cli(t, "links", "build", "--base", srv.URL(), "com.example.game", "net_int", "clickid=abc", "c=summer sale"))
	if link != srv.URL()+"/c/com.example.game?pid=net_int&clickid=abc&c=summer+sale" {
		t.Fatalf("links build: %s", link)
	}
	signed := strings.TrimSpace(cli(t, "links", "sign", "--secret", sec.Secret, link))
	if out := cli(t, append([]string{"links", "test", signed}, c...)...); !strings.Contains(out, `"passed"`) {
		t.Fatalf("links test: %s", out)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(signed)
	if err != nil || resp.StatusCode != 302 {
		t.Fatalf("signed click: %v %v", resp, err)
	}
	resp.Body.Close()
	out := cli(t, append([]string{"touches", "list", "com.example.game", "--click-id", "abc", "--json"}, c...)...)
	if !strings.Contains(out, `"signature_verdict": "valid"`) || !strings.Contains(out, `"c": "summer sale"`) {
		t.Fatalf("touches list: %s", out)
	}
	if out := cli(t, append([]string{"touches", "count", "com.example.game"}, c...)...); !strings.Contains(out, `"count": 1`) {
		t.Fatalf("touches count: %s", out)
	}
	if out := cli(t, append([]string{"partners", "report", "com.example.game", "net_int"}, c...)...); !strings.Contains(out, `"valid_clicks": 1`) {
		t.Fatalf("partners report: %s", out)
	}
	// Errors from the server reach the user with its message.
	var errOut bytes.Buffer
	err = run(context.Background(), append([]string{"apps", "get", "com.nope.app"}, c...), &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "app com.nope.app not found") {
		t.Fatalf("apps get unknown: %v", err)
	}

	// A graceful stop returns nil (exit 0) and every touch stays.
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountTouches(context.Background(), touchpoint.TouchFilter{App: "com.example.game"}); err != nil || n != 1 {
		t.Fatalf("after restart: %d touches, %v", n, err)
	}
	if err := db.Close(); err != nil { // one process at a time opens a store
		t.Fatal(err)
	}

	// A second start reuses the token and does not print it again.
	_, stdout, stop = serve(t, "--data-dir", dir)
	if strings.Contains(stdout.String(), token) {
		t.Fatal("the token was printed on a second start")
	}
	stop()
}

func TestEnvironmentFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOUCHPOINT_ADMIN_TOKEN", "from-env")
	t.Setenv("TOUCHPOINT_DATA_DIR", dir)
	t.Setenv("TOUCHPOINT_LOG_LEVEL", "error")
	srv, _, stop := serve(t, "--log-level", "warn") // the flag wins over the variable
	defer stop()
	if _, err := os.Stat(filepath.Join(dir, "touchpoint.db")); err != nil {
		t.Fatalf("TOUCHPOINT_DATA_DIR was not used: %v", err)
	}
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer from-env")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("TOUCHPOINT_ADMIN_TOKEN was not used: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := os.Stat(filepath.Join(dir, "admin-token")); err == nil {
		t.Fatal("a token file was written although a token was configured")
	}
	t.Setenv("TOUCHPOINT_LOG_LEVEL", "loud")
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("a bad TOUCHPOINT_LOG_LEVEL: %v", err)
	}
	// Every serve flag has a variable, listed in its help.
	var help bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, &bytes.Buffer{}, &help)
	for _, v := range []string{"TOUCHPOINT_ADDR", "TOUCHPOINT_DATA_DIR", "TOUCHPOINT_ADMIN_TOKEN", "TOUCHPOINT_TRUSTED_PROXIES", "TOUCHPOINT_SQLITE_SYNCHRONOUS"} {
		if !strings.Contains(help.String(), v) {
			t.Errorf("serve -h does not list %s", v)
		}
	}
}

// TestSIGTERM runs the real binary (this test binary, as main) and stops it
// with SIGTERM while clicks are in flight: it must exit 0, and every click
// it answered must be in the store.
func TestSIGTERM(t *testing.T) {
	if os.Getenv("TOUCHPOINT_TEST_MAIN") != "" {
		os.Args = append([]string{"touchpoint"}, strings.Fields(os.Getenv("TOUCHPOINT_TEST_MAIN"))...)
		main()
		return
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERM$")
	cmd.Env = append(os.Environ(), "TOUCHPOINT_TEST_MAIN=serve --addr "+addr+" --data-dir "+dir+" --admin-token tok --log-level warn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			cmd.Process.Kill()
			t.Fatalf("server did not start: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := []string{"--server", base, "--admin-token", "tok"}
	cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "G"}, c...)...)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	answered := make(chan int, 1)
	go func() {
		n := 0
		for i := 0; ; i++ {
			resp, err := noFollow.Get(fmt.Sprintf("%s/c/com.example.game?pid=net&clickid=k%d", base, i))
			if err != nil {
				break
			}
			resp.Body.Close()
			if resp.StatusCode == 302 {
				n++
			}
			if resp.StatusCode == 503 || i > 100000 {
				break
			}
		}
		answered <- n
	}()
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	n := <-answered
	if n == 0 {
		t.Fatal("no click was answered before the stop")
	}
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := db.CountTouches(context.Background(), touchpoint.TouchFilter{App: "com.example.game"})
	if err != nil || stored < int64(n) {
		t.Fatalf("%d clicks answered, %d stored (%v)", n, stored, err)
	}
}

// The attribution verbs: a test-mode app, its clock, a capped partner, the
// explanation of a device and the report.
func TestAttributionCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	var app touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "create", "com.example.test", "--platform", "android", "--name", "T", "--test-mode", "--min-ctit", "5", "--time-zone", "Asia/Tokyo"}, c...)...)), &app)
	if !app.TestMode || app.TestClock == nil || app.MinCTIT != 5 || app.TimeZone != "Asia/Tokyo" {
		t.Fatalf("apps create --test-mode --min-ctit 5 --time-zone Asia/Tokyo: %+v", app)
	}
	start := *app.TestClock
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "clock", "com.example.test", "--advance", "8d"}, c...)...)), &app)
	if !app.TestClock.Equal(start.Add(8 * 24 * time.Hour)) {
		t.Fatalf("apps clock: %v, want %v", app.TestClock, start.Add(8*24*time.Hour))
	}
	var p touchpoint.Partner
	json.Unmarshal([]byte(cli(t, append([]string{"partners", "create", "com.example.test", "net_int", "--daily-click-cap", "100"}, c...)...)), &p)
	if p.DailyClickCap != 100 {
		t.Fatalf("partners create --daily-click-cap: %+v", p)
	}
	day := app.TestClock.Format(time.DateOnly)
	out := cli(t, append([]string{"report", "com.example.test", "--from", day, "--to", day, "--json"}, c...)...)
	if !strings.Contains(out, `"rows": []`) {
		t.Fatalf("report: %s", out)
	}
	var errOut bytes.Buffer
	err := run(context.Background(), append([]string{"installs", "get", "com.example.test", "no-such-device"}, c...), io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("installs get of an unknown device: %v", err)
	}
}

func TestProjectsCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game"}, c...)...)
	var p touchpoint.Project
	json.Unmarshal([]byte(cli(t, append([]string{"projects", "create", "--name", "Game", "--apps", "com.example.game", "--http-eps", "50"}, c...)...)), &p)
	if p.ID == 0 || len(p.APIKey) != 32 || p.Limits.HTTPEPS != 50 || p.Limits.BatchEPS != 1000 || len(p.Apps) != 1 {
		t.Fatalf("projects create: %+v", p)
	}
	id := fmt.Sprint(p.ID)
	json.Unmarshal([]byte(cli(t, append([]string{"projects", "update", id, "--batch-eps", "10", "--apps", ""}, c...)...)), &p)
	if p.Limits.HTTPEPS != 50 || p.Limits.BatchEPS != 10 || len(p.Apps) != 0 {
		t.Fatalf("projects update: %+v", p)
	}
	body := `{"api_key":"` + p.APIKey + `","events":[{"user_id":"user-1","device_id":"device-1","event_type":"purchase","user_properties":{"plan":"gold"}}]}`
	resp, err := http.Post(srv.URL()+"/2/httpapi", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	var u touchpoint.User
	json.Unmarshal([]byte(cli(t, append([]string{"projects", "user", id, "--user-id", "user-1"}, c...)...)), &u)
	if u.AmplitudeID == 0 || u.Properties["plan"] != "gold" {
		t.Fatalf("projects user: %+v", u)
	}
	if out := cli(t, append([]string{"projects", "events", id, fmt.Sprint(u.AmplitudeID)}, c...)...); !strings.Contains(out, `"event_type": "purchase"`) {
		t.Fatalf("projects events: %s", out)
	}
	if out := cli(t, append([]string{"charts", "segmentation", "--project", id, "--event", "purchase", "--group-by", "plan", "--json"}, c...)...); !strings.Contains(out, `"gold"`) {
		t.Fatalf("charts segmentation: %s", out)
	}
	if out := cli(t, append([]string{"projects", "pending", id}, c...)...); !strings.Contains(out, `"count": 0`) {
		t.Fatalf("projects pending: %s", out)
	}
	if out := cli(t, append([]string{"projects", "list"}, c...)...); !strings.Contains(out, `"api_key_last4": "`+p.APIKey[28:]+`"`) || strings.Contains(out, p.APIKey) {
		t.Fatalf("projects list: %s", out)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"projects", "get", "999"}, c...), &out, &errOut); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("projects get 999: %v", err)
	}
}

// adminTokenOf is the admin token a server keeps in its data dir.
func adminTokenOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
