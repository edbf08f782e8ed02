package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// ackLog records what a server acknowledged, by kind, in order.
type ackLog struct {
	mu    sync.Mutex
	acked map[string][]string
}

func (a *ackLog) add(kind, id string) {
	a.mu.Lock()
	a.acked[kind] = append(a.acked[kind], id)
	a.mu.Unlock()
}

// snapshot returns what was acknowledged so far.
func (a *ackLog) snapshot() map[string][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]string{}
	for k, v := range a.acked {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestBackupUnderLoad takes a backup of a server process (this test
// binary as "touchpoint serve") while clicks, analytics events and S2S
// in-app events keep coming, restores it into another data dir, and
// serves it: every click, event and in-app event acknowledged before the
// backup was asked for is there, and the partner's click-signing secret
// still verifies a signed link.
func TestBackupUnderLoad(t *testing.T) {
	const token = "backup-test-token"
	dir := t.TempDir()
	node := startNode(t, "--data-dir", dir, "--admin-token", token)
	c := []string{"--server", node.url, "--admin-token", token}
	// The admin API is called directly (the CLI's output is for people).
	api := func(base, method, path, body string, v any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b.String())
		}
		if v != nil {
			if err := json.Unmarshal(b.Bytes(), v); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b.String())
			}
		}
	}

	var app touchpoint.App
	api(node.url, "POST", "/api/v1/apps", `{"app_id":"com.example.game","platform":"android","name":"Game"}`, &app)
	api(node.url, "POST", "/api/v1/apps/com.example.game/partners", `{"pid":"net_load"}`, nil)
	api(node.url, "POST", "/api/v1/apps/com.example.game/partners", `{"pid":"net_signed"}`, nil)
	var secret touchpoint.SigningSecret
	api(node.url, "POST", "/api/v1/apps/com.example.game/partners/net_signed/secrets?ttl-hours=24", "", &secret)
	api(node.url, "PATCH", "/api/v1/apps/com.example.game/partners/net_signed", `{"click_signing":"enabled"}`, nil)
	var project touchpoint.Project
	api(node.url, "POST", "/api/v1/projects", `{"name":"Game"}`, &project)
	if app.DevKey == "" || secret.Secret == "" || project.APIKey == "" {
		t.Fatalf("set-up: app %+v, secret %+v, project %+v", app, secret, project)
	}
	httpc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(url string, header [2]string, body string) (int, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header[0], header[1])
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	// A device for the in-app events.
	code, body := post(node.url+"/sdk/v1/apps/com.example.game/launches", [2]string{"Authorization", "Bearer " + app.DevKey},
		`{"advertising_id":"38400000-8cf0-11bd-b23e-10b96e40000d"}`)
	var launch struct {
		DeviceID string `json:"device_id"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &launch) != nil || launch.DeviceID == "" {
		t.Fatalf("launch: %d %s", code, body)
	}

	// The load: one writer of each kind, each noting what was
	// acknowledged once its answer came.
	log := &ackLog{acked: map[string][]string{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	load := func(kind string, send func(i int) bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d", kind, i)
				if send(i) {
					log.add(kind, id)
				}
			}
		}()
	}
	load("click", func(i int) bool {
		resp, err := httpc.Get(fmt.Sprintf("%s/c/com.example.game?pid=net_load&clickid=click-%d", node.url, i))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound
	})
	load("event", func(i int) bool {
		code, _ := post(node.url+"/2/httpapi", [2]string{"X-Test", "1"},
			fmt.Sprintf(`{"api_key":%q,"events":[{"event_type":"play","device_id":"backup-device","insert_id":"event-%d"}]}`, project.APIKey, i))
		return code == 200
	})
	load("inapp", func(i int) bool {
		code, _ := post(node.url+"/inappevent/com.example.game", [2]string{"authentication", app.DevKey},
			fmt.Sprintf(`{"appsflyer_id":%q,"eventName":"inapp-%d","eventValue":""}`, launch.DeviceID, i))
		return code == 200
	})
	waitFor := func(n int) map[string][]string {
		for {
			s := log.snapshot()
			if len(s["click"]) >= n && len(s["event"]) >= n && len(s["inapp"]) >= n {
				return s
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(20)
	before := log.snapshot() // acknowledged before the backup was asked for
	file := filepath.Join(t.TempDir(), "backup.tar")
	var stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"backup", "--out", file}, c...), &bytes.Buffer{}, &stderr); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("backup: %v\n%s\n%s", err, stderr.String(), node.logs())
	}
	t.Logf("%s", stderr.String())
	// The load goes on a little past the backup, then stops.
	after := len(log.snapshot()["click"])
	for len(log.snapshot()["click"]) < after+10 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("acknowledged before the backup: %d clicks, %d events, %d in-app events; %d clicks in all",
		len(before["click"]), len(before["event"]), len(before["inapp"]), len(log.snapshot()["click"]))

	// The backup checks out on its own.
	if out := cli(t, "restore", "--from", file, "--check"); !strings.Contains(out, "is a good backup") {
		t.Fatalf("restore --check: %s", out)
	}
	// A running server's data dir is refused, and so is a data dir
	// holding a store.
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"restore", "--from", file, "--data-dir", dir, "--force"}, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("restore into a running server's data dir: %v", err)
	}
	restored := t.TempDir()
	cli(t, "restore", "--from", file, "--data-dir", restored)
	err = run(context.Background(), []string{"restore", "--from", file, "--data-dir", restored}, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "holds a store already (touchpoint.db): give --force") {
		t.Fatalf("restore over a store: %v", err)
	}

	// The restored store serves, with everything acknowledged before.
	srv, _, stopRestored := serve(t, "--data-dir", restored, "--admin-token", token)
	clicks := map[string]bool{}
	for cursor := ""; ; {
		var page struct {
			Touches []struct {
				Params struct {
					ClickID string `json:"clickid"`
				} `json:"params"`
			} `json:"touches"`
			Next string `json:"next_cursor"`
		}
		api(srv.URL(), "GET", "/api/v1/apps/com.example.game/touches?pid=net_load&limit=1000&cursor="+cursor, "", &page)
		for _, tc := range page.Touches {
			clicks[tc.Params.ClickID] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for _, id := range before["click"] {
		if !clicks[id] {
			t.Errorf("click %s, acknowledged before the backup, is not in the restored store", id)
		}
	}
	var user touchpoint.User
	api(srv.URL(), "GET", fmt.Sprintf("/api/v1/projects/%d/users?device_id=backup-device", project.ID), "", &user)
	var events strings.Builder
	for cursor := ""; ; {
		var page struct {
			Events []json.RawMessage `json:"events"`
			Next   string            `json:"next_cursor"`
		}
		api(srv.URL(), "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events?limit=1000&cursor=%s", project.ID, user.AmplitudeID, cursor), "", &page)
		for _, e := range page.Events {
			events.Write(e)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for _, id := range before["event"] {
		if !strings.Contains(events.String(), `"`+id+`"`) {
			t.Errorf("analytics event %s, acknowledged before the backup, is not in the restored store", id)
		}
	}
	var installs struct {
		Conversions []touchpoint.Conversion `json:"conversions"`
	}
	api(srv.URL(), "GET", "/api/v1/apps/com.example.game/installs/"+launch.DeviceID, "", &installs)
	conversions := map[string]bool{}
	for _, cv := range installs.Conversions {
		conversions[cv.Name] = true
	}
	for _, id := range before["inapp"] {
		if !conversions[id] {
			t.Errorf("in-app event %s, acknowledged before the backup, is not in the restored store", id)
		}
	}
	// The partner's click-signing secret came along: a link signed with
	// it verifies, and its click is recorded as validly signed.
	link := strings.TrimSpace(cli(t, "links", "build", "--base", srv.URL(), "com.example.game", "net_signed", "clickid=after-restore"))
	signed := strings.TrimSpace(cli(t, "links", "sign", "--secret", secret.Secret, link))
	var test struct{ Result, Reason string }
	linkTest, _ := json.Marshal(map[string]string{"url": signed})
	if api(srv.URL(), "POST", "/api/v1/links/test", string(linkTest), &test); test.Result != "passed" {
		t.Fatalf("links test after the restore: %+v", test)
	}
	resp, err := httpc.Get(signed)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("signed click after the restore: %v %v", resp, err)
	}
	resp.Body.Close()
	var page struct {
		Touches []struct {
			Verdict string `json:"signature_verdict"`
		} `json:"touches"`
	}
	if api(srv.URL(), "GET", "/api/v1/apps/com.example.game/touches?click_id=after-restore", "", &page); len(page.Touches) != 1 || page.Touches[0].Verdict != "valid" {
		t.Fatalf("the signed click after the restore: %+v", page)
	}
	if err := stopRestored(); err != nil {
		t.Fatal(err)
	}

	// --force moves the store it replaces aside.
	var out bytes.Buffer
	errOut.Reset()
	if err := run(context.Background(), []string{"restore", "--from", file, "--data-dir", restored, "--force"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "moved the store that was in "+restored+" to "+filepath.Join(restored, "replaced-")) {
		t.Errorf("restore --force said: %s", errOut.String())
	}
}

// A backup whose database has a migration this version does not know
// (made by a newer version) is refused, naming it, and nothing is
// written.
func TestRestoreRefusesNewerBackup(t *testing.T) {
	src := t.TempDir()
	db := sqlite.NewDB(filepath.Join(src, "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", filepath.Join(src, "touchpoint.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('migrations/2099-01-01-01-future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	dbFile, err := os.ReadFile(filepath.Join(src, "touchpoint.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The backup file a newer version would make of it.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{sqlite.BackupManifestName, fmt.Appendf(nil, `{"format":1,"migration":"2099-01-01-01-future","page_size":4096,"pages":%d,"files":[]}`, len(dbFile)/4096)},
		{sqlite.BackupDatabaseName, dbFile},
		{sqlite.BackupSumsName, fmt.Appendf(nil, "%x  touchpoint.db\n", sha256.Sum256(dbFile))},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Size: int64(len(f.b)), Mode: 0o600})
		tw.Write(f.b)
	}
	tw.Close()
	file := filepath.Join(t.TempDir(), "newer.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--check"}, {"--data-dir", filepath.Join(t.TempDir(), "data")}} {
		err := run(context.Background(), append([]string{"restore", "--from", file}, args...), &bytes.Buffer{}, &bytes.Buffer{})
		want := "the backup " + file + " was made by a newer version of touchpoint (its database has migration 2099-01-01-01-future, which this version does not know): restore it with that version or newer"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("restore %s of a newer backup: %v, want %q", args, err, want)
		}
		if len(args) == 2 {
			if _, err := os.Stat(filepath.Join(args[1], "touchpoint.db")); err == nil {
				t.Error("a refused restore wrote touchpoint.db")
			}
		}
	}
}

// A server on PostgreSQL answers the backup route with an error saying
// to use pg_dump, in the admin API's shape; touchpoint backup says it and
// writes no file.
func TestBackupOnPostgres(t *testing.T) {
	db := pgtest.FreshDatabase(t)
	const token = "postgres-backup-token"
	srv, _, _ := serve(t, "--db", db, "--admin-token", token, "--data-dir", t.TempDir())
	req, _ := http.NewRequest("POST", srv.URL()+"/api/v1/backup", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Code, Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 400 || e.Code != "invalid" || !strings.Contains(e.Error, "pg_dump") {
		t.Fatalf("POST /api/v1/backup on PostgreSQL: %s %+v", resp.Status, e)
	}
	file := filepath.Join(t.TempDir(), "backup.tar")
	err = run(context.Background(), []string{"backup", "--out", file, "--server", srv.URL(), "--admin-token", token}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("touchpoint backup on PostgreSQL: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) > 0 {
		t.Errorf("a failed backup left %s", entries[0].Name())
	}
}

// TestBackupStalled: a server that stops sending part way is given up on
// once backupStall passes without a byte, and leaves no file.
func TestBackupStalled(t *testing.T) {
	defer func(d time.Duration) { backupStall = d }(backupStall)
	backupStall = 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write(make([]byte, 512)) // the start of a tar, then nothing
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.tar")
	err := run(context.Background(), []string{"backup", "--server", srv.URL, "--admin-token", "t", "--out", out}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the server sent nothing for 300ms") {
		t.Fatalf("a stalled backup: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("a stalled backup left %v", entries)
	}
}
