package attribution_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/attribution"
)

// BenchmarkDecide decides a first launch with ten candidate touches (the
// benchmark store's touches per device): clicks and impressions of five
// sources over the last week, some outside their windows.
func BenchmarkDecide(b *testing.B) {
	app := testApp()
	ps := partners(app)
	pids := []string{"net_a", "net_b", "net_c", "net_d", "net_e"}
	var ts []*touchpoint.Touch
	for i := 0; i < 10; i++ {
		opts := []func(*touchpoint.Touch){}
		if i%3 == 2 {
			opts = append(opts, impression)
		}
		ts = append(ts, touch(int64(i+1), pids[i%5], time.Duration(i)*17*time.Hour+time.Minute, opts...))
	}
	l := &touchpoint.Launch{App: app.ID, Time: T0, IP: launchIP, UA: appUA, DeviceModel: "SM-G991B", OSVersion: "13", Language: "en-US"}
	l.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	in := attribution.Input{App: app, Partner: func(pid string) *touchpoint.Partner { return ps[pid] }, Launch: l, Touches: ts, Now: T0}
	b.ReportAllocs()
	for b.Loop() {
		if r := attribution.Decide(in); r.Install.Attribution.TouchID == 0 {
			b.Fatal("organic")
		}
	}
}
