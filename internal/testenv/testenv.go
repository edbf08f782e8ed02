// Package testenv lets a test that needs something this machine may lack
// (Node and its npm packages, Chromium, PostgreSQL, the right to mount a
// small filesystem) skip loudly when it is missing, and fail instead under
// CI=true, where everything must run.
package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// CI reports whether the tests run under CI (CI set to anything but
// "false"), where nothing may be skipped.
func CI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false"
}

// Skip skips t because what it needs is missing (why says what, and how to
// get it), or fails it under CI. A plain `go test ./...` hides the output
// of a package that passes, so the line is also written where the go
// command writes its own ("--- SKIP: ..." above the package's "ok"), when
// that is a terminal or a pipe.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("cannot run under CI: %s", why)
	}
	announce(fmt.Sprintf("--- SKIP: %s: %s\n", t.Name(), why))
	t.Skip(why)
}

// announce writes line to the standard output of the parent process (the
// go command under go test), on Linux, when it is a terminal or a pipe
// (writing to a regular file the parent did not open for appending would
// overwrite its output).
func announce(line string) {
	ppid := os.Getppid()
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/1", ppid))
	if err != nil {
		return
	}
	path := fmt.Sprintf("/proc/%d/fd/1", ppid)
	target, err := os.Readlink(path)
	if err != nil {
		return
	}
	regular := strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "/dev/")
	if regular && !appending(string(info)) {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line)
}

// appending reports whether an fdinfo says the file was opened O_APPEND.
func appending(fdinfo string) bool {
	for _, l := range strings.Split(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&uint64(os.O_APPEND) != 0
		}
	}
	return false
}
