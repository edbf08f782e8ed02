package main

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/httpapi"
)

// serveLogging is serve with the server's log kept: stop returns Run's
// error and the log (read only once the server stopped).
func serveLogging(t *testing.T, args ...string) (*httpapi.Server, func() (string, error)) {
	t.Helper()
	var log bytes.Buffer
	srv, _, stop := serveLog(t, &log, args...)
	return srv, func() (string, error) {
		err := stop()
		return log.String(), err
	}
}

// dataModes returns the mode of everything in dir, dir itself as ".".
func dataModes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	modes := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone meanwhile
		} else if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		modes[rel] = fi.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return modes
}

// checkDataModes fails unless every directory is 0700 and every file
// 0600, and the files named exist.
func checkDataModes(t *testing.T, when string, modes map[string]fs.FileMode, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := modes[n]; !ok {
			t.Errorf("%s: %s does not exist (%v)", when, n, modes)
		}
	}
	for name, mode := range modes {
		want := fs.FileMode(0o600)
		if name == "." || name == "touchpoint.db.journal" {
			want = 0o700
		}
		if mode != want {
			t.Errorf("%s: %s is %v, want %v", when, name, mode, want)
		}
	}
}

// TestDataDirModes: serve makes its data dir its owner's alone (0700, every
// file 0600, the WAL and shared memory SQLite creates too), and tightens
// a data dir an older version made readable by others, logging it.
func TestDataDirModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: Windows has no Unix file modes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	srv, stop := serveLogging(t, "--data-dir", dir)
	cli(t, "apps", "create", "com.example.game", "--platform", "android", "--name", "Game", "--server", srv.URL(), "--data-dir", dir)
	running := []string{".", "admin-token", "touchpoint.db", "touchpoint.db-wal", "touchpoint.db-shm", "touchpoint.db.lock", "touchpoint.db.journal"}
	checkDataModes(t, "first start", dataModes(t, dir), running...)
	if log, err := stop(); err != nil || strings.Contains(log, "tightened") {
		t.Fatalf("first start: %v; a new dir needed no tightening:\n%s", err, log)
	}

	// What an older version left: a 0755 dir, 0644 files.
	leftover := filepath.Join(dir, "touchpoint.db.journal", "touches-00000000000000ff.journal")
	if err := os.WriteFile(leftover, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	loose := dataModes(t, dir)
	for name := range loose {
		mode := fs.FileMode(0o644)
		if name == "." || name == "touchpoint.db.journal" {
			mode = 0o755
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	srv, stop = serveLogging(t, "--data-dir", dir)
	// The admin token in the tightened file still works.
	if out := cli(t, "apps", "get", "com.example.game", "--server", srv.URL(), "--data-dir", dir); !strings.Contains(out, `"Game"`) {
		t.Fatalf("apps get after the restart: %s", out)
	}
	checkDataModes(t, "restart of a loose dir", dataModes(t, dir), append(running, "touchpoint.db.journal/touches-00000000000000ff.journal")...)
	log, err := stop()
	if err != nil {
		t.Fatal(err)
	}
	for name := range loose {
		if !strings.Contains(log, "path="+filepath.Join(dir, name)+" ") {
			t.Errorf("tightening %s was not logged:\n%s", name, log)
		}
	}
}

// TestDataDirBounds: tightening takes only the group's and others'
// permissions, goes no deeper than the journal's level and follows no
// link out of the dir, so a data dir pointed at the wrong place loses
// nothing but privacy.
func TestDataDirBounds(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: Windows has no Unix file modes")
	}
	root := t.TempDir()
	dir, outside := filepath.Join(root, "data"), filepath.Join(root, "outside")
	for p, mode := range map[string]fs.FileMode{dir: 0o755, dir + "/sub": 0o755, dir + "/sub/deeper": 0o755} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(p, 0o700)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]fs.FileMode{dir + "/script": 0o755, dir + "/sub/segment": 0o644, dir + "/sub/deeper/file": 0o644, outside: 0o644}
	for p, mode := range files {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, dir+"/link"); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := secureDataDir(dir, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{
		dir: 0o700, dir + "/script": 0o700, dir + "/sub": 0o700, dir + "/sub/segment": 0o600, // tightened, the owner's bits kept
		dir + "/sub/deeper": 0o755, dir + "/sub/deeper/file": 0o644, outside: 0o644, // not visited
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if n := strings.Count(log.String(), "tightened"); n != 4 {
		t.Errorf("%d changes logged, want 4:\n%s", n, log.String())
	}
}
