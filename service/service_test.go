package service_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/service"
	"github.com/touchpointhq/touchpoint/sqlite"
)

const (
	appID = "com.example.game"
	pid   = "examplenet_int"
	gaid  = "38400000-8cf0-11bd-b23e-10b96e40000d"
)

// fixture is a service on a real store whose clock the test moves.
type fixture struct {
	svc *service.Service
	db  *sqlite.DB
	now atomic.Pointer[time.Time]
}

// newFixture opens a service on a new store holding one app and its
// partner (p configures the partner further).
func newFixture(t *testing.T, p func(*touchpoint.Partner)) *fixture {
	t.Helper()
	f := &fixture{db: sqlite.NewDB(filepath.Join(t.TempDir(), "db"))}
	f.set(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	f.db.Clock = func() time.Time { return *f.now.Load() }
	if err := f.db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	ctx := context.Background()
	app := &touchpoint.App{ID: appID, Platform: touchpoint.Android, Name: "Game", Windows: touchpoint.DefaultWindows(),
		MinCTIT: touchpoint.DefaultMinCTIT, StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, appID)}
	if err := f.db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	part := &touchpoint.Partner{AppID: appID, PID: pid, Postbacks: touchpoint.Postbacks{Retries: touchpoint.DefaultPostbackRetries}}
	if p != nil {
		p(part)
	}
	if err := f.db.CreatePartner(ctx, part); err != nil {
		t.Fatal(err)
	}
	f.svc = &service.Service{Store: f.db, Self: "http://127.0.0.1:1"}
	if err := f.svc.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.Close)
	return f
}

func (f *fixture) set(t time.Time) { f.now.Store(&t) }

func (f *fixture) advance(d time.Duration) { f.set(f.now.Load().Add(d)) }

func (f *fixture) app(t *testing.T) *service.CatalogApp {
	t.Helper()
	ca := f.svc.App(appID)
	if ca == nil {
		t.Fatalf("app %s is not in the catalog", appID)
	}
	return ca
}

// click records a click of the partner's link with the device's GAID.
func (f *fixture) click(t *testing.T) *touchpoint.Touch {
	t.Helper()
	ca := f.app(t)
	tc, err := f.svc.Touch(ca, link.Request{Kind: touchpoint.Click, RawQuery: "pid=" + pid + "&c=summer&advertising_id=" + gaid,
		ClientIP: "203.0.113.9", UserAgent: "Mozilla/5.0 (Linux; Android 14)"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RecordTouch(context.Background(), ca, tc); err != nil {
		t.Fatal(err)
	}
	return tc
}

func firstLaunch(launchID string) *touchpoint.Launch {
	l := &touchpoint.Launch{App: appID, LaunchID: launchID, IP: "198.51.100.7", UA: "Dalvik/2.1.0"}
	l.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	return l
}

func TestLaunchAttributesTheClick(t *testing.T) {
	f := newFixture(t, nil)
	tc := f.click(t)
	if tc.ID == 0 {
		t.Fatal("the click was given no id")
	}
	f.advance(time.Minute)
	res, err := f.svc.Launch(context.Background(), f.app(t), firstLaunch("l1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Type() != string(touchpoint.TypeInstall) || !res.FirstLaunch || res.Repeated {
		t.Fatalf("type %s, first %v, repeated %v: want a first install", res.Type(), res.FirstLaunch, res.Repeated)
	}
	if a := res.Attribution(); a.MediaSource != pid || a.TouchID != tc.ID {
		t.Fatalf("attributed to %q touch %d, want %s touch %d", a.MediaSource, a.TouchID, pid, tc.ID)
	}
	in, err := f.db.FindInstall(context.Background(), appID, res.Install.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.DeviceID != res.Device.ID || in.Attribution.MediaSource != pid {
		t.Fatalf("stored install %+v", in)
	}
	// A later launch of the device is an ordinary launch.
	f.advance(time.Hour)
	l := &touchpoint.Launch{App: appID, LaunchID: "l2", DeviceID: res.Device.ID}
	res2, err := f.svc.Launch(context.Background(), f.app(t), l)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Type() != "launch" || res2.FirstLaunch || res2.Attribution().MediaSource != pid {
		t.Fatalf("later launch: type %s, first %v, media source %q", res2.Type(), res2.FirstLaunch, res2.Attribution().MediaSource)
	}
}

func TestLaunchRetryAnsweredAsFirst(t *testing.T) {
	f := newFixture(t, nil)
	f.click(t)
	f.advance(time.Minute)
	ctx := context.Background()
	first, err := f.svc.Launch(ctx, f.app(t), firstLaunch("l1"))
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Second)
	again, err := f.svc.Launch(ctx, f.app(t), firstLaunch("l1"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeated || again.Install == nil || again.Install.ID != first.Install.ID || again.Device.ID != first.Device.ID ||
		!again.FirstLaunch || again.Attribution().MediaSource != pid {
		t.Fatalf("retry answered %+v, want the first answer %+v", again, first)
	}
	dev, err := f.db.FindDevice(ctx, appID, first.Device.ID)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Launches != 1 {
		t.Fatalf("device has %d launches after a retried launch, want 1", dev.Launches)
	}
}

func TestLaunchConcurrentLaunchesOfOneDevice(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	first, err := f.svc.Launch(ctx, f.app(t), firstLaunch("l0"))
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	// Each launch reads the device, then writes; those that read it
	// before another's write are stale and decide again.
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			l := &touchpoint.Launch{App: appID, LaunchID: "c" + string(rune('a'+i)), DeviceID: first.Device.ID}
			_, errs[i] = f.svc.Launch(ctx, f.app(t), l)
		})
	}
	wg.Wait()
	ok := int64(1)
	for _, err := range errs {
		switch touchpoint.ErrorCode(err) {
		case "":
			ok++
		case touchpoint.ECONFLICT: // gave up after retries: nothing written
		default:
			t.Fatal(err)
		}
	}
	dev, err := f.db.FindDevice(ctx, appID, first.Device.ID)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Launches != ok {
		t.Fatalf("device has %d launches, want %d (every launch answered written once)", dev.Launches, ok)
	}
}

func TestLaunchRefused(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	old := firstLaunch("old")
	old.Time = f.now.Load().Add(-service.MaxLaunchAge - time.Hour)
	if _, err := f.svc.Launch(ctx, f.app(t), old); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("a launch older than the max age: %v, want invalid", err)
	}
	unknown := &touchpoint.Launch{App: appID, LaunchID: "x", DeviceID: "no-such-device"}
	if _, err := f.svc.Launch(ctx, f.app(t), unknown); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("a launch of an unknown device: %v, want invalid", err)
	}
	// A launch time ahead of the app's clock is taken as now.
	ahead := firstLaunch("ahead")
	ahead.Time = f.now.Load().Add(time.Hour)
	res, err := f.svc.Launch(ctx, f.app(t), ahead)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Device.InstallTime.Equal(*f.now.Load()) {
		t.Fatalf("install time %s, want the app's now %s", res.Device.InstallTime, f.now.Load())
	}
}
