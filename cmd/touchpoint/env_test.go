package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// Only the global flags of a client command (--server, --admin-token,
// --data-dir) read the environment: a TOUCHPOINT_NAME or TOUCHPOINT_PLATFORM
// left in a shell changes nothing a command sends.
func TestEnvironmentOnlyGlobalFlags(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	token := adminTokenOf(t, dir)
	t.Setenv("TOUCHPOINT_SERVER", srv.URL())
	t.Setenv("TOUCHPOINT_ADMIN_TOKEN", token)
	for k, v := range map[string]string{"NAME": "Wrong", "PLATFORM": "ios", "MIN_CTIT": "99", "TEST_MODE": "true",
		"FIELD": "app_id", "CLICK_LOOKBACK": "1d", "JSON": "banana"} {
		t.Setenv("TOUCHPOINT_"+k, v)
	}

	// No --server, no --admin-token: both come from the environment; the
	// command's own flags do not.
	if err := cliFail(t, "apps", "create", "com.example.env", "--platform", "android"); !strings.Contains(err.Error(), "name is required") {
		t.Fatalf("apps create without --name, TOUCHPOINT_NAME set: %v", err)
	}
	var app touchpoint.App
	cliJSON(t, &app, "apps", "create", "com.example.env", "--platform", "android", "--name", "Game")
	if app.ID != "com.example.env" || app.Name != "Game" || app.Platform != "android" || app.MinCTIT != 10 || app.TestMode {
		t.Fatalf("apps create took a command flag from the environment: %+v", app)
	}
	cliJSON(t, &app, "apps", "get", "com.example.env")
	if app.Name != "Game" || app.Windows.ClickLookback != touchpoint.DefaultClickLookback {
		t.Fatalf("apps get: %+v", app)
	}
	// --field from the environment would have printed just the app id.
	if out := cli(t, "apps", "list"); !strings.HasPrefix(out, "{") {
		t.Fatalf("apps list with TOUCHPOINT_FIELD set: %q", out)
	}
	// A command with no global flags reads nothing: a TOUCHPOINT_JSON that
	// is no boolean is no error.
	if err := run(context.Background(), []string{"version"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("version with TOUCHPOINT_JSON=banana: %v", err)
	}

	// TOUCHPOINT_DATA_DIR gives the token file when no token is given.
	t.Setenv("TOUCHPOINT_ADMIN_TOKEN", "")
	t.Setenv("TOUCHPOINT_DATA_DIR", dir)
	cli(t, "apps", "get", "com.example.env")
	t.Setenv("TOUCHPOINT_DATA_DIR", t.TempDir())
	if err := cliFail(t, "apps", "get", "com.example.env"); !strings.Contains(err.Error(), "TOUCHPOINT_ADMIN_TOKEN") {
		t.Fatalf("a TOUCHPOINT_DATA_DIR without a token file: %v", err)
	}

	// The help names the variables of the flags that read one, only those.
	var help bytes.Buffer
	if err := run(context.Background(), []string{"apps", "create", "-h"}, &bytes.Buffer{}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("apps create -h: %v", err)
	}
	for _, want := range []string{"--server (TOUCHPOINT_SERVER)", "--admin-token (TOUCHPOINT_ADMIN_TOKEN)", "--data-dir (TOUCHPOINT_DATA_DIR)", "--name\n"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("apps create -h does not say %q:\n%s", want, help.String())
		}
	}
	for _, unwanted := range []string{"TOUCHPOINT_NAME", "TOUCHPOINT_PLATFORM", "TOUCHPOINT_FIELD"} {
		if strings.Contains(help.String(), unwanted) {
			t.Errorf("apps create -h names %s:\n%s", unwanted, help.String())
		}
	}
	help.Reset()
	run(context.Background(), []string{"version", "-h"}, &bytes.Buffer{}, &help)
	if strings.Contains(help.String(), "TOUCHPOINT_") {
		t.Errorf("version -h names a variable:\n%s", help.String())
	}
}

// Every flag of serve reads its variable, and the command line wins.
func TestServeFlagsFromEnvironment(t *testing.T) {
	t.Setenv("TOUCHPOINT_ADDR", "127.0.0.1:18080")
	t.Setenv("TOUCHPOINT_MAX_CONNS", "77")
	cmd := &ServeCommand{Stderr: io.Discard}
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.Addr != "127.0.0.1:18080" || cmd.Config.MaxConns != 77 {
		t.Fatalf("TOUCHPOINT_ADDR, TOUCHPOINT_MAX_CONNS: %v %+v", err, cmd.Config)
	}
	if err := cmd.ParseFlags([]string{"--addr", "127.0.0.1:0"}); err != nil || cmd.Config.Addr != "127.0.0.1:0" {
		t.Fatalf("--addr over TOUCHPOINT_ADDR: %v %q", err, cmd.Config.Addr)
	}
}

// A flag named like a global one but outside a client command (a bench's
// scratch --data-dir, its loopback --server) does not read the variable.
func TestReadsEnv(t *testing.T) {
	client := newFlagSet("apps create", io.Discard, "")
	clientFlags(client)
	client.String("name", "", "")
	bench := flag.NewFlagSet("bench seed", flag.ContinueOnError)
	bench.String("data-dir", "bench-data", "")
	bench.String("db", "", "")
	serveFS := newFlagSet("serve", io.Discard, "")
	serveFS.String("access-log", "", "")
	for _, tc := range []struct {
		fs   *flag.FlagSet
		name string
		want bool
	}{
		{client, "server", true}, {client, "admin-token", true}, {client, "data-dir", true},
		{client, "field", false}, {client, "name", false},
		{bench, "data-dir", false}, {bench, "db", false},
		{serveFS, "access-log", true},
	} {
		if got := readsEnv(tc.fs, tc.name); got != tc.want {
			t.Errorf("readsEnv(%s, --%s) = %v, want %v", tc.fs.Name(), tc.name, got, tc.want)
		}
	}
	t.Setenv("TOUCHPOINT_DATA_DIR", "/not/the/bench/store")
	if err := parseFlags(bench, nil); err != nil || bench.Lookup("data-dir").Value.String() != "bench-data" {
		t.Fatalf("bench seed --data-dir with TOUCHPOINT_DATA_DIR set: %v %s", err, bench.Lookup("data-dir").Value)
	}
}
