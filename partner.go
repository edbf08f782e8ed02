package touchpoint

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SigningMode is a partner's click-signing mode (AppsFlyer's click-signing documentation).
type SigningMode string

// Signing modes: disabled does not check; report-only checks and records the
// verdict but never blocks; enabled rejects every click whose verdict is not
// valid, so it can never be attributed.
const (
	SigningDisabled   SigningMode = "disabled"
	SigningReportOnly SigningMode = "report-only"
	SigningEnabled    SigningMode = "enabled"
)

// Valid reports whether m is one of the three modes.
func (m SigningMode) Valid() bool {
	return m == SigningDisabled || m == SigningReportOnly || m == SigningEnabled
}

// Signing-secret limits. AppsFlyer's click-signing API takes a TTL of 1 to
// 1440 hours, 36 by default, and refuses new secrets with 429 when too many
// are active; it does not say how many, so we allow MaxActiveSecrets.
const (
	DefaultSecretTTL = 36 * time.Hour
	MaxSecretTTL     = 1440 * time.Hour
	MaxActiveSecrets = 5
	MaxPIDLength     = 150
)

// Partner is a media source (pid) enabled for an app.
type Partner struct {
	AppID               string      `json:"app_id"`
	PID                 string      `json:"pid"`
	ClickSigning        SigningMode `json:"click_signing"`
	ClickLookback       Window      `json:"click_lookback"`
	ViewThroughLookback Window      `json:"view_through_lookback"`
	ProbabilisticWindow Window      `json:"probabilistic_window"`
	// AllowIPUA lets the partner send af_ip, af_ua and af_lang on server-to-
	// server clicks; from other partners those parameters are ignored.
	AllowIPUA bool `json:"allow_ip_ua"`
	// Restricted marks a self-reporting network (SRN): no postbacks, and its
	// installs are shared with analytics as organic.
	Restricted bool `json:"restricted"`
	// DailyClickCap, when above zero, is the most clicks of this partner
	// that can be attributed per UTC day; later clicks are recorded but
	// flagged over the cap (click_flood) and never win.
	DailyClickCap int64 `json:"daily_click_cap"`
	Postbacks
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Postbacks are a partner's postback settings (AppsFlyer's postback documentation).
type Postbacks struct {
	// SendAllInstalls sends the install postback also for installs not
	// attributed to the partner, organic ones included.
	SendAllInstalls bool `json:"send_all_installs"`
	// InAppWindow is how long after the install in-app postbacks go,
	// judged by the setting when the event happens; 0 is lifetime.
	// AppsFlyer gives no default for new integrations (UNCONFIRMED): ours
	// is lifetime, as for integrations from before 30 July 2019.
	InAppWindow PostbackWindow `json:"in_app_postback_window"`
	// Retries are the tries after the first when the partner answers 5xx
	// or not at all, RetryMinutes apart. Defaults: 4 and 15 (AppsFlyer's).
	Retries      int `json:"postback_retries"`
	RetryMinutes int `json:"postback_retry_minutes"`
	// Templates are the partner's postbacks by kind.
	Templates []PostbackTemplate `json:"postbacks"`
}

// Postback retry limits (ours).
const (
	DefaultPostbackRetries      = 4
	DefaultPostbackRetryMinutes = 15
	MaxPostbackRetries          = 10
	MaxPostbackRetryMinutes     = 24 * 60
	MaxPostbackTemplates        = 100
)

// PostbackTemplate is one postback of a partner: for a kind and, for the
// in-app kinds, one event name or (empty) every event.
type PostbackTemplate struct {
	Kind        DeliveryKind `json:"kind"`
	EventName   string       `json:"event_name,omitempty"`
	SendRevenue bool         `json:"send_revenue,omitempty"`
	Method      string       `json:"method"` // GET or POST
	URL         string       `json:"url"`
	Body        string       `json:"body,omitempty"`
	ContentType string       `json:"content_type,omitempty"`
}

// PostbackWindow is a Window where 0 means lifetime, written "lifetime".
type PostbackWindow Window

// MarshalJSON writes "lifetime" or the window ("15d").
func (w PostbackWindow) MarshalJSON() ([]byte, error) {
	if w == 0 {
		return []byte(`"lifetime"`), nil
	}
	return Window(w).MarshalJSON()
}

// UnmarshalJSON reads "lifetime" or a window.
func (w *PostbackWindow) UnmarshalJSON(b []byte) error {
	if string(b) == `"lifetime"` {
		*w = 0
		return nil
	}
	return (*Window)(w).UnmarshalJSON(b)
}

// Covers reports whether an event at t, of an install at installed, is
// inside the window.
func (w PostbackWindow) Covers(installed, t time.Time) bool {
	return w == 0 || t.Sub(installed) <= time.Duration(w)
}

// ApplyDefaults fills unset retry settings.
func (pb *Postbacks) ApplyDefaults() {
	if pb.RetryMinutes == 0 {
		pb.RetryMinutes = DefaultPostbackRetryMinutes
	}
	if pb.Templates == nil {
		pb.Templates = []PostbackTemplate{}
	}
}

// Validate checks the settings' numbers and the templates' kinds and
// event names (the templates themselves are checked by package postback).
func (pb *Postbacks) Validate() error {
	if pb.Retries < 0 || pb.Retries > MaxPostbackRetries {
		return Errorf(EINVALID, "postback_retries %d: want 0 to %d", pb.Retries, MaxPostbackRetries)
	}
	if pb.RetryMinutes < 1 || pb.RetryMinutes > MaxPostbackRetryMinutes {
		return Errorf(EINVALID, "postback_retry_minutes %d: want 1 to %d", pb.RetryMinutes, MaxPostbackRetryMinutes)
	}
	if pb.InAppWindow < 0 {
		return Errorf(EINVALID, "in_app_postback_window: want a window such as 15d, or lifetime")
	}
	if len(pb.Templates) > MaxPostbackTemplates {
		return Errorf(EINVALID, "%d postbacks: at most %d", len(pb.Templates), MaxPostbackTemplates)
	}
	type key struct {
		kind  DeliveryKind
		event string
	}
	seen := map[key]bool{}
	for i, t := range pb.Templates {
		switch t.Kind {
		case KindInstallPostback, KindRejectedInstallPostback:
			if t.EventName != "" || t.SendRevenue {
				return Errorf(EINVALID, "postbacks[%d]: an %s has no event_name or send_revenue", i, t.Kind)
			}
		case KindEventPostback, KindRejectedEventPostback:
			if len(t.EventName) > MaxEventNameLength {
				return Errorf(EINVALID, "postbacks[%d]: event_name is longer than %d characters", i, MaxEventNameLength)
			}
		default:
			return Errorf(EINVALID, "postbacks[%d]: kind %q: want one of %v", i, t.Kind, DeliveryKinds)
		}
		k := key{t.Kind, t.EventName}
		if seen[k] {
			return Errorf(EINVALID, "postbacks[%d]: a second %s for event %q", i, t.Kind, t.EventName)
		}
		seen[k] = true
	}
	return nil
}

// Template returns the partner's template of a kind for an event name:
// the event's own, else the one for every event. ok is false when there is
// none.
func (pb *Postbacks) Template(kind DeliveryKind, event string) (t PostbackTemplate, ok bool) {
	var all *PostbackTemplate
	for i := range pb.Templates {
		c := &pb.Templates[i]
		if c.Kind != kind {
			continue
		}
		if c.EventName == event {
			return *c, true
		}
		if c.EventName == "" {
			all = c
		}
	}
	if all != nil {
		return *all, true
	}
	return PostbackTemplate{}, false
}

// ValidatePID checks a media source name: present, at most 150 characters.
func ValidatePID(pid string) error {
	if pid == "" {
		return Errorf(EINVALID, "pid is required")
	}
	if utf8.RuneCountInString(pid) > MaxPIDLength {
		return Errorf(EINVALID, "pid is longer than %d characters", MaxPIDLength)
	}
	return nil
}

// Validate checks a partner before it is stored.
func (p *Partner) Validate() error {
	if err := ValidatePID(p.PID); err != nil {
		return err
	}
	// A configured partner's name goes into postbacks, reports and pages:
	// no media source's has markup, quotes or control characters (clicks
	// may carry any pid; they are only recorded).
	if i := strings.IndexFunc(p.PID, func(r rune) bool { return unicode.IsControl(r) || strings.ContainsRune(`<>"'&\`, r) }); i >= 0 {
		return Errorf(EINVALID, "pid %q: a media source's name has no %q (letters, digits, spaces and _ - . are its usual characters)", p.PID, p.PID[i:i+utf8.RuneLen([]rune(p.PID[i:])[0])])
	}
	if !p.ClickSigning.Valid() {
		return Errorf(EINVALID, "click_signing %q: want disabled, report-only or enabled", p.ClickSigning)
	}
	if err := p.ClickLookback.Within("click_lookback", MinClickLookback, MaxClickLookback); err != nil {
		return err
	}
	if err := p.ViewThroughLookback.Within("view_through_lookback", MinViewThroughLookback, MaxViewThroughLookback); err != nil {
		return err
	}
	if p.DailyClickCap < 0 {
		return Errorf(EINVALID, "daily_click_cap %d: want 0 (no cap) or more", p.DailyClickCap)
	}
	if err := p.Postbacks.Validate(); err != nil {
		return err
	}
	return p.ProbabilisticWindow.Within("probabilistic_window", MinProbabilisticWindow, MaxProbabilisticWindow)
}

// ApplyDefaults fills unset fields from the app's default windows.
func (p *Partner) ApplyDefaults(app *App) {
	if p.ClickSigning == "" {
		p.ClickSigning = SigningDisabled
	}
	if p.ClickLookback == 0 {
		p.ClickLookback = app.Windows.ClickLookback
	}
	if p.ViewThroughLookback == 0 {
		p.ViewThroughLookback = app.Windows.ViewThroughLookback
	}
	if p.ProbabilisticWindow == 0 {
		p.ProbabilisticWindow = app.Windows.ProbabilisticWindow
	}
	p.Postbacks.ApplyDefaults()
}

// PartnerCreate is what creates a partner: the body of POST
// /api/v1/apps/{app_id}/partners and the dashboard's form. Unset windows
// take the app's defaults; signing starts disabled; postback_retries
// defaults to 4 and postback_retry_minutes to 15 (AppsFlyer's).
type PartnerCreate struct {
	PID                 string             `json:"pid"`
	ClickSigning        SigningMode        `json:"click_signing"`
	ClickLookback       Window             `json:"click_lookback"`
	ViewThroughLookback Window             `json:"view_through_lookback"`
	ProbabilisticWindow Window             `json:"probabilistic_window"`
	AllowIPUA           bool               `json:"allow_ip_ua"`
	Restricted          bool               `json:"restricted"`
	DailyClickCap       int64              `json:"daily_click_cap"`
	SendAllInstalls     bool               `json:"send_all_installs"`
	InAppWindow         PostbackWindow     `json:"in_app_postback_window"`
	Retries             *int               `json:"postback_retries"`
	RetryMinutes        int                `json:"postback_retry_minutes"`
	Templates           []PostbackTemplate `json:"postbacks"`
}

// Partner returns the partner of app that c asks for, for the service's
// CreatePartner (which fills the windows left unset).
func (c PartnerCreate) Partner(app string) *Partner {
	p := &Partner{AppID: app, PID: c.PID, ClickSigning: c.ClickSigning, ClickLookback: c.ClickLookback,
		ViewThroughLookback: c.ViewThroughLookback, ProbabilisticWindow: c.ProbabilisticWindow, AllowIPUA: c.AllowIPUA,
		Restricted: c.Restricted, DailyClickCap: c.DailyClickCap, Postbacks: Postbacks{SendAllInstalls: c.SendAllInstalls,
			InAppWindow: c.InAppWindow, Retries: DefaultPostbackRetries, RetryMinutes: c.RetryMinutes, Templates: c.Templates}}
	if c.Retries != nil {
		p.Retries = *c.Retries
	}
	return p
}

// PartnerUpdate is a change to a partner; nil fields are left as they are.
type PartnerUpdate struct {
	ClickSigning        *SigningMode `json:"click_signing"`
	ClickLookback       *Window      `json:"click_lookback"`
	ViewThroughLookback *Window      `json:"view_through_lookback"`
	ProbabilisticWindow *Window      `json:"probabilistic_window"`
	AllowIPUA           *bool        `json:"allow_ip_ua"`
	Restricted          *bool        `json:"restricted"`
	DailyClickCap       *int64       `json:"daily_click_cap"`

	SendAllInstalls *bool               `json:"send_all_installs"`
	InAppWindow     *PostbackWindow     `json:"in_app_postback_window"`
	Retries         *int                `json:"postback_retries"`
	RetryMinutes    *int                `json:"postback_retry_minutes"`
	Templates       *[]PostbackTemplate `json:"postbacks"`
}

// Apply returns a copy of p with the update applied.
func (u PartnerUpdate) Apply(p Partner) Partner {
	if u.ClickSigning != nil {
		p.ClickSigning = *u.ClickSigning
	}
	if u.ClickLookback != nil {
		p.ClickLookback = *u.ClickLookback
	}
	if u.ViewThroughLookback != nil {
		p.ViewThroughLookback = *u.ViewThroughLookback
	}
	if u.ProbabilisticWindow != nil {
		p.ProbabilisticWindow = *u.ProbabilisticWindow
	}
	if u.AllowIPUA != nil {
		p.AllowIPUA = *u.AllowIPUA
	}
	if u.Restricted != nil {
		p.Restricted = *u.Restricted
	}
	if u.DailyClickCap != nil {
		p.DailyClickCap = *u.DailyClickCap
	}
	if u.SendAllInstalls != nil {
		p.SendAllInstalls = *u.SendAllInstalls
	}
	if u.InAppWindow != nil {
		p.InAppWindow = *u.InAppWindow
	}
	if u.Retries != nil {
		p.Retries = *u.Retries
	}
	if u.RetryMinutes != nil {
		p.RetryMinutes = *u.RetryMinutes
	}
	if u.Templates != nil {
		p.Templates = *u.Templates
		if p.Templates == nil {
			p.Templates = []PostbackTemplate{}
		}
	}
	return p
}

// SigningSecret is a click-signing key of a partner. Secret is the key
// itself: it is shown once, when the secret is created.
type SigningSecret struct {
	ID        string     `json:"id"`
	AppID     string     `json:"app_id"`
	PID       string     `json:"pid"`
	Secret    string     `json:"secret,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the secret can verify signatures at t.
func (s *SigningSecret) Active(t time.Time) bool {
	return s.RevokedAt == nil && t.Before(s.ExpiresAt)
}

// PartnerStore keeps the partners of apps and their signing secrets.
type PartnerStore interface {
	// CreatePartner validates and stores a partner of an existing app.
	// ENOTFOUND (app), ECONFLICT (pid exists), EINVALID; click signing can
	// not be created "enabled" since no secret exists yet (ECONFLICT).
	CreatePartner(ctx context.Context, p *Partner) error
	// FindPartner returns one partner, or ENOTFOUND.
	FindPartner(ctx context.Context, appID, pid string) (*Partner, error)
	// ListPartners returns the partners of an app ordered by pid. ENOTFOUND (app).
	ListPartners(ctx context.Context, appID string) ([]*Partner, error)
	// UpdatePartner applies upd and validates the result. Switching signing
	// to enabled needs an active secret (ECONFLICT). ENOTFOUND, EINVALID.
	UpdatePartner(ctx context.Context, appID, pid string, upd PartnerUpdate) (*Partner, error)
	// DeletePartner removes a partner and its secrets; its touches stay.
	// ENOTFOUND.
	DeletePartner(ctx context.Context, appID, pid string) error

	// CreateSecret makes a new random secret valid for ttl (1 to 1440
	// hours; EINVALID otherwise). ETOOMANY when MaxActiveSecrets are active.
	CreateSecret(ctx context.Context, appID, pid string, ttl time.Duration) (*SigningSecret, error)
	// ListSecrets returns every secret of a partner, newest first, with
	// their keys (callers decide what to show).
	ListSecrets(ctx context.Context, appID, pid string) ([]*SigningSecret, error)
	// RevokeSecret revokes a secret at once. ENOTFOUND.
	RevokeSecret(ctx context.Context, appID, pid, id string) error
}

// PrepareNew readies a new partner of app for a store at now: defaults
// from the app, validation, and its times. Click signing cannot start
// enabled, since no secret exists yet (ECONFLICT).
func (p *Partner) PrepareNew(app *App, now time.Time) error {
	p.ApplyDefaults(app)
	if err := p.Validate(); err != nil {
		return err
	}
	if p.ClickSigning == SigningEnabled {
		return Errorf(ECONFLICT, "click signing cannot be enabled before the partner has an active secret: create the partner, add a secret, then enable it")
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

// CheckUpdate checks a partner changed from old: valid, and enabling
// click signing needs one of its secrets active at now (the app's time).
// secrets is called only when signing is being enabled.
func (p *Partner) CheckUpdate(old *Partner, secrets func() ([]*SigningSecret, error), now time.Time) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.ClickSigning != SigningEnabled || old.ClickSigning == SigningEnabled {
		return nil
	}
	list, err := secrets()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(s *SigningSecret) bool { return s.Active(now) }) {
		return Errorf(ECONFLICT, "click signing cannot be enabled: partner %s has no active secret", p.PID)
	}
	return nil
}

// CheckSecretTTL refuses a secret's lifetime outside 1 to MaxSecretTTL
// whole hours (EINVALID).
func CheckSecretTTL(ttl time.Duration) error {
	if ttl < time.Hour || ttl > MaxSecretTTL || ttl%time.Hour != 0 {
		return Errorf(EINVALID, "ttl-hours must be a whole number from 1 to %d", int(MaxSecretTTL/time.Hour))
	}
	return nil
}

// ParseSecretTTL reads a secret's lifetime given in hours ("36"), as the
// click-signing API's ttl-hours takes it: DefaultSecretTTL when empty.
// The range is checked where the secret is made (CheckSecretTTL).
func ParseSecretTTL(hours string) (time.Duration, error) {
	if hours == "" {
		return DefaultSecretTTL, nil
	}
	h, err := strconv.Atoi(hours)
	if err != nil {
		return 0, Errorf(EINVALID, "ttl-hours %q is not a whole number of hours", hours)
	}
	// Hours out of range stay out of range as a duration, which a large
	// number would overflow into it: CheckSecretTTL refuses them.
	h = min(max(h, 0), int(MaxSecretTTL/time.Hour)+1)
	return time.Duration(h) * time.Hour, nil
}

// NewSigningSecret makes a partner's next secret at now (the app's
// time), valid for ttl, given the secrets it has: ETOOMANY when
// MaxActiveSecrets of them are active.
func NewSigningSecret(appID, pid string, ttl time.Duration, now time.Time, have []*SigningSecret) (*SigningSecret, error) {
	if err := CheckSecretTTL(ttl); err != nil {
		return nil, err
	}
	active := 0
	for _, s := range have {
		if s.Active(now) {
			active++
		}
	}
	if active >= MaxActiveSecrets {
		return nil, Errorf(ETOOMANY, "partner %s has %d active secrets, the most allowed: revoke one first", pid, active)
	}
	return &SigningSecret{ID: RandomString(16), AppID: appID, PID: pid, Secret: RandomString(43), CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}
