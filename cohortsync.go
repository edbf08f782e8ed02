package touchpoint

import (
	"context"
	"time"
)

// DestinationAppsFlyerCohort sends cohorts to AppsFlyer Audiences
// (AppsFlyer's Audiences import API documentation): one destination per app.
const DestinationAppsFlyerCohort DestinationKind = "appsflyer-cohort"

// Identifier mappings of an appsflyer-cohort destination: which of a
// member's ids a device row carries, and in which field.
const (
	MapIDFA   = "idfa"    // the user's IDFA (iOS), sent as idfa
	MapGAID   = "gaid"    // the user's Google advertising id (Android), sent as gaid
	MapUserID = "user_id" // the user's user_id, sent as amplitude_id
	MapCUID   = "cuid"    // the user's user_id as AppsFlyer customer user id, sent as cuid
)

// MappingField is the device-row field a mapping fills.
func MappingField(mapping string) string {
	if mapping == MapUserID {
		return "amplitude_id"
	}
	return mapping
}

// Sync cadences (Amplitude's cohort sync documentation).
const (
	CadenceOnce   = "once"
	CadenceMinute = "minute"
	CadenceHourly = "hourly"
	CadenceDaily  = "daily"
)

// CadenceInterval is the time between two runs of a cadence; 0 for once.
func CadenceInterval(c string) time.Duration {
	switch c {
	case CadenceMinute:
		return time.Minute
	case CadenceHourly:
		return time.Hour
	case CadenceDaily:
		return 24 * time.Hour
	}
	return 0
}

// Sync batch sizes, in devices per request: at most what one import
// request may carry (MaxAudienceDevices).
const (
	DefaultSyncBatch = 10000
	MaxSyncBatch     = MaxAudienceDevices
)

// CohortSync sends a cohort to an appsflyer-cohort destination on a
// cadence. The first run creates the audience and sends every member with
// add; later runs send who entered (add) and who left (remove).
type CohortSync struct {
	ID          int64  `json:"id"`
	Cohort      int64  `json:"cohort_id"`
	Destination int64  `json:"destination_id"`
	Cadence     string `json:"cadence"`
	BatchSize   int    `json:"batch_size"`
	Enabled     bool   `json:"enabled"`
	// The audience the first run created.
	AudienceID   int64  `json:"audience_id,omitempty"`
	AudienceName string `json:"audience_name,omitempty"`
	ImportKey    string `json:"import_key,omitempty"`
	// NextRun is when the sync runs next; nil once a one-time sync ran.
	NextRun   *time.Time `json:"next_run,omitempty"`
	LastRun   *time.Time `json:"last_run,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Claim is the claim its holder got (ClaimCohortSyncs,
	// ClaimCohortSync): the time it lasts until, in Unix milliseconds,
	// which also tells one claim from the next. 0: not claimed.
	Claim int64 `json:"-"`
}

// Normalize fills defaults.
func (s *CohortSync) Normalize() {
	s.Cadence = cmpOr(s.Cadence, CadenceOnce)
	s.BatchSize = cmpOr(s.BatchSize, DefaultSyncBatch)
}

// Validate checks a sync before it is stored.
func (s *CohortSync) Validate() error {
	switch {
	case s.Cadence != CadenceOnce && CadenceInterval(s.Cadence) == 0:
		return Errorf(EINVALID, "cadence %q: want once, minute, hourly or daily", s.Cadence)
	case s.BatchSize < 1 || s.BatchSize > MaxSyncBatch:
		return Errorf(EINVALID, "batch_size %d is out of range: 1 to %d devices, the most one Audiences import request may carry", s.BatchSize, MaxSyncBatch)
	case s.Destination == 0:
		return Errorf(EINVALID, "destination_id is required: an appsflyer-cohort destination of the cohort's project")
	}
	return nil
}

// CohortSyncUpdate changes a sync; nil fields stay.
type CohortSyncUpdate struct {
	Cadence   *string `json:"cadence"`
	BatchSize *int    `json:"batch_size"`
	Enabled   *bool   `json:"enabled"`
}

// Apply returns s with the update applied.
func (u CohortSyncUpdate) Apply(s CohortSync) CohortSync {
	if u.Cadence != nil {
		s.Cadence = *u.Cadence
	}
	if u.BatchSize != nil {
		s.BatchSize = *u.BatchSize
	}
	if u.Enabled != nil {
		s.Enabled = *u.Enabled
	}
	return s
}

// SyncRun is the record of one run of a sync.
type SyncRun struct {
	// Claim is the claim of the sync the run ran under (CohortSync.Claim):
	// recording the run ends it, unless it lapsed and another holds the
	// sync now. 0: none.
	Claim      int64     `json:"-"`
	ID         int64     `json:"id"`
	Sync       int64     `json:"sync_id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Status is ok (everything sent), partial (some batches failed: they
	// are sent again by the next run) or failed (nothing sent).
	Status string `json:"status"`
	// Size is the cohort's size at this run.
	Size    int64 `json:"size"`
	Added   int64 `json:"added"`
	Removed int64 `json:"removed"`
	// Skipped members have no usable identifier: nothing is sent for them.
	Skipped int64 `json:"skipped"`
	// Failed devices were in batches that failed after their retries.
	Failed    int64          `json:"failed"`
	Error     string         `json:"error,omitempty"`
	Responses []SyncResponse `json:"responses"`
}

// Run statuses.
const (
	RunOK      = "ok"
	RunPartial = "partial"
	RunFailed  = "failed"
)

// SyncResponse is the last answer to one request of a run.
type SyncResponse struct {
	Action  string `json:"action"` // create, add, remove
	Devices int    `json:"devices,omitempty"`
	Status  int    `json:"status,omitempty"` // 0: no answer
	Body    string `json:"body,omitempty"`
	Tries   int    `json:"tries"`
	Error   string `json:"error,omitempty"`
}

// SyncDevice is one member's identifier as a sync sends it.
type SyncDevice struct {
	User int64  // amplitude id
	ID   string // the identifier's value
}

// SyncDiff is what a run sends: Add holds the members' identifiers the
// audience lacks, Remove those it holds for no member any more. Skipped
// counts the members with no identifier.
type SyncDiff struct {
	Add     []SyncDevice
	Remove  []SyncDevice
	Skipped int64
}

// CohortSyncStore keeps syncs, what each has sent, and their runs.
type CohortSyncStore interface {
	// CreateCohortSync stores a sync due at once. ENOTFOUND (the cohort),
	// EINVALID (the destination does not exist or is not an
	// appsflyer-cohort one of the cohort's project).
	CreateCohortSync(ctx context.Context, s *CohortSync) error
	// FindCohortSync returns a sync. ENOTFOUND.
	FindCohortSync(ctx context.Context, id int64) (*CohortSync, error)
	// ListCohortSyncs returns a cohort's syncs (every sync when cohort is
	// 0) by id.
	ListCohortSyncs(ctx context.Context, cohort int64) ([]*CohortSync, error)
	// UpdateCohortSync changes a sync. EINVALID, ENOTFOUND.
	UpdateCohortSync(ctx context.Context, id int64, upd CohortSyncUpdate) (*CohortSync, error)
	// DeleteCohortSync removes a sync and its runs. ENOTFOUND.
	DeleteCohortSync(ctx context.Context, id int64) error
	// ClaimCohortSyncs returns the enabled syncs whose next run is at or
	// before now that no claim holds, and claims them until until, at
	// once: two claims never both get a sync before the first expires.
	// RecordSyncRun and ReleaseCohortSync end a claim.
	ClaimCohortSyncs(ctx context.Context, now, until time.Time) ([]*CohortSync, error)
	// ClaimCohortSync claims one sync until until, due or not (a run
	// asked for now): ECONFLICT while another claim holds it, ENOTFOUND.
	ClaimCohortSync(ctx context.Context, id int64, now, until time.Time) (*CohortSync, error)
	// ExtendCohortSyncClaim moves the end of s's claim to until (a long
	// run keeps its claim); ECONFLICT when the claim is no longer s's
	// (it lapsed and another took the sync).
	ExtendCohortSyncClaim(ctx context.Context, s *CohortSync, until time.Time) error
	// ReleaseCohortSync ends s's claim without a run: it is due again as
	// it was. A claim no longer s's is left alone.
	ReleaseCohortSync(ctx context.Context, s *CohortSync) error
	// SetSyncAudience records the audience a sync's first run created.
	SetSyncAudience(ctx context.Context, id, audienceID int64, name, importKey string) error
	// CohortDevices returns a cohort's stored members, lowest first, each
	// with its identifier of a mapping (empty when it has none). EINVALID
	// (not a mapping).
	CohortDevices(ctx context.Context, cohort int64, mapping string) ([]SyncDevice, error)
	// SentDevices returns what a sync's audience holds, by user and
	// identifier.
	SentDevices(ctx context.Context, id int64) ([]SyncDevice, error)
	// MarkSynced records devices the audience now holds (added) and no
	// longer holds (removed).
	MarkSynced(ctx context.Context, id int64, added, removed []SyncDevice) error
	// RecordSyncRun stores a run, sets the sync's last and next run
	// (nil: none) and ends its claim (run.Claim).
	RecordSyncRun(ctx context.Context, run *SyncRun, next *time.Time) error
	// SyncRuns returns a sync's latest runs, newest first.
	SyncRuns(ctx context.Context, id int64, limit int) ([]*SyncRun, error)
}
