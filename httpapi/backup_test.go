package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// POST /api/v1/backup streams a backup that reads back whole; it needs
// the admin token.
func TestBackupRoute(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	resp, err := http.Post(s.URL()+"/api/v1/backup", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"code": "unauthorized"`) {
		t.Fatalf("without the token: %s %s", resp.Status, body)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/api/v1/backup", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="touchpoint-backup-`) {
		t.Fatalf("backup: %s %v", resp.Status, resp.Header)
	}
	m, err := sqlite.ReadBackup(resp.Body, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Migration == "" || m.Pages == 0 {
		t.Fatalf("manifest %+v", m)
	}
}

// One backup runs at a time: a second is answered 409 while the first
// is under way. A server that shuts down ends the backup under way (its
// client reading nothing) rather than wait for it, and the client is left
// with a backup cut short.
func TestBackupOneAtATimeAndShutdown(t *testing.T) {
	s := startServer(t)
	s.setup(t)
	// A store of some 30 MB: more than the connection's buffers hold, so
	// a backup whose client does not read stays under way.
	ctx := context.Background()
	for range 100 {
		ts := make([]*touchpoint.Touch, 1000)
		for i := range ts {
			ts[i] = storetest.NewTouch("com.example.game", "net_a", storetest.Start)
		}
		if err := s.DB.RecordTouches(ctx, ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DB.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	backup := func() *http.Response {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/backup", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := backup()
	defer first.Body.Close()
	if first.StatusCode != 200 {
		t.Fatalf("first backup: %s", first.Status)
	}
	second := backup()
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != 409 || !strings.Contains(string(body), "a backup is being taken already") {
		t.Fatalf("a second backup meanwhile: %s %s", second.Status, body)
	}

	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Close(closeCtx); err != nil {
		t.Fatalf("close with a backup under way: %v (the backup kept the shutdown waiting)", err)
	}
	if _, err := sqlite.ReadBackup(first.Body, ""); err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("the backup ended by the shutdown reads as %v, want cut short", err)
	}
}
