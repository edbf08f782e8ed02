package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
)

// TestMigrateData runs a server on the embedded store, stops it, copies
// its data dir into PostgreSQL with migrate-data, and runs a server on
// that: the app, its keys and its click are there. A second copy into the
// same database is refused, and so are a missing --to and a wrong URL.
func TestMigrateData(t *testing.T) {
	url := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	const token = "migrate-token"
	srv, _, stop := serve(t, "--data-dir", dir, "--admin-token", token)
	on := func(url string) []string { return []string{"--server", url, "--admin-token", token} }
	var app touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game"},
		on(srv.URL())...)...)), &app)
	cli(t, append([]string{"partners", "create", "com.example.game", "net_int"}, on(srv.URL())...)...)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL() + "/c/com.example.game?pid=net_int&clickid=abc")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("click: %v, %v", resp, err)
	}
	resp.Body.Close()
	touches := cli(t, append([]string{"touches", "list", "com.example.game", "--json"}, on(srv.URL())...)...)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate-data", "--from", dir, "--to", url}, &stdout, &stderr); err != nil {
		t.Fatalf("migrate-data: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{`apps +1 +1`, `partners +1 +1`, `touches +1 +1`, `touch_keys +\d+ +\d+`} {
		if !regexp.MustCompile(`(?m)^` + want + ` +ok$`).MatchString(stdout.String()) {
			t.Errorf("no verification line %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "MISMATCH") {
		t.Errorf("verification:\n%s", stdout.String())
	}
	if !regexp.MustCompile(`(?m)^touches +1 / 1 +\[#+\]`).MatchString(stderr.String()) || strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress (not on a terminal: a plain line per table):\n%s", stderr.String())
	}

	// The server on PostgreSQL has what the embedded one had.
	pg, _, _ := serve(t, "--db", url, "--admin-token", token, "--data-dir", t.TempDir())
	if got := cli(t, append([]string{"touches", "list", "com.example.game", "--json"}, on(pg.URL())...)...); got != touches {
		t.Errorf("touches on PostgreSQL:\n%s\nwant\n%s", got, touches)
	}
	var got touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "get", "com.example.game"}, on(pg.URL())...)...)), &got)
	if got.DevKeyHash != app.DevKeyHash || got.DevKeyLast4 != app.DevKeyLast4 || !got.CreatedAt.Equal(app.CreatedAt) {
		t.Errorf("app on PostgreSQL: %+v, want %+v", got, app)
	}

	// Again into the same database, with the defaults serve reads: refused.
	t.Setenv("TOUCHPOINT_DATA_DIR", dir)
	t.Setenv("TOUCHPOINT_DB", url)
	stdout.Reset()
	err = run(context.Background(), []string{"migrate-data"}, &stdout, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("a second copy: %v", err)
	}
	t.Setenv("TOUCHPOINT_DB", "")
	for args, want := range map[string]string{
		"":                          "give --to",
		"--to mysql://root@h/db":    "want a PostgreSQL URL",
		"--to postgres://h/db junk": "unexpected argument",
	} {
		err := run(context.Background(), append([]string{"migrate-data"}, strings.Fields(args)...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("migrate-data %s: %v, want %q", args, err, want)
		}
	}
}
