package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// firstHashedMigration is the migration from which keys are kept hashed.
const firstHashedMigration = "2026-11-25-09-key-hashes.sql"

// oldStore writes, with plain SQL, a database as the versions before
// firstHashedMigration left it: their migrations applied, keys in
// plaintext.
func oldStore(t *testing.T, path string, rows ...string) {
	t.Helper()
	storeBefore(t, path, firstHashedMigration, rows...)
}

// storeBefore writes at path the store the migrations sorting before
// migration (a file name) make, then rows: the database as the version
// before that migration left it, to test the migration on.
func storeBefore(t *testing.T, path, migration string, rows ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	stmts := []string{`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	for _, f := range files {
		if filepath.Base(f) >= migration {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(body), `INSERT INTO migrations VALUES ('migrations/`+filepath.Base(f)+`', 0)`)
	}
	for _, s := range append(stmts, rows...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v in\n%s", err, s)
		}
	}
}

// TestKeysHashedOnUpgrade: keys a previous version stored in plaintext are
// hashed on the first start, once; they still authenticate, only their
// last four characters are shown, and the plaintext is gone from the file.
func TestKeysHashedOnUpgrade(t *testing.T) {
	const (
		devKey   = "Dk7QmZ2xWb9PLr4sTa1Vh3"                   // 22 characters, as RandomString made them
		apiToken = "5c2e0a7f91d84b36e0c1f2a3b4c5d6e7f8091a2b" // the cohorts migration's hex
		devKey2  = "Zz0YxWvUtSrQpOnMlKjIhG"
		token2   = "Tk2abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
		apiKey   = "0123456789abcdef0123456789abcdef"
		secret   = "fedcba9876543210fedcba9876543210"
	)
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	oldStore(t, path,
		`INSERT INTO apps (id, platform, name, store_url, dev_key, api_token, click_lookback, view_through_lookback,
			probabilistic_window, reattribution_window, reengagement_window, created_at, updated_at)
			VALUES ('com.example.game', 'android', 'Game', 'https://example.com', '`+devKey+`', '`+apiToken+`', 168, 24, 24, 2160, 720, 0, 0),
			('com.example.other', 'android', 'Other', 'https://example.com', '`+devKey2+`', '`+token2+`', 168, 24, 24, 2160, 720, 0, 0)`,
		`INSERT INTO projects (name, api_key, secret_key, http_eps, batch_eps, created_at, updated_at)
			VALUES ('Game', '`+apiKey+`', '`+secret+`', 30, 1000, 0, 0)`,
		`INSERT INTO project_apps (project, app_id) VALUES (1, 'com.example.game')`)

	now := func() time.Time { return storetest.Start }
	ctx := context.Background()
	for start := 1; start <= 2; start++ { // the second start finds nothing to hash
		db := sqlite.NewDB(path)
		db.Clock = now
		if err := db.Open(); err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		a, err := db.FindApp(ctx, "com.example.game")
		if err != nil {
			t.Fatal(err)
		}
		if a.DevKey != "" || a.APIToken != "" || !a.DevKeyHash.Matches(devKey) || !a.APITokenHash.Matches(apiToken) ||
			a.DevKeyHash.Matches(devKey2) || a.DevKeyLast4 != devKey[18:] || a.APITokenLast4 != apiToken[36:] {
			t.Fatalf("start %d: app %+v: want the old keys' hashes and last four characters", start, a)
		}
		o, err := db.FindApp(ctx, "com.example.other")
		if err != nil || !o.DevKeyHash.Matches(devKey2) || !o.APITokenHash.Matches(token2) || o.DevKeyLast4 != devKey2[18:] {
			t.Fatalf("start %d: other app %+v, %v", start, o, err)
		}
		p, err := db.ProjectByAPIKey(apiKey)
		if err != nil || p.ID != 1 || p.APIKey != "" {
			t.Fatalf("start %d: ProjectByAPIKey(old key) = %+v, %v", start, p, err)
		}
		p, err = db.FindProject(ctx, 1)
		if err != nil || p.APIKey != "" || p.SecretKey != "" || !p.SecretKeyHash.Matches(secret) || p.APIKeyLast4 != apiKey[28:] ||
			p.SecretKeyLast4 != secret[28:] || strings.Join(p.Apps, ",") != "com.example.game" {
			t.Fatalf("start %d: project %+v, %v", start, p, err)
		}
		// A rotation on the upgraded store replaces the old key.
		if start == 2 {
			r, err := db.RotateAppKey(ctx, "com.example.other", "dev_key")
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := db.FindApp(ctx, "com.example.other"); got.DevKeyHash.Matches(devKey2) || !got.DevKeyHash.Matches(r.DevKey) {
				t.Fatalf("after rotation: %+v", got)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// The columns hold hashes; the plaintext is nowhere in the files.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := raw.QueryRow(`SELECT dev_key || ' ' || api_token FROM apps WHERE id = 'com.example.game'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "sha256:") || strings.Count(stored, "sha256:") != 2 {
		t.Fatalf("stored keys %q: want sha256: hashes", stored)
	}
	var migrated int
	if err := raw.QueryRow(`SELECT count(*) FROM migrations WHERE name = 'migrations/` + firstHashedMigration + `'`).Scan(&migrated); err != nil || migrated != 1 {
		t.Fatalf("migration recorded %d times, %v", migrated, err)
	}
	raw.Close()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{devKey, apiToken, devKey2, token2, apiKey, secret} {
			if bytes.Contains(b, []byte(k)) {
				t.Errorf("%s still holds the plaintext key %s", e.Name(), k)
			}
		}
	}
}

// BenchmarkProjectByAPIKey is what ingestion pays per upload to find its
// project: one SHA-256 of the key and a map lookup by the hash, among 1,000
// projects.
func BenchmarkProjectByAPIKey(b *testing.B) {
	db := MustOpen(b, filepath.Join(b.TempDir(), "touchpoint.db"), func() time.Time { return storetest.Start })
	var key string
	for i := range 1000 {
		p := storetest.MustCreateProject(b, db, "Game")
		if i == 500 {
			key = p.APIKey
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.ProjectByAPIKey(key); err != nil {
			b.Fatal(err)
		}
	}
}
