package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "touchpoint.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A flag wins over its variable, which wins over the config file, which
// wins over the default; every type of flag takes its value from the file.
func TestServeConfigFilePrecedence(t *testing.T) {
	path := writeConfig(t, `# a comment
addr: 127.0.0.1:9100
data-dir: /srv/touchpoint
max-conns: 100
max-decoding-bytes: 1048576
access-log: true
idle-timeout: 45s
delivery-retention: 0
trusted-proxies:
  - 10.0.0.0/8
  - 192.0.2.7
log-level: warn
`)
	t.Setenv("TOUCHPOINT_MAX_CONNS", "200")
	t.Setenv("TOUCHPOINT_LOG_LEVEL", "error")
	cmd := &ServeCommand{Stderr: io.Discard}
	if err := cmd.ParseFlags([]string{"--config", path, "--addr", "127.0.0.1:9200", "--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	got := cmd.Config
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"addr (flag over file)", got.Addr, "127.0.0.1:9200"},
		{"log-level (flag over variable and file)", got.LogLevel, "debug"},
		{"max-conns (variable over file)", got.MaxConns, 200},
		{"data-dir (file)", got.DataDir, "/srv/touchpoint"},
		{"max-decoding-bytes (file)", got.MaxDecodingBytes, int64(1048576)},
		{"access-log (file)", got.AccessLog, true},
		{"idle-timeout (file)", got.IdleTimeout, 45 * time.Second},
		{"delivery-retention (file)", got.DeliveryRetention, time.Duration(0)},
		{"trusted-proxies (file, a list)", got.TrustedProxies, "10.0.0.0/8,192.0.2.7"},
		{"shutdown-grace (default)", got.ShutdownGrace, DefaultServeConfig().ShutdownGrace},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}

	// TOUCHPOINT_CONFIG names the file as --config does; a comma-separated
	// string does for a list.
	os.Unsetenv("TOUCHPOINT_MAX_CONNS") // t.Setenv above restores it
	t.Setenv("TOUCHPOINT_CONFIG", writeConfig(t, "max-conns: 300\ntrusted-proxies: 10.0.0.1, 10.0.0.2\n"))
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.MaxConns != 300 || cmd.Config.TrustedProxies != "10.0.0.1, 10.0.0.2" {
		t.Fatalf("TOUCHPOINT_CONFIG: %v %+v", err, cmd.Config)
	}
	// A variable set empty is given: it empties what the file sets.
	t.Setenv("TOUCHPOINT_TRUSTED_PROXIES", "")
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.TrustedProxies != "" {
		t.Fatalf("TOUCHPOINT_TRUSTED_PROXIES empty over the file's list: %v %q", err, cmd.Config.TrustedProxies)
	}
	os.Unsetenv("TOUCHPOINT_TRUSTED_PROXIES")
	// An empty file, or one of comments, sets nothing.
	for _, empty := range []string{"", "# nothing yet\n"} {
		t.Setenv("TOUCHPOINT_CONFIG", writeConfig(t, empty))
		if err := cmd.ParseFlags(nil); err != nil || cmd.Config.MaxConns != DefaultServeConfig().MaxConns {
			t.Fatalf("config %q: %v %+v", empty, err, cmd.Config)
		}
	}
}

// Errors in a config file name the file, the line and the key.
func TestServeConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want string // after "PATH:"
	}{
		{"addr: :8080\ndata-dri: /srv\n", `2: unknown key "data-dri"; did you mean "data-dir"?`},
		{"data_dir: /srv\n", `1: unknown key "data_dir"; did you mean "data-dir"?`},
		{"colour: blue\n", `1: unknown key "colour"`},
		{"addr: :8080\n\nmax-conns: lots\n", `3: max-conns: "lots" is not a whole number`},
		{"idle-timeout: 30\n", `1: idle-timeout: "30" is not a duration such as 30s, 5m or 720h`},
		{"access-log: yes please\n", `1: access-log: "yes please" is not true or false`},
		{"addr:\n  - :8080\n", `2: addr: takes one value, not a list`},
		{"addr:\n  host: x\n", `2: addr: takes one value, not a mapping`},
		{"admin-token:\n", `1: admin-token: no value`},
		{"addr: :1\naddr: :2\n", `2: addr: set twice (first on line 1)`},
		{"config: other.yaml\n", `1: config: a config file cannot name another`},
		{"- addr\n", `1: want a mapping of flag names to values`},
		{"addr: :1\n---\naddr: :2\n", `2: one YAML document expected, found another`},
		{"addr: [\n", `1: did not find expected node content`}, // YAML's own message
	} {
		path := writeConfig(t, tc.yaml)
		cmd := &ServeCommand{Stderr: io.Discard}
		err := cmd.ParseFlags([]string{"--config", path})
		if err == nil || !strings.HasPrefix(err.Error(), path+":") || !strings.Contains(err.Error(), path+":"+tc.want) {
			t.Errorf("config %q: %v, want %s:%s", tc.yaml, err, path, tc.want)
		}
	}
	cmd := &ServeCommand{Stderr: io.Discard}
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if err := cmd.ParseFlags([]string{"--config", missing}); err == nil || !strings.Contains(err.Error(), "--config: open "+missing) {
		t.Errorf("a missing config file: %v", err)
	}
}

// A value the flag takes but serve refuses is placed in the file too.
func TestServeConfigFileRefusedValue(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"addr: 127.0.0.1:0\nlog-level: loud\n", `:2: --log-level "loud": want debug, info, warn or error`},
		{"trusted-proxies: [10.0.0.1, not-an-ip]\n", `:1: --trusted-proxies: "not-an-ip" is not an address or CIDR`},
	} {
		path := writeConfig(t, tc.yaml)
		cmd := &ServeCommand{Stdout: io.Discard, Stderr: io.Discard}
		err := cmd.Run(context.Background(), []string{"--config", path, "--data-dir", t.TempDir()})
		if err == nil || err.Error() != path+tc.want {
			t.Errorf("config %q: %v, want %s%s", tc.yaml, err, path, tc.want)
		}
	}
	// Given as a flag, the same value's error is the flag's alone.
	cmd := &ServeCommand{Stdout: io.Discard, Stderr: io.Discard}
	path := writeConfig(t, "log-level: loud\n")
	if err := cmd.Run(context.Background(), []string{"--config", path, "--log-level", "louder"}); err == nil || !strings.HasPrefix(err.Error(), `--log-level "louder"`) {
		t.Errorf("--log-level louder over a config file: %v", err)
	}
}

// A server runs from a config file: its data dir and admin token.
func TestServeFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, "data-dir: "+dir+"\nadmin-token: from-the-config-file\nlog-level: warn\n")
	srv, stdout, _ := serve(t, "--config", path)
	if strings.Contains(stdout.String(), "Generated an admin token") {
		t.Errorf("serve generated a token despite the config file's:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "touchpoint.db")); err != nil {
		t.Errorf("the config file's data dir holds no database: %v", err)
	}
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer from-the-config-file")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the config file's admin token: %s", resp.Status)
	}
}

// serveFlag is a flag of serve as its help shows it.
type serveFlag struct{ name, env, usage, def string }

// serveFlags are serve's flags, read from serve -h.
func serveFlags(t *testing.T) []serveFlag {
	t.Helper()
	var help bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: %v", err)
	}
	var flags []serveFlag
	re := regexp.MustCompile(`(?m)^  --([a-z0-9-]+) \((TOUCHPOINT_[A-Z0-9_]+)\)\n    \t(.*?)(?: \(default "(.*)"\))?$`)
	for _, m := range re.FindAllStringSubmatch(help.String(), -1) {
		flags = append(flags, serveFlag{m[1], m[2], m[3], m[4]})
	}
	if n := strings.Count(help.String(), "\n  --"); len(flags) != n || n < 20 {
		t.Fatalf("read %d of the %d flags of serve -h:\n%s", len(flags), n, help.String())
	}
	return flags
}

// The flags that take a comma-separated list take a YAML list in a config
// file (listFlags): every one of them.
func TestConfigListFlags(t *testing.T) {
	lists := map[string]bool{}
	for _, f := range serveFlags(t) {
		if strings.Contains(f.usage, "comma-separated") {
			lists[f.name] = true
		}
	}
	if !maps.Equal(lists, listFlags) {
		t.Errorf("serve's comma-separated flags are %v, listFlags %v", lists, listFlags)
	}
}

// docs/configuration.md has a row for every flag of serve, naming its
// variable, its config key and its default, and none for a flag serve
// does not have.
func TestConfigurationDocComplete(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if m := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	for _, f := range serveFlags(t) {
		row, ok := rows[f.name]
		if !ok {
			t.Errorf("docs/configuration.md has no row for --%s", f.name)
			continue
		}
		delete(rows, f.name)
		if f.name != configFlag && !strings.Contains(row, "`"+f.name+":`") {
			t.Errorf("docs/configuration.md: the row of --%s does not name its config key `%s:`", f.name, f.name)
		}
		if !strings.Contains(row, "`"+f.env+"`") {
			t.Errorf("docs/configuration.md: the row of --%s does not name `%s`", f.name, f.env)
		}
		if f.def != "" && !strings.Contains(row, "`"+f.def+"`") {
			t.Errorf("docs/configuration.md: the row of --%s does not give its default `%s`", f.name, f.def)
		}
	}
	for name := range rows {
		t.Errorf("docs/configuration.md documents --%s, which serve does not have", name)
	}
}

// The example files are configurations serve takes: deploy/touchpoint.yaml
// and the example in docs/configuration.md.
func TestConfigExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]string{}
	for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		examples["docs/configuration.md example "+string(rune('1'+i))] = m[1]
	}
	if len(examples) == 0 {
		t.Fatal("docs/configuration.md has no yaml example")
	}
	deploy, err := os.ReadFile("../../deploy/touchpoint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples["deploy/touchpoint.yaml"] = string(deploy)
	for name, yaml := range examples {
		cmd := &ServeCommand{Stderr: io.Discard}
		if err := cmd.ParseFlags([]string{"--config", writeConfig(t, yaml)}); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if len(cmd.Config.fromFile) == 0 {
			t.Errorf("%s sets nothing", name)
		}
	}
}
