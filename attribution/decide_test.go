package attribution_test

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/attribution"
	"github.com/touchpointhq/touchpoint/link"
)

// T0 is the launch time of every scenario: the injected clock.
var T0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const (
	gaid      = "38400000-8cf0-11bd-b23e-10b96e40000d"
	otherGAID = "9f2c0000-1111-2222-3333-444455556666"
	androidID = "9774d56d682e549c"
	launchIP  = "203.0.113.7"
	// A phone's browser on the click, and the app's own UA on the launch.
	browserUA = "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Mobile Safari/537.36"
	appUA     = "Dalvik/2.1.0 (Linux; U; Android 13; SM-G991B Build/TP1A.220624.014)"
)

func testApp() *touchpoint.App {
	return &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Game",
		StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, "com.example.game"),
		Windows:  touchpoint.DefaultWindows(), MinCTIT: touchpoint.DefaultMinCTIT}
}

func partners(app *touchpoint.App) map[string]*touchpoint.Partner {
	ps := map[string]*touchpoint.Partner{
		"net_a": {PID: "net_a"},
		"net_b": {PID: "net_b", ClickLookback: touchpoint.Day},
		"net_c": {PID: "net_c", DailyClickCap: 1000},
		"net_d": {PID: "net_d"},
		"net_e": {PID: "net_e"},
	}
	for _, p := range ps {
		p.AppID = app.ID
		p.ApplyDefaults(app)
	}
	return ps
}

// touch builds a candidate: a click of pid, ago before the launch, carrying
// the launch's GAID unless an option says otherwise.
func touch(id int64, pid string, ago time.Duration, opts ...func(*touchpoint.Touch)) *touchpoint.Touch {
	t := &touchpoint.Touch{ID: id, App: "com.example.game", Kind: touchpoint.Click, Time: T0.Add(-ago), PID: pid,
		Verdict: touchpoint.VerdictUnchecked}
	t.Device[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	t.Params.Campaign = "camp_" + pid
	for _, o := range opts {
		o(t)
	}
	return t
}

func impression(t *touchpoint.Touch) { t.Kind = touchpoint.Impression }
func noIDs(t *touchpoint.Touch)      { t.Device = touchpoint.DeviceIDs{} }
func rt(t *touchpoint.Touch)         { t.Params.Retargeting = true }
func overCap(t *touchpoint.Touch)    { t.OverCap = true }
func fromIP(t *touchpoint.Touch)     { t.IP, t.UA, t.Language = launchIP, browserUA, "en-GB" }
func signedBad(t *touchpoint.Touch) {
	t.Verdict, t.Rejected = touchpoint.VerdictInvalidSignature, true
}
func clickLB(w touchpoint.Window) func(*touchpoint.Touch) {
	return func(t *touchpoint.Touch) { t.Params.ClickLookback = w }
}
func viewLB(w touchpoint.Window) func(*touchpoint.Touch) {
	return func(t *touchpoint.Touch) { t.Params.ViewThroughLookback = w }
}
func withUA(ua string) func(*touchpoint.Touch) { return func(t *touchpoint.Touch) { t.UA = ua } }
func clickID(id string) func(*touchpoint.Touch) {
	return func(t *touchpoint.Touch) { t.Params.ClickID = id }
}
func ref(r string) func(*touchpoint.Touch)  { return func(t *touchpoint.Touch) { t.Params.Ref = r } }
func site(s string) func(*touchpoint.Touch) { return func(t *touchpoint.Touch) { t.Params.SiteID = s } }
func gaidAs(id touchpoint.DeviceID) func(*touchpoint.Touch) {
	return func(t *touchpoint.Touch) { t.Device[touchpoint.GAID] = id }
}
func reengage(w touchpoint.Window) func(*touchpoint.Touch) {
	return func(t *touchpoint.Touch) { t.Params.ReengagementWindow = w }
}

func hexOf(sum []byte) string { return hex.EncodeToString(sum) }

// Launch options.
func noAdID(l *touchpoint.Launch) {
	l.IDs[touchpoint.GAID] = touchpoint.DeviceID{}
	l.IDs[touchpoint.AndroidID] = touchpoint.DeviceID{Raw: androidID}
}
func referrer(s string) func(*touchpoint.Launch) {
	return func(l *touchpoint.Launch) { l.Referrer = s }
}
func laterLaunch(l *touchpoint.Launch) { l.DeviceID = "dev-1" }

// installed is a device installed ago before the launch, last launched
// lastAgo before it.
func installed(ago, lastAgo time.Duration) *touchpoint.Device {
	src := touchpoint.Attribution{MediaSource: "net_d", TouchID: 1, TouchType: touchpoint.Click,
		TouchTime: T0.Add(-ago - time.Hour), MatchType: touchpoint.MatchIDMatching}
	d := &touchpoint.Device{App: "com.example.game", ID: "dev-1", InstallID: 77, InstallTime: T0.Add(-ago),
		Attribution: src, FirstLaunch: T0.Add(-ago), LastLaunch: T0.Add(-lastAgo), Launches: 3}
	d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	return d
}

const (
	day  = 24 * time.Hour
	hour = time.Hour
	sec  = time.Second
)

type scenario struct {
	name     string
	app      func(*touchpoint.App)
	device   *touchpoint.Device
	launch   []func(*touchpoint.Launch)
	touches  []*touchpoint.Touch
	wantType touchpoint.InstallType // "": an ordinary launch, no record
	winner   int64                  // 0: organic
	match    touchpoint.MatchType
	reasons  map[int64]string // touch id → reason, for the touches named
	rejected []string         // "reason=value"
	contrib  []int64
	// until is the re-engagement window's end, after T0.
	until time.Duration
}

func TestDecide(t *testing.T) {
	sha1GAID := sha1.Sum([]byte(gaid))
	md5Upper := md5.Sum([]byte(strings.ToUpper(gaid)))
	idMatch, refMatch, fp := touchpoint.MatchIDMatching, touchpoint.MatchReferrer, touchpoint.MatchProbabilistic
	install, reinstall, reattr, reeng := touchpoint.TypeInstall, touchpoint.TypeReinstall, touchpoint.TypeReattribution, touchpoint.TypeReengagement
	tests := []scenario{
		// Organic and the plain waterfall.
		{name: "no touch is organic", wantType: install},
		{name: "a click matched by GAID wins", touches: []*touchpoint.Touch{touch(1, "net_a", 2*hour)},
			wantType: install, winner: 1, match: idMatch, reasons: map[int64]string{1: "won"}},
		{name: "another device's click does not match", touches: []*touchpoint.Touch{touch(1, "net_a", 2*hour, gaidAs(touchpoint.DeviceID{Raw: otherGAID}))},
			wantType: install, reasons: map[int64]string{1: "not_matched"}},
		{name: "a click sha1-hashed by the network matches", touches: []*touchpoint.Touch{touch(1, "net_a", hour, gaidAs(touchpoint.DeviceID{SHA1: hexOf(sha1GAID[:])}))},
			wantType: install, winner: 1, match: idMatch},
		{name: "a click md5-hashed upper-case matches", touches: []*touchpoint.Touch{touch(1, "net_a", hour, gaidAs(touchpoint.DeviceID{MD5: strings.ToUpper(hexOf(md5Upper[:]))}))},
			wantType: install, winner: 1, match: idMatch},
		{name: "an android_id match counts", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", hour, gaidAs(touchpoint.DeviceID{}), func(t *touchpoint.Touch) { t.Device[touchpoint.AndroidID] = touchpoint.DeviceID{Raw: androidID} })},
			wantType: install, winner: 1, match: idMatch},

		// Click lookback edges: partner, link override, custom source.
		{name: "click exactly 7d before is inside", touches: []*touchpoint.Touch{touch(1, "net_a", 7*day)},
			wantType: install, winner: 1, match: idMatch},
		{name: "click 7d+1s before is outside", touches: []*touchpoint.Touch{touch(1, "net_a", 7*day+sec)},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "partner 1d lookback: 1d is inside", touches: []*touchpoint.Touch{touch(1, "net_b", day)},
			wantType: install, winner: 1, match: idMatch},
		{name: "partner 1d lookback: 1d+1s is outside", touches: []*touchpoint.Touch{touch(1, "net_b", day+sec)},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "af_click_lookback=2d: 2d is inside", touches: []*touchpoint.Touch{touch(1, "net_a", 2*day, clickLB(2*touchpoint.Day))},
			wantType: install, winner: 1, match: idMatch},
		{name: "af_click_lookback=2d: 2d+1s is outside", touches: []*touchpoint.Touch{touch(1, "net_a", 2*day+sec, clickLB(2*touchpoint.Day))},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "af_click_lookback=10d overrides the partner's 1d", touches: []*touchpoint.Touch{touch(1, "net_b", 9*day, clickLB(10*touchpoint.Day))},
			wantType: install, winner: 1, match: idMatch},
		{name: "custom media source uses the app's window (inside)", app: func(a *touchpoint.App) { a.Windows.ClickLookback = 3 * touchpoint.Day },
			touches:  []*touchpoint.Touch{touch(1, "my_newsletter", 3*day, func(t *touchpoint.Touch) { t.CustomSource = true })},
			wantType: install, winner: 1, match: idMatch},
		{name: "custom media source uses the app's window (outside)", app: func(a *touchpoint.App) { a.Windows.ClickLookback = 3 * touchpoint.Day },
			touches:  []*touchpoint.Touch{touch(1, "my_newsletter", 3*day+sec, func(t *touchpoint.Touch) { t.CustomSource = true })},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},

		// Last touch wins; clicks beat impressions; contributors.
		{name: "the later of two clicks wins", touches: []*touchpoint.Touch{touch(1, "net_a", 5*hour), touch(2, "net_d", hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "later_touch_won"}, contrib: []int64{1}},
		{name: "same time: the later id wins", touches: []*touchpoint.Touch{touch(1, "net_a", hour), touch(2, "net_d", hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "later_touch_won"}},
		{name: "a click beats a later impression", touches: []*touchpoint.Touch{touch(1, "net_a", 5*hour), touch(2, "net_d", hour, impression)},
			wantType: install, winner: 1, match: idMatch, reasons: map[int64]string{2: "impression_behind_click"}, contrib: []int64{2}},
		{name: "an impression wins when no click qualifies", touches: []*touchpoint.Touch{touch(1, "net_a", 8*day), touch(2, "net_d", 3*hour, impression)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "outside_window"}},
		{name: "impression exactly 24h before is inside", touches: []*touchpoint.Touch{touch(1, "net_a", 24*hour, impression)},
			wantType: install, winner: 1, match: idMatch},
		{name: "impression 24h+1s before is outside", touches: []*touchpoint.Touch{touch(1, "net_a", 24*hour+sec, impression)},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "af_viewthrough_lookback=2h: 2h+1s is outside", touches: []*touchpoint.Touch{touch(1, "net_a", 2*hour+sec, impression, viewLB(2*touchpoint.Hour))},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "at most 3 contributors, one per other source, latest first",
			touches: []*touchpoint.Touch{touch(1, "net_a", 6*hour), touch(2, "net_b", 5*hour), touch(3, "net_c", 4*hour),
				touch(4, "net_d", 3*hour), touch(5, "net_e", hour), touch(6, "net_e", 2*hour), touch(7, "net_a", 90*time.Minute, impression)},
			wantType: install, winner: 5, match: idMatch, contrib: []int64{7, 4, 3}},

		// The install referrer.
		{name: "the referrer beats a later device-id click", launch: []func(*touchpoint.Launch){referrer("af_tranid=1&pid=net_a&c=camp")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 3*hour, noIDs), touch(2, "net_d", hour)},
			wantType: install, winner: 1, match: refMatch, reasons: map[int64]string{2: "referrer_won"}},
		{name: "a referrer with the network's click id matches", launch: []func(*touchpoint.Launch){referrer("clickid=abc123")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 3*hour, noIDs, clickID("abc123"))},
			wantType: install, winner: 1, match: refMatch},
		{name: "a partner's af_ref as the whole referrer matches", launch: []func(*touchpoint.Launch){referrer("NetworkA_1234567")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 3*hour, noIDs, ref("NetworkA_1234567"))},
			wantType: install, winner: 1, match: refMatch},
		{name: "a referrer click outside the lookback loses to an id click", launch: []func(*touchpoint.Launch){referrer("af_tranid=1")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 8*day, noIDs), touch(2, "net_d", hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "outside_window"}},

		// Probabilistic matching.
		{name: "probabilistic: IP and UA agree, no ad id", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP)},
			wantType: install, winner: 1, match: fp},
		{name: "probabilistic refused when the launch has an ad id",
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP)},
			wantType: install, reasons: map[int64]string{1: "probabilistic_not_used"}},
		{name: "probabilistic refused when a referrer names a click", launch: []func(*touchpoint.Launch){noAdID, referrer("af_tranid=99")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP)},
			wantType: install, reasons: map[int64]string{1: "probabilistic_not_used"}},
		{name: "an organic Play referrer does not stop probabilistic", launch: []func(*touchpoint.Launch){noAdID, referrer("utm_source=google-play&utm_medium=organic")},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP)},
			wantType: install, winner: 1, match: fp},
		{name: "probabilistic: another OS version is another device", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP, withUA(strings.Replace(browserUA, "Android 13", "Android 12", 1)))},
			wantType: install, reasons: map[int64]string{1: "not_matched"}},
		{name: "probabilistic: another device model is another device", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP, withUA(strings.Replace(browserUA, "SM-G991B", "Pixel 7", 1)))},
			wantType: install, reasons: map[int64]string{1: "not_matched"}},
		{name: "probabilistic: an iPhone click is not an Android launch", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP, withUA("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"))},
			wantType: install, reasons: map[int64]string{1: "not_matched"}},
		{name: "probabilistic window: 24h is inside", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 24*hour, noIDs, fromIP)},
			wantType: install, winner: 1, match: fp},
		{name: "probabilistic window: 24h+1s is outside", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 24*hour+sec, noIDs, fromIP)},
			wantType: install, reasons: map[int64]string{1: "outside_window"}},
		{name: "impressions are never matched probabilistically", launch: []func(*touchpoint.Launch){noAdID},
			touches:  []*touchpoint.Touch{touch(1, "net_a", 2*hour, noIDs, fromIP, impression)},
			wantType: install, reasons: map[int64]string{1: "impression_not_by_device_id"}},
		{name: "a device-id click beats a later probabilistic one", launch: []func(*touchpoint.Launch){noAdID},
			touches: []*touchpoint.Touch{touch(1, "net_a", 5*hour, gaidAs(touchpoint.DeviceID{}), func(t *touchpoint.Touch) { t.Device[touchpoint.AndroidID] = touchpoint.DeviceID{Raw: androidID} }),
				touch(2, "net_d", hour, noIDs, fromIP)},
			wantType: install, winner: 1, match: idMatch, reasons: map[int64]string{2: "deterministic_won"}},

		// Touches that never win.
		{name: "a touch after the launch never counts", touches: []*touchpoint.Touch{touch(1, "net_a", -sec)},
			wantType: install, reasons: map[int64]string{1: "after_launch"}},
		{name: "a touch at the launch instant is before it", app: func(a *touchpoint.App) { a.MinCTIT = 0 },
			touches: []*touchpoint.Touch{touch(1, "net_a", 0)}, wantType: install, winner: 1, match: idMatch},
		{name: "a click rejected by click signing never wins", touches: []*touchpoint.Touch{touch(1, "net_a", hour, signedBad)},
			wantType: install, reasons: map[int64]string{1: "signature_rejected"}},

		// Fraud.
		{name: "CTIT under the floor is rejected; a second valid touch wins",
			touches:  []*touchpoint.Touch{touch(1, "net_a", 5*sec), touch(2, "net_d", 2*hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "ctit_anomalies"}, rejected: []string{"ctit_anomalies=5"}},
		{name: "CTIT under the floor with no other touch is organic, kept with its reason",
			touches:  []*touchpoint.Touch{touch(1, "net_a", 9*sec)},
			wantType: install, reasons: map[int64]string{1: "ctit_anomalies"}, rejected: []string{"ctit_anomalies=9"}},
		{name: "CTIT exactly at the floor is allowed", touches: []*touchpoint.Touch{touch(1, "net_a", 10*sec)},
			wantType: install, winner: 1, match: idMatch},
		{name: "a CTIT floor of 0 turns the check off", app: func(a *touchpoint.App) { a.MinCTIT = 0 },
			touches: []*touchpoint.Touch{touch(1, "net_a", sec)}, wantType: install, winner: 1, match: idMatch},
		{name: "a source rejected for CTIT gets no credit from its older click",
			touches:  []*touchpoint.Touch{touch(1, "net_a", 3*sec), touch(2, "net_a", 3*hour), touch(3, "net_d", 5*hour)},
			wantType: install, winner: 3, match: idMatch, reasons: map[int64]string{1: "ctit_anomalies", 2: "source_rejected"}, rejected: []string{"ctit_anomalies=3"}},
		{name: "a click over the daily cap that would win is rejected (click_flood)",
			touches:  []*touchpoint.Touch{touch(1, "net_c", hour, overCap, site("site42")), touch(2, "net_d", 2*hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "click_flood"}, rejected: []string{"click_flood=site42"}},
		{name: "a click over the cap behind the winner loses as over cap",
			touches:  []*touchpoint.Touch{touch(1, "net_c", 3*hour, overCap), touch(2, "net_d", 2*hour)},
			wantType: install, winner: 2, match: idMatch, reasons: map[int64]string{1: "over_cap"}},

		// Re-attribution window.
		{name: "a reinstall inside the re-attribution window is not an install",
			device: installed(30*day, 20*day), touches: []*touchpoint.Touch{touch(1, "net_a", hour)},
			wantType: reinstall, reasons: map[int64]string{1: "not_retargeting"}},
		{name: "reinstall 1s before the 90-day window ends", device: installed(90*day-sec, 20*day),
			wantType: reinstall},
		{name: "an install when the 90-day window has ended is a new install", device: installed(90*day, 20*day),
			touches: []*touchpoint.Touch{touch(1, "net_a", hour)}, wantType: install, winner: 1, match: idMatch},
		{name: "the app's re-attribution window applies (1d)", app: func(a *touchpoint.App) { a.Windows.Reattribution = touchpoint.Day },
			device: installed(2*day, day), touches: []*touchpoint.Touch{touch(1, "net_a", hour)}, wantType: install, winner: 1, match: idMatch},
		{name: "a retargeting click makes a reinstall a re-attribution",
			device: installed(30*day, 20*day), touches: []*touchpoint.Touch{touch(1, "net_a", hour, rt)},
			wantType: reattr, winner: 1, match: idMatch, until: 30 * day},

		// Retargeting of an installed app.
		{name: "a retargeting click re-engages an installed app", launch: []func(*touchpoint.Launch){laterLaunch},
			device: installed(30*day, 2*day), touches: []*touchpoint.Touch{touch(1, "net_a", hour, rt, reengage(7*touchpoint.Day))},
			wantType: reeng, winner: 1, match: idMatch, until: 7 * day},
		{name: "a retargeting click before the last launch does not re-engage", launch: []func(*touchpoint.Launch){laterLaunch},
			device: installed(30*day, hour), touches: []*touchpoint.Touch{touch(1, "net_a", 2*hour, rt)}},
		{name: "a user-acquisition click does not re-engage", launch: []func(*touchpoint.Launch){laterLaunch},
			device: installed(30*day, 2*day), touches: []*touchpoint.Touch{touch(1, "net_a", hour)}},
		{name: "probabilistic never re-engages", launch: []func(*touchpoint.Launch){laterLaunch, noAdID},
			device: installed(30*day, 2*day), touches: []*touchpoint.Touch{touch(1, "net_a", hour, rt, noIDs, fromIP)}},
		{name: "a retargeting click on a new device counts as an install", touches: []*touchpoint.Touch{touch(1, "net_a", hour, rt)},
			wantType: install, winner: 1, match: idMatch},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d scenarios", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := testApp()
			if tc.app != nil {
				tc.app(app)
			}
			ps := partners(app)
			l := &touchpoint.Launch{App: app.ID, Time: T0, IP: launchIP, UA: appUA, DeviceModel: "SM-G991B", OSVersion: "13", Language: "en-US"}
			l.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
			for _, o := range tc.launch {
				o(l)
			}
			res := attribution.Decide(attribution.Input{App: app, Partner: func(pid string) *touchpoint.Partner { return ps[pid] },
				Launch: l, Device: tc.device, Touches: tc.touches, Now: T0})
			checkResult(t, tc, res)
		})
	}
}

func checkResult(t *testing.T, tc scenario, res attribution.Result) {
	t.Helper()
	if res.Device == nil {
		t.Fatal("no device state")
	}
	if tc.wantType == "" {
		if res.Install != nil {
			t.Fatalf("got a %s record, want an ordinary launch; candidates: %+v", res.Install.Type, res.Install.Candidates)
		}
		return
	}
	in := res.Install
	if in == nil {
		t.Fatalf("got an ordinary launch, want %s", tc.wantType)
	}
	if in.Type != tc.wantType {
		t.Errorf("type %s, want %s", in.Type, tc.wantType)
	}
	if in.Attribution.TouchID != tc.winner {
		t.Errorf("winner %d (%s), want %d; candidates:\n%s", in.Attribution.TouchID, in.Attribution.MediaSource, tc.winner, explain(in))
	}
	if tc.winner == 0 && in.Attribution.MediaSource != touchpoint.Organic {
		t.Errorf("media source %q, want organic", in.Attribution.MediaSource)
	}
	if in.Attribution.MatchType != tc.match {
		t.Errorf("match type %q, want %q", in.Attribution.MatchType, tc.match)
	}
	if len(in.Candidates) != len(tc.touches) {
		t.Errorf("%d candidates listed, want every one of the %d touches", len(in.Candidates), len(tc.touches))
	}
	for _, c := range in.Candidates {
		if c.Explanation == "" || c.Reason == "" {
			t.Errorf("candidate %d has no reason or explanation: %+v", c.TouchID, c)
		}
		if want, ok := tc.reasons[c.TouchID]; ok && c.Reason != want {
			t.Errorf("candidate %d: reason %s, want %s (%s)", c.TouchID, c.Reason, want, c.Explanation)
		}
		if (c.TouchID == tc.winner) != (c.Outcome == touchpoint.OutcomeWon) {
			t.Errorf("candidate %d: outcome %s", c.TouchID, c.Outcome)
		}
	}
	var rejected []string
	for _, r := range in.Rejections {
		rejected = append(rejected, r.Reason+"="+r.Value)
	}
	if strings.Join(rejected, ",") != strings.Join(tc.rejected, ",") {
		t.Errorf("rejections %v, want %v", rejected, tc.rejected)
	}
	if tc.contrib != nil {
		var got []int64
		for _, c := range in.Contributors {
			got = append(got, c.TouchID)
		}
		if !equalIDs(got, tc.contrib) {
			t.Errorf("contributors %v, want %v", got, tc.contrib)
		}
	}
	for _, c := range in.Contributors {
		if c.MediaSource == in.Attribution.MediaSource {
			t.Errorf("contributor %d is the winner's own source", c.TouchID)
		}
	}
	dev := res.Device
	switch in.Type {
	case touchpoint.TypeInstall:
		if dev.InstallTime != T0 || dev.Attribution.TouchID != tc.winner {
			t.Errorf("device after an install: install time %v, attribution %d", dev.InstallTime, dev.Attribution.TouchID)
		}
	case touchpoint.TypeReinstall, touchpoint.TypeReattribution:
		if !dev.Attribution.IsOrganic() || dev.InstallTime == T0 {
			t.Errorf("device after a reinstall: attribution %+v, install time %v (want organic, unchanged)", dev.Attribution, dev.InstallTime)
		}
	}
	if tc.until != 0 {
		if in.ReengagementUntil != T0.Add(tc.until) || dev.Reengagement == nil || dev.Reengagement.TouchID != tc.winner ||
			dev.ReengagementUntil != in.ReengagementUntil {
			t.Errorf("re-engagement until %v (device %v, %+v), want T0+%v", in.ReengagementUntil, dev.ReengagementUntil, dev.Reengagement, tc.until)
		}
	}
	if in.Type == touchpoint.TypeReengagement && dev.Attribution.MediaSource != "net_d" {
		t.Errorf("a re-engagement changed the install's source to %q", dev.Attribution.MediaSource)
	}
}

func explain(in *touchpoint.Install) string {
	var b strings.Builder
	for _, c := range in.Candidates {
		b.WriteString("  " + c.Reason + ": " + c.Explanation + "\n")
	}
	return b.String()
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The referrer our click redirect hands to Google Play parses back to the
// touch it came from.
func TestReferrerRoundTrip(t *testing.T) {
	tc := touch(1234567890123, "net_a", hour, clickID("c-1"))
	r := attribution.ParseReferrer(link.Referrer(tc))
	if r.TouchID != tc.ID || r.ClickID != "c-1" || !r.Names() {
		t.Fatalf("parsed %+v from %q", r, link.Referrer(tc))
	}
	for s, want := range map[string]attribution.Referrer{
		"": {},
		"utm_source=google-play&utm_medium=organic": {},
		"NetworkA_1234567":                          {Ref: "NetworkA_1234567"},
		"af_ref=NetworkA_1":                         {Ref: "NetworkA_1"},
		"clickid=abc&pid=x":                         {ClickID: "abc"},
		"af_tranid=notanumber&pid=x":                {},
		"partnerkey=42":                             {Ref: "partnerkey=42"},
	} {
		if got := attribution.ParseReferrer(s); got != want {
			t.Errorf("ParseReferrer(%q) = %+v, want %+v", s, got, want)
		}
	}
}

// Every candidate's explanation is a sentence a marketer can read.
func TestExplanations(t *testing.T) {
	app := testApp()
	ps := partners(app)
	l := &touchpoint.Launch{App: app.ID, Time: T0}
	l.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	res := attribution.Decide(attribution.Input{App: app, Partner: func(pid string) *touchpoint.Partner { return ps[pid] }, Launch: l,
		Touches: []*touchpoint.Touch{touch(1, "net_a", 8*day+3*hour), touch(2, "net_d", 2*hour+5*time.Minute), touch(3, "net_a", 3*hour, impression)}})
	want := map[int64]string{
		1: "It matched the device's advertising_id, but it came 8d 3h before the launch, outside net_a's 7-day click lookback.",
		2: "Won: it matched the device's advertising_id, 2h 5m before the launch, inside net_d's 7-day click lookback; the last touch wins, and clicks matched by device id come first.",
		3: "It matched the device's advertising_id, but click 2 from net_d won: clicks beat impressions.",
	}
	for _, c := range res.Install.Candidates {
		if c.Explanation != want[c.TouchID] {
			t.Errorf("touch %d:\n got %s\nwant %s", c.TouchID, c.Explanation, want[c.TouchID])
		}
	}
}
