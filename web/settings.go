package web

// The Settings pages: apps, analytics projects, exchange rates and the
// analytics forward of each app. Every form is parsed into the value the
// JSON admin API builds from its body (touchpoint.AppCreate, AppUpdate,
// TestClockMove, ProjectCreate, ProjectUpdate, ForwardPut, ExchangeRates)
// and handed to the same service or store call; a refused form is drawn
// again with what was sent and the error, and nothing is changed.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// registerSettingsRoutes adds the Settings pages.
func (h *Handler) registerSettingsRoutes(r *routes) {
	r.page("GET /settings", h.handleSettings)
	r.page("POST /settings/apps", h.handleSettingsAppCreate)
	r.page("GET /settings/apps/{app}", h.handleSettingsApp)
	r.page("POST /settings/apps/{app}", h.handleSettingsAppUpdate)
	r.page("POST /settings/apps/{app}/test-clock", h.handleSettingsAppTestClock)
	r.page("POST /settings/apps/{app}/keys", h.handleSettingsAppKeyRotate)
	r.page("GET /settings/apps/{app}/forward", h.handleSettingsForward)
	r.page("POST /settings/apps/{app}/forward", h.handleSettingsForwardPut)
	r.page("POST /settings/apps/{app}/forward/delete", h.handleSettingsForwardDelete)
	r.page("POST /settings/projects", h.handleSettingsProjectCreate)
	r.page("GET /settings/projects/{project}", h.handleSettingsProject)
	r.page("POST /settings/projects/{project}", h.handleSettingsProjectUpdate)
	r.page("POST /settings/projects/{project}/test-clock", h.handleSettingsProjectTestClock)
	r.page("POST /settings/projects/{project}/keys", h.handleSettingsProjectKeyRotate)
	r.page("GET /settings/rates", h.handleSettingsRates)
	r.page("POST /settings/rates", h.handleSettingsRatesPut)
}

// settingsData is the overview's: the apps and projects (in the View),
// and the two forms that create them.
type settingsData struct {
	AppForm     url.Values
	ProjectForm url.Values
	Windows     []settingsWindowField
	AppChoices  []settingsAppChoice
	Zones       []string
	Forwards    map[string]bool // apps that forward to an analytics project
	Base        string          // this server's URL, for the curl examples
}

// GET /settings: the apps and projects, and the forms to create them.
func (h *Handler) handleSettings(w http.ResponseWriter, r *http.Request, v *View) error {
	return h.renderSettings(r, v, url.Values{"platform": {string(touchpoint.Android)}}, url.Values{})
}

// renderSettings draws the overview with the values of its two forms.
func (h *Handler) renderSettings(r *http.Request, v *View, appValues, projectValues url.Values) error {
	forwards, err := h.Store.ListAnalyticsForwards(r.Context())
	if err != nil {
		return err
	}
	d := &settingsData{AppForm: appValues, ProjectForm: projectValues, Windows: settingsWindowFields(appValues, nil),
		AppChoices: settingsAppChoices(v.Apps, projectValues["apps"]), Zones: settingsZones, Forwards: map[string]bool{},
		Base: h.baseURL(r)}
	for _, f := range forwards {
		d.Forwards[f.App] = true
	}
	v.Title, v.Section = "Settings", "settings"
	return v.Render("settings", d)
}

// settingsKey is a key made by the request being answered: shown this once.
type settingsKey struct {
	Label string
	Value string
}

// settingsAppChoice is an app offered as a project's linked app.
type settingsAppChoice struct {
	ID, Name string
	Platform touchpoint.Platform
	Checked  bool
}

// settingsAppChoices lists apps, checked when linked holds them.
func settingsAppChoices(apps []*touchpoint.App, linked []string) []settingsAppChoice {
	cs := make([]settingsAppChoice, 0, len(apps))
	for _, a := range apps {
		cs = append(cs, settingsAppChoice{ID: a.ID, Name: a.Name, Platform: a.Platform, Checked: slices.Contains(linked, a.ID)})
	}
	return cs
}

// settingsZones are offered as time zones (the field takes any IANA name).
var settingsZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Helsinki",
	"Europe/Istanbul", "Europe/Kyiv", "Europe/Moscow", "Africa/Cairo", "Africa/Lagos", "Africa/Johannesburg",
	"Asia/Dubai", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore",
	"Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Seoul", "Asia/Tokyo", "Australia/Perth",
	"Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
	"America/Bogota", "America/Mexico_City", "America/New_York", "America/Chicago", "America/Denver",
	"America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
}

// settingsWindowField is one attribution window in a form.
type settingsWindowField struct {
	Name, Label, Hint, Value string
}

// settingsWindows names the form fields of an app's windows (the JSON API's
// names), with their ranges and defaults.
var settingsWindows = []struct {
	name, label   string
	min, max, def touchpoint.Window
	of            func(*touchpoint.Windows) *touchpoint.Window
	set           func(*touchpoint.WindowsUpdate, *touchpoint.Window)
}{
	{"click_lookback", "Click lookback", touchpoint.MinClickLookback, touchpoint.MaxClickLookback, touchpoint.DefaultClickLookback,
		func(w *touchpoint.Windows) *touchpoint.Window { return &w.ClickLookback },
		func(u *touchpoint.WindowsUpdate, w *touchpoint.Window) { u.ClickLookback = w }},
	{"view_through_lookback", "View-through lookback", touchpoint.MinViewThroughLookback, touchpoint.MaxViewThroughLookback, touchpoint.DefaultViewThroughLookback,
		func(w *touchpoint.Windows) *touchpoint.Window { return &w.ViewThroughLookback },
		func(u *touchpoint.WindowsUpdate, w *touchpoint.Window) { u.ViewThroughLookback = w }},
	{"probabilistic_window", "Probabilistic window", touchpoint.MinProbabilisticWindow, touchpoint.MaxProbabilisticWindow, touchpoint.DefaultProbabilisticWindow,
		func(w *touchpoint.Windows) *touchpoint.Window { return &w.ProbabilisticWindow },
		func(u *touchpoint.WindowsUpdate, w *touchpoint.Window) { u.ProbabilisticWindow = w }},
	{"reattribution_window", "Re-attribution window", touchpoint.MinReattribution, touchpoint.MaxReattribution, touchpoint.DefaultReattribution,
		func(w *touchpoint.Windows) *touchpoint.Window { return &w.Reattribution },
		func(u *touchpoint.WindowsUpdate, w *touchpoint.Window) { u.Reattribution = w }},
	{"reengagement_window", "Re-engagement window", touchpoint.MinReengagement, touchpoint.MaxReengagement, touchpoint.DefaultReengagement,
		func(w *touchpoint.Windows) *touchpoint.Window { return &w.Reengagement },
		func(u *touchpoint.WindowsUpdate, w *touchpoint.Window) { u.Reengagement = w }},
}

// settingsWindowFields are the window fields of a form with its values; cur (an
// app's windows) fills the ones the form does not hold.
func settingsWindowFields(form url.Values, cur *touchpoint.Windows) []settingsWindowField {
	fs := make([]settingsWindowField, 0, len(settingsWindows))
	for _, w := range settingsWindows {
		f := settingsWindowField{Name: w.name, Label: w.label, Value: form.Get(w.name),
			Hint: w.min.String() + " to " + w.max.String() + ", default " + w.def.String()}
		if _, ok := form[w.name]; !ok && cur != nil {
			f.Value = w.of(cur).String()
		}
		fs = append(fs, f)
	}
	return fs
}

// settingsParseWindows reads the window fields of a form: an empty one is left
// unset (the default at creation, unchanged on an update).
func settingsParseWindows(form url.Values) (touchpoint.WindowsUpdate, error) {
	var u touchpoint.WindowsUpdate
	for _, w := range settingsWindows {
		s := strings.TrimSpace(form.Get(w.name))
		if s == "" {
			continue
		}
		win, err := touchpoint.ParseWindow(s)
		if err != nil {
			return u, touchpoint.Errorf(touchpoint.EINVALID, "%s: %s", w.label, touchpoint.ErrorMessage(err))
		}
		w.set(&u, &win)
	}
	return u, nil
}

// settingsInt reads a whole number from a form field; nil when it is empty.
func settingsInt(form url.Values, name, what string) (*int, error) {
	s := strings.TrimSpace(form.Get(name))
	if s == "" {
		return nil, nil
	}
	n, err := wholeNumber(name, s)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s %q: want a whole number of %s", name, s, what)
	}
	i := int(n)
	return &i, nil
}

// settingsTime reads a time written in RFC 3339, as the JSON API takes it;
// nil when the field is empty.
func settingsTime(form url.Values, name string) (*time.Time, error) {
	s := strings.TrimSpace(form.Get(name))
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s %q: want an RFC 3339 time such as 2026-03-10T12:00:00Z", name, s)
	}
	return &t, nil
}

// settingsClockMove reads a test clock form: advance (a step such as "1d") or
// time (RFC 3339), as the test_clock endpoints take them.
func settingsClockMove(form url.Values) (*time.Time, time.Duration, error) {
	t, err := settingsTime(form, "time")
	if err != nil {
		return nil, 0, err
	}
	return touchpoint.TestClockMove{Time: t, Advance: strings.TrimSpace(form.Get("advance"))}.Target()
}

// settingsClock is what the test clock forms of an app or a project
// (templates/_settings.html) need: where they post, their values, and the
// session's CSRF token.
type settingsClock struct {
	Action string
	Form   url.Values
	CSRF   string
}

// settingsClockForm are the test clock form's values: the clock, to set it from.
func settingsClockForm(t *time.Time) url.Values {
	if t == nil {
		return url.Values{}
	}
	return url.Values{"time": {t.UTC().Format(time.RFC3339)}}
}
