package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// ReportStore is what the report cases that record touches need: apps,
// touches, installs and conversions, and the report.
type ReportStore interface {
	touchpoint.AppStore
	touchpoint.TouchStore
	touchpoint.InstallStore
}

// RunReports runs the report cases that record touches against stores
// from open.
func RunReports(t *testing.T, open func(t *testing.T, now func() time.Time) ReportStore) {
	runParts(t, reportTests, open)
	runParts(t, installTouchTests, open)
}

var reportTests = []part[ReportStore]{
	// The country (serve --geoip-db) is a dimension: clicks count under
	// their own, installs under their launch's, conversions under their
	// install's; what has none counts under "".
	{"Report/Country", func(t *testing.T, s ReportStore, c *Clock) {
		const app = "com.example.game"
		MustCreateApp(t, s, app)
		gb := NewTouch(app, "net_a", Start.Add(-2*time.Hour)) // GB, London
		nowhere := NewTouch(app, "net_a", Start.Add(-time.Hour))
		nowhere.CountryCode, nowhere.City = "", ""
		mustRecord(t, s, gb, nowhere)
		if got, err := s.FindTouch(ctxb(), app, gb.ID); err != nil || got.CountryCode != "GB" || got.City != "London" {
			t.Fatalf("FindTouch: %+v, %v", got, err)
		}
		in := newInstall(app, "dev-1", "k1", "GAID-1", Start, "net_a") // SE
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{in}); err != nil {
			t.Fatal(err)
		}
		conv := &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: app, DeviceID: "dev-1", EventID: "e1",
			Name: "af_purchase", Revenue: 20000, Currency: "USD", Time: Start.Add(time.Hour), Source: "SDK",
			Attribution: in.Install.Attribution, CountryCode: "SE"}}
		if err := s.WriteConversions(ctxb(), []*touchpoint.ConversionWrite{conv}); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindInstall(ctxb(), app, in.Install.ID)
		if err != nil || got.Launch.CountryCode != "SE" || got.Launch.City != "Linköping" {
			t.Fatalf("FindInstall: launch %+v, %v", got.Launch, err)
		}
		dev, err := s.FindDevice(ctxb(), app, "dev-1")
		if err != nil || dev.CountryCode != "SE" {
			t.Fatalf("FindDevice: %+v, %v", dev, err)
		}
		convs, err := s.ListConversions(ctxb(), app, "dev-1")
		if err != nil || len(convs) != 1 || convs[0].CountryCode != "SE" {
			t.Fatalf("ListConversions: %v, %v", convs, err)
		}
		from, to := Start.AddDate(0, 0, -1), Start.AddDate(0, 0, 2)
		eachState(t, s, func(state string) {
			rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: app, From: from, To: to, GroupBy: []string{"country"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rows {
				got[r.Group["country"]] = fmt.Sprintf("clicks %d installs %d conversions %d ctit %d cost %v revenue %v",
					r.Clicks, r.Installs, r.Conversions, r.Rejected[touchpoint.RejectCTIT], r.Cost["EUR"], r.Revenue["USD"])
			}
			want := map[string]string{
				"":   "clicks 1 installs 0 conversions 0 ctit 0 cost 0 revenue 0",
				"GB": "clicks 1 installs 0 conversions 0 ctit 0 cost 0 revenue 0",
				"SE": "clicks 0 installs 1 conversions 1 ctit 1 cost 1.5 revenue 2",
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: by country\n got %v\nwant %v", state, got, want)
			}
			rows, err = s.Report(ctxb(), touchpoint.ReportFilter{App: app, From: from, To: to, GroupBy: []string{"media_source", "country"},
				Where: map[string]string{"country": "GB"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Group["media_source"] != "net_a" || rows[0].Group["country"] != "GB" || rows[0].Clicks != 1 || rows[0].Installs != 0 {
				t.Errorf("%s: where country GB: %+v", state, rows)
			}
		})
	}},
	// An app's report counts days in the app's zone; a change of zone
	// applies to what is recorded after it.
	{"Report/TimeZone", func(t *testing.T, s ReportStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		if _, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{TimeZone: ptr("America/Los_Angeles")}); err != nil {
			t.Fatal(err)
		}
		// Start is 2026-11-23 12:00 UTC: 04:00 in Los Angeles (UTC-8).
		click := NewTouch("com.example.game", "net_a", Start.Add(-11*time.Hour)) // 01:00 UTC on the 23rd: the 22nd there
		mustRecord(t, s, click)
		in := newInstall("com.example.game", "dev-1", "k1", "GAID-1", Start, "net_a") // the 23rd there
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{in}); err != nil {
			t.Fatal(err)
		}
		conv := &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: "com.example.game", DeviceID: "dev-1", EventID: "e1",
			Name: "af_purchase", Revenue: 20000, Currency: "USD", Time: Start.Add(19 * time.Hour), Source: "SDK", // 07:00 UTC on the 24th: the 23rd there
			Attribution: touchpoint.Attribution{MediaSource: "net_a", TouchID: 1}}}
		if err := s.WriteConversions(ctxb(), []*touchpoint.ConversionWrite{conv}); err != nil {
			t.Fatal(err)
		}
		day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
		report := func(state string, want map[string][3]int64) {
			t.Helper()
			rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: day(21), To: day(26), GroupBy: []string{"day"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][3]int64{}
			for _, r := range rows {
				got[r.Group["day"]] = [3]int64{r.Clicks, r.Installs, r.Conversions}
			}
			if len(got) != len(want) {
				t.Fatalf("%s: days %v, want %v", state, got, want)
			}
			for d, w := range want {
				if got[d] != w {
					t.Errorf("%s: %s: clicks, installs, conversions = %v, want %v", state, d, got[d], w)
				}
			}
		}
		eachState(t, s, func(state string) {
			report(state, map[string][3]int64{"2026-11-22": {1, 0, 0}, "2026-11-23": {0, 1, 1}})
		})
		// Back to UTC: a click at 03:00 UTC on the 25th counts on the 25th
		// (in Los Angeles it would be the 24th); what was counted stays.
		if _, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{TimeZone: ptr("UTC")}); err != nil {
			t.Fatal(err)
		}
		mustRecord(t, s, NewTouch("com.example.game", "net_a", day(25).Add(3*time.Hour)))
		eachState(t, s, func(state string) {
			report(state, map[string][3]int64{"2026-11-22": {1, 0, 0}, "2026-11-23": {0, 1, 1}, "2026-11-25": {1, 0, 0}})
		})
	}},
	// Where keeps the aggregates of a drill-down's path: a media source,
	// then one of its campaigns ("" is the aggregates without one), in the
	// loaded aggregates and in touches not loaded yet alike.
	{"Report/Where", func(t *testing.T, s ReportStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		touch := func(pid, campaign string) *touchpoint.Touch {
			tc := NewTouch("com.example.game", pid, Start)
			tc.Params.Campaign = campaign
			return tc
		}
		mustRecord(t, s, touch("net_a", "spring"), touch("net_a", "spring"), touch("net_a", ""), touch("net_b", "spring"))
		day := Start.Truncate(24 * time.Hour)
		clicks := func(where map[string]string, by ...string) map[string]int64 {
			t.Helper()
			rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: day, To: day.AddDate(0, 0, 1), GroupBy: by, Where: where})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, r := range rows {
				got[r.Group["campaign"]+"/"+r.Group["media_source"]] += r.Clicks
			}
			return got
		}
		eachState(t, s, func(state string) {
			for _, tc := range []struct {
				where map[string]string
				want  map[string]int64
			}{
				{nil, map[string]int64{"spring/": 3, "/": 1}},
				{map[string]string{"media_source": "net_a"}, map[string]int64{"spring/": 2, "/": 1}},
				{map[string]string{"media_source": "net_a", "campaign": "spring"}, map[string]int64{"spring/": 2}},
				{map[string]string{"media_source": "net_a", "campaign": ""}, map[string]int64{"/": 1}},
				{map[string]string{"media_source": "net_c"}, map[string]int64{}},
			} {
				if got := clicks(tc.where, "campaign"); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("%s: where %v: clicks by campaign %v, want %v", state, tc.where, got, tc.want)
				}
			}
		})
		for _, bad := range []map[string]string{{"day": "2026-11-23"}, {"region": "Bavaria"}, {"media_source": strings.Repeat("x", 1001)}} {
			_, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: day, To: day.AddDate(0, 0, 1), Where: bad})
			if code(err) != touchpoint.EINVALID {
				t.Errorf("where %.40v: err = %v, want invalid", bad, err)
			}
		}
	}},
}

// installReportTests are the report cases that need no touches.
var installReportTests = []part[InstallStore]{
	// Installs and conversions count on their day in the app's zone,
	// each by its own time; a conversion counts for its install's source
	// and, inside a re-engagement window, for the re-engagement's too.
	{"Report/InstallsInZone", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		if _, err := s.UpdateApp(ctxb(), game, touchpoint.AppUpdate{TimeZone: ptr("America/Los_Angeles")}); err != nil {
			t.Fatal(err)
		}
		// Start is 2026-11-23 12:00 UTC: 04:00 in Los Angeles (UTC-8).
		early := newInstall(game, "dev-1", "k1", "GAID-1", Start.Add(-11*time.Hour), "net_a") // the 22nd there
		late := newInstall(game, "dev-2", "k2", "GAID-2", Start, "")                          // the 23rd there
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{early, late}); err != nil {
			t.Fatal(err)
		}
		conv := &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: game, DeviceID: "dev-1", EventID: "e1",
			Name: "af_purchase", Revenue: 20000, Currency: "USD", Time: Start.Add(19 * time.Hour), Source: "SDK", // the 23rd there
			Attribution: early.Device.Attribution, Reengagement: &touchpoint.Attribution{MediaSource: "net_b", TouchID: 2}}}
		if err := s.WriteConversions(ctxb(), []*touchpoint.ConversionWrite{conv}); err != nil {
			t.Fatal(err)
		}
		day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
		rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: game, From: day(21), To: day(26), GroupBy: []string{"day", "media_source"}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.Group["day"]+" "+r.Group["media_source"]] = fmt.Sprintf("installs %d organic %d conversions %d revenue %d rejected %d",
				r.Installs, r.OrganicInstalls, r.Conversions, int64(r.Revenue["USD"]), r.Rejected[touchpoint.RejectCTIT])
		}
		want := map[string]string{
			"2026-11-22 net_a":     "installs 1 organic 0 conversions 0 revenue 0 rejected 0",
			"2026-11-22 net_fraud": "installs 0 organic 0 conversions 0 revenue 0 rejected 1", // each install's rejection
			"2026-11-23 organic":   "installs 0 organic 1 conversions 0 revenue 0 rejected 0",
			"2026-11-23 net_fraud": "installs 0 organic 0 conversions 0 revenue 0 rejected 1",
			"2026-11-23 net_a":     "installs 0 organic 0 conversions 1 revenue 20000 rejected 0",
			"2026-11-23 net_b":     "installs 0 organic 0 conversions 1 revenue 20000 rejected 0",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("report\n%v\nwant\n%v", got, want)
		}
		if _, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.missing", From: day(21), To: day(26)}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("report of an unknown app: %v", err)
		}
		if _, err := s.Report(ctxb(), touchpoint.ReportFilter{App: game, From: day(21), To: day(26), GroupBy: []string{"region"}}); code(err) != touchpoint.EINVALID {
			t.Fatalf("bad group_by: %v", err)
		}
	}},
}
