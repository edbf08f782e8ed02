package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	out := cli(t, "version")
	if !strings.Contains(out, runtime.Version()) {
		t.Errorf("touchpoint version does not name the Go version %s:\n%s", runtime.Version(), out)
	}
	// A test binary has no module version; unless the test run itself was
	// given -X main.version, the first line says so.
	if version == "" && !strings.HasPrefix(out, "touchpoint (devel)\n") {
		t.Errorf("touchpoint version without -X main.version: want (devel) on the first line:\n%s", out)
	}
}

func TestVersionLinkTime(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3-test"

	out := cli(t, "version")
	if !strings.HasPrefix(out, "touchpoint v1.2.3-test\n") {
		t.Errorf("touchpoint version does not name the -X version v1.2.3-test first:\n%s", out)
	}
	if !strings.Contains(out, runtime.Version()) {
		t.Errorf("touchpoint version does not name the Go version %s:\n%s", runtime.Version(), out)
	}

	var b BuildInfo
	if err := json.Unmarshal([]byte(cli(t, "version", "--json")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Version != "v1.2.3-test" || b.Go != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("touchpoint version --json = %+v", b)
	}
}

func TestVersionBadArgument(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version", "extra"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), `"extra"`) {
		t.Errorf("touchpoint version extra: err %v, want an unexpected argument", err)
	}
	if out.Len() > 0 {
		t.Errorf("touchpoint version extra printed %q", out.String())
	}
}

// TestVersionBuildInfo checks what is read from the build info: the
// module version unless -X gives one, and the commit marked dirty.
func TestVersionBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Main:      debug.Module{Path: "github.com/touchpointhq/touchpoint", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "e84b9ac0123456789"},
			{Key: "vcs.time", Value: "2025-12-03T13:33:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ld   string
		want BuildInfo
	}{
		{"module version", info, "", BuildInfo{Version: "v0.4.0", Commit: "e84b9ac0123456789-dirty", CommitTime: "2025-12-03T13:33:00Z", Go: "go1.99.1"}},
		{"-X wins", info, "v1.0.0", BuildInfo{Version: "v1.0.0", Commit: "e84b9ac0123456789-dirty", CommitTime: "2025-12-03T13:33:00Z", Go: "go1.99.1"}},
		{"clean tree", &debug.BuildInfo{GoVersion: "go1.99.1", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"", BuildInfo{Version: "(devel)", Commit: "abc", Go: "go1.99.1"}},
		{"no build info", nil, "", BuildInfo{Version: "(devel)", Go: runtime.Version()}},
	} {
		got := buildInfoOf(tc.info, tc.ld)
		tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
