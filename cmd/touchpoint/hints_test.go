package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"serve", "serve", 0},
		{"sevre", "serve", 2}, {"adress", "addr", 4}, {"adress", "address", 1},
		{"kitten", "sitting", 3}, {"migratedata", "migrate-data", 1}, {"héllo", "hello", 1},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := levenshtein(tc.b, tc.a); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		typed string
		want  string
	}{
		{"sevre", "serve"},
		{"Serve", "serve"},
		{"cohort", "cohorts"},
		{"migratedata", "migrate-data"},
		{"vesion", "version"},
		{"xyzzy", ""},
		{"ap", ""}, // a short word gets 1 edit at most: "apps" is 2 away
		{"aps", "apps"},
		{"zz", ""},
		{"", ""},
	} {
		if got := closest(tc.typed, commands); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

// An unknown verb is answered with the nearest one, and the usage only
// when there is none.
func TestUnknownCommandSuggestion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"sevre"}, &stdout, &stderr)
	if err == nil || err.Error() != `unknown command "sevre"; did you mean "serve"?` {
		t.Fatalf("touchpoint sevre: %v", err)
	}
	if stderr.Len() != 0 || stdout.Len() != 0 {
		t.Errorf("touchpoint sevre printed %q %q besides the suggestion", stdout.String(), stderr.String())
	}
	stderr.Reset()
	err = run(context.Background(), []string{"migratedata"}, &stdout, &stderr)
	if err == nil || err.Error() != `unknown command "migratedata"; did you mean "migrate-data"?` {
		t.Fatalf("touchpoint migratedata: %v", err)
	}
	stderr.Reset()
	err = run(context.Background(), []string{"xyzzy"}, &stdout, &stderr)
	if err == nil || err.Error() != `unknown command "xyzzy"` {
		t.Fatalf("touchpoint xyzzy: %v", err)
	}
	if !strings.Contains(stderr.String(), "Usage:") {
		t.Errorf("touchpoint xyzzy: no usage on stderr: %q", stderr.String())
	}
	// Every verb of the switch is a candidate, and only those.
	for _, c := range commands {
		if c == "help" || c == "serve" || c == "demo" {
			continue // help prints the usage; serve and demo would start a server
		}
		err := run(context.Background(), []string{c}, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%q is in commands but run does not know it", c)
		}
	}
}

// Flag errors of every command go through parseFlags: two dashes, and the
// nearest flag of that command for an unknown one.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want      string
		withUsage bool // the usage is printed on stderr too
	}{
		{[]string{"serve", "--adress", "127.0.0.1:0"}, "unknown flag --adress; did you mean --addr?", false},
		{[]string{"serve", "--address", "127.0.0.1:0"}, "unknown flag --address; did you mean --addr?", false},
		{[]string{"serve", "--data-dri", "x"}, "unknown flag --data-dri; did you mean --data-dir?", false},
		{[]string{"serve", "--data-directroy", "x"}, "unknown flag --data-directroy; did you mean --data-dir?", false},
		{[]string{"apps", "list", "--sever", "http://127.0.0.1:1"}, "unknown flag --sever; did you mean --server?", false},
		{[]string{"apps", "list", "--admin-tokne=x"}, "unknown flag --admin-tokne; did you mean --admin-token?", false},
		{[]string{"links", "sign", "-secert", "s", "http://x"}, "unknown flag --secert; did you mean --secret?", false},
		{[]string{"apps", "create", "com.example.game", "--plaform", "android"}, "unknown flag --plaform; did you mean --platform?", false},
		{[]string{"apps", "list", "--zzzzzz"}, "unknown flag --zzzzzz", true},
		// The bench flag sets keep the flag package's default usage.
		{[]string{"bench", "seed", "--touchez", "1"}, "unknown flag --touchez; did you mean --touches?", false},
		{[]string{"bench", "seed", "--zzzzzz"}, "unknown flag --zzzzzz", true},
		{[]string{"apps", "list", "--server"}, "flag needs an argument: --server", true},
		{[]string{"partners", "secrets", "create", "a", "b", "--ttl-hours", "x"}, `invalid value "x" for flag --ttl-hours: parse error`, true},
		{[]string{"apps", "create", "--test-mode=maybe"}, `invalid boolean value "maybe" for --test-mode: parse error`, true},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr)
		if err == nil || err.Error() != tc.want {
			t.Errorf("touchpoint %s: error %v, want %q", strings.Join(tc.args, " "), err, tc.want)
			continue
		}
		if got := strings.Contains(stderr.String(), "Usage"); got != tc.withUsage {
			t.Errorf("touchpoint %s: usage printed %v, want %v: %q", strings.Join(tc.args, " "), got, tc.withUsage, stderr.String())
		}
		if strings.Contains(stderr.String(), "flag provided but not defined") {
			t.Errorf("touchpoint %s: the flag package's own message leaked: %q", strings.Join(tc.args, " "), stderr.String())
		}
	}
	// -h still prints the usage and is no error to report.
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"apps", "list", "-h"}, &bytes.Buffer{}, &stderr); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(stderr.String(), "--server (TOUCHPOINT_SERVER)") {
		t.Fatalf("apps list -h: %v %q", err, stderr.String())
	}
}

// A server that is not running: the error says which URL was tried and
// how to fix it.
func TestServerUnreachableHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	err = run(context.Background(), []string{"apps", "list", "--server", url + "/", "--admin-token", "tok"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("no error from a server that is not running")
	}
	for _, want := range []string{"cannot reach the Touchpoint server at " + url + " ", "GET /api/v1/apps", "connection refused", `"touchpoint serve"`, "--server", "TOUCHPOINT_SERVER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// No admin token anywhere: the error names the file the CLI looked for and
// the flags and variable that give the token.
func TestMissingTokenHint(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	empty := t.TempDir()
	hint := func(t *testing.T, err error, path string) {
		t.Helper()
		if err == nil {
			t.Fatal("no error without a token")
		}
		for _, want := range []string{path, "--data-dir", "--admin-token", "TOUCHPOINT_ADMIN_TOKEN"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
	err := run(context.Background(), []string{"apps", "list", "--server", srv.URL(), "--data-dir", empty}, &bytes.Buffer{}, &bytes.Buffer{})
	hint(t, err, filepath.Join(empty, "admin-token"))

	// Without --data-dir the CLI looks in ./data.
	t.Chdir(empty)
	err = run(context.Background(), []string{"apps", "list", "--server", srv.URL()}, &bytes.Buffer{}, &bytes.Buffer{})
	hint(t, err, filepath.Join(empty, "data", "admin-token"))

	// A wrong token is the server's message, not the hint.
	err = run(context.Background(), []string{"apps", "list", "--server", srv.URL(), "--admin-token", "wrong"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "missing or wrong admin token") || strings.Contains(err.Error(), "TOUCHPOINT_ADMIN_TOKEN") {
		t.Fatalf("wrong token: %v", err)
	}
	// --admin-token wins over a --data-dir without a token file, in either order.
	tok := adminTokenOf(t, dir)
	cli(t, "apps", "list", "--server", srv.URL(), "--data-dir", empty, "--admin-token", tok)
	cli(t, "apps", "list", "--server", srv.URL(), "--admin-token", tok, "--data-dir", empty)
	t.Setenv("TOUCHPOINT_ADMIN_TOKEN", tok)
	cli(t, "apps", "list", "--server", srv.URL(), "--data-dir", empty)
}

// links test of a link that does not verify prints the answer and fails:
// the real binary exits 1.
func TestLinksTestFailureExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game"}, c...)...)
	cli(t, append([]string{"partners", "create", "com.example.game", "net_int"}, c...)...)
	cli(t, append([]string{"partners", "secrets", "create", "com.example.game", "net_int"}, c...)...)
	cli(t, append([]string{"partners", "update", "com.example.game", "net_int", "--click-signing", "enabled"}, c...)...)
	link := strings.TrimSpace(cli(t, "links", "build", "--base", srv.URL(), "com.example.game", "net_int"))
	forged := strings.TrimSpace(cli(t, "links", "sign", "--secret", "not-the-partner-secret", link))

	var stdout bytes.Buffer
	err := run(context.Background(), append([]string{"links", "test", forged}, c...), &stdout, &bytes.Buffer{})
	if err == nil || err.Error() != "links test: the link did not verify (invalid_signature)" {
		t.Fatalf("links test of a forged link: %v", err)
	}
	if !strings.Contains(stdout.String(), `"failed"`) || !strings.Contains(stdout.String(), `"invalid_signature"`) {
		t.Fatalf("links test did not print the answer: %q", stdout.String())
	}
	stdout.Reset()
	err = run(context.Background(), append([]string{"links", "test", link, "--field", "reason"}, c...), &stdout, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "did not verify (missing_signature)") || stdout.String() != "missing_signature\n" {
		t.Fatalf("links test --field reason of an unsigned link: %v %q", err, stdout.String())
	}

	// The exit status of the real binary (this test binary, as main; see
	// TestSIGTERM).
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERM$")
	cmd.Env = append(os.Environ(), "TOUCHPOINT_TEST_MAIN=links test "+forged+" "+strings.Join(c, " "))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `"failed"`) || !strings.Contains(errOut.String(), "touchpoint: links test: the link did not verify (invalid_signature)") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}
