package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// settingsAppData is an app's settings page.
type settingsAppData struct {
	App *touchpoint.App
	// NewKeys are the keys made by this request (creation, rotation),
	// shown this once.
	NewKeys []settingsKey
	Form    url.Values // the settings form
	Windows []settingsWindowField
	Clock   settingsClock // the test clock forms
	Forward *touchpoint.AnalyticsForward
	Zones   []string
}

// settingsAppForm are the settings form's values of an app as it is.
func settingsAppForm(a *touchpoint.App) url.Values {
	return url.Values{"name": {a.Name}, "store_url": {a.StoreURL}, "min_ctit_seconds": {strconv.Itoa(a.MinCTIT)},
		"time_zone": {a.TimeZone}}
}

// settingsKeyLabels name the keys of apps and projects on the page.
var settingsKeyLabels = map[touchpoint.KeyKind]string{
	touchpoint.DevKey: "Dev key", touchpoint.APIToken: "API token",
	touchpoint.APIKey: "API key", touchpoint.SecretKey: "Secret key",
}

// renderSettingsApp draws an app's settings page; form and clock hold the values
// of its two forms (nil: the app's own).
func (h *Handler) renderSettingsApp(r *http.Request, v *View, a *touchpoint.App, form, clock url.Values, keys []settingsKey) error {
	if form == nil {
		form = settingsAppForm(a)
	}
	if clock == nil {
		clock = settingsClockForm(a.TestClock)
	}
	f, err := h.Store.FindAnalyticsForward(r.Context(), a.ID)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		f, err = nil, nil
	}
	if err != nil {
		return err
	}
	v.Title, v.Section = a.Name+" · Settings", "settings"
	return v.Render("settings_app", &settingsAppData{App: a, NewKeys: keys, Form: form, Windows: settingsWindowFields(form, &a.Windows),
		Clock: settingsClock{Action: settingsAppPath(a.ID, "test-clock"), Form: clock, CSRF: v.CSRF}, Forward: f, Zones: settingsZones})
}

// settingsAppPath is the path of an app's settings page.
func settingsAppPath(id string, page ...string) string {
	return "/settings" + appPath(id, page...)
}

// POST /settings/apps: create an app; the answer shows its keys, once.
func (h *Handler) handleSettingsAppCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	form := r.PostForm
	c, err := settingsAppCreate(form)
	var a *touchpoint.App
	if err == nil {
		a = c.App()
		err = h.Service().CreateApp(r.Context(), a)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettings(r, v, form, url.Values{})
	}
	// The navigation was read before the app existed.
	if err := h.nav(r, v); err != nil {
		return err
	}
	v.App = a
	v.Notice = "App created. Copy its dev key and API token now: they are not shown again (rotate them to get new ones)."
	return h.renderSettingsApp(r, v, a, nil, nil, []settingsKey{{settingsKeyLabels[touchpoint.DevKey], a.DevKey}, {settingsKeyLabels[touchpoint.APIToken], a.APIToken}})
}

// settingsAppCreate reads the form that creates an app.
func settingsAppCreate(form url.Values) (touchpoint.AppCreate, error) {
	c := touchpoint.AppCreate{ID: strings.TrimSpace(form.Get("app_id")), Platform: touchpoint.Platform(form.Get("platform")),
		Name: strings.TrimSpace(form.Get("name")), StoreURL: strings.TrimSpace(form.Get("store_url")),
		TimeZone: strings.TrimSpace(form.Get("time_zone")), TestMode: form.Get("test_mode") != ""}
	var err error
	if c.Windows, err = settingsParseWindows(form); err != nil {
		return c, err
	}
	if c.MinCTIT, err = settingsInt(form, "min_ctit_seconds", "seconds"); err != nil {
		return c, err
	}
	c.TestClock, err = settingsTime(form, "test_clock")
	return c, err
}

// GET /settings/apps/{app}
func (h *Handler) handleSettingsApp(w http.ResponseWriter, r *http.Request, v *View) error {
	return h.renderSettingsApp(r, v, v.App, nil, nil, nil)
}

// POST /settings/apps/{app}: change the app's settings.
func (h *Handler) handleSettingsAppUpdate(w http.ResponseWriter, r *http.Request, v *View) error {
	form := r.PostForm
	upd, err := settingsAppUpdate(form)
	if err == nil {
		_, err = h.Service().UpdateApp(r.Context(), v.App.ID, upd)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettingsApp(r, v, v.App, form, nil, nil)
	}
	return redirect(w, r, settingsAppPath(v.App.ID), "Settings of "+v.App.ID+" saved.")
}

// settingsAppUpdate reads the settings form of an app: every field it shows
// is set; an empty window is left as it is.
func settingsAppUpdate(form url.Values) (touchpoint.AppUpdate, error) {
	name, store, tz := strings.TrimSpace(form.Get("name")), strings.TrimSpace(form.Get("store_url")), strings.TrimSpace(form.Get("time_zone"))
	upd := touchpoint.AppUpdate{Name: &name, StoreURL: &store, TimeZone: &tz}
	var err error
	if upd.Windows, err = settingsParseWindows(form); err != nil {
		return upd, err
	}
	upd.MinCTIT, err = settingsInt(form, "min_ctit_seconds", "seconds")
	return upd, err
}

// POST /settings/apps/{app}/test-clock: set or advance a test-mode app's
// clock.
func (h *Handler) handleSettingsAppTestClock(w http.ResponseWriter, r *http.Request, v *View) error {
	to, step, err := settingsClockMove(r.PostForm)
	var a *touchpoint.App
	if err == nil {
		a, err = h.Service().MoveTestClock(r.Context(), v.App.ID, to, step)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettingsApp(r, v, v.App, nil, r.PostForm, nil)
	}
	return redirect(w, r, settingsAppPath(a.ID), "Test clock of "+a.ID+" moved to "+datetime(*a.TestClock)+".")
}

// POST /settings/apps/{app}/keys: rotate one key (key=dev_key or
// api_token); the answer shows the new key, once.
func (h *Handler) handleSettingsAppKeyRotate(w http.ResponseWriter, r *http.Request, v *View) error {
	kind := touchpoint.KeyKind(r.PostForm.Get("key"))
	a, err := h.Service().RotateAppKey(r.Context(), v.App.ID, kind)
	if err != nil {
		v.Fail(err)
		return h.renderSettingsApp(r, v, v.App, nil, nil, nil)
	}
	key := a.DevKey
	if kind == touchpoint.APIToken {
		key = a.APIToken
	}
	v.App = a
	v.Notice = settingsKeyLabels[kind] + " rotated: the old one no longer works. Copy the new one now: it is not shown again."
	return h.renderSettingsApp(r, v, a, nil, nil, []settingsKey{{settingsKeyLabels[kind], key}})
}

// settingsForwardData is an app's analytics forward page.
type settingsForwardData struct {
	Forward *touchpoint.AnalyticsForward // as stored; nil: none
	Form    url.Values
	Base    string
}

// settingsForwardForm are the form's values of a forward as it is, or a new
// one's defaults.
func settingsForwardForm(f *touchpoint.AnalyticsForward) url.Values {
	if f == nil {
		return url.Values{"mode": {string(touchpoint.ForwardAttributionAPI)}, "style": {string(touchpoint.StyleAppsFlyer)}, "enabled": {"on"}}
	}
	form := url.Values{"url": {f.URL}, "api_key": {f.APIKey}, "mode": {string(f.Mode)}, "style": {string(f.Style)}, "company": {f.Company}}
	if f.Enabled {
		form.Set("enabled", "on")
	}
	return form
}

// renderSettingsForward draws an app's forward page with the form's values (nil:
// the stored forward's).
func (h *Handler) renderSettingsForward(r *http.Request, v *View, form url.Values) error {
	f, err := h.Store.FindAnalyticsForward(r.Context(), v.App.ID)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		f, err = nil, nil
	}
	if err != nil {
		return err
	}
	if form == nil {
		form = settingsForwardForm(f)
	}
	v.Title, v.Section = v.App.Name+" · Analytics forward", "settings"
	return v.Render("settings_forward", &settingsForwardData{Forward: f, Form: form, Base: h.baseURL(r)})
}

// GET /settings/apps/{app}/forward
func (h *Handler) handleSettingsForward(w http.ResponseWriter, r *http.Request, v *View) error {
	return h.renderSettingsForward(r, v, nil)
}

// POST /settings/apps/{app}/forward: create or replace the app's forward.
func (h *Handler) handleSettingsForwardPut(w http.ResponseWriter, r *http.Request, v *View) error {
	form := r.PostForm
	enabled := form.Get("enabled") != ""
	put := touchpoint.ForwardPut{URL: strings.TrimSpace(form.Get("url")), APIKey: strings.TrimSpace(form.Get("api_key")),
		Mode: touchpoint.ForwardMode(form.Get("mode")), Style: touchpoint.ForwardStyle(form.Get("style")),
		Company: strings.TrimSpace(form.Get("company")), Enabled: &enabled}
	if err := h.Service().PutForward(r.Context(), put.Forward(v.App.ID)); err != nil {
		v.Fail(err)
		return h.renderSettingsForward(r, v, form)
	}
	return redirect(w, r, settingsAppPath(v.App.ID, "forward"), "Analytics forward of "+v.App.ID+" saved.")
}

// POST /settings/apps/{app}/forward/delete
func (h *Handler) handleSettingsForwardDelete(w http.ResponseWriter, r *http.Request, v *View) error {
	if err := h.Service().DeleteForward(r.Context(), v.App.ID); err != nil {
		return err
	}
	return redirect(w, r, settingsAppPath(v.App.ID, "forward"), "Analytics forward of "+v.App.ID+" removed: its installs are no longer sent.")
}
