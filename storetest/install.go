package storetest

import (
	"fmt"
	"slices"
	"sync"
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
	d := &touchpoint.Device{App: app, ID: deviceID, InstallTime: at, Attribution: a, FirstLaunch: at, LastLaunch: at, Launches: 1,
		CountryCode: "SE"}
	d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	in := &touchpoint.Install{App: app, DeviceID: deviceID, Type: touchpoint.TypeInstall, Time: at, Attribution: a,
		Candidates: []touchpoint.Candidate{{TouchID: 7, MediaSource: src, Outcome: touchpoint.OutcomeWon, Reason: "won", Explanation: "Won."}},
		Rejections: []touchpoint.Rejection{{Reason: touchpoint.RejectCTIT, Value: "3", MediaSource: "net_fraud"}}}
	in.Launch.IDs = d.IDs
	in.Launch.IP, in.Launch.CountryCode, in.Launch.City = "89.160.20.112", "SE", "Linköping" // as serve --geoip-db finds them
	return &touchpoint.LaunchWrite{Key: key, Device: d, Install: in}
}

// InstallStore is what the install cases need: devices, installs and
// conversions, the apps that hold them and the outbox their deliveries
// are written to.
type InstallStore interface {
	touchpoint.AppStore
	touchpoint.InstallStore
	touchpoint.DeliveryStore
}

// RunInstalls runs the install and report cases that need no touches
// against stores from open.
func RunInstalls(t *testing.T, open func(t *testing.T, now func() time.Time) InstallStore) {
	runParts(t, installTests, open)
	runParts(t, installReportTests, open)
}

var installTests = []part[InstallStore]{
	{"Install/WriteAndFind", func(t *testing.T, s InstallStore, c *Clock) {
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
	{"Install/LatestInstall", func(t *testing.T, s InstallStore, c *Clock) {
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
	{"Install/RetryIsDuplicate", func(t *testing.T, s InstallStore, c *Clock) {
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
	{"Install/StaleDecisions", func(t *testing.T, s InstallStore, c *Clock) {
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
	{"Install/Conversions", func(t *testing.T, s InstallStore, c *Clock) {
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
	{"Install/FindDeviceByCustomerUserID", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		MustCreateApp(t, s, "com.example.other")
		find := func(cuid string) (*touchpoint.Device, error) {
			return s.FindDeviceByCustomerUserID(ctxb(), game, cuid)
		}
		write := func(ws ...*touchpoint.LaunchWrite) {
			t.Helper()
			if err := s.WriteLaunches(ctxb(), ws); err != nil {
				t.Fatal(err)
			}
			for _, w := range ws {
				if w.Stale || w.Duplicate != 0 {
					t.Fatalf("write of %s: stale %v, duplicate %d", w.Device.ID, w.Stale, w.Duplicate)
				}
			}
		}
		// relaunch writes a later launch of a device at the time given.
		relaunch := func(id string, at time.Time, cuid string) {
			t.Helper()
			seen, err := s.FindDevice(ctxb(), game, id)
			if err != nil {
				t.Fatal(err)
			}
			next := *seen
			next.Launches, next.LastLaunch, next.CustomerUserID = seen.Launches+1, at, cuid
			write(&touchpoint.LaunchWrite{Seen: seen, Version: seen.Launches, Device: &next})
		}
		// Two devices of one customer, the first written launched last.
		w1 := newInstall(game, "dev-1", "k1", "GAID-1", Start.Add(time.Hour), "net_a")
		w1.Device.CustomerUserID = "user-42"
		w2 := newInstall(game, "dev-2", "k2", "GAID-2", Start, "")
		w2.Device.CustomerUserID = "user-42"
		w3 := newInstall(game, "dev-3", "k3", "GAID-3", Start, "")
		write(w1)
		write(w2, w3)
		d, err := find("user-42")
		if err != nil || d.ID != "dev-1" || d.CustomerUserID != "user-42" || d.App != game || d.Attribution.MediaSource != "net_a" {
			t.Fatalf("FindDeviceByCustomerUserID(user-42) = %+v, %v; want dev-1, launched last", d, err)
		}
		relaunch("dev-2", Start.Add(2*time.Hour), "user-42")
		if d, err := find("user-42"); err != nil || d.ID != "dev-2" || d.Launches != 2 {
			t.Fatalf("after dev-2 launched again: %+v, %v; want dev-2", d, err)
		}
		for _, cuid := range []string{"user-43", "USER-42", "user-4", "user-42 ", ""} {
			if d, err := find(cuid); code(err) != touchpoint.ENOTFOUND {
				t.Errorf("FindDeviceByCustomerUserID(%q) = %+v, %v; want ENOTFOUND", cuid, d, err)
			}
		}
		if _, err := s.FindDeviceByCustomerUserID(ctxb(), "com.example.other", "user-42"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("another app's customer: %v", err)
		}
		if _, err := s.FindDeviceByCustomerUserID(ctxb(), "com.example.missing", "user-42"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a missing app: %v", err)
		}
		// A customer user id set on a later launch, then changed.
		relaunch("dev-3", Start.Add(3*time.Hour), "Old-ID")
		if d, err := find("Old-ID"); err != nil || d.ID != "dev-3" {
			t.Fatalf("FindDeviceByCustomerUserID(Old-ID) = %+v, %v", d, err)
		}
		if _, err := find("old-id"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("found in another letter case: %v", err)
		}
		relaunch("dev-3", Start.Add(4*time.Hour), "New-ID")
		if d, err := find("New-ID"); err != nil || d.ID != "dev-3" || d.CustomerUserID != "New-ID" || d.Launches != 3 {
			t.Fatalf("FindDeviceByCustomerUserID(New-ID) = %+v, %v", d, err)
		}
		if d, err := find("Old-ID"); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("found by the old customer user id: %+v, %v", d, err)
		}
		// dev-1 changes customer too: user-42 is dev-2 alone.
		relaunch("dev-1", Start.Add(5*time.Hour), "user-7")
		if d, err := find("user-42"); err != nil || d.ID != "dev-2" {
			t.Fatalf("user-42 after dev-1 changed = %+v, %v; want dev-2", d, err)
		}
		if d, err := find("user-7"); err != nil || d.ID != "dev-1" {
			t.Fatalf("user-7 = %+v, %v; want dev-1", d, err)
		}
	}},
	// Deliveries are written with what owes them, and learn their ids and
	// sources; a duplicate, a stale decision or a failed group writes none.
	{"Install/Deliveries", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		pb := func(i int) *touchpoint.Delivery {
			d := newDelivery("pb.example.net", i)
			d.Source = ""
			return d
		}
		w := newInstall(game, "dev-1", "k1", "GAID-1", Start, "net_a")
		w.Deliveries = []*touchpoint.Delivery{pb(1), pb(2)}
		retry := newInstall(game, "dev-2", "k1", "GAID-1", Start, "net_a")
		retry.Deliveries = []*touchpoint.Delivery{pb(3)}
		stale := newInstall(game, "dev-3", "k3", "gaid-1", Start.Add(time.Second), "")
		stale.Deliveries = []*touchpoint.Delivery{pb(4)}
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w, retry, stale}); err != nil {
			t.Fatal(err)
		}
		if w.Duplicate != 0 || w.Stale || retry.Duplicate != w.Install.ID || !stale.Stale {
			t.Fatalf("results: write %d/%v, retry %d, stale %v", w.Duplicate, w.Stale, retry.Duplicate, stale.Stale)
		}
		installSource := fmt.Sprintf("install/%d", w.Install.ID)
		for _, d := range w.Deliveries {
			if d.ID == 0 || d.Source != installSource {
				t.Fatalf("install's delivery: id %d, source %q; want %q", d.ID, d.Source, installSource)
			}
		}
		conv := func(event string, i int) *touchpoint.ConversionWrite {
			return &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: game, DeviceID: "dev-1", EventID: event,
				Name: "af_purchase", Time: Start.Add(time.Hour), Source: "SDK", Attribution: w.Device.Attribution},
				Deliveries: []*touchpoint.Delivery{pb(i)}}
		}
		a, b := conv("e1", 5), conv("e1", 6)
		if err := s.WriteConversions(ctxb(), []*touchpoint.ConversionWrite{a, b}); err != nil {
			t.Fatal(err)
		}
		convSource := fmt.Sprintf("conversion/%d", a.Conversion.ID)
		if b.Duplicate != a.Conversion.ID || a.Deliveries[0].ID == 0 || a.Deliveries[0].Source != convSource {
			t.Fatalf("conversion's delivery %+v; duplicate %d", a.Deliveries[0], b.Duplicate)
		}
		// A group with a launch of an unknown app fails whole.
		good := newInstall(game, "dev-9", "k9", "GAID-9", Start, "")
		good.Deliveries = []*touchpoint.Delivery{pb(7)}
		bad := newInstall("com.example.missing", "dev-10", "k10", "GAID-10", Start, "")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{good, bad}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("launch of an unknown app: %v, want ENOTFOUND", err)
		}
		if _, err := s.FindDevice(ctxb(), game, "dev-9"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("a failed group wrote its device: %v", err)
		}
		list, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{App: game, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, d := range list {
			got[d.Source] = append(got[d.Source], d.URL)
		}
		slices.Sort(got[installSource])
		want := map[string][]string{installSource: {"https://pb.example.net/pb?i=1", "https://pb.example.net/pb?i=2"},
			convSource: {"https://pb.example.net/pb?i=5"}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
		if d, err := s.FindDelivery(ctxb(), w.Deliveries[1].ID); err != nil || d.Source != installSource || d.State != touchpoint.DeliveryPending {
			t.Fatalf("FindDelivery = %+v, %v", d, err)
		}
	}},
	// Later launches: a re-engagement is recorded as the device's, an
	// ordinary launch moves the device alone, and new ids find it.
	{"Install/LaterLaunches", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		first := newInstall(game, "dev-1", "k1", "GAID-1", Start, "net_a")
		if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{first}); err != nil {
			t.Fatal(err)
		}
		relaunch := func(at time.Time, in *touchpoint.Install, change func(*touchpoint.Device)) *touchpoint.LaunchWrite {
			t.Helper()
			seen, err := s.FindDevice(ctxb(), game, "dev-1")
			if err != nil {
				t.Fatal(err)
			}
			next := *seen
			next.Launches, next.LastLaunch = seen.Launches+1, at
			if change != nil {
				change(&next)
			}
			w := &touchpoint.LaunchWrite{Seen: seen, Version: seen.Launches, Device: &next, Install: in}
			if err := s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w}); err != nil || w.Stale || w.Duplicate != 0 {
				t.Fatalf("later launch: %v, stale %v, duplicate %d", err, w.Stale, w.Duplicate)
			}
			return w
		}
		at := Start.Add(48 * time.Hour)
		netB := touchpoint.Attribution{MediaSource: "net_b", TouchID: 9, TouchType: touchpoint.Click, Retargeting: true}
		re := &touchpoint.Install{App: game, DeviceID: "dev-1", Type: touchpoint.TypeReengagement, Time: at, Attribution: netB,
			ReengagementUntil: at.Add(24 * time.Hour)}
		w := relaunch(at, re, func(d *touchpoint.Device) {
			d.Reengagement, d.ReengagedAt, d.ReengagementUntil = &netB, at, at.Add(24*time.Hour)
		})
		if re.ID == 0 || re.ID == first.Install.ID || w.Device.ReengagementID != re.ID || w.Device.InstallID != first.Install.ID {
			t.Fatalf("re-engagement %d: device install %d, re-engagement %d", re.ID, w.Device.InstallID, w.Device.ReengagementID)
		}
		relaunch(at.Add(time.Hour), nil, func(d *touchpoint.Device) { d.IDs[touchpoint.IDFV] = touchpoint.DeviceID{Raw: "IDFV-1"} })
		d, err := s.FindDevice(ctxb(), game, "dev-1")
		if err != nil || d.Launches != 3 || d.ReengagementID != re.ID || d.InstallID != first.Install.ID || !d.LastLaunch.Equal(at.Add(time.Hour)) ||
			d.ReengagementAt(at.Add(time.Minute)) == nil || d.ReengagementAt(at.Add(25*time.Hour)) != nil {
			t.Fatalf("device = %+v, %v", d, err)
		}
		var ids touchpoint.DeviceIDs
		ids[touchpoint.IDFV] = touchpoint.DeviceID{Raw: "idfv-1"}
		if d, err := s.FindDeviceByIDs(ctxb(), game, ids); err != nil || d == nil || d.ID != "dev-1" {
			t.Fatalf("FindDeviceByIDs(new IDFV) = %+v, %v", d, err)
		}
		list, err := s.ListInstalls(ctxb(), game, "dev-1")
		if err != nil || len(list) != 2 || list[0].ID != re.ID || list[0].Type != touchpoint.TypeReengagement || list[1].ID != first.Install.ID {
			t.Fatalf("ListInstalls = %+v, %v", list, err)
		}
		if in, err := s.LatestInstall(ctxb(), game); err != nil || in.ID != first.Install.ID {
			t.Fatalf("LatestInstall = %+v, %v; want the install, not the re-engagement", in, err)
		}
		if in, err := s.FindInstall(ctxb(), game, re.ID); err != nil || in.Attribution.MediaSource != "net_b" || !in.ReengagementUntil.Equal(at.Add(24*time.Hour)) {
			t.Fatalf("FindInstall(re-engagement) = %+v, %v", in, err)
		}
		if _, err := s.FindInstall(ctxb(), game, re.ID+100); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindInstall(missing): %v", err)
		}
		if l, err := s.ListInstalls(ctxb(), game, "dev-2"); err != nil || len(l) != 0 {
			t.Fatalf("ListInstalls(another device) = %+v, %v", l, err)
		}
		// Every read of an unknown app says so.
		const missing = "com.example.missing"
		for name, err := range map[string]error{
			"FindDevice":      func() error { _, err := s.FindDevice(ctxb(), missing, "dev-1"); return err }(),
			"FindDeviceByIDs": func() error { _, err := s.FindDeviceByIDs(ctxb(), missing, ids); return err }(),
			"FindInstall":     func() error { _, err := s.FindInstall(ctxb(), missing, re.ID); return err }(),
			"ListInstalls":    func() error { _, err := s.ListInstalls(ctxb(), missing, "dev-1"); return err }(),
			"ListConversions": func() error { _, err := s.ListConversions(ctxb(), missing, "dev-1"); return err }(),
		} {
			if code(err) != touchpoint.ENOTFOUND {
				t.Errorf("%s of an unknown app: %v, want ENOTFOUND", name, err)
			}
		}
	}},
	// First launches of one device written at once, each in its own
	// group: a retry (same key) or another decision on the same device
	// (another key, the same advertising id in any letter case). One is
	// written; every other is a Duplicate of it or Stale.
	{"Install/ConcurrentFirstLaunches", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		ws := make([]*touchpoint.LaunchWrite, 12)
		for i := range ws {
			key, gaid := "k1", "GAID-1"
			if i%2 == 1 {
				key, gaid = fmt.Sprintf("k%d", i), "gaid-1"
			}
			ws[i] = newInstall(game, fmt.Sprintf("dev-%d", i), key, gaid, Start.Add(time.Duration(i)*time.Millisecond), "net_a")
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ws))
		for i, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.WriteLaunches(ctxb(), []*touchpoint.LaunchWrite{w})
			}()
		}
		wg.Wait()
		checkOneInstall(t, s, game, ws, errs)
	}},
	// Conversions with one event id written at once: one is stored.
	{"Install/ConcurrentConversions", func(t *testing.T, s InstallStore, c *Clock) {
		const game = "com.example.game"
		MustCreateApp(t, s, game)
		ws := make([]*touchpoint.ConversionWrite, 8)
		var wg sync.WaitGroup
		errs := make([]error, len(ws))
		for i := range ws {
			ws[i] = &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: game, DeviceID: "dev-1", EventID: "e1",
				Name: "af_purchase", Revenue: 10000, Currency: "EUR", Time: Start, Source: "SDK", Attribution: touchpoint.OrganicAttribution()}}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.WriteConversions(ctxb(), ws[i:i+1])
			}()
		}
		wg.Wait()
		list, err := s.ListConversions(ctxb(), game, "dev-1")
		if err != nil || len(list) != 1 {
			t.Fatalf("ListConversions = %d, %v; want 1", len(list), err)
		}
		for i, w := range ws {
			if errs[i] != nil {
				t.Fatalf("write %d: %v", i, errs[i])
			}
			if (w.Duplicate == 0) != (w.Conversion.ID == list[0].ID) || w.Duplicate != 0 && w.Duplicate != list[0].ID {
				t.Errorf("write %d: id %d, duplicate %d; stored %d", i, w.Conversion.ID, w.Duplicate, list[0].ID)
			}
		}
		rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: game, From: Start.Truncate(24 * time.Hour), To: Start.Add(24 * time.Hour)})
		if err != nil || len(rows) != 1 || rows[0].Conversions != 1 || rows[0].Revenue["EUR"] != 10000 {
			t.Fatalf("Report = %+v, %v; want one conversion", rows, err)
		}
	}},
}

// installTouchTests are the install cases that record touches too.
var installTouchTests = []part[ReportStore]{
	{"Install/Report", func(t *testing.T, s ReportStore, c *Clock) {
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
		if _, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: Start, To: Start.Add(time.Hour), GroupBy: []string{"region"}}); code(err) != touchpoint.EINVALID {
			t.Fatalf("bad group_by: %v", err)
		}
	}},
}

// checkOneInstall checks that of first launches of one device (ws, the
// results errs) exactly one was written, and that every other came back a
// Duplicate of it or Stale and wrote nothing.
func checkOneInstall(t *testing.T, s InstallStore, app string, ws []*touchpoint.LaunchWrite, errs []error) {
	t.Helper()
	var won *touchpoint.LaunchWrite
	for i, w := range ws {
		switch {
		case errs[i] != nil:
			t.Fatalf("write %d: %v", i, errs[i])
		case w.Duplicate == 0 && !w.Stale:
			if won != nil {
				t.Fatalf("both %s and %s were written", won.Device.ID, w.Device.ID)
			}
			won = w
		}
	}
	if won == nil {
		t.Fatal("no launch was written")
	}
	for _, w := range ws {
		if w == won {
			continue
		}
		if w.Duplicate != 0 && (w.Duplicate != won.Install.ID || w.Key != won.Key) {
			t.Errorf("%s (key %s): duplicate of %d; written: %d (key %s)", w.Device.ID, w.Key, w.Duplicate, won.Install.ID, won.Key)
		}
		if _, err := s.FindDevice(ctxb(), app, w.Device.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("%s was written too: %v", w.Device.ID, err)
		}
	}
	var ids touchpoint.DeviceIDs
	ids[touchpoint.GAID] = touchpoint.DeviceID{Raw: "gaid-1"}
	if d, err := s.FindDeviceByIDs(ctxb(), app, ids); err != nil || d == nil || d.ID != won.Device.ID {
		t.Fatalf("FindDeviceByIDs = %+v, %v; want %s", d, err, won.Device.ID)
	}
	rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: app, From: Start.Truncate(24 * time.Hour), To: Start.Add(24 * time.Hour)})
	if err != nil || len(rows) != 1 || rows[0].Installs != 1 {
		t.Fatalf("Report = %+v, %v; want one install", rows, err)
	}
}
