package touchpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
	_ "time/tzdata" // LoadLocation: zones on a machine without a database
)

// Project is an analytics project, what an Amplitude project is: events,
// users and their properties, reached by its API key. It may link the
// attribution-plane apps (iOS and Android) of one product.
type Project struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// APIKey authenticates ingestion (in the request body, as
	// Amplitude's); SecretKey is for the export-style APIs (Basic auth
	// api_key:secret_key). Both are generated (NewKey) and set only in the
	// answer that made them: CreateProject's and RotateProjectKey's.
	// Stores keep their hashes and last four characters.
	APIKey         string        `json:"api_key,omitempty"`
	APIKeyHash     KeyHash       `json:"-"`
	APIKeyLast4    string        `json:"api_key_last4"`
	SecretKey      string        `json:"secret_key,omitempty"`
	SecretKeyHash  KeyHash       `json:"-"`
	SecretKeyLast4 string        `json:"secret_key_last4"`
	Apps           []string      `json:"apps"` // linked app ids
	Limits         IngestLimits  `json:"limits"`
	Stats          *ProjectStats `json:"stats,omitempty"`
	// TestMode projects have a clock of their own, TestClock, that stands
	// still until an admin sets or advances it, like test-mode apps:
	// events are received, insert ids remembered, attributions held and
	// expired, and cohort windows judged by it, so the 72-hour hold, the
	// 7 days of insert-id dedup and cohort windows can be rehearsed
	// through the public endpoints. Set at creation only.
	TestMode  bool       `json:"test_mode"`
	TestClock *time.Time `json:"test_clock,omitempty"`
	// TimeZone is the IANA name of the zone the project's charts count
	// days in, as an Amplitude project's setting: UTC by default.
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IngestLimits are a project's per-device and per-user event rates
// (events per second, averaged over RateWindow), past which uploads are
// refused with 429. Amplitude's: 30 on HTTP V2, 1,000 on Batch
// (Amplitude's HTTP V2 and Batch API documentation).
type IngestLimits struct {
	HTTPEPS  int `json:"http_eps"`
	BatchEPS int `json:"batch_eps"`
}

// Default ingestion limits, and the window rates are averaged over (the
// Batch API's 30 s; HTTP V2 says only "recent", UNCONFIRMED: we take the
// same).
const (
	DefaultHTTPEPS  = 30
	DefaultBatchEPS = 1000
	MaxEPS          = 1_000_000
	RateWindow      = 30 * time.Second
)

// ProjectStats are counts a project's owner watches.
type ProjectStats struct {
	// AttributionsDropped counts attribution events that waited the whole
	// hold (AttributionHold) without a matching user.
	AttributionsDropped int64 `json:"attributions_dropped"`
}

// Validate checks a project before it is stored.
func (p *Project) Validate() error {
	if err := CheckName("name", p.Name); err != nil {
		return err
	}
	if _, err := LoadLocation(p.TimeZone); err != nil {
		return err
	}
	if p.Limits.HTTPEPS < 1 || p.Limits.HTTPEPS > MaxEPS || p.Limits.BatchEPS < 1 || p.Limits.BatchEPS > MaxEPS {
		return Errorf(EINVALID, "limits.http_eps and limits.batch_eps must be between 1 and %d", MaxEPS)
	}
	seen := make(map[string]bool, len(p.Apps))
	for _, a := range p.Apps {
		if seen[a] {
			return Errorf(EINVALID, "app %s is listed twice", a)
		}
		seen[a] = true
	}
	return nil
}

// Prepare readies a new project for a store's CreateProject at now: its
// time zone (UTC unless named), checked (Validate), its test clock (now
// unless given, on the millisecond stores keep; EINVALID without test
// mode), fresh keys, its times, no apps rather than nil and zero stats.
func (p *Project) Prepare(now time.Time) error {
	if p.TimeZone == "" {
		p.TimeZone = DefaultTimeZone
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if p.TestMode {
		if p.TestClock == nil {
			p.TestClock = &now
		}
		t := p.TestClock.UTC().Truncate(time.Millisecond)
		if err := CheckTime("test_clock", t); err != nil {
			return err
		}
		p.TestClock = &t
	} else if p.TestClock != nil {
		return Errorf(EINVALID, "test_clock is only for projects with test_mode true")
	}
	for _, k := range []KeyKind{APIKey, SecretKey} {
		if err := p.NewKey(k); err != nil {
			return err
		}
	}
	p.CreatedAt, p.UpdatedAt = now, now
	p.Stats = &ProjectStats{}
	if p.Apps == nil {
		p.Apps = []string{}
	}
	return nil
}

// ProjectCreate is what creates a project: the body of POST
// /api/v1/projects and the dashboard's form. Unset limits take
// Amplitude's (30 events/s per device or user on HTTP V2, 1,000 on batch).
type ProjectCreate struct {
	Name   string             `json:"name"`
	Apps   []string           `json:"apps"`
	Limits IngestLimitsUpdate `json:"limits"`
	// TestMode gives the project a test clock, starting at TestClock
	// (default: now), like a test-mode app's.
	TestMode  bool       `json:"test_mode"`
	TestClock *time.Time `json:"test_clock"`
	// TimeZone: the IANA zone charts count days in (default UTC).
	TimeZone string `json:"time_zone"`
}

// Project returns the project c asks for, its unset limits at their
// defaults, for the store's CreateProject.
func (c ProjectCreate) Project() *Project {
	return &Project{Name: c.Name, Apps: c.Apps, TestMode: c.TestMode, TestClock: c.TestClock, TimeZone: c.TimeZone,
		Limits: c.Limits.Apply(IngestLimits{HTTPEPS: DefaultHTTPEPS, BatchEPS: DefaultBatchEPS})}
}

// ProjectUpdate changes a project; nil fields stay as they are.
type ProjectUpdate struct {
	Name     *string            `json:"name"`
	Apps     *[]string          `json:"apps"`
	Limits   IngestLimitsUpdate `json:"limits"`
	TimeZone *string            `json:"time_zone"`
}

// IngestLimitsUpdate changes limits; nil fields stay as they are.
type IngestLimitsUpdate struct {
	HTTPEPS  *int `json:"http_eps"`
	BatchEPS *int `json:"batch_eps"`
}

// Apply returns l with the update applied.
func (u IngestLimitsUpdate) Apply(l IngestLimits) IngestLimits {
	if u.HTTPEPS != nil {
		l.HTTPEPS = *u.HTTPEPS
	}
	if u.BatchEPS != nil {
		l.BatchEPS = *u.BatchEPS
	}
	return l
}

// Apply returns p with the update applied.
func (u ProjectUpdate) Apply(p Project) Project {
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Apps != nil {
		p.Apps = *u.Apps
	}
	if u.TimeZone != nil {
		p.TimeZone = *u.TimeZone
		if p.TimeZone == "" {
			p.TimeZone = DefaultTimeZone
		}
	}
	p.Limits = u.Limits.Apply(p.Limits)
	return p
}

// Now returns the project's time: its test clock in test mode, else
// real().
func (p *Project) Now(real func() time.Time) time.Time {
	if p.TestMode && p.TestClock != nil {
		return *p.TestClock
	}
	return real().UTC()
}

// NextTestClock checks a move of a project's test clock to t: it must be
// a test-mode project, and test clocks only move forward.
func (p *Project) NextTestClock(t time.Time) error {
	if !p.TestMode || p.TestClock == nil {
		return Errorf(EINVALID, "project %d is not in test mode: only projects created with test_mode have a clock to move", p.ID)
	}
	return checkTestClockMove(*p.TestClock, t)
}

// NewAPIKey returns a key in Amplitude's form: 32 lower-case hex digits
// (128 random bits).
func NewAPIKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// ProjectStore keeps analytics projects.
type ProjectStore interface {
	// CreateProject stores p with fresh keys (APIKey and SecretKey, shown
	// this once, with their hashes and last four characters) and sets its
	// ID. EINVALID, or ENOTFOUND when a linked app does not exist.
	CreateProject(ctx context.Context, p *Project) error
	// FindProject returns a project with its stats. Its keys are not in
	// it, only their hashes and last four characters. ENOTFOUND.
	FindProject(ctx context.Context, id int64) (*Project, error)
	// ProjectByAPIKey returns the project of an API key, from memory (the
	// ingestion path asks it on every request), found by the key's hash.
	// ENOTFOUND.
	ProjectByAPIKey(key string) (*Project, error)
	// RotateProjectKey replaces one key of a project (APIKey or SecretKey)
	// with a fresh one and returns the project with the new key in it, the
	// only time it is shown. The old key stops working at once. ENOTFOUND,
	// EINVALID.
	RotateProjectKey(ctx context.Context, id int64, kind KeyKind) (*Project, error)
	// ListProjects returns every project by id.
	ListProjects(ctx context.Context) ([]*Project, error)
	// UpdateProject changes a project. EINVALID, ENOTFOUND.
	UpdateProject(ctx context.Context, id int64, upd ProjectUpdate) (*Project, error)
	// SetProjectTestClock moves a test-mode project's clock to t (see
	// Project.NextTestClock). ENOTFOUND, EINVALID.
	SetProjectTestClock(ctx context.Context, id int64, t time.Time) (*Project, error)
}

// DefaultTimeZone is a project's or an app's time zone unless it names
// one.
const DefaultTimeZone = "UTC"

// Location returns the project's time zone (UTC when it names none).
func (p *Project) Location() *time.Location {
	return locationOr(p.TimeZone)
}

// locationOr is the zone named, or UTC when it names none (Validate
// refused any other name before it was stored).
func locationOr(name string) *time.Location {
	loc, err := LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// LoadLocation returns a time zone by IANA name ("" is UTC). EINVALID:
// a name the time zone database does not hold. The machine's database is
// read first; the binary carries a copy (time/tzdata) for a machine that
// has none.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, Errorf(EINVALID, "time_zone %q: give an IANA time zone name such as Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Errorf(EINVALID, "time_zone %q: not a time zone name (IANA, such as Europe/Berlin or UTC)", name)
	}
	return loc, nil
}
