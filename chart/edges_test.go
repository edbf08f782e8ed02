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

// TestOtherGroups: past MaxSeries groups, the rest add up in one named
// (other), and the groups add up to the total, in funnels, retention and
// LTV.
func TestOtherGroups(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var events []string
	for u := range 150 {
		at := time.Date(2026, 11, 1+u%10, 8, 0, 0, 0, time.UTC)
		events = append(events,
			fmt.Sprintf(`{"device_id":"device-%03d","event_type":"open","time":%d,"user_properties":{"$set":{"who":"u%03d"}}}`, u, at.UnixMilli(), u%130))
		if u%2 == 0 {
			events = append(events, fmt.Sprintf(`{"device_id":"device-%03d","event_type":"buy","time":%d,"revenue":%d}`, u, at.Add(time.Duration(u)*time.Minute).UnixMilli(), u))
		}
		if u%3 == 0 {
			events = append(events, fmt.Sprintf(`{"device_id":"device-%03d","event_type":"open","time":%d}`, u, at.Add(30*time.Hour).UnixMilli()))
		}
	}
	db, p := edgeStore(t, now, events...)
	c := chart.Context{Project: p.ID, Now: now}
	r := chart.Range{Start: "2026-11-01", End: "2026-11-10"}
	by := &chart.Property{Property: "who"}
	run := func(q chart.Query) any {
		res, err := chart.Run(context.Background(), db, c, q)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	checkOther := func(kind string, groups [][]string) {
		t.Helper()
		if len(groups) != chart.MaxSeries+1 || fmt.Sprint(groups[chart.MaxSeries]) != "[(other)]" {
			t.Fatalf("%s: %d groups, the last %v", kind, len(groups), groups[len(groups)-1])
		}
	}
	f := run(&chart.Funnel{Steps: []chart.EventSpec{{EventType: "open"}, {EventType: "buy"}}, Range: r, GroupBy: by}).(*chart.FunnelResult)
	var names [][]string
	sum := make([]int64, 2)
	for _, g := range f.Groups {
		names = append(names, g.Group)
		for k, n := range g.Users {
			sum[k] += n
		}
	}
	checkOther("funnel", names)
	if fmt.Sprint(sum) != fmt.Sprint(f.Total.Users) || f.Total.Users[0] != 150 {
		t.Errorf("funnel: groups add up to %v, total %v", sum, f.Total.Users)
	}
	rt := run(&chart.Retention{StartEvent: chart.EventSpec{EventType: "open"}, Range: r, Periods: 3, GroupBy: by}).(*chart.RetentionResult)
	names, sum = nil, make([]int64, 4)
	retained := make([]int64, 4)
	for _, g := range rt.Groups {
		names = append(names, g.Group)
		for k := range g.Users {
			sum[k] += g.Users[k]
			retained[k] += g.Retained[k]
		}
	}
	checkOther("retention", names)
	if fmt.Sprint(sum, retained) != fmt.Sprint(rt.Total.Users, rt.Total.Retained) || rt.Total.Users[0] != 150 || rt.Total.Retained[1] != 50 {
		t.Errorf("retention: groups add up to %v %v, total %v %v", sum, retained, rt.Total.Users, rt.Total.Retained)
	}
	l := run(&chart.LTV{Range: r, Days: 3, GroupBy: by}).(*chart.LTVResult)
	names = nil
	var users int64
	var revenue float64
	for _, g := range l.Groups {
		names = append(names, g.Group)
		users += g.Users[3]
		revenue += g.Revenue[3]
	}
	checkOther("ltv", names)
	if users != l.Total.Users[3] || users != 150 || revenue != l.Total.Revenue[3] || revenue != 75*74 {
		t.Errorf("ltv: groups add up to %d users and %v, total %d and %v", users, revenue, l.Total.Users[3], l.Total.Revenue[3])
	}
}
