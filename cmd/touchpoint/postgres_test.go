package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
)

// TestServeOnPostgres runs two servers over one PostgreSQL database
// (serve --db) and uses them as one: an app and a partner made on one,
// a click on the other, the launch on the first again, events on both;
// the install, the report, the user and a chart are the same on each.
func TestServeOnPostgres(t *testing.T) {
	db := pgtest.FreshDatabase(t)
	const token = "postgres-nodes-token"
	a, _, _ := serve(t, "--db", db, "--admin-token", token, "--data-dir", t.TempDir())
	b, _, _ := serve(t, "--db", db, "--admin-token", token, "--data-dir", t.TempDir())
	on := func(url string) []string { return []string{"--server", url, "--admin-token", token} }

	var app touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "create", "com.example.nodes", "--platform", "android", "--name", "Nodes", "--min-ctit", "0", "--test-mode"}, on(a.URL())...)...)), &app)
	if app.DevKey == "" || app.TestClock == nil {
		t.Fatalf("apps create: %+v", app)
	}
	cli(t, append([]string{"partners", "create", "com.example.nodes", "net_int"}, on(a.URL())...)...)
	var p touchpoint.Project
	json.Unmarshal([]byte(cli(t, append([]string{"projects", "create", "--name", "Nodes", "--apps", "com.example.nodes"}, on(b.URL())...)...)), &p)

	// The other node sees the app and its partner at once (the catalog
	// misses are read through), and records the click.
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	for deadline := time.Now().Add(15 * time.Second); ; {
		r, err := noRedirect.Get(b.URL() + "/c/com.example.nodes?pid=net_int&c=spring&advertising_id=" + gaid)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode == http.StatusFound || time.Now().After(deadline) {
			resp = r
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("click on the second node: %s", resp.Status)
	}
	launch := func(url string) map[string]any {
		req, _ := http.NewRequest("POST", url+"/sdk/v1/apps/com.example.nodes/launches", strings.NewReader(`{"launch_id":"L1","advertising_id":"`+gaid+`"}`))
		req.Header.Set("Authorization", "Bearer "+app.DevKey)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var out map[string]any
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &out)
		if r.StatusCode != 200 {
			t.Fatalf("launch on %s: %d %s", url, r.StatusCode, body)
		}
		return out
	}
	first := launch(a.URL())
	again := launch(b.URL()) // the same first launch (its launch_id), retried on the other node
	if cd, _ := first["conversion_data"].(map[string]any); first["type"] != "install" || cd["media_source"] != "net_int" {
		t.Fatalf("launch: %v", first)
	}
	if again["install_id"] != first["install_id"] {
		t.Fatalf("the retry on the other node decided again: %v, then %v", first, again)
	}

	// Analytics events, half to each node.
	for i, url := range []string{a.URL(), b.URL(), a.URL(), b.URL()} {
		body := fmt.Sprintf(`{"api_key":%q,"events":[{"user_id":"user-%d","device_id":"device-%d","event_type":"open","insert_id":"e%d"}]}`, p.APIKey, i%2, i, i)
		r, err := http.Post(url+"/2/httpapi", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("upload to %s: %s", url, r.Status)
		}
	}

	// Both nodes answer the same.
	day := app.TestClock.Format(time.DateOnly) // the app's clock stands still
	for _, url := range []string{a.URL(), b.URL()} {
		var report struct{ Rows []touchpoint.ReportRow }
		json.Unmarshal([]byte(cli(t, append([]string{"report", "com.example.nodes", "--from", day, "--to", day, "--json"}, on(url)...)...)), &report)
		if len(report.Rows) != 1 || report.Rows[0].Clicks != 1 || report.Rows[0].Installs != 1 {
			t.Errorf("report on %s: %+v", url, report.Rows)
		}
		var chart struct {
			Series []struct{ Total float64 } `json:"series"`
		}
		out := cli(t, append([]string{"charts", "segmentation", "--project", fmt.Sprint(p.ID), "--event", "open", "--json"}, on(url)...)...)
		json.Unmarshal([]byte(out), &chart)
		if len(chart.Series) != 1 || chart.Series[0].Total != 4 {
			t.Errorf("chart on %s: %s", url, out)
		}
	}
}

// TestServeDBFlags: serve refuses a --db it cannot use, before it starts.
func TestServeDBFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", "mysql://root@127.0.0.1/touchpoint", "--admin-token", "x"}, "want a PostgreSQL URL"},
		{[]string{"--db", "postgres://postgres:secret@127.0.0.1/touchpoint"}, "give --admin-token"},
	} {
		cmd := &ServeCommand{Stdout: io.Discard, Stderr: &bytes.Buffer{}}
		err := cmd.Run(context.Background(), append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("serve %v: the error shows the password: %v", tc.args, err)
		}
	}
}
