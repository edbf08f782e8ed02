package chart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/chart"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// edgeStore is a store holding one project with the given events (HTTP
// V2 JSON objects), received at now.
func edgeStore(t *testing.T, now time.Time, events ...string) (*sqlite.DB, *touchpoint.Project) {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "db"))
	db.Clock = func() time.Time { return now }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: 1000, BatchEPS: 1000}}
	if err := db.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
	up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: now})
	if rej != nil {
		t.Fatalf("DecodeUpload: %+v", rej)
	}
	if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{{Project: p.ID, Received: now, Events: up.Events}}); err != nil {
		t.Fatal(err)
	}
	return db, p
}

// TestRetentionRowAfterNow: a start event later than now (a client's
// clock ahead) makes a row whose period 0 still holds its user.
func TestRetentionRowAfterNow(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	db, p := edgeStore(t, now.Add(48*time.Hour),
		fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, now.Add(-time.Hour).UnixMilli()),
		fmt.Sprintf(`{"device_id":"device-2","event_type":"open","time":%d}`, now.Add(36*time.Hour).UnixMilli()))
	res, err := chart.Run(context.Background(), db, chart.Context{Project: p.ID, Now: now},
		&chart.Retention{StartEvent: chart.EventSpec{EventType: "open"}, Range: chart.Range{Start: "2026-11-01", End: "2026-11-15"}, Periods: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*chart.RetentionResult)
	if got := fmt.Sprint(r.Total.Users[0], r.Total.Cohorts); got != "2 [{2026-11-10 1 [1]} {2026-11-12 1 [1]}]" {
		t.Fatalf("retention: %s", got)
	}
}

// TestLTVPastFloat: revenue summing past float64 answers numbers JSON
// can write, not infinity.
func TestLTVPastFloat(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour).UnixMilli()
	db, p := edgeStore(t, now,
		fmt.Sprintf(`{"device_id":"device-1","event_type":"buy","time":%d,"revenue":1e308}`, at),
		fmt.Sprintf(`{"device_id":"device-1","event_type":"buy","time":%d,"revenue":1e308}`, at+1))
	for _, q := range []chart.Query{
		&chart.LTV{Range: chart.Range{Start: "2026-11-10", End: "2026-11-10"}, Days: 1},
		&chart.Segmentation{Events: []chart.EventSpec{{EventType: "buy"}}, Metric: chart.Sum, Property: chart.RevenueProp, Range: chart.Range{Start: "2026-11-10", End: "2026-11-10"}},
	} {
		res, err := chart.Run(context.Background(), db, chart.Context{Project: p.ID, Now: now}, q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Errorf("%s: %v", q.Kind(), err)
		}
	}
}
