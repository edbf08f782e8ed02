package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIJSONNotHTMLEscaped: what the CLI prints, the server's answer as
// it is or a --field of it, has a template's & < > as they are.
func TestCLIJSONNotHTMLEscaped(t *testing.T) {
	dir := t.TempDir()
	srv, _, stop := serve(t, "--data-dir", dir)
	defer stop()
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	cli(t, append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game & Co"}, c...)...)
	tpl := "https://pb.example.net/i?c=(clickid)&gaid=(advertiserId)&note=<a>"
	// In order: the partner is created first.
	for _, step := range []struct {
		name string
		args []string
	}{
		{"partners create", []string{"partners", "create", "com.example.game", "net_int", "--install-postback", tpl}},
		{"partners get", []string{"partners", "get", "com.example.game", "net_int"}},
		{"partners get --field", []string{"partners", "get", "com.example.game", "net_int", "--field", "postbacks"}},
		{"apps get --field (a str)", []string{"apps", "get", "com.example.game", "--field", "name"}},
	} {
		name := step.name
		out := cli(t, append(step.args, c...)...)
		for _, esc := range []string{`\u0026`, `\u003c`, `\u003e`} {
			if strings.Contains(out, esc) {
				t.Errorf("%s prints %s: %s", name, esc, out)
			}
		}
		want := tpl
		if name == "apps get --field (a str)" {
			want = "Game & Co"
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s: %q is not in its output as it is: %s", name, want, out)
		}
	}
}

// TestServeLogFormat: --log-format json writes a JSON object a line; text,
// the default, key=value lines; anything else is refused, by flag or by
// TOUCHPOINT_LOG_FORMAT.
func TestServeLogFormat(t *testing.T) {
	var log bytes.Buffer
	_, _, stop := serveLog(t, &log, "--data-dir", t.TempDir(), "--log-level", "info", "--log-format", "json")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Level == "" || rec.Msg == "" {
			t.Fatalf("not a JSON log line (%v): %s", err, line)
		}
		msgs = append(msgs, rec.Msg)
	}
	if !strings.Contains(strings.Join(msgs, "|"), "touchpoint serving|shutting down") {
		t.Errorf("--log-format json: messages %q", msgs)
	}

	log.Reset()
	_, _, stop = serveLog(t, &log, "--data-dir", t.TempDir(), "--log-level", "info")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(log.String(), "time=") || !strings.Contains(log.String(), ` level=INFO msg="touchpoint serving" `) {
		t.Errorf("the default is not text: %s", log.String())
	}

	for _, tc := range []struct{ args, env []string }{
		{args: []string{"--log-format", "xml"}},
		{env: []string{"TOUCHPOINT_LOG_FORMAT", "JSON lines"}},
	} {
		if tc.env != nil {
			t.Setenv(tc.env[0], tc.env[1])
		}
		dir := t.TempDir()
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, tc.args...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--log-format") || !strings.Contains(err.Error(), "want text or json") {
			t.Errorf("%v %v: %v, want an error naming --log-format and its choices", tc.args, tc.env, err)
		}
	}
	// By the variable, json too.
	t.Setenv("TOUCHPOINT_LOG_FORMAT", "json")
	log.Reset()
	_, _, stop = serveLog(t, &log, "--data-dir", t.TempDir(), "--log-level", "info")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(log.String(), `{"time":`) {
		t.Errorf("TOUCHPOINT_LOG_FORMAT=json: %s", log.String())
	}
}
