package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeAccessLog: --access-log (or TOUCHPOINT_ACCESS_LOG) logs each
// HTTP request at INFO, without its query string; off by default.
func TestServeAccessLog(t *testing.T) {
	cmd := &ServeCommand{Stderr: io.Discard}
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.AccessLog {
		t.Errorf("default --access-log: %v %v, want off", cmd.Config.AccessLog, err)
	}
	t.Setenv("TOUCHPOINT_ACCESS_LOG", "true")
	if err := cmd.ParseFlags(nil); err != nil || !cmd.Config.AccessLog {
		t.Errorf("TOUCHPOINT_ACCESS_LOG=true: %v %v, want on", cmd.Config.AccessLog, err)
	}
	t.Setenv("TOUCHPOINT_ACCESS_LOG", "false") // the flag alone, below

	for _, on := range []bool{true, false} {
		log := &bytes.Buffer{}
		args := []string{"--data-dir", t.TempDir(), "--log-level", "info"}
		if on {
			args = append(args, "--access-log")
		}
		srv, _, stop := serveLog(t, log, args...)
		resp, err := http.Get(srv.URL() + "/healthz?token=secret-token")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, `msg="http request"`) {
				lines = append(lines, l)
			}
		}
		switch {
		case !on && len(lines) != 0:
			t.Errorf("without --access-log: %q, want no request lines", lines)
		case on && (len(lines) != 1 || !strings.Contains(lines[0], "http.method=GET http.path=/healthz http.status=200") ||
			strings.Contains(lines[0], "secret-token")):
			t.Errorf("with --access-log: %q, want one line for GET /healthz, without the query", lines)
		}
	}
}
