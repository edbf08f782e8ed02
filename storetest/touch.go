package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Settler is implemented by stores that move what they acknowledged into
// their tables and indexes behind the durable write; the suite checks reads
// both before and after Settle.
type Settler interface {
	Settle(ctx context.Context) error
}

const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"

// NewTouch returns a click of app from pid at t with every kind of field set.
func NewTouch(app, pid string, t time.Time) *touchpoint.Touch {
	inc := false
	redirect := false
	return &touchpoint.Touch{
		App: app, Kind: touchpoint.Click, Time: t, PID: pid,
		Params: touchpoint.LinkParams{
			Campaign: "summer", CampaignID: "c1", ClickID: "click-" + t.Format(time.RFC3339Nano), SiteID: "site42",
			Adset: "set", Ad: "ad", Sub1: "s1", Sub5: "s5", CostModel: "CPI", CostValue: "1.2500", CostCurrency: "EUR",
			DeepLinkValue: "promo", Incentivized: &inc, Retargeting: true, ClickLookback: 3 * touchpoint.Day,
			ViewThroughLookback: 12 * touchpoint.Hour, ReengagementWindow: 30 * touchpoint.Day, Expires: 1900000000,
			Redirect: &redirect, Signature: "sig",
		},
		Extra:    []touchpoint.Param{{Key: "my_param", Value: "x y"}, {Key: "my_param", Value: ""}},
		Device:   touchpoint.DeviceIDs{touchpoint.GAID: {Raw: gaid}, touchpoint.IDFV: {SHA1: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		IP:       "203.0.113.7",
		UA:       "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
		Language: "en-US",
		// What serve --geoip-db finds for IP: stored with the touch.
		CountryCode: "GB",
		City:        "London",
		Verdict:     touchpoint.VerdictValid,
		Notes:       []string{"af_cost_value dropped: x"},
	}
}

func mustRecord(tb testing.TB, s touchpoint.TouchStore, ts ...*touchpoint.Touch) {
	tb.Helper()
	if err := s.RecordTouches(ctxb(), ts); err != nil {
		tb.Fatalf("RecordTouches: %v", err)
	}
}

func ids(ts []*touchpoint.Touch) []int64 {
	var out []int64
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// TouchStore is what the touch cases need: touches, the apps that own
// them, and the report their clicks count in.
type TouchStore interface {
	touchpoint.AppStore
	touchpoint.TouchStore
	Report(ctx context.Context, f touchpoint.ReportFilter) ([]*touchpoint.ReportRow, error)
}

// RunTouches runs the touch cases against stores from open.
func RunTouches(t *testing.T, open func(t *testing.T, now func() time.Time) TouchStore) {
	runParts(t, touchTests, open)
}

// eachState runs check once before and, for stores that settle later, once
// after they have.
func eachState(t *testing.T, s any, check func(state string)) {
	t.Helper()
	check("unsettled")
	if st, ok := s.(Settler); ok {
		if err := st.Settle(ctxb()); err != nil {
			t.Fatal(err)
		}
		check("settled")
	}
}

var touchTests = []part[TouchStore]{
	{"Touch/RecordFind", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		in := NewTouch("com.example.game", "net", Start.Add(123456789))
		in.Verdict = touchpoint.VerdictInvalidSignature
		in.Rejected = true
		in.CustomSource = true
		mustRecord(t, s, in)
		if in.ID == 0 || touchpoint.TouchIDTime(in.ID).Before(Start) {
			t.Fatalf("id %d (time %v)", in.ID, touchpoint.TouchIDTime(in.ID))
		}
		got, err := s.FindTouch(ctxb(), "com.example.game", in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(in.Time) {
			t.Fatalf("time %v, want %v", got.Time, in.Time)
		}
		got.Time = in.Time
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("FindTouch =\n%+v\nwant\n%+v", got, in)
		}
		if _, err := s.FindTouch(ctxb(), "com.example.game", in.ID+1); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown id: err = %v", err)
		}
		MustCreateApp(t, s, "com.example.other")
		if _, err := s.FindTouch(ctxb(), "com.example.other", in.ID); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("other app's touch: err = %v", err)
		}
	}},
	{"Touch/IDsAscendAndCarryTime", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		var ts []*touchpoint.Touch
		for i := 0; i < 300; i++ { // more than one multi-row insert
			ts = append(ts, NewTouch("com.example.game", "net", Start)) // the same millisecond
		}
		mustRecord(t, s, ts...)
		later := NewTouch("com.example.game", "net", Start.Add(time.Hour))
		mustRecord(t, s, later)
		for i := 1; i < len(ts); i++ {
			if ts[i].ID <= ts[i-1].ID {
				t.Fatalf("ids not ascending: %d after %d", ts[i].ID, ts[i-1].ID)
			}
		}
		if got := touchpoint.TouchIDTime(ts[0].ID); !got.Equal(Start) {
			t.Fatalf("id time %v, want %v", got, Start)
		}
		if got := touchpoint.TouchIDTime(later.ID); !got.Equal(Start.Add(time.Hour)) {
			t.Fatalf("id time %v, want %v", got, Start.Add(time.Hour))
		}
	}},
	{"Touch/ErrUnknownApp", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		err := s.RecordTouches(ctxb(), []*touchpoint.Touch{NewTouch("com.example.game", "net", Start), NewTouch("com.nope.app", "net", Start)})
		if code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("err = %v, want not_found", err)
		}
		if n, _ := s.CountTouches(ctxb(), touchpoint.TouchFilter{App: "com.example.game"}); n != 0 {
			t.Fatalf("a failed batch stored %d touches", n)
		}
	}},
	{"Touch/ListFilters", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreateApp(t, s, "com.example.other")
		var all []*touchpoint.Touch
		for i := 0; i < 10; i++ {
			tc := NewTouch("com.example.game", []string{"a_net", "b_net"}[i%2], Start.Add(time.Duration(i)*time.Hour))
			tc.Params.ClickID = fmt.Sprintf("ck%d", i)
			tc.Device = touchpoint.DeviceIDs{}
			tc.Device[touchpoint.GAID].Raw = fmt.Sprintf("abcdef00-0000-0000-0000-%012d", i)
			if i == 7 {
				tc.Kind = touchpoint.Impression
				tc.Device = touchpoint.DeviceIDs{}
				tc.Device[touchpoint.IDFA].SHA1 = "8b6cb4e3f5a6c2a1e4e1b7a9c0d2f3e4a5b6c7d8"
			}
			all = append(all, tc)
		}
		mustRecord(t, s, all[:5]...)
		mustRecord(t, s, all[5:]...)
		mustRecord(t, s, NewTouch("com.example.other", "a_net", Start))

		eachState(t, s, func(state string) {
			for name, tc := range map[string]struct {
				f    touchpoint.TouchFilter
				want []int
			}{
				"all":            {touchpoint.TouchFilter{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
				"pid":            {touchpoint.TouchFilter{PID: "b_net"}, []int{9, 7, 5, 3, 1}},
				"kind":           {touchpoint.TouchFilter{Kind: touchpoint.Impression}, []int{7}},
				"clicks":         {touchpoint.TouchFilter{Kind: touchpoint.Click, PID: "b_net"}, []int{9, 5, 3, 1}},
				"range":          {touchpoint.TouchFilter{From: Start.Add(2 * time.Hour), To: Start.Add(5 * time.Hour)}, []int{4, 3, 2}},
				"click id":       {touchpoint.TouchFilter{ClickID: "ck4"}, []int{4}},
				"device raw":     {touchpoint.TouchFilter{DeviceID: "abcdef00-0000-0000-0000-000000000003"}, []int{3}},
				"device upper":   {touchpoint.TouchFilter{DeviceID: "ABCDEF00-0000-0000-0000-000000000003"}, []int{3}},
				"device sha1":    {touchpoint.TouchFilter{DeviceID: "8B6CB4E3F5A6C2A1E4E1B7A9C0D2F3E4A5B6C7D8"}, []int{7}},
				"device and pid": {touchpoint.TouchFilter{DeviceID: "abcdef00-0000-0000-0000-000000000003", PID: "a_net"}, nil},
				"device range":   {touchpoint.TouchFilter{DeviceID: "abcdef00-0000-0000-0000-000000000003", From: Start.Add(4 * time.Hour)}, nil},
				"nothing":        {touchpoint.TouchFilter{ClickID: "nope"}, nil},
			} {
				tc.f.App = "com.example.game"
				got, next, err := s.ListTouches(ctxb(), tc.f)
				if err != nil {
					t.Fatalf("%s %s: %v", state, name, err)
				}
				var want []int64
				for _, i := range tc.want {
					want = append(want, all[i].ID)
				}
				if !reflect.DeepEqual(ids(got), want) || next != 0 {
					t.Errorf("%s %s: got %v next %d, want %v", state, name, ids(got), next, want)
				}
				n, err := s.CountTouches(ctxb(), tc.f)
				if err != nil || n != int64(len(want)) {
					t.Errorf("%s %s: CountTouches = %d, %v; want %d", state, name, n, err, len(want))
				}
			}
			// Pages of 4: 9 8 7 6 | 5 4 3 2 | 1 0
			var pages [][]int64
			f := touchpoint.TouchFilter{App: "com.example.game", Limit: 4}
			for {
				got, next, err := s.ListTouches(ctxb(), f)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, ids(got))
				if next == 0 {
					break
				}
				f.Before = next
			}
			want := [][]int64{ids([]*touchpoint.Touch{all[9], all[8], all[7], all[6]}), ids([]*touchpoint.Touch{all[5], all[4], all[3], all[2]}), ids([]*touchpoint.Touch{all[1], all[0]})}
			if !reflect.DeepEqual(pages, want) {
				t.Errorf("%s pages = %v, want %v", state, pages, want)
			}
		})
		if _, _, err := s.ListTouches(ctxb(), touchpoint.TouchFilter{App: "com.nope.app"}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown app: err = %v", err)
		}
	}},
	// A range's edges are exact to the nanosecond, whatever precision a
	// store keeps times in for its indexes.
	{"Touch/RangeEdges", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		from, to := Start.Add(1500*time.Microsecond+7), Start.Add(time.Hour+250*time.Microsecond+3)
		var ts []*touchpoint.Touch
		for _, at := range []time.Time{from.Add(-time.Nanosecond), from, from.Add(time.Nanosecond), to.Add(-time.Nanosecond), to, to.Add(time.Nanosecond)} {
			ts = append(ts, NewTouch("com.example.game", "net", at))
		}
		mustRecord(t, s, ts...)
		eachState(t, s, func(state string) {
			for name, tc := range map[string]struct {
				f    touchpoint.TouchFilter
				want []int
			}{
				"from":  {touchpoint.TouchFilter{From: from}, []int{5, 4, 3, 2, 1}},
				"to":    {touchpoint.TouchFilter{To: to}, []int{3, 2, 1, 0}},
				"both":  {touchpoint.TouchFilter{From: from, To: to}, []int{3, 2, 1}},
				"empty": {touchpoint.TouchFilter{From: from.Add(time.Nanosecond), To: from.Add(time.Nanosecond)}, nil},
			} {
				tc.f.App = "com.example.game"
				got, _, err := s.ListTouches(ctxb(), tc.f)
				if err != nil {
					t.Fatalf("%s %s: %v", state, name, err)
				}
				var want []int64
				for _, i := range tc.want {
					want = append(want, ts[i].ID)
				}
				if !reflect.DeepEqual(ids(got), want) {
					t.Errorf("%s %s: got %v, want %v", state, name, ids(got), want)
				}
				if n, err := s.CountTouches(ctxb(), tc.f); err != nil || n != int64(len(want)) {
					t.Errorf("%s %s: CountTouches = %d, %v; want %d", state, name, n, err, len(want))
				}
			}
		})
	}},
	// Recorded touches count in the report in the same commit: clicks and
	// impressions, not those signing rejected or over their partner's cap,
	// and nothing of a batch that failed.
	{"Touch/Report", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		touch := func(pid string, kind touchpoint.TouchKind, rejected, overCap bool) *touchpoint.Touch {
			tc := NewTouch("com.example.game", pid, Start)
			tc.Kind, tc.Rejected, tc.OverCap = kind, rejected, overCap
			return tc
		}
		mustRecord(t, s, touch("net_a", touchpoint.Click, false, false), touch("net_a", touchpoint.Click, true, false),
			touch("net_a", touchpoint.Impression, false, false))
		mustRecord(t, s, touch("net_a", touchpoint.Click, false, true), touch("net_b", touchpoint.Click, false, false))
		if err := s.RecordTouches(ctxb(), []*touchpoint.Touch{touch("net_a", touchpoint.Click, false, false),
			NewTouch("com.nope.app", "net_a", Start)}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown app: err = %v", err)
		}
		day := Start.Truncate(24 * time.Hour)
		eachState(t, s, func(state string) {
			rows, err := s.Report(ctxb(), touchpoint.ReportFilter{App: "com.example.game", From: day, To: day.AddDate(0, 0, 1),
				GroupBy: []string{"media_source"}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]int64{}
			for _, r := range rows {
				got[r.Group["media_source"]] = [2]int64{r.Clicks, r.Impressions}
			}
			if want := map[string][2]int64{"net_a": {1, 1}, "net_b": {1, 0}}; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: clicks and impressions by media source %v, want %v", state, got, want)
			}
		})
	}},
	{"Touch/ByKeys", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreateApp(t, s, "com.example.other")
		old := NewTouch("com.example.game", "net", Start.Add(-10*24*time.Hour))
		a := NewTouch("com.example.game", "net", Start)
		b := NewTouch("com.example.game", "net", Start.Add(time.Minute))
		b.Device = touchpoint.DeviceIDs{}
		b.Device[touchpoint.GAID].MD5 = "0123456789abcdef0123456789abcdef"
		b.IP = "198.51.100.1"
		other := NewTouch("com.example.other", "net", Start)
		mustRecord(t, s, old, a)
		mustRecord(t, s, b, other)
		eachState(t, s, func(state string) {
			for name, tc := range map[string]struct {
				keys  []touchpoint.LookupKey
				since time.Time
				want  []int64
			}{
				"gaid":       {touchpoint.DeviceKeys("com.example.game", gaid), time.Time{}, []int64{old.ID, a.ID}},
				"gaid upper": {touchpoint.DeviceKeys("com.example.game", "38400000-8CF0-11BD-B23E-10B96E40000D"), Start.Add(-time.Hour), []int64{a.ID}},
				"md5 only":   {touchpoint.DeviceKeys("com.example.game", "0123456789ABCDEF0123456789ABCDEF"), time.Time{}, []int64{b.ID}},
				"ip":         {[]touchpoint.LookupKey{touchpoint.IPKey("com.example.game", "198.51.100.1")}, time.Time{}, []int64{b.ID}},
				"ip both":    {[]touchpoint.LookupKey{touchpoint.IPKey("com.example.game", "198.51.100.1"), touchpoint.IPKey("com.example.game", "203.0.113.7")}, Start, []int64{a.ID, b.ID}},
				"click id":   {[]touchpoint.LookupKey{touchpoint.ClickIDKey("com.example.game", a.Params.ClickID)}, time.Time{}, []int64{a.ID}},
				"other app":  {[]touchpoint.LookupKey{touchpoint.IPKey("com.example.other", "203.0.113.7")}, time.Time{}, nil},
				"no keys":    {nil, time.Time{}, nil},
			} {
				app := "com.example.game"
				if name == "other app" {
					app = "com.example.other"
					tc.want = []int64{other.ID}
				}
				got, err := s.TouchesByKeys(ctxb(), app, tc.keys, tc.since)
				if err != nil {
					t.Fatalf("%s %s: %v", state, name, err)
				}
				if !reflect.DeepEqual(ids(got), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
					t.Errorf("%s %s: got %v, want %v", state, name, ids(got), tc.want)
				}
			}
		})
	}},
	{"Touch/SigningReport", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		var ts []*touchpoint.Touch
		add := func(at time.Time, pid string, v touchpoint.Verdict, n int) {
			for i := 0; i < n; i++ {
				tc := NewTouch("com.example.game", pid, at)
				tc.Verdict = v
				ts = append(ts, tc)
			}
		}
		h0 := Start.Truncate(time.Hour)
		add(h0.Add(time.Minute), "net", touchpoint.VerdictValid, 3)
		add(h0.Add(2*time.Minute), "net", touchpoint.VerdictInvalidSignature, 2)
		add(h0.Add(3*time.Minute), "net", touchpoint.VerdictUnchecked, 5) // not checked: not counted
		add(h0.Add(4*time.Minute), "other", touchpoint.VerdictValid, 7)
		add(h0.Add(2*time.Hour+time.Second), "net", touchpoint.VerdictMissingSignature, 1)
		mustRecord(t, s, ts[:4]...)
		mustRecord(t, s, ts[4:]...)
		got, err := s.SigningReport(ctxb(), "com.example.game", "net", h0, h0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var want0, want2 touchpoint.SigningCount
		want0.Hour, want2.Hour = h0, h0.Add(2*time.Hour)
		want0.Counts[touchpoint.VerdictValid] = 3
		want0.Counts[touchpoint.VerdictInvalidSignature] = 2
		want2.Counts[touchpoint.VerdictMissingSignature] = 1
		if len(got) != 2 || !got[0].Hour.Equal(h0) || got[0].Counts != want0.Counts || !got[1].Hour.Equal(want2.Hour) || got[1].Counts != want2.Counts {
			t.Fatalf("SigningReport = %+v", got)
		}
		if got[0].Total() != 5 {
			t.Fatalf("total %d, want 5", got[0].Total())
		}
		got, _ = s.SigningReport(ctxb(), "com.example.game", "net", h0.Add(time.Hour), h0.Add(2*time.Hour))
		if len(got) != 0 {
			t.Fatalf("empty range = %+v", got)
		}
	}},
	{"Touch/Purge", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		old := NewTouch("com.example.game", "net", Start.Add(-40*24*time.Hour))
		edge := NewTouch("com.example.game", "net", Start.Add(-30*24*time.Hour))
		recent := NewTouch("com.example.game", "net", Start)
		mustRecord(t, s, old)
		mustRecord(t, s, edge)
		mustRecord(t, s, recent)
		if st, ok := s.(Settler); ok {
			if err := st.Settle(ctxb()); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PurgeTouches(ctxb(), Start.Add(-30*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		if _, err := s.FindTouch(ctxb(), "com.example.game", old.ID); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("old touch: err = %v", err)
		}
		for _, tc := range []*touchpoint.Touch{edge, recent} {
			if _, err := s.FindTouch(ctxb(), "com.example.game", tc.ID); err != nil {
				t.Fatalf("kept touch %d: %v", tc.ID, err)
			}
		}
		got, err := s.TouchesByKeys(ctxb(), "com.example.game", touchpoint.DeviceKeys("com.example.game", gaid), time.Time{})
		if err != nil || !reflect.DeepEqual(ids(got), []int64{edge.ID, recent.ID}) {
			t.Fatalf("after purge: %v, %v", ids(got), err)
		}
		// Recording continues after a purge.
		mustRecord(t, s, NewTouch("com.example.game", "net", Start.Add(time.Second)))
	}},
	{"Touch/TestModeIDs", func(t *testing.T, s TouchStore, c *Clock) {
		// Test-mode apps' clocks far ahead and far behind: their touches'
		// ids follow the store's clock, as production ones do, so that
		// retention drops them all with their week.
		MustCreateApp(t, s, "com.example.game")
		for id, clock := range map[string]time.Time{"com.example.ahead": time.Date(2230, 1, 1, 0, 0, 0, 0, time.UTC),
			"com.example.behind": time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)} {
			a := &touchpoint.App{ID: id, Platform: touchpoint.Android, Name: "Test", Windows: touchpoint.DefaultWindows(),
				StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, id), TestMode: true, TestClock: &clock}
			if err := s.CreateApp(ctxb(), a); err != nil {
				t.Fatal(err)
			}
		}
		var all []*touchpoint.Touch
		record := func(ts ...*touchpoint.Touch) {
			mustRecord(t, s, ts...)
			all = append(all, ts...)
		}
		record(NewTouch("com.example.ahead", "net", time.Date(2230, 1, 1, 0, 0, 0, 0, time.UTC)))
		record(NewTouch("com.example.game", "net", c.Now()))
		record(NewTouch("com.example.behind", "net", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)),
			NewTouch("com.example.ahead", "net", time.Date(2230, 1, 1, 0, 0, 1, 0, time.UTC)))
		record(NewTouch("com.example.game", "net", c.Now()))
		for i, tc := range all {
			if got := touchpoint.TouchIDTime(tc.ID); got.Before(c.Now()) || got.After(c.Now().Add(time.Minute)) {
				t.Errorf("touch %d of %s: id %d carries %v, want the store's time %v", i, tc.App, tc.ID, got, c.Now())
			}
			if i > 0 && tc.ID <= all[i-1].ID {
				t.Errorf("ids not increasing: %d after %d", tc.ID, all[i-1].ID)
			}
		}
		// 40 days on, a production click; retention drops the rest.
		c.Add(40 * 24 * time.Hour)
		later := NewTouch("com.example.game", "net", c.Now())
		mustRecord(t, s, later)
		if later.ID <= all[len(all)-1].ID || !touchpoint.TouchIDTime(later.ID).Equal(c.Now().Truncate(time.Millisecond)) {
			t.Errorf("a later production touch: id %d (%v)", later.ID, touchpoint.TouchIDTime(later.ID))
		}
		if st, ok := s.(Settler); ok {
			if err := st.Settle(ctxb()); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PurgeTouches(ctxb(), c.Now().Add(-30*24*time.Hour))
		if err != nil || n != int64(len(all)) {
			t.Fatalf("purged %d (%v), want %d", n, err, len(all))
		}
		for _, tc := range all {
			if _, err := s.FindTouch(ctxb(), tc.App, tc.ID); code(err) != touchpoint.ENOTFOUND {
				t.Errorf("touch %d of %s after the purge: %v", tc.ID, tc.App, err)
			}
		}
		if _, err := s.FindTouch(ctxb(), "com.example.game", later.ID); err != nil {
			t.Errorf("the later touch: %v", err)
		}
	}},
	{"Touch/Concurrent", func(t *testing.T, s TouchStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		const writers, each = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		got := make(chan int64, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					tc := NewTouch("com.example.game", "net", Start.Add(time.Duration(i)*time.Millisecond))
					if err := s.RecordTouches(ctxb(), []*touchpoint.Touch{tc}); err != nil {
						errs <- err
						return
					}
					got <- tc.ID
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(got)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for id := range got {
			if seen[id] {
				t.Fatalf("id %d given twice", id)
			}
			seen[id] = true
		}
		n, err := s.CountTouches(ctxb(), touchpoint.TouchFilter{App: "com.example.game"})
		if err != nil || n != writers*each {
			t.Fatalf("count = %d, %v; want %d", n, err, writers*each)
		}
	}},
}
