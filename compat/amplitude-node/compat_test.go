// Package compat runs the official Amplitude SDK for Node
// (@amplitude/analytics-node, pinned in package-lock.json) against a real
// Touchpoint server, and checks through the store that everything it sent
// arrived. .ci/run installs the package (npm ci); run it yourself with
// "npm ci" in this directory. Without Node or the package the test fails
// under CI=true and is skipped elsewhere.
package compat_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/internal/testenv"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// unavailable skips the test loudly, or fails it on CI where it must run.
func unavailable(t *testing.T, why string) {
	t.Helper()
	testenv.Skip(t, "the Amplitude Node SDK test cannot run: %s (CI runs it)", why)
}

func TestAmplitudeNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@amplitude", "analytics-node", "package.json")); err != nil {
		unavailable(t, "@amplitude/analytics-node is not installed: run npm ci in compat/amplitude-node")
	}
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httpapi.NewServer(db)
	srv.Addr = "127.0.0.1:0"
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	p := &touchpoint.Project{Name: "SDK", Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := db.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "sdk.mjs")
	cmd.Env = append(os.Environ(), "SERVER_URL="+srv.URL(), "API_KEY="+p.APIKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sdk.mjs: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Name    string
		Code    int
		Message string
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("sdk.mjs printed %q: %v", out, err)
	}
	if len(results) != 55 {
		t.Fatalf("%d results, want 55: %s", len(results), out)
	}
	for _, r := range results {
		if r.Code != 200 {
			t.Errorf("%s: the SDK got %d %s", r.Name, r.Code, r.Message)
		}
	}

	u, err := db.LookupUser(ctx, p.ID, "sdk-user-1", "")
	if err != nil {
		t.Fatal(err)
	}
	props, _ := json.Marshal(u.Properties)
	if string(props) != `{"first_seen":"2026-11-23","logins":2,"plan":"gold","tags":["beta"]}` {
		t.Errorf("user properties %s", props)
	}
	if !slices.Contains(u.DeviceIDs, "sdk-device-1") {
		t.Errorf("devices %v", u.DeviceIDs)
	}
	page, err := db.UserEvents(ctx, p.ID, u.AmplitudeID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]map[string]any{}
	for _, raw := range page.Events {
		var e map[string]any
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		byType[e["event_type"].(string)] = e
	}
	if len(page.Events) != 3 || byType["Button Clicked"] == nil || byType["revenue_amount"] == nil || byType["Level Up"] == nil {
		t.Fatalf("events of sdk-user-1: %s", page.Events)
	}
	click := byType["Button Clicked"]
	if ep, _ := json.Marshal(click["event_properties"]); string(ep) != `{"color":"red","count":3,"nested":{"a":[1,2]}}` {
		t.Errorf("Button Clicked properties %s", ep)
	}
	// What the SDK adds of its own is stored too.
	for _, k := range []string{"insert_id", "library", "platform", "time"} {
		if click[k] == nil {
			t.Errorf("Button Clicked lacks %s: %v", k, click)
		}
	}
	if up, _ := byType["Level Up"]["user_properties"].(map[string]any); up["plan"] != "gold" {
		t.Errorf("the event after the identify carries %v", byType["Level Up"]["user_properties"])
	}
	if ep, _ := byType["revenue_amount"]["event_properties"].(map[string]any); ep["$productId"] != "sku-1" {
		t.Errorf("revenue event %v", byType["revenue_amount"])
	}
	g, err := db.FindGroup(ctx, p.ID, "org", "acme")
	if err != nil || g.Properties["tier"] != "enterprise" {
		t.Errorf("group %+v, %v", g, err)
	}
	batch, err := db.LookupUser(ctx, p.ID, "", "sdk-device-2")
	if err != nil {
		t.Fatal(err)
	}
	if page, err := db.UserEvents(ctx, p.ID, batch.AmplitudeID, 0, 100); err != nil || len(page.Events) != 50 {
		t.Fatalf("sdk-device-2 has %d events via /batch, want 50 (%v)", len(page.Events), err)
	}
}
