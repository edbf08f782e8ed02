package sqlite_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// A backup of an open store holds every touch recorded before it, those
// still only in the journal too, and restores into a store that opens and
// finds them by key; clicks recorded during the backup are not lost from
// the running store.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return storetest.Start }
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), now)
	storetest.MustCreateApp(t, db, "com.example.game")
	var ids []int64
	record := func(n int) {
		for range n {
			tc := storetest.NewTouch("com.example.game", "net", storetest.Start)
			if err := db.RecordTouches(ctx, []*touchpoint.Touch{tc}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tc.ID)
		}
	}
	record(50)
	if err := db.LoadPending(ctx); err != nil { // some in the tables,
		t.Fatal(err)
	}
	record(30) // some in the journal only

	var buf bytes.Buffer
	m, err := db.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.TouchesThrough != ids[len(ids)-1] || m.Migration == "" || m.Pages == 0 {
		t.Fatalf("manifest %+v, last touch %d", m, ids[len(ids)-1])
	}
	record(5) // after the backup: the store goes on

	dir := t.TempDir()
	res, err := sqlite.Restore(ctx, bytes.NewReader(buf.Bytes()), dir, "backup.tar", false, storetest.Start)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != "" {
		t.Errorf("replaced %q in an empty dir", res.Replaced)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "touchpoint.db touchpoint.db.lock" {
		t.Errorf("the data dir after a restore holds %q", names)
	}
	restored := MustOpen(t, filepath.Join(dir, "touchpoint.db"), now)
	n, err := restored.CountTouches(ctx, touchpoint.TouchFilter{App: "com.example.game"})
	if err != nil || n != 80 {
		t.Fatalf("restored store: %d touches, %v; want 80", n, err)
	}
	var last *touchpoint.Touch
	for _, id := range ids[:80] {
		if last, err = restored.FindTouch(ctx, "com.example.game", id); err != nil {
			t.Fatalf("restored touch %d: %v", id, err)
		}
	}
	// Their keys are found (indexed again from the touch log on open);
	// storetest's touches share a click id.
	byKey, err := restored.TouchesByKeys(ctx, "com.example.game", []touchpoint.LookupKey{touchpoint.ClickIDKey("com.example.game", last.Params.ClickID)}, time.Time{})
	if err != nil || len(byKey) != 80 {
		t.Fatalf("restored touch by click id: %d, %v", len(byKey), err)
	}
	if n, err := db.CountTouches(ctx, touchpoint.TouchFilter{App: "com.example.game"}); err != nil || n != 85 {
		t.Fatalf("the backed-up store: %d touches, %v; want 85", n, err)
	}
}

// packBackup makes a backup file by hand: the manifest, the database file
// at path, and SHA256SUMS.
func packBackup(t *testing.T, manifest string, path string) []byte {
	t.Helper()
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{sqlite.BackupManifestName, []byte(manifest)},
		{sqlite.BackupDatabaseName, db},
		{sqlite.BackupSumsName, fmt.Appendf(nil, "%x  %s\n", sha256.Sum256(db), sqlite.BackupDatabaseName)},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Size: int64(len(f.b)), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.b)
	}
	tw.Close()
	return buf.Bytes()
}

// A restore refuses, changing nothing in the data dir: a backup whose
// database has a migration this version does not know, a backup cut
// short, a damaged one, a data dir that holds a store (without force) or
// that a store has open.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return storetest.Start }
	src := filepath.Join(t.TempDir(), "touchpoint.db")
	db := sqlite.NewDB(src)
	db.Clock = now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	storetest.MustCreateApp(t, db, "com.example.game")
	var good bytes.Buffer
	m, err := db.Backup(ctx, &good)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawExec(t, src, `PRAGMA journal_mode = DELETE`, `INSERT INTO migrations (name, applied_at) VALUES ('migrations/`+futureMigration+`.sql', 0)`)
	info, _ := os.Stat(src)
	newer := packBackup(t, fmt.Sprintf(`{"format":1,"page_size":%d,"pages":%d,"files":[]}`, m.PageSize, info.Size()/m.PageSize), src)

	empty := func(t *testing.T, dir string) {
		t.Helper()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "touchpoint.db.lock" {
				t.Errorf("a refused restore left %s in the data dir", e.Name())
			}
		}
	}
	for _, tc := range []struct {
		name   string
		backup []byte
		want   string
	}{
		{"newer", newer, "written by a newer version of touchpoint (it has migration " + futureMigration},
		{"cut short", good.Bytes()[:good.Len()/2], "cut short"},
		{"not a backup", []byte("hello"), "not a touchpoint backup"},
		{"damaged", damage(good.Bytes()), "the backup is damaged: the SHA-256 of touchpoint.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := sqlite.Restore(ctx, bytes.NewReader(tc.backup), dir, "backup.tar", false, storetest.Start)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want %q", err, tc.want)
			}
			if tc.name == "newer" {
				var newer *touchpoint.NewerDatabaseError
				if !errors.As(err, &newer) || newer.Database != "backup.tar" {
					t.Errorf("restore of a newer backup: %#v", err)
				}
			}
			empty(t, dir)
		})
	}

	// A data dir that holds a store: refused, unless forced; then the old
	// store is moved aside.
	dir := t.TempDir()
	if _, err := sqlite.Restore(ctx, bytes.NewReader(good.Bytes()), dir, "backup.tar", false, storetest.Start); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "touchpoint.db.journal"), 0o700)
	_, err = sqlite.Restore(ctx, bytes.NewReader(good.Bytes()), dir, "backup.tar", false, storetest.Start)
	if err == nil || !strings.Contains(err.Error(), "holds a store already (touchpoint.db, touchpoint.db.journal): give --force") {
		t.Fatalf("restore over a store: %v", err)
	}
	res, err := sqlite.Restore(ctx, bytes.NewReader(good.Bytes()), dir, "backup.tar", true, storetest.Start)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"touchpoint.db", "touchpoint.db.journal"} {
		if _, err := os.Stat(filepath.Join(res.Replaced, name)); err != nil {
			t.Errorf("the replaced store's %s was not moved aside: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "touchpoint.db.journal")); err == nil {
		t.Error("the replaced store's journal is still in the data dir")
	}

	// A data dir a store has open.
	open := MustOpen(t, filepath.Join(dir, "touchpoint.db"), now)
	_, err = sqlite.Restore(ctx, bytes.NewReader(good.Bytes()), dir, "backup.tar", true, storetest.Start)
	if !errors.Is(err, sqlite.ErrInUse) || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("restore into an open store's dir: %v", err)
	}
	if _, err := open.CountTouches(ctx, touchpoint.TouchFilter{App: "com.example.game"}); err != nil {
		t.Fatal(err)
	}
}

// damage flips a byte in the middle of the database entry of a backup.
func damage(b []byte) []byte {
	b = bytes.Clone(b)
	tr := tar.NewReader(bytes.NewReader(b))
	var off int64 = 0
	for {
		hdr, err := tr.Next()
		if err != nil {
			panic(err)
		}
		if hdr.Name == sqlite.BackupDatabaseName {
			// The data starts after this header: find it by content.
			data, _ := io.ReadAll(tr)
			off = int64(bytes.Index(b, data[:512]))
			b[off+int64(len(data))/2] ^= 0xff
			return b
		}
	}
}

// TestRestoreOddDirNames: a data dir whose name holds ?, % or # restores
// and verifies like any other (a raw path in SQLite's URI would cut the
// name at # and open what comes before it read-write).
func TestRestoreOddDirNames(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return storetest.Start }
	db := MustOpen(t, filepath.Join(t.TempDir(), "touchpoint.db"), now)
	storetest.MustCreateApp(t, db, "com.example.game")
	if err := db.RecordTouches(ctx, []*touchpoint.Touch{storetest.NewTouch("com.example.game", "net", storetest.Start)}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := db.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a#b", "a?mode=rw", "100%25"} {
		parent := t.TempDir()
		dir := filepath.Join(parent, name)
		if _, err := sqlite.Restore(ctx, bytes.NewReader(buf.Bytes()), dir, "backup.tar", false, storetest.Start); err != nil {
			t.Fatalf("restore into %q: %v", name, err)
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 || entries[0].Name() != name {
			t.Errorf("restore into %q left %v beside it", name, entries)
		}
		restored := MustOpen(t, filepath.Join(dir, "touchpoint.db"), now)
		if n, err := restored.CountTouches(ctx, touchpoint.TouchFilter{App: "com.example.game"}); err != nil || n != 1 {
			t.Errorf("restored into %q: %d touches, %v", name, n, err)
		}
	}
}
