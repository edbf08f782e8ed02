package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// settingsProjectData is a project's settings page.
type settingsProjectData struct {
	Project *touchpoint.Project
	// NewKeys are the keys made by this request, shown this once.
	NewKeys    []settingsKey
	Form       url.Values // the settings form
	AppChoices []settingsAppChoice
	Clock      settingsClock // the test clock forms
	Zones      []string
	Base       string
}

// settingsProjectForm are the settings form's values of a project as it is.
func settingsProjectForm(p *touchpoint.Project) url.Values {
	return url.Values{"name": {p.Name}, "time_zone": {p.TimeZone}, "apps": p.Apps,
		"http_eps": {strconv.Itoa(p.Limits.HTTPEPS)}, "batch_eps": {strconv.Itoa(p.Limits.BatchEPS)}}
}

// settingsProjectPath is the path of a project's settings page.
func settingsProjectPath(p *touchpoint.Project) string {
	return "/settings/projects/" + projectPath(p)
}

// renderSettingsProject draws a project's settings page; form and clock hold the
// values of its two forms (nil: the project's own).
func (h *Handler) renderSettingsProject(r *http.Request, v *View, p *touchpoint.Project, form, clock url.Values, keys []settingsKey) error {
	if form == nil {
		form = settingsProjectForm(p)
	}
	if clock == nil {
		clock = settingsClockForm(p.TestClock)
	}
	v.Title, v.Section = p.Name+" · Settings", "settings"
	return v.Render("settings_project", &settingsProjectData{Project: p, NewKeys: keys, Form: form,
		AppChoices: settingsAppChoices(v.Apps, form["apps"]), Clock: settingsClock{Action: settingsProjectPath(p) + "/test-clock", Form: clock, CSRF: v.CSRF},
		Zones: settingsZones, Base: h.baseURL(r)})
}

// POST /settings/projects: create a project; the answer shows its keys,
// once.
func (h *Handler) handleSettingsProjectCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	form := r.PostForm
	c, err := settingsProjectCreate(form)
	var p *touchpoint.Project
	if err == nil {
		p = c.Project()
		err = h.Store.CreateProject(r.Context(), p)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettings(r, v, url.Values{"platform": {string(touchpoint.Android)}}, form)
	}
	// The navigation was read before the project existed.
	if err := h.nav(r, v); err != nil {
		return err
	}
	v.Project = p
	v.Notice = "Project created. Copy its API key and secret key now: they are not shown again (rotate them to get new ones)."
	return h.renderSettingsProject(r, v, p, nil, nil, []settingsKey{{settingsKeyLabels[touchpoint.APIKey], p.APIKey}, {settingsKeyLabels[touchpoint.SecretKey], p.SecretKey}})
}

// settingsProjectCreate reads the form that creates a project.
func settingsProjectCreate(form url.Values) (touchpoint.ProjectCreate, error) {
	c := touchpoint.ProjectCreate{Name: strings.TrimSpace(form.Get("name")), Apps: form["apps"],
		TimeZone: strings.TrimSpace(form.Get("time_zone")), TestMode: form.Get("test_mode") != ""}
	var err error
	if c.Limits, err = settingsLimits(form); err != nil {
		return c, err
	}
	c.TestClock, err = settingsTime(form, "test_clock")
	return c, err
}

// settingsLimits reads the ingestion limits of a project form; an empty one
// is left unset (the default at creation, unchanged on an update).
func settingsLimits(form url.Values) (touchpoint.IngestLimitsUpdate, error) {
	var u touchpoint.IngestLimitsUpdate
	var err error
	if u.HTTPEPS, err = settingsInt(form, "http_eps", "events per second"); err != nil {
		return u, err
	}
	u.BatchEPS, err = settingsInt(form, "batch_eps", "events per second")
	return u, err
}

// GET /settings/projects/{project}
func (h *Handler) handleSettingsProject(w http.ResponseWriter, r *http.Request, v *View) error {
	return h.renderSettingsProject(r, v, v.Project, nil, nil, nil)
}

// POST /settings/projects/{project}: change the project's settings.
func (h *Handler) handleSettingsProjectUpdate(w http.ResponseWriter, r *http.Request, v *View) error {
	form := r.PostForm
	name, tz := strings.TrimSpace(form.Get("name")), strings.TrimSpace(form.Get("time_zone"))
	// The form lists every app: one left unchecked is unlinked.
	apps := form["apps"]
	if apps == nil {
		apps = []string{}
	}
	upd := touchpoint.ProjectUpdate{Name: &name, TimeZone: &tz, Apps: &apps}
	var err error
	upd.Limits, err = settingsLimits(form)
	var p *touchpoint.Project
	if err == nil {
		p, err = h.Store.UpdateProject(r.Context(), v.Project.ID, upd)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettingsProject(r, v, v.Project, form, nil, nil)
	}
	return redirect(w, r, settingsProjectPath(p), "Settings of project "+p.Name+" saved.")
}

// POST /settings/projects/{project}/test-clock: set or advance a
// test-mode project's clock.
func (h *Handler) handleSettingsProjectTestClock(w http.ResponseWriter, r *http.Request, v *View) error {
	to, step, err := settingsClockMove(r.PostForm)
	var p *touchpoint.Project
	if err == nil {
		p, err = h.Service().MoveProjectTestClock(r.Context(), v.Project.ID, to, step)
	}
	if err != nil {
		v.Fail(err)
		return h.renderSettingsProject(r, v, v.Project, nil, r.PostForm, nil)
	}
	return redirect(w, r, settingsProjectPath(p), "Test clock of project "+p.Name+" moved to "+datetime(*p.TestClock)+".")
}

// POST /settings/projects/{project}/keys: rotate one key (key=api_key or
// secret_key); the answer shows the new key, once.
func (h *Handler) handleSettingsProjectKeyRotate(w http.ResponseWriter, r *http.Request, v *View) error {
	kind := touchpoint.KeyKind(r.PostForm.Get("key"))
	p, err := h.Store.RotateProjectKey(r.Context(), v.Project.ID, kind)
	if err != nil {
		v.Fail(err)
		return h.renderSettingsProject(r, v, v.Project, nil, nil, nil)
	}
	key := p.APIKey
	if kind == touchpoint.SecretKey {
		key = p.SecretKey
	}
	v.Project = p
	v.Notice = settingsKeyLabels[kind] + " rotated: the old one no longer works. Copy the new one now: it is not shown again."
	return h.renderSettingsProject(r, v, p, nil, nil, []settingsKey{{settingsKeyLabels[kind], key}})
}
