package analytics_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// windowStart is the start of a rate window: RateWindow divides a day.
var windowStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return windowStart.Add(d) }

// ev is an event of a device and a user ("" : none).
func ev(device, user string) *touchpoint.IncomingEvent {
	return &touchpoint.IncomingEvent{EventType: "e", DeviceID: device, UserID: user}
}

// repeat is n events of a device and a user.
func repeat(n int, device, user string) []*touchpoint.IncomingEvent {
	l := make([]*touchpoint.IncomingEvent, n)
	for i := range l {
		l[i] = ev(device, user)
	}
	return l
}

func indexes(from, to int) []int {
	var l []int
	for i := from; i < to; i++ {
		l = append(l, i)
	}
	return l
}

// allow calls Allow and fails when the upload is refused.
func allow(t *testing.T, l *analytics.Limiter, project int64, eps int, events []*touchpoint.IncomingEvent, now time.Time) {
	t.Helper()
	if th := l.Allow(project, eps, events, now); th != nil {
		t.Fatalf("upload of %d events at %v refused: %+v", len(events), now.Sub(windowStart), th)
	}
}

func TestLimiterWindowStart(t *testing.T) {
	if windowStart.UnixMilli()%touchpoint.RateWindow.Milliseconds() != 0 {
		t.Fatal("windowStart is not the start of a rate window")
	}
}

func TestLimiterAllows(t *testing.T) {
	for _, tc := range []struct {
		name   string
		eps    int
		events []*touchpoint.IncomingEvent
	}{
		{"one event", 1, repeat(1, "device-1", "user-1")},
		{"eps×30 events of one device", 1, repeat(30, "device-1", "")},
		{"eps×30 events of one user", 1, repeat(30, "", "user-1")},
		{"eps×30 at 30 eps", 30, repeat(900, "device-1", "user-1")},
		{"many devices", 1, append(repeat(30, "device-1", ""), repeat(30, "device-2", "")...)},
		{"no ids", 1, repeat(100, "", "")},
		{"same id as device and user", 1, append(repeat(30, "same-id", ""), repeat(30, "other", "same-id")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := analytics.NewLimiter()
			if th := l.Allow(1, tc.eps, tc.events, at(0)); th != nil {
				t.Errorf("refused: %+v", th)
			}
		})
	}
}

func TestLimiterThrottles(t *testing.T) {
	const eps = 1
	for _, tc := range []struct {
		name    string
		before  [][]*touchpoint.IncomingEvent // uploads accepted first, at 0
		upload  []*touchpoint.IncomingEvent   // at 1ms
		devices map[string]float64
		users   map[string]float64
		events  []int
	}{
		{"new device over in one upload", nil, repeat(31, "device-1", ""),
			map[string]float64{"device-1": 31.0 / 30}, map[string]float64{}, indexes(0, 31)},
		{"new user over in one upload", nil, repeat(31, "", "user-1"),
			map[string]float64{}, map[string]float64{"user-1": 31.0 / 30}, indexes(0, 31)},
		{"device and user over", nil, repeat(45, "device-1", "user-1"),
			map[string]float64{"device-1": 45.0 / 30}, map[string]float64{"user-1": 45.0 / 30}, indexes(0, 45)},
		{"device over after earlier uploads", [][]*touchpoint.IncomingEvent{repeat(20, "device-1", ""), repeat(10, "device-1", "")},
			repeat(1, "device-1", ""),
			map[string]float64{"device-1": 31.0 / 30}, map[string]float64{}, []int{0}},
		{"user over across devices", [][]*touchpoint.IncomingEvent{repeat(15, "device-1", "user-1"), repeat(15, "device-2", "user-1")},
			[]*touchpoint.IncomingEvent{ev("device-3", "user-1"), ev("device-3", "")},
			map[string]float64{}, map[string]float64{"user-1": 31.0 / 30}, []int{0}},
		{"only the events of ids over the limit", [][]*touchpoint.IncomingEvent{repeat(25, "device-A", ""), repeat(29, "device-P", "user-B")},
			[]*touchpoint.IncomingEvent{
				ev("device-A", ""),       // 0
				ev("device-C", ""),       // 1
				ev("device-C", "user-B"), // 2
				ev("device-A", ""),       // 3
				ev("device-A", "user-X"), // 4
				ev("device-A", ""),       // 5
				ev("device-A", ""),       // 6
				ev("device-A", ""),       // 7
				ev("device-E", "user-B"), // 8
				ev("device-F", "user-G"), // 9
			},
			map[string]float64{"device-A": 31.0 / 30}, map[string]float64{"user-B": 31.0 / 30}, []int{0, 2, 3, 4, 5, 6, 7, 8}},
		{"several devices over", [][]*touchpoint.IncomingEvent{repeat(30, "device-1", ""), repeat(30, "device-2", "")},
			[]*touchpoint.IncomingEvent{ev("device-1", ""), ev("device-3", ""), ev("device-2", ""), ev("device-2", "")},
			map[string]float64{"device-1": 31.0 / 30, "device-2": 32.0 / 30}, map[string]float64{}, []int{0, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := analytics.NewLimiter()
			for _, up := range tc.before {
				allow(t, l, 7, eps, up, at(0))
			}
			got := l.Allow(7, eps, tc.upload, at(time.Millisecond))
			want := &analytics.Throttled{Code: 429, Error: analytics.ErrTooManyRequests, EPSThreshold: eps,
				ThrottledDevices: tc.devices, ThrottledUsers: tc.users, ThrottledEvents: tc.events}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Allow = %+v\nwant    %+v", got, want)
			}
		})
	}
}

func TestLimiterThrottledJSON(t *testing.T) {
	l := analytics.NewLimiter()
	th := l.Allow(1, 2, repeat(61, "", "user-1"), at(0))
	if th == nil {
		t.Fatal("61 events at 2 eps accepted")
	}
	b, err := json.Marshal(th)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := json.Marshal(indexes(0, 61))
	want := fmt.Sprintf(`{"code":429,"error":"Too many requests for some devices and users","eps_threshold":2,`+
		`"throttled_devices":{},"throttled_users":{"user-1":%v},"throttled_events":%s}`, 61.0/30, events)
	if got := string(b); got != want {
		t.Errorf("JSON = %s\nwant   %s", got, want)
	}
}

func TestLimiterRefusedUploadCountsNothing(t *testing.T) {
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(20, "device-1", "user-1"), at(0))
	// 20 + 20 > 30: refused, and not counted.
	if th := l.Allow(1, eps, repeat(20, "device-1", "user-1"), at(time.Second)); th == nil {
		t.Fatal("40 events accepted")
	}
	allow(t, l, 1, eps, repeat(10, "device-1", "user-1"), at(2*time.Second))
	// Now the device is at the limit.
	if th := l.Allow(1, eps, repeat(1, "device-1", ""), at(3*time.Second)); th == nil {
		t.Fatal("31st event accepted")
	}

	// The ids of a refused upload that were within the limit are not
	// counted either.
	l = analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(30, "device-A", ""), at(0))
	refused := append(repeat(1, "device-A", ""), repeat(30, "device-B", "user-B")...)
	if th := l.Allow(1, eps, refused, at(time.Second)); th == nil {
		t.Fatal("device-A's 31st event accepted")
	} else if _, ok := th.ThrottledDevices["device-B"]; ok {
		t.Errorf("device-B throttled: %+v", th)
	}
	allow(t, l, 1, eps, repeat(30, "device-B", "user-B"), at(2*time.Second))
}

// TestLimiterRefund: an upload the limiter let through but the store did
// not take (refused, or not written) is refunded and counts for nothing;
// a refund whose window has passed changes nothing.
func TestLimiterRefund(t *testing.T) {
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(20, "device-1", "user-1"), at(0))
	up := repeat(10, "device-1", "user-1")
	allow(t, l, 1, eps, up, at(time.Second))
	l.Refund(1, up, at(time.Second))
	// Refunded: 20 counted, room for 10 more, not for 11.
	if th := l.Allow(1, eps, repeat(11, "device-1", ""), at(2*time.Second)); th == nil {
		t.Fatal("41 events counted as 31: the refund took more than it gave")
	}
	allow(t, l, 1, eps, repeat(10, "device-1", "user-1"), at(3*time.Second))
	if th := l.Allow(1, eps, repeat(1, "device-1", ""), at(4*time.Second)); th == nil {
		t.Fatal("31st event accepted")
	}
	// A refund for a window long gone takes nothing from the present one.
	l = analytics.NewLimiter()
	old := repeat(5, "device-2", "")
	allow(t, l, 1, eps, old, at(0))
	allow(t, l, 1, eps, repeat(30, "device-2", ""), at(10*touchpoint.RateWindow))
	l.Refund(1, old, at(0))
	if th := l.Allow(1, eps, repeat(1, "device-2", ""), at(10*touchpoint.RateWindow+time.Second)); th == nil {
		t.Fatal("an old refund made room in the present window")
	}
}

func TestLimiterSlidingWindow(t *testing.T) {
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(30, "device-1", ""), at(0))
	for _, tc := range []struct {
		at   time.Duration
		n    int
		rate float64 // the refused rate; 0: accepted
	}{
		{time.Millisecond, 1, 31.0 / 30},
		{29999 * time.Millisecond, 1, 31.0 / 30},
		// The next window: the previous one (30) weighs in full at its
		// start,
		{30 * time.Second, 1, 31.0 / 30},
		// half way through, half.
		{45 * time.Second, 16, (15.0 + 16) / 30},
		{45 * time.Second, 15, 0},
		{45 * time.Second, 1, (15.0 + 15 + 1) / 30},
		// A quarter of the previous window left (7.5), and 15 of this.
		{52500 * time.Millisecond, 8, (7.5 + 15 + 8) / 30},
		{52500 * time.Millisecond, 7, 0},
		// The window after: 22 events in the previous one.
		{60 * time.Second, 9, (22.0 + 9) / 30},
		{60 * time.Second, 8, 0},
		{75 * time.Second, 12, (11.0 + 8 + 12) / 30},
		{75 * time.Second, 11, 0},
		// Two windows later, nothing is left.
		{135 * time.Second, 30, 0},
		{135 * time.Second, 1, 31.0 / 30},
		{10 * time.Minute, 31, 31.0 / 30},
		{10 * time.Minute, 30, 0},
	} {
		th := l.Allow(1, eps, repeat(tc.n, "device-1", ""), at(tc.at))
		switch {
		case tc.rate == 0 && th != nil:
			t.Errorf("%d events at %v refused: %+v", tc.n, tc.at, th)
		case tc.rate != 0 && th == nil:
			t.Errorf("%d events at %v accepted, want refused at %v eps", tc.n, tc.at, tc.rate)
		case tc.rate != 0:
			if got, want := th.ThrottledDevices["device-1"], tc.rate; got != want {
				t.Errorf("%d events at %v: rate %v, want %v", tc.n, tc.at, got, want)
			}
		}
	}
}

func TestLimiterProjects(t *testing.T) {
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(30, "device-1", "user-1"), at(0))
	// Another project's device and user of the same ids have their own
	// counts.
	allow(t, l, 2, eps, repeat(30, "device-1", "user-1"), at(time.Second))
	for _, p := range []int64{1, 2} {
		th := l.Allow(p, eps, repeat(1, "device-1", "user-1"), at(2*time.Second))
		if th == nil {
			t.Fatalf("project %d: 31st event accepted", p)
		}
		if got, want := th.ThrottledDevices["device-1"], 31.0/30; got != want {
			t.Errorf("project %d: device rate %v, want %v", p, got, want)
		}
		if got, want := th.ThrottledUsers["user-1"], 31.0/30; got != want {
			t.Errorf("project %d: user rate %v, want %v", p, got, want)
		}
	}
	allow(t, l, 3, eps, repeat(30, "device-1", "user-1"), at(2*time.Second))
}

func TestLimiterEPS(t *testing.T) {
	// The limit is eps×30 events in the window, whatever eps.
	for _, eps := range []int{1, 2, 10, 30, 1000} {
		l := analytics.NewLimiter()
		allow(t, l, 1, eps, repeat(eps*30, "device-1", ""), at(0))
		th := l.Allow(1, eps, repeat(1, "device-1", ""), at(time.Second))
		if th == nil {
			t.Errorf("eps %d: event %d accepted", eps, eps*30+1)
			continue
		}
		if got, want := th.EPSThreshold, eps; got != want {
			t.Errorf("eps %d: eps_threshold %d", eps, got)
		}
		if got, want := th.ThrottledDevices["device-1"], float64(eps*30+1)/30; got != want {
			t.Errorf("eps %d: rate %v, want %v", eps, got, want)
		}
	}
}

func TestLimiterLateUpload(t *testing.T) {
	// An upload stamped just before a window boundary that reaches the
	// limiter after one stamped just after it (two requests racing) must
	// not wipe the device's counts: within 2ms the device sends no more
	// than eps×30 events in all.
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(20, "device-1", ""), at(30*time.Second))
	accepted := 20
	for _, ms := range []int{29999, 30001, 30002} {
		if th := l.Allow(1, eps, repeat(15, "device-1", ""), at(time.Duration(ms)*time.Millisecond)); th == nil {
			accepted += 15
		}
	}
	if accepted > 30 {
		t.Errorf("%d events within 3ms accepted at %d eps", accepted, eps)
	}
}

func TestLimiterForgetsOnlyIdleIDs(t *testing.T) {
	// Enough distinct devices that every shard sweeps its idle ids
	// several times: the ids of the current window are kept, the idle
	// ones start again from nothing.
	const eps = 1
	l := analytics.NewLimiter()
	allow(t, l, 1, eps, repeat(30, "device-old", ""), at(0))
	now := at(90 * time.Second)
	allow(t, l, 1, eps, repeat(30, "device-new", "user-new"), now)
	for u := range 400 {
		up := make([]*touchpoint.IncomingEvent, 1000)
		for i := range up {
			up[i] = ev(fmt.Sprintf("d-%d-%d", u, i), "")
		}
		allow(t, l, 1, eps, up, now)
	}
	th := l.Allow(1, eps, repeat(1, "device-new", "user-new"), now)
	if th == nil {
		t.Fatal("device-new's 31st event accepted")
	}
	if got, want := th.ThrottledDevices["device-new"], 31.0/30; got != want {
		t.Errorf("device-new rate %v, want %v", got, want)
	}
	if got, want := th.ThrottledUsers["user-new"], 31.0/30; got != want {
		t.Errorf("user-new rate %v, want %v", got, want)
	}
	allow(t, l, 1, eps, repeat(30, "device-old", ""), now)
	if th := l.Allow(1, eps, repeat(1, "d-0-0", ""), now); th != nil {
		t.Errorf("d-0-0's second event refused: %+v", th)
	}
}
