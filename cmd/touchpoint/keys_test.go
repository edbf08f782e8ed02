package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// cliErr runs a client command line and returns its output, its stderr
// and its error.
func cliErr(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestKeysCLI: the CLI prints a key where it is made (create, rotate-key)
// and says it is shown once; get shows only its last four characters.
func TestKeysCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	var keys map[string]any
	decode := func(what, out string) {
		t.Helper()
		keys = nil
		if err := json.Unmarshal([]byte(out), &keys); err != nil {
			t.Fatalf("%s: %v in %s", what, err, out)
		}
	}

	out, stderr, err := cliErr(append([]string{"apps", "create", "com.example.game", "--platform", "android", "--name", "Game"}, c...)...)
	if err != nil {
		t.Fatal(err)
	}
	decode("apps create", out)
	devKey, _ := keys["dev_key"].(string)
	if len(devKey) != 22 || keys["api_token"] == nil || !strings.Contains(stderr, "shown only in this answer") {
		t.Fatalf("apps create: %s\nstderr: %s", out, stderr)
	}
	decode("apps get", cli(t, append([]string{"apps", "get", "com.example.game"}, c...)...))
	if _, shown := keys["dev_key"]; shown || keys["dev_key_last4"] != devKey[18:] {
		t.Fatalf("apps get shows %v", keys)
	}
	out, stderr, err = cliErr(append([]string{"apps", "rotate-key", "--key", "dev_key", "com.example.game"}, c...)...)
	if err != nil {
		t.Fatal(err)
	}
	decode("apps rotate-key", out)
	if k, _ := keys["dev_key"].(string); len(k) != 22 || k == devKey || !strings.Contains(stderr, "shown only in this answer") {
		t.Fatalf("apps rotate-key: %s\nstderr: %s", out, stderr)
	}
	if _, _, err := cliErr(append([]string{"apps", "rotate-key", "--key", "api_key", "com.example.game"}, c...)...); err == nil ||
		!strings.Contains(err.Error(), "an app's keys are dev_key and api_token") {
		t.Fatalf("apps rotate-key --key api_key: %v", err)
	}

	out, stderr, err = cliErr(append([]string{"projects", "create", "--name", "Game", "--apps", "com.example.game"}, c...)...)
	if err != nil {
		t.Fatal(err)
	}
	decode("projects create", out)
	secret, _ := keys["secret_key"].(string)
	if len(secret) != 32 || keys["api_key"] == nil || !strings.Contains(stderr, "shown only in this answer") {
		t.Fatalf("projects create: %s\nstderr: %s", out, stderr)
	}
	decode("projects rotate-key", cli(t, append([]string{"projects", "rotate-key", "--key", "secret_key", "1"}, c...)...))
	if k, _ := keys["secret_key"].(string); len(k) != 32 || k == secret || keys["api_key"] != nil {
		t.Fatalf("projects rotate-key: %v", keys)
	}
	decode("projects get", cli(t, append([]string{"projects", "get", "1"}, c...)...))
	if _, shown := keys["secret_key"]; shown || keys["secret_key_last4"] == secret[28:] {
		t.Fatalf("projects get after rotation: %v", keys)
	}
	if _, _, err := cliErr(append([]string{"projects", "rotate-key", "1"}, c...)...); err == nil ||
		!strings.Contains(err.Error(), "a project's keys are api_key and secret_key") {
		t.Fatalf("projects rotate-key without --key: %v", err)
	}
}
