package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release's version, set at link time by
// -ldflags "-X main.version=v1.2.3" (the Makefile's release builds do).
// Empty, the main module's version from the build info is printed.
var version string

// BuildInfo is what "touchpoint version" prints.
type BuildInfo struct {
	Version    string `json:"version"`               // -X main.version, else the main module's version, else "(devel)"
	Commit     string `json:"commit,omitempty"`      // vcs.revision, "-dirty" when the tree had changes
	CommitTime string `json:"commit_time,omitempty"` // vcs.time (RFC 3339)
	Go         string `json:"go"`                    // the Go it was built with
	Platform   string `json:"platform"`              // GOOS/GOARCH
}

// readBuildInfo is the running binary's BuildInfo.
func readBuildInfo() BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return buildInfoOf(info, version)
}

// buildInfoOf is the BuildInfo of info (nil when the binary has none)
// and the link-time version ldVersion.
func buildInfoOf(info *debug.BuildInfo, ldVersion string) BuildInfo {
	b := BuildInfo{Version: ldVersion, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info == nil {
		if b.Version == "" {
			b.Version = "(devel)"
		}
		return b
	}
	if b.Version == "" {
		b.Version = info.Main.Version
	}
	if b.Version == "" {
		// Test binaries and go run leave the main module's version empty.
		b.Version = "(devel)"
	}
	if info.GoVersion != "" {
		b.Go = info.GoVersion
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if b.Commit != "" && dirty {
		b.Commit += "-dirty"
	}
	return b
}

// runVersion is "touchpoint version": the version, the commit it was
// built from and the Go it was built with; --json prints them as an object.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr, "[--json]")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version: unexpected argument %q", fs.Arg(0))
	}
	b := readBuildInfo()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	fmt.Fprintf(stdout, "touchpoint %s\n", b.Version)
	if b.Commit != "" {
		fmt.Fprintf(stdout, "commit     %s", b.Commit)
		if b.CommitTime != "" {
			fmt.Fprintf(stdout, " (%s)", b.CommitTime)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "go         %s %s\n", b.Go, b.Platform)
	return nil
}
