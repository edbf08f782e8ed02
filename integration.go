package touchpoint

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint/outbound"
)

// The integrations join the two planes, each end speaking its vendor's
// wire format, so either can be swapped for the real vendor by changing a
// URL and a key (docs/integrations.md):
//   - an app's AnalyticsForward sends its installs (and, in http-v2 mode,
//     its in-app events) to an analytics project, as AppsFlyer and Adjust
//     send theirs to Amplitude;
//   - a project's Destination streams its events to an attribution
//     plane's S2S in-app events API, as Amplitude streams to AppsFlyer.

// ForwardLibrary is the library the events of an analytics forward name
// (Amplitude's "library" field). An event stream never sends such events
// back to an attribution plane: they came from one.
const ForwardLibrary = "touchpoint-forward/1"

// ForwardMode is how an analytics forward sends (AppsFlyer's Amplitude integration documentation).
type ForwardMode string

const (
	// ForwardAttributionAPI sends installs only, to POST /attribution,
	// matched on advertising ids, held up to 72 h by the receiver.
	ForwardAttributionAPI ForwardMode = "attribution-api"
	// ForwardHTTPV2 sends installs and in-app events to POST /2/httpapi,
	// matched on user id, then device id.
	ForwardHTTPV2 ForwardMode = "http-v2"
)

// ForwardStyle is whose names a forward uses for its event and user
// properties.
type ForwardStyle string

const (
	// StyleAppsFlyer: "[AppsFlyer] Install", "[AppsFlyer] media source", …
	StyleAppsFlyer ForwardStyle = "appsflyer"
	// StyleAdjust: "[Adjust] Install", "[adjust] network", … (the property
	// names seen in public warehouse code; UNCONFIRMED by Adjust).
	StyleAdjust ForwardStyle = "adjust"
)

// AnalyticsForward is an app's forward of its attribution to an analytics
// project.
type AnalyticsForward struct {
	App string `json:"app_id"`
	// URL is the analytics server's base URL, such as
	// https://api2.amplitude.com; empty: this server.
	URL    string       `json:"url,omitempty"`
	APIKey string       `json:"api_key"`
	Mode   ForwardMode  `json:"mode"`
	Style  ForwardStyle `json:"style"`
	// Company is the name in brackets: "AppsFlyer" by default, "Adjust" in
	// the Adjust style.
	Company   string    `json:"company"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize fills defaults: mode attribution-api, style appsflyer, the
// style's company name.
func (f *AnalyticsForward) Normalize() {
	f.Mode = cmpOr(f.Mode, ForwardAttributionAPI)
	f.Style = cmpOr(f.Style, StyleAppsFlyer)
	if f.Company == "" {
		f.Company = "AppsFlyer"
		if f.Style == StyleAdjust {
			f.Company = "Adjust"
		}
	}
	f.URL = strings.TrimRight(f.URL, "/")
}

// Validate checks a forward before it is stored.
func (f *AnalyticsForward) Validate() error {
	switch {
	case f.Mode != ForwardAttributionAPI && f.Mode != ForwardHTTPV2:
		return Errorf(EINVALID, "mode %q: want attribution-api or http-v2", f.Mode)
	case f.Style != StyleAppsFlyer && f.Style != StyleAdjust:
		return Errorf(EINVALID, "style %q: want appsflyer or adjust", f.Style)
	case f.APIKey == "" || len(f.APIKey) > 200:
		return Errorf(EINVALID, "api_key is required: the API key of the analytics project to send to")
	case utf8.RuneCountInString(f.Company) > 50 || strings.ContainsAny(f.Company, "[]"):
		return Errorf(EINVALID, "company is up to 50 characters, without brackets")
	}
	return validateBaseURL("url", f.URL)
}

// ForwardPut is what sets an app's analytics forward: the body of PUT
// /api/v1/apps/{app_id}/analytics-forward and the dashboard's form.
// Enabled defaults to true.
type ForwardPut struct {
	URL     string       `json:"url"`
	APIKey  string       `json:"api_key"`
	Mode    ForwardMode  `json:"mode"`
	Style   ForwardStyle `json:"style"`
	Company string       `json:"company"`
	Enabled *bool        `json:"enabled"`
}

// Forward returns the forward of app that f asks for, for the service's
// PutForward.
func (f ForwardPut) Forward(app string) *AnalyticsForward {
	return &AnalyticsForward{App: app, URL: f.URL, APIKey: f.APIKey, Mode: f.Mode, Style: f.Style, Company: f.Company,
		Enabled: f.Enabled == nil || *f.Enabled}
}

// IntegrationTarget resolves an integration's base URL: its own, or self
// (this server's) when it has none; and the host its deliveries go to.
func IntegrationTarget(base, self string) (string, string) {
	base = strings.TrimRight(cmpOr(base, self), "/")
	host := base
	if u, err := url.Parse(base); err == nil {
		host = u.Host
	}
	return base, host
}

// validateBaseURL checks an integration's base URL: empty (this server)
// or an http(s) URL with no user info or query, whose host is spelled
// unambiguously (package outbound). Which hosts it may name is the
// server's rule (outbound.CheckURL, with --allow-private-postback-hosts),
// checked by the admin API.
func validateBaseURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Errorf(EINVALID, "%s %q: want an http or https base URL such as https://api3.appsflyer.com, or nothing for this server", field, s)
	}
	if err := outbound.CheckHost(u.Host, true); err != nil {
		return Errorf(EINVALID, "%s %q: %v", field, s, err)
	}
	return nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// DestinationKind is what a destination sends.
type DestinationKind string

// DestinationAppsFlyerEvents streams events to AppsFlyer's S2S in-app
// events API (Amplitude's AppsFlyer event streaming and AppsFlyer's S2S documentation).
const DestinationAppsFlyerEvents DestinationKind = "appsflyer-events"

// Destination is a project's event stream to another system.
type Destination struct {
	ID      int64           `json:"id"`
	Project int64           `json:"project_id"`
	Kind    DestinationKind `json:"kind"`
	Name    string          `json:"name"` // the sync name
	// AppsFlyerAppID is the app the events are sent for (an iOS id starts
	// with "id").
	AppsFlyerAppID string `json:"appsflyer_app_id"`
	// Key is the dev key (S2S key), sent in the authentication header.
	Key string `json:"key"`
	// URL is the attribution server's base URL, such as
	// https://api3.appsflyer.com; empty: this server.
	URL    string      `json:"url,omitempty"`
	Filter EventFilter `json:"filter"`
	// AppsFlyerIDProperty names the user property that holds the user's
	// AppsFlyer id, sent as appsflyer_id (DefaultAppsFlyerIDProperty
	// unless set). An event whose user lacks it is not sent (see package
	// destination/appsflyer).
	AppsFlyerIDProperty string `json:"appsflyer_id_property,omitempty"`
	// An appsflyer-cohort destination's API token (V2.0, sent as a Bearer
	// token), the audience's platform and the identifier mapping (MapIDFA,
	// MapGAID, MapUserID or MapCUID). Its URL is the base of the Audiences
	// APIs, such as https://hq1.appsflyer.com.
	APIToken   string    `json:"api_token,omitempty"`
	Platform   Platform  `json:"platform,omitempty"`
	Identifier string    `json:"identifier,omitempty"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// EventFilter selects the events a destination sends: every event, or
// those of the listed types; and of those, the ones meeting Where.
type EventFilter struct {
	EventTypes []string           `json:"event_types,omitempty"`
	Where      *PropertyCondition `json:"where,omitempty"`
}

// PropertyCondition is a condition on one property of an event or of its
// user: the property's value, as text, is (or is not) one of Values. A
// missing property is no value: "is" fails and "is not" holds.
type PropertyCondition struct {
	// On is "event" (event_properties) or "user" (user_properties).
	On       string   `json:"on"`
	Property string   `json:"property"`
	Op       string   `json:"op"` // is, is not
	Values   []string `json:"values"`
}

// Condition sides and operators.
const (
	OnEvent = "event"
	OnUser  = "user"
	OpIs    = "is"
	OpIsNot = "is not"
)

// DefaultAppsFlyerIDProperty is the user property an appsflyer-events
// destination reads the AppsFlyer id from unless told another: the one an
// analytics forward in the appsflyer style sets to the device id (our
// AppsFlyer id) on the install's user.
const DefaultAppsFlyerIDProperty = "[AppsFlyer] appsflyer_id"

// Normalize fills defaults.
func (d *Destination) Normalize() {
	d.Kind = cmpOr(d.Kind, DestinationAppsFlyerEvents)
	d.URL = strings.TrimRight(d.URL, "/")
	if d.Kind == DestinationAppsFlyerEvents {
		d.AppsFlyerIDProperty = cmpOr(d.AppsFlyerIDProperty, DefaultAppsFlyerIDProperty)
	}
}

var (
	afIOSAppIDRE = regexp.MustCompile(`^id[0-9]+$`)
	digitsRE     = regexp.MustCompile(`^[0-9]+$`)
)

// AppsFlyerAppPlatform is the platform an AppsFlyer app id names: iOS for
// "id" and the numeric App Store id (id123456789), Android for anything
// else (a package name). The S2S events API takes different device ids
// on each.
func AppsFlyerAppPlatform(appID string) Platform {
	if afIOSAppIDRE.MatchString(appID) {
		return IOS
	}
	return Android
}

// validateAppsFlyerAppID checks a destination's AppsFlyer app id against
// its platform (p empty: the id says which). An iOS id must carry its "id"
// prefix: AppsFlyer answers 200 to S2S events sent without it and records
// nothing (AppsFlyer's S2S in-app events API documentation).
func validateAppsFlyerAppID(id string, p Platform) error {
	if digitsRE.MatchString(id) {
		return Errorf(EINVALID, "appsflyer_app_id %q: an iOS app's id in AppsFlyer starts with \"id\", as in id%s; without it AppsFlyer answers 200 and records nothing", id, id)
	}
	switch {
	case p == IOS || p == "" && AppsFlyerAppPlatform(id) == IOS:
		if err := ValidateAppID(IOS, id); err != nil {
			return Errorf(EINVALID, "appsflyer_app_id %q is not an iOS app's id in AppsFlyer: want \"id\" followed by the numeric App Store id, like id123456789", id)
		}
	case p == Android && AppsFlyerAppPlatform(id) == IOS:
		return Errorf(EINVALID, "appsflyer_app_id %q is an iOS app's id, but platform is android: want the app's package name, like com.example.game", id)
	}
	return nil
}

// Validate checks a destination before it is stored.
func (d *Destination) Validate() error {
	switch {
	case d.Kind != DestinationAppsFlyerEvents && d.Kind != DestinationAppsFlyerCohort:
		return Errorf(EINVALID, "kind %q: want appsflyer-events or appsflyer-cohort", d.Kind)
	case CheckName("name", d.Name) != nil:
		return CheckName("name", d.Name)
	case d.AppsFlyerAppID == "" || len(d.AppsFlyerAppID) > 200:
		return Errorf(EINVALID, "appsflyer_app_id is required: the app id in AppsFlyer (ids of iOS apps start with \"id\")")
	case d.Kind == DestinationAppsFlyerCohort:
		return d.validateCohort()
	case d.APIToken != "" || d.Platform != "" || d.Identifier != "":
		return Errorf(EINVALID, "api_token, platform and identifier belong to appsflyer-cohort destinations")
	case d.Key == "" || len(d.Key) > 200:
		return Errorf(EINVALID, "key is required: the app's dev key (S2S key)")
	case len(d.AppsFlyerIDProperty) > 1024:
		return Errorf(EINVALID, "appsflyer_id_property is longer than 1024 characters")
	case len(d.Filter.EventTypes) > 1000:
		return Errorf(EINVALID, "filter.event_types lists more than 1000 event types")
	}
	if slices.Contains(d.Filter.EventTypes, "") {
		return Errorf(EINVALID, "filter.event_types has an empty event type")
	}
	if err := validateAppsFlyerAppID(d.AppsFlyerAppID, ""); err != nil {
		return err
	}
	if c := d.Filter.Where; c != nil {
		switch {
		case c.On != OnEvent && c.On != OnUser:
			return Errorf(EINVALID, "filter.where.on %q: want event or user", c.On)
		case c.Property == "":
			return Errorf(EINVALID, "filter.where.property is required")
		case c.Op != OpIs && c.Op != OpIsNot:
			return Errorf(EINVALID, "filter.where.op %q: want \"is\" or \"is not\"", c.Op)
		case len(c.Values) == 0:
			return Errorf(EINVALID, "filter.where.values is required: the values to compare with")
		}
	}
	return validateBaseURL("url", d.URL)
}

// validateCohort checks the fields of an appsflyer-cohort destination.
func (d *Destination) validateCohort() error {
	switch {
	case d.APIToken == "" || len(d.APIToken) > 4096:
		return Errorf(EINVALID, "api_token is required: the AppsFlyer API token V2.0")
	case d.Platform != IOS && d.Platform != Android:
		return Errorf(EINVALID, "platform %q: want ios or android", d.Platform)
	case d.Key != "" || d.AppsFlyerIDProperty != "" || len(d.Filter.EventTypes) > 0 || d.Filter.Where != nil:
		return Errorf(EINVALID, "key, filter and appsflyer_id_property belong to appsflyer-events destinations")
	}
	if err := validateAppsFlyerAppID(d.AppsFlyerAppID, d.Platform); err != nil {
		return err
	}
	ok := []string{MapUserID, MapCUID, MapIDFA}
	if d.Platform == Android {
		ok[2] = MapGAID
	}
	if !slices.Contains(ok, d.Identifier) {
		return Errorf(EINVALID, "identifier %q: want %s, %s or %s on %s", d.Identifier, ok[2], ok[0], ok[1], d.Platform)
	}
	return validateBaseURL("url", d.URL)
}

// DestinationUpdate changes a destination; nil fields stay as they are.
type DestinationUpdate struct {
	Name                *string      `json:"name"`
	AppsFlyerAppID      *string      `json:"appsflyer_app_id"`
	Key                 *string      `json:"key"`
	URL                 *string      `json:"url"`
	Filter              *EventFilter `json:"filter"`
	AppsFlyerIDProperty *string      `json:"appsflyer_id_property"`
	APIToken            *string      `json:"api_token"`
	Platform            *Platform    `json:"platform"`
	Identifier          *string      `json:"identifier"`
	Enabled             *bool        `json:"enabled"`
}

// Apply returns d with the update applied.
func (u DestinationUpdate) Apply(d Destination) Destination {
	for _, f := range []struct{ to, from *string }{{&d.Name, u.Name}, {&d.AppsFlyerAppID, u.AppsFlyerAppID},
		{&d.Key, u.Key}, {&d.URL, u.URL}, {&d.AppsFlyerIDProperty, u.AppsFlyerIDProperty}, {&d.APIToken, u.APIToken},
		{&d.Identifier, u.Identifier}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if u.Platform != nil {
		d.Platform = *u.Platform
	}
	if u.Filter != nil {
		d.Filter = *u.Filter
	}
	if u.Enabled != nil {
		d.Enabled = *u.Enabled
	}
	return d
}

// StreamedEvent is a stored event as a destination sees it: the event as
// stored, with its user's properties as they stood after it and the
// properties of its groups.
type StreamedEvent struct {
	ID        int64
	Project   int64
	EventType string
	Time      int64 // ms
	UserID    string
	// Data is the stored form (IncomingEvent.Data).
	Data           []byte
	UserProperties map[string]any
	// GroupProperties are the properties of each of the event's groups,
	// merged (a key set by two groups keeps one of the values).
	GroupProperties map[string]any
}

// Streamer turns a project's stored events into deliveries: one
// destination, compiled. The store calls it in the transaction that
// stores the event, so a stored event and its deliveries are written
// together.
type Streamer interface {
	// Wants reports, cheaply, whether events of a type may be sent.
	Wants(eventType string) bool
	// Delivery returns the event's delivery, or nil when the filter
	// excludes it. It must not change e: its maps are the store's own.
	Delivery(e *StreamedEvent) *Delivery
}

// IntegrationStore keeps analytics forwards and destinations.
type IntegrationStore interface {
	// PutAnalyticsForward creates or replaces an app's forward.
	// ENOTFOUND when the app does not exist.
	PutAnalyticsForward(ctx context.Context, f *AnalyticsForward) error
	// FindAnalyticsForward returns an app's forward. ENOTFOUND.
	FindAnalyticsForward(ctx context.Context, app string) (*AnalyticsForward, error)
	// ListAnalyticsForwards returns every app's forward.
	ListAnalyticsForwards(ctx context.Context) ([]*AnalyticsForward, error)
	// DeleteAnalyticsForward removes an app's forward. ENOTFOUND.
	DeleteAnalyticsForward(ctx context.Context, app string) error
	// CreateDestination stores d and sets its ID. ENOTFOUND when the
	// project does not exist.
	CreateDestination(ctx context.Context, d *Destination) error
	// FindDestination returns a destination. ENOTFOUND.
	FindDestination(ctx context.Context, id int64) (*Destination, error)
	// ListDestinations returns a project's destinations (every project's
	// when project is 0) by id.
	ListDestinations(ctx context.Context, project int64) ([]*Destination, error)
	// UpdateDestination changes a destination. EINVALID, ENOTFOUND.
	UpdateDestination(ctx context.Context, id int64, upd DestinationUpdate) (*Destination, error)
	// DeleteDestination removes a destination; its deliveries stay.
	// ENOTFOUND.
	DeleteDestination(ctx context.Context, id int64) error
}
