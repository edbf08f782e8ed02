package touchpoint

import (
	"cmp"
	"context"
	"net/url"
	"regexp"
	"time"
)

// Platform is the store platform of an App.
type Platform string

// Platforms.
const (
	Android Platform = "android"
	IOS     Platform = "ios"
)

// Default and allowed windows (AppsFlyer's attribution-model documentation).
const (
	DefaultClickLookback       = 7 * Day
	MinClickLookback           = 1 * Day
	MaxClickLookback           = 30 * Day
	DefaultViewThroughLookback = 24 * Hour
	MinViewThroughLookback     = 1 * Hour
	MaxViewThroughLookback     = 7 * Day
	DefaultProbabilisticWindow = 24 * Hour
	MinProbabilisticWindow     = 1 * Hour
	MaxProbabilisticWindow     = 24 * Hour
	DefaultReattribution       = 90 * Day
	MinReattribution           = 1 * Day
	MaxReattribution           = 730 * Day // 24 months
	// The re-engagement window's default and range are not published by
	// AppsFlyer (it does not publish them). We take the figures most often quoted:
	// 30 days by default, 1 to 90 days.
	DefaultReengagement = 30 * Day
	MinReengagement     = 1 * Day
	MaxReengagement     = 90 * Day
)

// Windows are an app's default attribution windows. Partners start from the
// first three; the last two apply to the whole app.
type Windows struct {
	ClickLookback       Window `json:"click_lookback"`
	ViewThroughLookback Window `json:"view_through_lookback"`
	ProbabilisticWindow Window `json:"probabilistic_window"`
	Reattribution       Window `json:"reattribution_window"`
	Reengagement        Window `json:"reengagement_window"`
}

// DefaultWindows returns AppsFlyer's defaults.
func DefaultWindows() Windows {
	return Windows{
		ClickLookback:       DefaultClickLookback,
		ViewThroughLookback: DefaultViewThroughLookback,
		ProbabilisticWindow: DefaultProbabilisticWindow,
		Reattribution:       DefaultReattribution,
		Reengagement:        DefaultReengagement,
	}
}

// Validate checks every window against its range.
func (w Windows) Validate() error {
	for _, c := range []struct {
		name     string
		v        Window
		min, max Window
	}{
		{"click_lookback", w.ClickLookback, MinClickLookback, MaxClickLookback},
		{"view_through_lookback", w.ViewThroughLookback, MinViewThroughLookback, MaxViewThroughLookback},
		{"probabilistic_window", w.ProbabilisticWindow, MinProbabilisticWindow, MaxProbabilisticWindow},
		{"reattribution_window", w.Reattribution, MinReattribution, MaxReattribution},
		{"reengagement_window", w.Reengagement, MinReengagement, MaxReengagement},
	} {
		if err := c.v.Within(c.name, c.min, c.max); err != nil {
			return err
		}
	}
	return nil
}

// App is one store app on one platform, keyed by its store id.
type App struct {
	ID       string   `json:"app_id"` // com.example.game (Android) or id123456789 (iOS)
	Platform Platform `json:"platform"`
	Name     string   `json:"name"`
	StoreURL string   `json:"store_url"`
	// DevKey authenticates the SDK and S2S calls; APIToken the Audiences
	// API (AppsFlyer's API token V2.0, a Bearer token). Both are generated
	// (NewKey) and set only in the answer that made them: CreateApp's and
	// RotateAppKey's. Stores keep their hashes and last four characters.
	DevKey        string  `json:"dev_key,omitempty"`
	DevKeyHash    KeyHash `json:"-"`
	DevKeyLast4   string  `json:"dev_key_last4"`
	APIToken      string  `json:"api_token,omitempty"`
	APITokenHash  KeyHash `json:"-"`
	APITokenLast4 string  `json:"api_token_last4"`
	Windows       Windows `json:"windows"`
	// MinCTIT is the click-to-install time floor in seconds: an install
	// that came sooner after its click is rejected (ctit_anomalies). 0
	// turns the check off. Default 10.
	MinCTIT int `json:"min_ctit_seconds"`
	// TestMode apps have a clock of their own, TestClock, that stands
	// still until an admin sets or advances it (like Stripe's test
	// clocks): every time the server stamps or judges for the app reads
	// it. Production apps (the default) use the real clock. Set at
	// creation only.
	TestMode  bool       `json:"test_mode"`
	TestClock *time.Time `json:"test_clock,omitempty"`
	// TimeZone is the IANA name of the zone the app's report counts days
	// in, as an AppsFlyer app's setting: UTC by default. A change applies
	// to what is recorded from then on; days already counted stay as they
	// were counted (AppsFlyer does the same).
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Default and largest click-to-install time floor, in seconds.
const (
	DefaultMinCTIT = 10
	MaxMinCTIT     = 3600
)

// Now returns the app's time: its test clock in test mode, else real().
func (a *App) Now(real func() time.Time) time.Time {
	if a.TestMode && a.TestClock != nil {
		return *a.TestClock
	}
	return real().UTC()
}

// MaxTestClockStep bounds one move of a test clock (ours), so that a typo
// cannot send an app's clock years ahead.
const MaxTestClockStep = 3 * 365 * 24 * time.Hour

// NextTestClock checks a move of an app's test clock to t: it must be a
// test-mode app, and test clocks only move forward.
func (a *App) NextTestClock(t time.Time) error {
	if !a.TestMode || a.TestClock == nil {
		return Errorf(EINVALID, "app %s is not in test mode: only apps created with test_mode have a clock to move", a.ID)
	}
	return checkTestClockMove(*a.TestClock, t)
}

// checkTestClockMove checks the move of a test clock from cur to t, an
// app's or a project's: forward only, within the years we keep, by at
// most MaxTestClockStep.
func checkTestClockMove(cur, t time.Time) error {
	if t.Before(cur) {
		return Errorf(EINVALID, "test clocks only move forward: %s is before the clock's %s", t.Format(time.RFC3339Nano), cur.Format(time.RFC3339Nano))
	}
	if err := CheckTime("test_clock", t); err != nil {
		return err
	}
	if t.Sub(cur) > MaxTestClockStep {
		return Errorf(EINVALID, "a test clock moves at most %d days at a time", int(MaxTestClockStep/(24*time.Hour)))
	}
	return nil
}

var (
	androidIDRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	iosIDRE     = regexp.MustCompile(`^id[0-9]{6,15}$`)
)

// ValidateAppID checks the form of a store id for a platform: a Java-style
// package name for Android (at least two dot-separated parts), "id" and the
// numeric App Store id for iOS.
func ValidateAppID(p Platform, id string) error {
	switch p {
	case Android:
		if len(id) > 255 || !androidIDRE.MatchString(id) {
			return Errorf(EINVALID, "app_id %q is not an Android package name: want a form like com.example.game", id)
		}
	case IOS:
		if !iosIDRE.MatchString(id) {
			return Errorf(EINVALID, "app_id %q is not an iOS App Store id: want \"id\" followed by the numeric id, like id123456789", id)
		}
	default:
		return Errorf(EINVALID, "platform %q is not supported: want android or ios", p)
	}
	return nil
}

// DefaultStoreURL is the store page of an app id on its platform.
func DefaultStoreURL(p Platform, id string) string {
	if p == IOS {
		return "https://apps.apple.com/app/" + id
	}
	return "https://play.google.com/store/apps/details?id=" + url.QueryEscape(id)
}

// ValidateHTTPURL checks that s is an absolute http or https URL.
func ValidateHTTPURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errorf(EINVALID, "%s %q is not an absolute http(s) URL", field, s)
	}
	return nil
}

// Validate checks an app before it is stored.
func (a *App) Validate() error {
	if err := ValidateAppID(a.Platform, a.ID); err != nil {
		return err
	}
	if err := CheckName("name", a.Name); err != nil {
		return err
	}
	if err := ValidateHTTPURL("store_url", a.StoreURL); err != nil {
		return err
	}
	if _, err := LoadLocation(a.TimeZone); err != nil {
		return err
	}
	if a.MinCTIT < 0 || a.MinCTIT > MaxMinCTIT {
		return Errorf(EINVALID, "min_ctit_seconds %d is out of range: it must be between 0 (off) and %d", a.MinCTIT, MaxMinCTIT)
	}
	return a.Windows.Validate()
}

// AppCreate is what creates an app: the body of POST /api/v1/apps and the
// dashboard's form. Unset windows take AppsFlyer's defaults; an unset store
// URL is the platform's store page.
type AppCreate struct {
	ID       string        `json:"app_id"`
	Platform Platform      `json:"platform"`
	Name     string        `json:"name"`
	StoreURL string        `json:"store_url"`
	Windows  WindowsUpdate `json:"windows"`
	MinCTIT  *int          `json:"min_ctit_seconds"`
	// TestMode gives the app a test clock, starting at TestClock (default:
	// now) and standing still until moved.
	TestMode  bool       `json:"test_mode"`
	TestClock *time.Time `json:"test_clock"`
	// TimeZone is the IANA zone the app's report counts days in (UTC).
	TimeZone string `json:"time_zone"`
}

// App returns the app c asks for, its unset settings at their defaults,
// for the service's CreateApp.
func (c AppCreate) App() *App {
	a := &App{ID: c.ID, Platform: c.Platform, Name: c.Name, StoreURL: c.StoreURL,
		Windows: c.Windows.Apply(DefaultWindows()), MinCTIT: DefaultMinCTIT, TestMode: c.TestMode,
		TestClock: c.TestClock, TimeZone: c.TimeZone}
	if c.MinCTIT != nil {
		a.MinCTIT = *c.MinCTIT
	}
	return a
}

// TestClockMove moves an app's or a project's test clock: set it to Time,
// or advance it by Advance ("8d", "36h", or a Go duration such as "90m" or
// "30s"). It is the body of the test_clock endpoints and the dashboard's
// form.
type TestClockMove struct {
	Time    *time.Time `json:"time"`
	Advance string     `json:"advance"`
}

// Target returns the move as the service's MoveTestClock and
// MoveProjectTestClock take it: the time to set, or the step to advance
// by. EINVALID unless exactly one of the two is given.
func (m TestClockMove) Target() (*time.Time, time.Duration, error) {
	if (m.Time == nil) == (m.Advance == "") {
		return nil, 0, Errorf(EINVALID, "send either time (RFC 3339) or advance (like \"8d\", \"36h\" or \"90s\")")
	}
	if m.Time != nil {
		return m.Time, 0, nil
	}
	step, err := ParseClockStep(m.Advance)
	return nil, step, err
}

// ParseClockStep reads a test clock step: a window ("8d", "36h") or a
// positive Go duration ("90m", "1h30m", "45s").
func ParseClockStep(s string) (time.Duration, error) {
	if w, err := ParseWindow(s); err == nil {
		return w.Duration(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, Errorf(EINVALID, "advance %q: want a positive length like \"8d\", \"36h\", \"90m\" or \"30s\"", s)
	}
	return d, nil
}

// AppUpdate is a change to an app; nil fields are left as they are. The store
// id and platform never change.
type AppUpdate struct {
	Name     *string       `json:"name"`
	StoreURL *string       `json:"store_url"`
	Windows  WindowsUpdate `json:"windows"`
	MinCTIT  *int          `json:"min_ctit_seconds"`
	TimeZone *string       `json:"time_zone"`
}

// WindowsUpdate changes some of an app's windows; nil fields are left as they are.
type WindowsUpdate struct {
	ClickLookback       *Window `json:"click_lookback"`
	ViewThroughLookback *Window `json:"view_through_lookback"`
	ProbabilisticWindow *Window `json:"probabilistic_window"`
	Reattribution       *Window `json:"reattribution_window"`
	Reengagement        *Window `json:"reengagement_window"`
}

// Apply returns w with the update applied.
func (u WindowsUpdate) Apply(w Windows) Windows {
	set := func(dst *Window, src *Window) {
		if src != nil {
			*dst = *src
		}
	}
	set(&w.ClickLookback, u.ClickLookback)
	set(&w.ViewThroughLookback, u.ViewThroughLookback)
	set(&w.ProbabilisticWindow, u.ProbabilisticWindow)
	set(&w.Reattribution, u.Reattribution)
	set(&w.Reengagement, u.Reengagement)
	return w
}

// Apply returns a copy of a with the update applied.
func (u AppUpdate) Apply(a App) App {
	if u.Name != nil {
		a.Name = *u.Name
	}
	if u.StoreURL != nil {
		a.StoreURL = *u.StoreURL
	}
	a.Windows = u.Windows.Apply(a.Windows)
	if u.MinCTIT != nil {
		a.MinCTIT = *u.MinCTIT
	}
	if u.TimeZone != nil {
		a.TimeZone = cmp.Or(*u.TimeZone, DefaultTimeZone)
	}
	return a
}

// Location returns the app's time zone (UTC when it names none).
func (a *App) Location() *time.Location {
	return locationOr(a.TimeZone)
}

// AppStore keeps apps.
type AppStore interface {
	// CreateApp validates and stores a new app, filling in its keys
	// (DevKey and APIToken, shown this once, with their hashes and last
	// four characters), CreatedAt and UpdatedAt. ECONFLICT if the id is
	// taken, EINVALID on a bad field.
	CreateApp(ctx context.Context, a *App) error
	// FindApp returns the app with this store id, or ENOTFOUND. Its keys
	// are not in it, only their hashes and last four characters.
	FindApp(ctx context.Context, id string) (*App, error)
	// ListApps returns all apps ordered by id (keys as FindApp).
	ListApps(ctx context.Context) ([]*App, error)
	// RotateAppKey replaces one key of an app (DevKey or APIToken) with a
	// fresh one and returns the app with the new key in it, the only time
	// it is shown. The old key stops working at once. ENOTFOUND, EINVALID.
	RotateAppKey(ctx context.Context, id string, kind KeyKind) (*App, error)
	// UpdateApp applies upd, validates the result and stores it.
	// ENOTFOUND, EINVALID.
	UpdateApp(ctx context.Context, id string, upd AppUpdate) (*App, error)
	// SetTestClock moves a test-mode app's clock to t (see
	// App.NextTestClock). ENOTFOUND, EINVALID.
	SetTestClock(ctx context.Context, id string, t time.Time) (*App, error)
}

// Prepare readies a new app for a store at now: it validates it, gives it
// fresh keys (DevKey and APIToken, with their hashes and last four
// characters), stamps CreatedAt and UpdatedAt, and starts a test-mode
// app's clock at now unless it names its start (a production app has
// none).
func (a *App) Prepare(now time.Time) error {
	a.TimeZone = cmp.Or(a.TimeZone, DefaultTimeZone)
	if err := a.Validate(); err != nil {
		return err
	}
	for _, k := range []KeyKind{DevKey, APIToken} {
		if err := a.NewKey(k); err != nil {
			return err
		}
	}
	a.CreatedAt, a.UpdatedAt = now, now
	switch {
	case !a.TestMode:
		a.TestClock = nil
	case a.TestClock == nil:
		a.TestClock = &now
	}
	return nil
}
