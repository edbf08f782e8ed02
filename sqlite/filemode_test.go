package sqlite_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// storeModes returns the mode of each file the store keeps beside path
// (that exists), and of the journal directory and its segments.
func storeModes(t *testing.T, path string) map[string]fs.FileMode {
	t.Helper()
	modes := map[string]fs.FileMode{}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock", path + ".journal"} {
		if fi, err := os.Stat(p); err == nil {
			modes[filepath.Base(p)] = fi.Mode().Perm()
		}
	}
	entries, err := os.ReadDir(path + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		modes["touchpoint.db.journal/"+e.Name()] = fi.Mode().Perm()
	}
	return modes
}

// checkModes fails unless every file is 0600 and the journal dir 0700,
// and the files SQLite makes itself (WAL, shared memory) are among them.
func checkModes(t *testing.T, modes map[string]fs.FileMode) {
	t.Helper()
	for _, want := range []string{"touchpoint.db", "touchpoint.db-wal", "touchpoint.db-shm", "touchpoint.db.lock", "touchpoint.db.journal"} {
		if _, ok := modes[want]; !ok {
			t.Errorf("%s does not exist: want it checked (files %v)", want, modes)
		}
	}
	segments := 0
	for name, mode := range modes {
		want := fs.FileMode(0o600)
		if name == "touchpoint.db.journal" {
			want = 0o700
		} else if strings.HasPrefix(name, "touchpoint.db.journal/") {
			segments++
		}
		if mode != want {
			t.Errorf("%s is %v, want %v", name, mode, want)
		}
	}
	if segments == 0 {
		t.Errorf("no journal segment among %v", modes)
	}
}

// TestFileModes: the store's files are its owner's alone, those SQLite
// creates itself (WAL, shared memory) too, and a store an older version
// left readable by others is tightened on open, saying so.
func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: Windows has no Unix file modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "touchpoint.db")
	now := func() time.Time { return storetest.Start }
	db := MustOpen(t, path, now)
	storetest.MustCreateApp(t, db, "com.example.game")
	if err := db.RecordTouches(context.Background(), []*touchpoint.Touch{storetest.NewTouch("com.example.game", "net", storetest.Start)}); err != nil {
		t.Fatal(err)
	}
	checkModes(t, storeModes(t, path))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// What an older version left: everything readable by all, and a
	// journal segment of its own.
	for p, mode := range map[string]fs.FileMode{path: 0o644, path + ".lock": 0o644, path + ".journal": 0o755} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(path+".journal", "touches-00000000000000ff.journal")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(old, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var log bytes.Buffer
	db = sqlite.NewDB(path)
	db.Clock, db.LoadInterval, db.IndexInterval = now, time.Hour, time.Hour
	db.Logger = slog.New(slog.NewTextHandler(&log, nil))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	modes := storeModes(t, path)
	checkModes(t, modes)
	if _, ok := modes["touchpoint.db.journal/touches-00000000000000ff.journal"]; !ok {
		t.Errorf("the old segment is not among %v", modes)
	}
	for _, p := range []string{path, path + ".lock", path + ".journal", old} {
		if !strings.Contains(log.String(), "path="+p+" ") {
			t.Errorf("tightening %s was not logged:\n%s", p, log.String())
		}
	}
	if got, err := db.FindApp(context.Background(), "com.example.game"); err != nil || got.ID != "com.example.game" {
		t.Fatalf("after tightening: %+v, %v", got, err)
	}
}
