package storetest

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// newInstall returns the write of a first launch of a new device.
func newInstall(app, deviceID, key, gaid string, at time.Time, src string) *touchpoint.LaunchWrite {
	a := touchpoint.OrganicAttribution()
	if src != "" {
		a = touchpoint.Attribution{MediaSource: src, TouchID: 7, TouchType: touchpoint.Click, TouchTime: at.Add(-time.Hour),
			MatchType: touchpoint.MatchIDMatching, Params: touchpoint.LinkParams{Campaign: "spring", CostValue: "1.5", CostCurrency: "EUR"}}
	}
	d := &touchpoint.Device{App: app, ID: deviceID, InstallTime: at, Attribution: a, FirstLaunch: at, LastLaunch: at, Launches: 1}
	d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	in := &touchpoint.Install{App: app, DeviceID: deviceID, Type: touchpoint.TypeInstall, Time: at, Attribution: a,
		Candidates: []touchpoint.Candidate{{TouchID: 7, MediaSource: src, Outcome: touchpoint.OutcomeWon, Reason: "won", Explanation: "Won."}},
		Rejections: []touchpoint.Rejection{{Reason: touchpoint.RejectCTIT, Value: "3", MediaSource: "net_fraud"}}}
	in.Launch.IDs = d.IDs
	return &touchpoint.LaunchWrite{Key: key, Device: d, Install: in}
}

var installTests = []subtest{
	{"Install/WriteAndFind", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		w := newInstall("com.example.game", "dev-1", "k1", "GAID-1", Start, "net_a")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w}); err != nil {
			t.Fatal(err)
		}
		if w.Duplicate != 0 || w.Stale || w.Install.ID == 0 || w.Device.InstallID != w.Install.ID {
			t.Fatalf("write: %+v", w)
		}
		var ids touchpoint.DeviceIDs
		ids[touchpoint.GAID] = touchpoint.DeviceID{Raw: "gaid-1"} // any letter case
		d, err := s.FindDeviceByIDs(ctxb(), "com.example.game", ids)
		if err != nil || d == nil || d.ID != "dev-1" || d.Attribution.MediaSource != "net_a" || d.Launches != 1 {
			t.Fatalf("FindDeviceByIDs = %+v, %v", d, err)
		}
		ids[touchpoint.GAID] = touchpoint.DeviceID{Raw: "GAID-2"}
		if d, err := s.FindDeviceByIDs(ctxb(), "com.example.game", ids); err != nil || d != nil {
			t.Fatalf("another GAID found %+v, %v", d, err)
		}
		if _, err := s.FindDevice(ctxb(), "com.example.game", "nope"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindDevice(nope): %v", err)
		}
		in, err := s.FindInstall(ctxb(), "com.example.game", w.Install.ID)
		if err != nil || in.DeviceID != "dev-1" || len(in.Candidates) != 1 || in.Candidates[0].Explanation != "Won." || !in.Time.Equal(Start) {
			t.Fatalf("FindInstall = %+v, %v", in, err)
		}
		list, err := s.ListInstalls(ctxb(), "com.example.game", "dev-1")
		if err != nil || len(list) != 1 || list[0].ID != w.Install.ID {
			t.Fatalf("ListInstalls = %+v, %v", list, err)
		}
	}},
	{"Install/LatestInstall", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreateApp(t, s, "com.example.other")
		if _, err := s.LatestInstall(ctxb(), "com.example.game"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("no installs yet: %v", err)
		}
		older := newInstall("com.example.game", "dev-1", "k1", "GAID-1", Start, "net_a")
		newer := newInstall("com.example.game", "dev-2", "k2", "GAID-2", Start.Add(time.Hour), "")
		// Decided launches that are not new installs are passed over.
		again := newInstall("com.example.game", "dev-3", "k3", "GAID-3", Start.Add(2*time.Hour), "net_a")
		again.Install.Type = touchpoint.TypeReinstall
		elsewhere := newInstall("com.example.other", "dev-4", "k4", "GAID-4", Start.Add(3*time.Hour), "net_a")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{older, newer, again, elsewhere}); err != nil {
			t.Fatal(err)
		}
		in, err := s.LatestInstall(ctxb(), "com.example.game")
		if err != nil || in.ID != newer.Install.ID || in.DeviceID != "dev-2" || in.Type != touchpoint.TypeInstall || !in.Time.Equal(Start.Add(time.Hour)) {
			t.Fatalf("LatestInstall = %+v, %v; want install %d", in, err, newer.Install.ID)
		}
		if in, err := s.LatestInstall(ctxb(), "com.example.other"); err != nil || in.ID != elsewhere.Install.ID {
			t.Fatalf("LatestInstall(other) = %+v, %v", in, err)
		}
		if _, err := s.LatestInstall(ctxb(), "com.example.nope"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown app: %v", err)
		}
	}},
	{"Install/RetryIsDuplicate", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		w1 := newInstall("com.example.game", "dev-1", "k1", "GAID-1", Start, "net_a")
		w2 := newInstall("com.example.game", "dev-2", "k1", "GAID-1", Start, "net_a") // a retry decided again
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w1, w2}); err != nil {
			t.Fatal(err)
		}
		if w2.Duplicate != w1.Install.ID {
			t.Fatalf("retry in the same group: %+v", w2)
		}
		w3 := newInstall("com.example.game", "dev-3", "k1", "GAID-1", Start, "net_a")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w3}); err != nil || w3.Duplicate != w1.Install.ID {
			t.Fatalf("retry later: %+v, %v", w3, err)
		}
		if _, err := s.FindDevice(ctxb(), "com.example.game", "dev-2"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("a duplicate wrote its device: %v", err)
		}
	}},
	{"Install/StaleDecisions", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		w1 := newInstall("com.example.game", "dev-1", "k1", "GAID-1", Start, "net_a")
		// Decided at the same time without seeing dev-1: another key, same device.
		w2 := newInstall("com.example.game", "dev-2", "k2", "gaid-1", Start.Add(time.Second), "")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w1, w2}); err != nil {
			t.Fatal(err)
		}
		if !w2.Stale || w1.Stale {
			t.Fatalf("stale: w1 %v, w2 %v", w1.Stale, w2.Stale)
		}
		// A later launch decided on version 1 while another wrote version 2.
		seen, _ := s.FindDevice(ctxb(), "com.example.game", "dev-1")
		next := *seen
		next.Launches = 2
		a := &touchpoint.LaunchWrite{Seen: seen, Version: 1, Device: &next}
		b := &touchpoint.LaunchWrite{Seen: seen, Version: 1, Device: &next}
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{a, b}); err != nil {
			t.Fatal(err)
		}
		if a.Stale || !b.Stale {
			t.Fatalf("versions: a %v, b %v", a.Stale, b.Stale)
		}
		if d, _ := s.FindDevice(ctxb(), "com.example.game", "dev-1"); d.Launches != 2 {
			t.Fatalf("launches %d", d.Launches)
		}
	}},
	{"Install/Conversions", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		conv := func(id string, rev touchpoint.Amount) *touchpoint.ConversionWrite {
			return &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: "com.example.game", DeviceID: "dev-1", EventID: id,
				Name: "af_purchase", Value: `{"sku":"x"}`, Revenue: rev, Currency: "EUR", Time: Start, Source: "SDK",
				Attribution:  touchpoint.Attribution{MediaSource: "net_a", TouchID: 1, Params: touchpoint.LinkParams{Campaign: "spring"}},
				Reengagement: &touchpoint.Attribution{MediaSource: "net_b", TouchID: 2}}}
		}
		a, b, none1, none2 := conv("e1", 99900), conv("e1", 99900), conv("", 10000), conv("", 10000)
		if err := s.WriteConversions(ctxb(), []*touchpoint.ConversionWrite{a, b, none1, none2}); err != nil {
			t.Fatal(err)
		}
		if a.Duplicate != 0 || b.Duplicate != a.Conversion.ID || none1.Duplicate != 0 || none2.Duplicate != 0 {
			t.Fatalf("duplicates: %d %d %d %d", a.Duplicate, b.Duplicate, none1.Duplicate, none2.Duplicate)
		}
		list, err := s.ListConversions(ctxb(), "com.example.game", "dev-1")
		if err != nil || len(list) != 3 || list[2].ID != a.Conversion.ID || list[2].Revenue != 99900 || list[2].Value != `{"sku":"x"}` {
			t.Fatalf("ListConversions = %+v, %v", list, err)
		}
		rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: Start.Truncate(24 * time.Hour), To: Start.Add(24 * time.Hour), GroupBy: []string{"media_source"}})
		if err != nil || len(rows) != 2 {
			t.Fatalf("Report = %+v, %v", rows, err)
		}
		for _, r := range rows {
			if r.Conversions != 3 || r.Revenue["EUR"] != 119900 {
				t.Errorf("%v: %d conversions, revenue %v", r.Group, r.Conversions, r.Revenue)
			}
		}
	}},
	{"Install/Report", func(t *testing.T, s touchpoint.Store, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		day2 := Start.Add(24 * time.Hour)
		ws := []*touchpoint.LaunchWrite{
			newInstall("com.example.game", "d1", "k1", "g1", Start, "net_a"),
			newInstall("com.example.game", "d2", "k2", "g2", Start, "net_a"),
			newInstall("com.example.game", "d3", "k3", "g3", day2, "net_a"),
			newInstall("com.example.game", "d4", "k4", "g4", day2, ""),
		}
		if err := s.WriteLaunches(ctxb(), ws); err != nil {
			t.Fatal(err)
		}
		click := NewTouch("com.example.game", "net_a", Start)
		click.Verdict = touchpoint.VerdictUnchecked
		bad := NewTouch("com.example.game", "net_a", Start)
		bad.Rejected = true
		mustRecord(t, s, click)
		mustRecord(t, s, bad)
		check := func(when string) {
			rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: Start.Truncate(24 * time.Hour),
				To: Start.Add(48 * time.Hour), GroupBy: []string{"media_source", "day"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*touchpoint.ReportRow{}
			for _, r := range rows {
				got[r.Group["media_source"]+" "+r.Group["day"]] = r
			}
			a1, a2, o2, f1 := got["net_a 2026-11-23"], got["net_a 2026-11-24"], got["organic 2026-11-24"], got["net_fraud 2026-11-23"]
			if a1 == nil || a2 == nil || o2 == nil || f1 == nil || len(rows) != 5 {
				t.Fatalf("%s: groups %v", when, rows)
			}
			if a1.Clicks != 1 || a1.Installs != 2 || a1.Cost["EUR"] != 30000 || a1.ECPI["EUR"] != 15000 || a2.Installs != 1 || o2.OrganicInstalls != 1 || f1.Rejected["ctit_anomalies"] != 2 {
				t.Fatalf("%s: %+v %+v %+v %+v", when, a1, a2, o2, f1)
			}
		}
		check("before settling")
		if st, ok := s.(Settler); ok {
			if err := st.Settle(ctxb()); err != nil {
				t.Fatal(err)
			}
			check("after settling")
		}
		if _, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: Start, To: Start.Add(time.Hour), GroupBy: []string{"country"}}); code(err) != touchpoint.EINVALID {
			t.Fatalf("bad group_by: %v", err)
		}
	}},
}
