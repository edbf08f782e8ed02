package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/postback"
	"github.com/touchpointhq/touchpoint/service"
)

// The partners pages: an app's media sources, each with its windows, click
// signing, postback templates (previewed on the app's latest install) and
// signing secrets. Forms are parsed into the values the JSON API builds
// (httpapi/partners.go) and handed to the same service calls.

func (h *Handler) registerPartnerRoutes(r *routes) {
	r.page("GET /apps/{app}/partners", h.handlePartners)
	r.page("POST /apps/{app}/partners", h.handlePartnerCreate)
	r.page("GET /apps/{app}/partners/{pid}", h.handlePartner)
	r.page("POST /apps/{app}/partners/{pid}", h.handlePartnerUpdate)
	r.page("POST /apps/{app}/partners/{pid}/postbacks", h.handlePartnerPostbacks)
	r.page("POST /apps/{app}/partners/{pid}/secrets", h.handleSecretCreate)
	r.page("POST /apps/{app}/partners/{pid}/secrets/{id}/revoke", h.handleSecretRevoke)
	r.page("POST /apps/{app}/partners/{pid}/delete", h.handlePartnerDelete)
}

// partnerPath is the dashboard path of a partner's page; pids may hold
// any character, so the segment is escaped.
func partnerPath(app, pid string, more ...string) string {
	return appPath(app, append([]string{"partners", url.PathEscape(pid)}, more...)...)
}

// signingModes are the click-signing modes, in the order a form offers them.
var signingModes = []touchpoint.SigningMode{touchpoint.SigningDisabled, touchpoint.SigningReportOnly, touchpoint.SigningEnabled}

// postbackKinds are the kinds a partner's template can have.
var postbackKinds = []touchpoint.DeliveryKind{touchpoint.KindInstallPostback, touchpoint.KindEventPostback,
	touchpoint.KindRejectedInstallPostback, touchpoint.KindRejectedEventPostback}

// partnerForm is a partner's settings as its form writes them: text, so
// that a refused form shows again exactly what was sent. The names are the
// JSON API's.
type partnerForm struct {
	PID                 string
	ClickSigning        string
	ClickLookback       string
	ViewThroughLookback string
	ProbabilisticWindow string
	AllowIPUA           bool
	Restricted          bool
	DailyClickCap       string
	SendAllInstalls     bool
	InAppWindow         string
	Retries             string
	RetryMinutes        string
}

// newPartnerForm is the create form's start: the windows left empty take
// the app's defaults, as an unset window does in the JSON API.
func newPartnerForm() partnerForm {
	return partnerForm{ClickSigning: string(touchpoint.SigningDisabled), DailyClickCap: "0", InAppWindow: "lifetime",
		Retries: strconv.Itoa(touchpoint.DefaultPostbackRetries), RetryMinutes: strconv.Itoa(touchpoint.DefaultPostbackRetryMinutes)}
}

// formOf is the form of a stored partner.
func formOf(p *touchpoint.Partner) partnerForm {
	in := "lifetime"
	if p.InAppWindow != 0 {
		in = touchpoint.Window(p.InAppWindow).String()
	}
	return partnerForm{PID: p.PID, ClickSigning: string(p.ClickSigning), ClickLookback: p.ClickLookback.String(),
		ViewThroughLookback: p.ViewThroughLookback.String(), ProbabilisticWindow: p.ProbabilisticWindow.String(),
		AllowIPUA: p.AllowIPUA, Restricted: p.Restricted, DailyClickCap: strconv.FormatInt(p.DailyClickCap, 10),
		SendAllInstalls: p.SendAllInstalls, InAppWindow: in, Retries: strconv.Itoa(p.Retries),
		RetryMinutes: strconv.Itoa(p.RetryMinutes)}
}

// readPartnerForm reads the form a request sent. A checkbox left unticked
// is not sent at all: false.
func readPartnerForm(r *http.Request) partnerForm {
	f := r.PostForm
	return partnerForm{PID: f.Get("pid"), ClickSigning: f.Get("click_signing"), ClickLookback: f.Get("click_lookback"),
		ViewThroughLookback: f.Get("view_through_lookback"), ProbabilisticWindow: f.Get("probabilistic_window"),
		AllowIPUA: f.Get("allow_ip_ua") != "", Restricted: f.Get("restricted") != "", DailyClickCap: f.Get("daily_click_cap"),
		SendAllInstalls: f.Get("send_all_installs") != "", InAppWindow: f.Get("in_app_postback_window"),
		Retries: f.Get("postback_retries"), RetryMinutes: f.Get("postback_retry_minutes")}
}

// formWindow reads a window field ("7d", "24h") as the JSON API does.
func formWindow(field, s string) (touchpoint.Window, error) {
	w, err := touchpoint.ParseWindow(s)
	if err != nil {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "%s: %s", field, touchpoint.ErrorMessage(err))
	}
	return w, nil
}

// formPostbackWindow reads "lifetime" or a window through the JSON API's
// own decoding of the field.
func formPostbackWindow(s string) (touchpoint.PostbackWindow, error) {
	var w touchpoint.PostbackWindow
	if err := w.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "in_app_postback_window: %s; or lifetime", touchpoint.ErrorMessage(err))
	}
	return w, nil
}

// formInt reads a whole number field.
func formInt(field, s string) (int, error) {
	n, err := wholeNumber(field, s)
	return int(n), err
}

// settings reads the form's settings into the change PATCH
// /api/v1/apps/{app_id}/partners/{pid} takes. With all, every setting is
// read (an empty one is refused, as the edit form sends them all);
// without, an empty one is left unset (nil).
func (f partnerForm) settings(all bool) (touchpoint.PartnerUpdate, error) {
	u := touchpoint.PartnerUpdate{AllowIPUA: &f.AllowIPUA, Restricted: &f.Restricted, SendAllInstalls: &f.SendAllInstalls}
	if mode := touchpoint.SigningMode(f.ClickSigning); all || mode != "" {
		u.ClickSigning = &mode
	}
	for _, w := range []struct {
		field, v string
		dst      **touchpoint.Window
	}{{"click_lookback", f.ClickLookback, &u.ClickLookback}, {"view_through_lookback", f.ViewThroughLookback, &u.ViewThroughLookback},
		{"probabilistic_window", f.ProbabilisticWindow, &u.ProbabilisticWindow}} {
		if !all && w.v == "" {
			continue
		}
		win, err := formWindow(w.field, w.v)
		if err != nil {
			return u, err
		}
		*w.dst = &win
	}
	if all || f.DailyClickCap != "" {
		n, err := strconv.ParseInt(f.DailyClickCap, 10, 64)
		if err != nil {
			return u, touchpoint.Errorf(touchpoint.EINVALID, "daily_click_cap %q: want a whole number (0: no cap)", f.DailyClickCap)
		}
		u.DailyClickCap = &n
	}
	if all || f.InAppWindow != "" {
		in, err := formPostbackWindow(f.InAppWindow)
		if err != nil {
			return u, err
		}
		u.InAppWindow = &in
	}
	for _, n := range []struct {
		field, v string
		dst      **int
	}{{"postback_retries", f.Retries, &u.Retries}, {"postback_retry_minutes", f.RetryMinutes, &u.RetryMinutes}} {
		if !all && n.v == "" {
			continue
		}
		i, err := formInt(n.field, n.v)
		if err != nil {
			return u, err
		}
		*n.dst = &i
	}
	return u, nil
}

// partner reads the create form into the partner POST
// /api/v1/apps/{app}/partners makes of the same body
// (touchpoint.PartnerCreate): an empty window is the app's default, empty
// retries the default 4.
func (f partnerForm) partner(app string) (*touchpoint.Partner, error) {
	u, err := f.settings(false)
	if err != nil {
		return nil, err
	}
	c := touchpoint.PartnerCreate{PID: f.PID, ClickSigning: deref(u.ClickSigning), ClickLookback: deref(u.ClickLookback),
		ViewThroughLookback: deref(u.ViewThroughLookback), ProbabilisticWindow: deref(u.ProbabilisticWindow),
		AllowIPUA: f.AllowIPUA, Restricted: f.Restricted, DailyClickCap: deref(u.DailyClickCap), SendAllInstalls: f.SendAllInstalls,
		InAppWindow: deref(u.InAppWindow), Retries: u.Retries, RetryMinutes: deref(u.RetryMinutes)}
	return c.Partner(app), nil
}

// deref is *p, or the zero value (an unset field) when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// partnerRow is a line of the partners list.
type partnerRow struct {
	*touchpoint.Partner
	Path string
}

// partnersPage is the list and the create form.
type partnersPage struct {
	Partners []partnerRow
	Form     partnerForm
	Modes    []touchpoint.SigningMode
	Defaults touchpoint.Windows // the app's, which empty windows take
}

// GET /apps/{app}/partners
func (h *Handler) handlePartners(w http.ResponseWriter, r *http.Request, v *View) error {
	return h.renderPartners(r, v, newPartnerForm())
}

func (h *Handler) renderPartners(r *http.Request, v *View, form partnerForm) error {
	v.Title, v.Section = "Partners", "partners"
	ps, err := h.Store.ListPartners(r.Context(), v.App.ID)
	if err != nil {
		return err
	}
	// Signing cannot start enabled (no secret exists yet): not offered.
	page := &partnersPage{Form: form, Modes: signingModes[:2], Defaults: v.App.Windows}
	for _, p := range ps {
		page.Partners = append(page.Partners, partnerRow{p, partnerPath(v.App.ID, p.PID)})
	}
	return v.Render("partners", page)
}

// POST /apps/{app}/partners
func (h *Handler) handlePartnerCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	form := readPartnerForm(r)
	p, err := form.partner(v.App.ID)
	if err == nil {
		err = h.Service().CreatePartner(r.Context(), p)
	}
	if err != nil {
		v.Fail(err)
		return h.renderPartners(r, v, form)
	}
	return redirect(w, r, partnerPath(v.App.ID, p.PID), "Partner "+p.PID+" created. Add its postbacks below.")
}

// templateRow is a postback template as its form writes it, with its
// preview when it can be drawn.
type templateRow struct {
	N           int  // its place in the form
	New         bool // the empty row that adds one
	Kinds       []touchpoint.DeliveryKind
	Kind        string
	EventName   string
	SendRevenue bool
	Method      string
	URL         string
	Body        string
	ContentType string
	Preview     *touchpoint.Delivery
}

// secretRow is a signing secret as the page lists it (never its key).
type secretRow struct {
	service.SecretStatus
	Status     string
	RevokePath string
}

// partnerPage is a partner's page: its settings, postbacks and secrets.
type partnerPage struct {
	Partner *touchpoint.Partner
	Path    string
	Form    partnerForm
	Modes   []touchpoint.SigningMode
	Rows    []templateRow
	New     templateRow // the empty row that adds a postback
	Macros  []string
	Secrets []secretRow
	// NewSecret is a secret just made: the one time its key is shown.
	NewSecret *touchpoint.SigningSecret
	TTLHours  string
	// Install is the app's latest new install, the previews' facts; nil
	// when it has none yet, and TryClick and TryLaunch are then the curl
	// commands that make one.
	Install             *touchpoint.Install
	TryClick, TryLaunch string
}

// loadPartner reads the partner a path names and readies its page; the
// caller overrides what a refused form sent.
func (h *Handler) loadPartner(r *http.Request, v *View) (*partnerPage, error) {
	ctx := r.Context()
	p, err := h.Store.FindPartner(ctx, v.App.ID, r.PathValue("pid"))
	if err != nil {
		return nil, err
	}
	v.Title, v.Section = "Partner "+p.PID, "partners"
	page := &partnerPage{Partner: p, Path: partnerPath(v.App.ID, p.PID), Form: formOf(p), Modes: signingModes,
		Macros: postback.Names(), TTLHours: strconv.Itoa(int(touchpoint.DefaultSecretTTL / time.Hour))}
	for i, t := range p.Templates {
		page.Rows = append(page.Rows, templateRow{N: i, Kind: string(t.Kind), EventName: t.EventName, SendRevenue: t.SendRevenue,
			Method: t.Method, URL: t.URL, Body: t.Body, ContentType: t.ContentType})
	}
	secrets, err := h.Service().Secrets(ctx, v.App.ID, p.PID)
	if err != nil {
		return nil, err
	}
	for _, s := range secrets {
		row := secretRow{SecretStatus: s, Status: "expired", RevokePath: partnerPath(v.App.ID, p.PID, "secrets", url.PathEscape(s.ID), "revoke")}
		switch {
		case s.RevokedAt != nil:
			row.Status = "revoked"
		case s.Active:
			row.Status = "active"
		}
		page.Secrets = append(page.Secrets, row)
	}
	in, err := h.Store.LatestInstall(ctx, v.App.ID)
	switch {
	case touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND:
	case err != nil:
		return nil, err
	default:
		page.Install = in
		return page, nil
	}
	// A click of this partner and a first launch of the same device: an
	// install it wins.
	idParam, id := "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d"
	if v.App.Platform == touchpoint.IOS {
		idParam, id = "idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	}
	base := h.baseURL(r)
	page.TryClick = "curl -i '" + link.Build(base, touchpoint.Click, v.App.ID, p.PID,
		[]touchpoint.Param{{Key: "clickid", Value: "test-1"}, {Key: idParam, Value: id}}) + "'"
	page.TryLaunch = "curl -X POST " + base + "/sdk/v1/apps/" + url.PathEscape(v.App.ID) + "/launches \\\n" +
		"  -H 'Authorization: Bearer <the app dev key, under Settings>' \\\n" +
		"  -d '{\"" + idParam + "\":\"" + id + "\"}'"
	return page, nil
}

// render draws the partner page, with the previews of the rows shown.
func (h *Handler) renderPartner(r *http.Request, v *View, page *partnerPage) error {
	page.New = templateRow{N: len(page.Rows), New: true, Kinds: postbackKinds, Kind: string(touchpoint.KindInstallPostback), Method: "GET"}
	for i := range page.Rows {
		page.Rows[i].Kinds = postbackKinds
	}
	if page.Install != nil {
		dev, err := h.Store.FindDevice(r.Context(), v.App.ID, page.Install.DeviceID)
		if err != nil && touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
			return err
		}
		for i := range page.Rows {
			page.Rows[i].Preview = previewPostback(v.App, page.Partner, page.Install, dev, page.Rows[i])
		}
	}
	return v.Render("partner", page)
}

// previewPostback is the request a template makes on an install: the
// outbox's own planner (postback.Partners.ForInstall) is asked for the
// install postback this install would send the partner were it sent to
// every install, so the macros are filled exactly as when it is sent.
// In-app and rejection macros are empty: no event or rejection is at
// hand. Nil when the template does not parse (its error says why).
func previewPostback(app *touchpoint.App, p *touchpoint.Partner, in *touchpoint.Install, dev *touchpoint.Device, row templateRow) *touchpoint.Delivery {
	c := *p
	c.Restricted, c.SendAllInstalls = false, true
	c.Templates = []touchpoint.PostbackTemplate{{Kind: touchpoint.KindInstallPostback, Method: row.Method, URL: row.URL,
		Body: row.Body, ContentType: row.ContentType}}
	pp, err := postback.NewPartner(&c)
	if err != nil {
		return nil
	}
	if dev == nil {
		// The device's record is gone: the launch's ids stand for it.
		dev = &touchpoint.Device{App: in.App, ID: in.DeviceID, IDs: in.Launch.IDs}
	}
	ins := *in
	ins.Rejections = nil
	ds := postback.Partners{c.PID: pp}.ForInstall(app, dev, &ins)
	if len(ds) != 1 {
		return nil
	}
	return ds[0]
}

// GET /apps/{app}/partners/{pid}
func (h *Handler) handlePartner(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.loadPartner(r, v)
	if err != nil {
		return err
	}
	return h.renderPartner(r, v, page)
}

// POST /apps/{app}/partners/{pid}: the settings.
func (h *Handler) handlePartnerUpdate(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.loadPartner(r, v)
	if err != nil {
		return err
	}
	form := readPartnerForm(r)
	form.PID = page.Partner.PID
	upd, err := form.settings(true)
	if err == nil {
		_, err = h.Service().UpdatePartner(r.Context(), v.App.ID, page.Partner.PID, upd)
	}
	if err != nil {
		v.Fail(err)
		page.Form = form
		return h.renderPartner(r, v, page)
	}
	return redirect(w, r, page.Path, "Partner "+page.Partner.PID+" saved.")
}

// readTemplateRows reads the postback rows of the form: rows 0 to
// rows-1, less those marked for removal and the empty row for a new one
// when it was left empty.
func readTemplateRows(r *http.Request) ([]templateRow, error) {
	f := r.PostForm
	n, err := strconv.Atoi(f.Get("rows"))
	if err != nil || n < 0 || n > touchpoint.MaxPostbackTemplates+1 {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "the postbacks form is incomplete: reload the page and try again")
	}
	var rows []templateRow
	for i := range n {
		k := "pb" + strconv.Itoa(i) + "_"
		row := templateRow{Kind: f.Get(k + "kind"), EventName: f.Get(k + "event_name"), SendRevenue: f.Get(k+"send_revenue") != "",
			Method: f.Get(k + "method"), URL: f.Get(k + "url"), Body: f.Get(k + "body"), ContentType: f.Get(k + "content_type")}
		if f.Get(k+"remove") != "" || f.Get(k+"new") != "" && row.URL == "" && row.Body == "" && row.EventName == "" {
			continue
		}
		row.N = len(rows)
		rows = append(rows, row)
	}
	return rows, nil
}

// postbackIndexRE finds the template a store or service error names
// ("postbacks[2]: …"), which the page numbers from 1.
var postbackIndexRE = regexp.MustCompile(`^postbacks\[(\d+)\]`)

// POST /apps/{app}/partners/{pid}/postbacks: every template at once, as
// the JSON API's postbacks field replaces them.
func (h *Handler) handlePartnerPostbacks(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.loadPartner(r, v)
	if err != nil {
		return err
	}
	rows, err := readTemplateRows(r)
	if err != nil {
		v.Fail(err)
		return h.renderPartner(r, v, page)
	}
	ts := []touchpoint.PostbackTemplate{}
	for _, row := range rows {
		ts = append(ts, touchpoint.PostbackTemplate{Kind: touchpoint.DeliveryKind(row.Kind), EventName: row.EventName,
			SendRevenue: row.SendRevenue, Method: row.Method, URL: row.URL, Body: row.Body, ContentType: row.ContentType})
	}
	if _, err := h.Service().UpdatePartner(r.Context(), v.App.ID, page.Partner.PID, touchpoint.PartnerUpdate{Templates: &ts}); err != nil {
		msg := postbackIndexRE.ReplaceAllStringFunc(touchpoint.ErrorMessage(err), func(m string) string {
			n, _ := strconv.Atoi(postbackIndexRE.FindStringSubmatch(m)[1])
			return "Postback " + strconv.Itoa(n+1)
		})
		v.Fail(touchpoint.Errorf(touchpoint.ErrorCode(err), "%s", msg))
		page.Rows = rows
		return h.renderPartner(r, v, page)
	}
	return redirect(w, r, page.Path, "Postbacks of "+page.Partner.PID+" saved.")
}

// POST /apps/{app}/partners/{pid}/secrets: the answer is the one page
// that shows the new secret.
func (h *Handler) handleSecretCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	page, err := h.loadPartner(r, v)
	if err != nil {
		return err
	}
	hours := r.PostForm.Get("ttl-hours")
	ttl, err := touchpoint.ParseSecretTTL(hours)
	var sec *touchpoint.SigningSecret
	if err == nil {
		sec, err = h.Service().CreateSecret(r.Context(), v.App.ID, page.Partner.PID, ttl)
	}
	if err != nil {
		v.Fail(err)
		page.TTLHours = hours
		return h.renderPartner(r, v, page)
	}
	// Listed again, now with the new one.
	if page, err = h.loadPartner(r, v); err != nil {
		return err
	}
	page.NewSecret = sec
	v.Notice = "Secret " + sec.ID + " created. Copy it now: it is not shown again."
	return h.renderPartner(r, v, page)
}

// POST /apps/{app}/partners/{pid}/secrets/{id}/revoke
func (h *Handler) handleSecretRevoke(w http.ResponseWriter, r *http.Request, v *View) error {
	app, pid, id := v.App.ID, r.PathValue("pid"), r.PathValue("id")
	if err := h.Service().RevokeSecret(r.Context(), app, pid, id); err != nil {
		return err
	}
	return redirect(w, r, partnerPath(app, pid), "Secret "+id+" revoked: links signed with it no longer pass.")
}

// POST /apps/{app}/partners/{pid}/delete
func (h *Handler) handlePartnerDelete(w http.ResponseWriter, r *http.Request, v *View) error {
	pid := r.PathValue("pid")
	if err := h.Service().DeletePartner(r.Context(), v.App.ID, pid); err != nil {
		return err
	}
	return redirect(w, r, appPath(v.App.ID, "partners"), "Partner "+pid+" deleted; its touches stay.")
}
