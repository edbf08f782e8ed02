package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The destination screens: a project's event streams (appsflyer-events)
// and cohort sync targets (appsflyer-cohort), how their deliveries fare,
// and their forms. Keys and tokens are shown masked once saved; a form
// left with a secret blank keeps the one saved.

func (h *Handler) registerDestinationRoutes(r *routes) {
	r.page("GET /projects/{project}/destinations", h.handleDestinations)
	r.page("GET /projects/{project}/destinations/new", h.handleDestinationNew)
	r.page("POST /projects/{project}/destinations/new", h.handleDestinationCreate)
	r.page("GET /projects/{project}/destinations/{id}", h.handleDestination)
	r.page("POST /projects/{project}/destinations/{id}", h.handleDestinationUpdate)
	r.page("POST /projects/{project}/destinations/{id}/delete", h.handleDestinationDelete)
}

// destinationsPath is the dashboard path of a project's destinations, or
// of one of them.
func destinationsPath(p *touchpoint.Project, more ...string) string {
	s := "/projects/" + projectPath(p) + "/destinations"
	for _, m := range more {
		s += "/" + m
	}
	return s
}

// destKinds are the kinds a destination may be, with what they are.
var destKinds = []struct {
	Kind  touchpoint.DestinationKind
	Label string
}{
	{touchpoint.DestinationAppsFlyerEvents, "AppsFlyer event stream (S2S in-app events)"},
	{touchpoint.DestinationAppsFlyerCohort, "AppsFlyer Audiences (cohort syncs)"},
}

func destKindLabel(k touchpoint.DestinationKind) string {
	for _, d := range destKinds {
		if d.Kind == k {
			return d.Label
		}
	}
	return string(k)
}

// destMask shows a secret by its last four characters only.
func destMask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) <= 8:
		return "••••"
	}
	return "••••" + s[len(s)-4:]
}

// destHealth is how a destination's deliveries (an event stream's) or
// syncs (a cohort destination's) fare.
type destHealth struct {
	Last            *touchpoint.Delivery
	Pending, Failed string // counts, "100+" past a page
	Syncs           int
	LastRun         *time.Time
}

// destListItem is a destination as the list and its page show it.
type destListItem struct {
	D         *touchpoint.Destination
	KindLabel string
	Key       string // masked
	Token     string // masked
	Health    destHealth
	Path      string
}

// destHealthPage bounds the deliveries counted per state.
const destHealthPage = 100

// health sums up a destination: an event stream by its deliveries (the
// newest, and how many are pending and given up), a cohort destination by
// its syncs.
func (h *Handler) destHealth(r *http.Request, d *touchpoint.Destination, syncs []*touchpoint.CohortSync) (destHealth, error) {
	var out destHealth
	if d.Kind == touchpoint.DestinationAppsFlyerCohort {
		for _, s := range syncs {
			if s.Destination != d.ID {
				continue
			}
			out.Syncs++
			if s.LastRun != nil && (out.LastRun == nil || s.LastRun.After(*out.LastRun)) {
				out.LastRun = s.LastRun
			}
		}
		return out, nil
	}
	f := touchpoint.DeliveryFilter{Project: d.Project, PID: destPID(d), Kind: touchpoint.KindEventStream, Limit: 1}
	last, _, err := h.Store.ListDeliveries(r.Context(), f)
	if err != nil {
		return out, err
	}
	if len(last) > 0 {
		out.Last = last[0]
	}
	for _, c := range []struct {
		state touchpoint.DeliveryState
		out   *string
	}{{touchpoint.DeliveryPending, &out.Pending}, {touchpoint.DeliveryFailed, &out.Failed}} {
		f.State, f.Limit = c.state, destHealthPage
		ds, next, err := h.Store.ListDeliveries(r.Context(), f)
		if err != nil {
			return out, err
		}
		*c.out = strconv.Itoa(len(ds))
		if next != 0 {
			*c.out += "+"
		}
	}
	return out, nil
}

// destPID is the partner id a destination's deliveries carry.
func destPID(d *touchpoint.Destination) string {
	return "destination/" + strconv.FormatInt(d.ID, 10)
}

func (h *Handler) destItem(r *http.Request, p *touchpoint.Project, d *touchpoint.Destination, syncs []*touchpoint.CohortSync) (destListItem, error) {
	health, err := h.destHealth(r, d, syncs)
	return destListItem{D: d, KindLabel: destKindLabel(d.Kind), Key: destMask(d.Key), Token: destMask(d.APIToken), Health: health,
		Path: destinationsPath(p, strconv.FormatInt(d.ID, 10))}, err
}

// GET /projects/{project}/destinations
func (h *Handler) handleDestinations(w http.ResponseWriter, r *http.Request, v *View) error {
	ds, err := h.Store.ListDestinations(r.Context(), v.Project.ID)
	if err != nil {
		return err
	}
	syncs, err := h.Store.ListCohortSyncs(r.Context(), 0)
	if err != nil {
		return err
	}
	items := make([]destListItem, len(ds))
	for i, d := range ds {
		if items[i], err = h.destItem(r, v.Project, d, syncs); err != nil {
			return err
		}
	}
	v.Title, v.Section = "Destinations", "destinations"
	return v.Render("destinations", map[string]any{"Destinations": items, "Base": destinationsPath(v.Project), "Kinds": destKinds,
		"Server": h.baseURL(r)})
}

// destForm is a destination's form: the fields as sent (secrets blank
// unless just typed), and the masked secrets saved.
type destForm struct {
	Action              string
	Kind                touchpoint.DestinationKind
	KindLabel           string
	Cohort              bool // an appsflyer-cohort destination
	New                 bool
	Name                string
	AppsFlyerAppID      string
	URL                 string
	Key, KeySaved       string
	EventTypes          string // one a line
	WhereOn             string
	WhereProperty       string
	WhereValues         string // one a line
	AppsFlyerIDProperty string
	APIToken            string
	TokenSaved          string
	Enabled             bool
	DefaultIDProperty   string

	OnOpts, OpOpts, PlatformOpts, IdentifierOpts []choice
}

// fill sets the selects' options from the chosen values.
func (f *destForm) fill(on, op, platform, identifier string) {
	f.KindLabel, f.Cohort = destKindLabel(f.Kind), f.Kind == touchpoint.DestinationAppsFlyerCohort
	f.DefaultIDProperty = touchpoint.DefaultAppsFlyerIDProperty
	f.OnOpts = choices(on, "", "every event the event types allow", touchpoint.OnEvent, "an event property", touchpoint.OnUser, "a user property")
	f.OpOpts = choices(op, touchpoint.OpIs, "is one of", touchpoint.OpIsNot, "is not one of")
	f.PlatformOpts = choices(platform, "", "(choose)", string(touchpoint.Android), "Android", string(touchpoint.IOS), "iOS")
	f.IdentifierOpts = choices(identifier, "", "(choose)", touchpoint.MapGAID, "gaid: Google advertising id (Android)",
		touchpoint.MapIDFA, "idfa: IDFA (iOS)", touchpoint.MapUserID, "user_id: the user id, sent as amplitude_id",
		touchpoint.MapCUID, "cuid: the user id as AppsFlyer's customer user id")
}

// destFormOf is the form of a saved destination.
func destFormOf(p *touchpoint.Project, d *touchpoint.Destination) *destForm {
	f := &destForm{Action: destinationsPath(p, strconv.FormatInt(d.ID, 10)), Kind: d.Kind, Name: d.Name, AppsFlyerAppID: d.AppsFlyerAppID,
		URL: d.URL, KeySaved: destMask(d.Key), EventTypes: strings.Join(d.Filter.EventTypes, "\n"), AppsFlyerIDProperty: d.AppsFlyerIDProperty,
		TokenSaved: destMask(d.APIToken), Enabled: d.Enabled}
	on, op := "", touchpoint.OpIs
	if w := d.Filter.Where; w != nil {
		on, op, f.WhereProperty, f.WhereValues = w.On, w.Op, w.Property, strings.Join(w.Values, "\n")
	}
	f.fill(on, op, string(d.Platform), d.Identifier)
	return f
}

// destFormFrom reads a posted form into f; the kind is f's.
func destFormFrom(r *http.Request, f *destForm) (platform, identifier string) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f.Name, f.AppsFlyerAppID, f.URL, f.Enabled = get("name"), get("appsflyer_app_id"), get("url"), r.PostFormValue("enabled") != ""
	f.Key, f.APIToken = get("key"), get("api_token")
	f.EventTypes, f.WhereProperty, f.WhereValues = r.PostFormValue("event_types"), get("where_property"), r.PostFormValue("where_values")
	f.AppsFlyerIDProperty = get("appsflyer_id_property")
	platform, identifier = get("platform"), get("identifier")
	f.fill(get("where_on"), get("where_op"), platform, identifier)
	return platform, identifier
}

// destLines reads a textarea's list: one item a line, blank lines left
// out.
func destLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// filter is the event filter the form says; none when neither event types
// nor a condition is given.
func (f *destForm) filter(r *http.Request) touchpoint.EventFilter {
	ef := touchpoint.EventFilter{EventTypes: destLines(f.EventTypes)}
	if on := strings.TrimSpace(r.PostFormValue("where_on")); on != "" {
		ef.Where = &touchpoint.PropertyCondition{On: on, Property: f.WhereProperty, Op: r.PostFormValue("where_op"), Values: destLines(f.WhereValues)}
	}
	return ef
}

// GET /projects/{project}/destinations/new?kind=
func (h *Handler) handleDestinationNew(w http.ResponseWriter, r *http.Request, v *View) error {
	kind := touchpoint.DestinationKind(r.URL.Query().Get("kind"))
	if kind == "" {
		kind = touchpoint.DestinationAppsFlyerEvents
	}
	if destKindLabel(kind) == string(kind) {
		return touchpoint.Errorf(touchpoint.EINVALID, "kind %q: want appsflyer-events or appsflyer-cohort", kind)
	}
	f := &destForm{Action: destinationsPath(v.Project, "new"), Kind: kind, New: true, Enabled: true}
	f.fill("", touchpoint.OpIs, "", "")
	return h.renderDestForm(v, f)
}

func (h *Handler) renderDestForm(v *View, f *destForm) error {
	v.Title, v.Section = "New destination", "destinations"
	return v.Render("destination", map[string]any{"Form": f, "Base": destinationsPath(v.Project), "Kinds": destKinds})
}

// POST /projects/{project}/destinations/new
func (h *Handler) handleDestinationCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	f := &destForm{Action: destinationsPath(v.Project, "new"), Kind: touchpoint.DestinationKind(r.PostFormValue("kind")), New: true}
	platform, identifier := destFormFrom(r, f)
	d := &touchpoint.Destination{Project: v.Project.ID, Kind: f.Kind, Name: f.Name, AppsFlyerAppID: f.AppsFlyerAppID, URL: f.URL, Enabled: f.Enabled}
	if f.Cohort {
		d.APIToken, d.Platform, d.Identifier = f.APIToken, touchpoint.Platform(platform), identifier
	} else {
		d.Key, d.Filter, d.AppsFlyerIDProperty = f.Key, f.filter(r), f.AppsFlyerIDProperty
	}
	if err := h.Service().CreateDestination(r.Context(), d); err != nil {
		v.Fail(err)
		return h.renderDestForm(v, f)
	}
	return redirect(w, r, destinationsPath(v.Project, strconv.FormatInt(d.ID, 10)), "Destination "+d.Name+" saved.")
}

// projectDestination returns the destination the path names, of the
// path's project.
func (h *Handler) projectDestination(r *http.Request, v *View) (*touchpoint.Destination, error) {
	id, err := pathID(r, "id", "destination")
	if err != nil {
		return nil, err
	}
	return h.Service().Destination(r.Context(), v.Project.ID, id)
}

// GET /projects/{project}/destinations/{id}
func (h *Handler) handleDestination(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := h.projectDestination(r, v)
	if err != nil {
		return err
	}
	return h.renderDestination(r, v, d, destFormOf(v.Project, d))
}

// destSyncView is a sync that sends to a cohort destination.
type destSyncView struct {
	Sync   *touchpoint.CohortSync
	Cohort string
	Path   string
}

// renderDestination draws a destination's page with its form f.
func (h *Handler) renderDestination(r *http.Request, v *View, d *touchpoint.Destination, f *destForm) error {
	ctx := r.Context()
	syncs, err := h.Store.ListCohortSyncs(ctx, 0)
	if err != nil {
		return err
	}
	item, err := h.destItem(r, v.Project, d, syncs)
	if err != nil {
		return err
	}
	var recent []*touchpoint.Delivery
	if d.Kind == touchpoint.DestinationAppsFlyerEvents {
		if recent, _, err = h.Store.ListDeliveries(ctx, touchpoint.DeliveryFilter{Project: d.Project, PID: destPID(d), Limit: 20}); err != nil {
			return err
		}
	}
	var using []destSyncView
	for _, s := range syncs {
		if s.Destination != d.ID {
			continue
		}
		c, err := h.Store.FindCohort(ctx, s.Cohort)
		if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
			continue // deleted since, with its syncs
		} else if err != nil {
			return err
		}
		using = append(using, destSyncView{Sync: s, Cohort: c.Name, Path: cohortsPath(v.Project, strconv.FormatInt(c.ID, 10))})
	}
	v.Title, v.Section = d.Name, "destinations"
	return v.Render("destination", map[string]any{"Item": item, "Form": f, "Deliveries": recent, "Syncs": using,
		"Base": destinationsPath(v.Project), "PID": destPID(d)})
}

// POST /projects/{project}/destinations/{id}: change it; a secret left
// blank stays.
func (h *Handler) handleDestinationUpdate(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := h.projectDestination(r, v)
	if err != nil {
		return err
	}
	f := destFormOf(v.Project, d)
	platform, identifier := destFormFrom(r, f)
	upd := touchpoint.DestinationUpdate{Name: &f.Name, AppsFlyerAppID: &f.AppsFlyerAppID, URL: &f.URL, Enabled: &f.Enabled}
	if f.Cohort {
		p := touchpoint.Platform(platform)
		upd.Platform, upd.Identifier = &p, &identifier
		if f.APIToken != "" {
			upd.APIToken = &f.APIToken
		}
	} else {
		filter := f.filter(r)
		upd.Filter, upd.AppsFlyerIDProperty = &filter, &f.AppsFlyerIDProperty
		if f.Key != "" {
			upd.Key = &f.Key
		}
	}
	saved, err := h.Service().UpdateDestination(r.Context(), d.ID, upd)
	if err != nil {
		v.Fail(err)
		return h.renderDestination(r, v, d, f)
	}
	return redirect(w, r, destinationsPath(v.Project, strconv.FormatInt(saved.ID, 10)), "Destination "+saved.Name+" saved.")
}

// POST /projects/{project}/destinations/{id}/delete
func (h *Handler) handleDestinationDelete(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := h.projectDestination(r, v)
	if err != nil {
		return err
	}
	if err := h.Service().DeleteDestination(r.Context(), d.ID); err != nil {
		v.Fail(err)
		return h.renderDestination(r, v, d, destFormOf(v.Project, d))
	}
	return redirect(w, r, destinationsPath(v.Project), "Destination "+d.Name+" deleted; its deliveries stay in the outbox's history.")
}
