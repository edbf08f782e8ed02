package touchpoint

import (
	"context"
	"time"
)

// Audience is a list of devices an app's marketers target or exclude,
// filled through AppsFlyer's Audiences import API (its documentation):
// the attribution plane's receiving end of a cohort sync.
type Audience struct {
	ID       int64    `json:"audience_id"`
	App      string   `json:"app_id"` // the app whose API token created it
	Name     string   `json:"audience_name"`
	Platform Platform `json:"platform"`
	// ImportKey names the audience in add, remove and overwrite calls.
	ImportKey string    `json:"import_key"`
	Size      int64     `json:"size"` // members: distinct identifiers
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"` // of the last import
}

// Audience name length, in characters (AppsFlyer's Audiences import API documentation).
const (
	MinAudienceName = 2
	MaxAudienceName = 100
)

// AudienceMember is one identifier an audience holds. A device row of an
// import holds one or more identifiers: each is a member.
type AudienceMember struct {
	Identifier string    `json:"identifier"` // idfa, idfv, gaid, oaid, imei, cuid, braze_id, amplitude_id
	Value      string    `json:"value"`
	AppID      string    `json:"app_id,omitempty"`
	AddedAt    time.Time `json:"added_at"`
}

// Audience import actions.
const (
	AudienceAdd       = "add"
	AudienceRemove    = "remove"
	AudienceOverwrite = "overwrite"
)

// CheckAudienceAction refuses an import action that is none of add,
// remove and overwrite: a store would otherwise take it for one of them.
func CheckAudienceAction(action string) error {
	if action != AudienceAdd && action != AudienceRemove && action != AudienceOverwrite {
		return Errorf(EINVALID, "audience import action %q is not add, remove or overwrite", action)
	}
	return nil
}

// AudienceIdentifiers are, per platform, the identifiers that make a
// device row usable (the import API's documentation): Android rows need one of gaid, oaid, imei,
// cuid, braze_id or amplitude_id; iOS rows one of idfv, cuid, braze_id or
// amplitude_id. We also take idfa on iOS (UNCONFIRMED): AppsFlyer's
// device schema has the field and Amplitude's AppsFlyer cohort destination
// offers IDFA as the iOS identifier, which would be useless otherwise.
var AudienceIdentifiers = map[Platform][]string{
	Android: {"gaid", "oaid", "imei", "cuid", "braze_id", "amplitude_id"},
	IOS:     {"idfv", "idfa", "cuid", "braze_id", "amplitude_id"},
}

// MaxAudienceDevices is how many devices one import request may carry.
// AppsFlyer's limit is not published; we take
// 10,000, the default batch of a cohort sync.
const MaxAudienceDevices = 10000

// AudienceStore keeps the attribution plane's audiences.
type AudienceStore interface {
	// CreateAudience stores a new audience, filling ID, ImportKey and the
	// times. ECONFLICT when the app has an audience of that name.
	CreateAudience(ctx context.Context, a *Audience) error
	// FindAudience returns an audience. ENOTFOUND.
	FindAudience(ctx context.Context, id int64) (*Audience, error)
	// FindAudienceByImportKey returns the audience of an import key.
	// ENOTFOUND.
	FindAudienceByImportKey(ctx context.Context, key string) (*Audience, error)
	// ListAudiences returns an app's audiences by id.
	ListAudiences(ctx context.Context, app string) ([]*Audience, error)
	// ImportAudience adds, removes (by identifier and value) or replaces
	// (overwrite) members, in one transaction. ENOTFOUND.
	ImportAudience(ctx context.Context, id int64, action string, members []AudienceMember) error
	// AudienceMembers returns a page of an audience's members ordered by
	// identifier and value, after (identifier, value) of the cursor; an
	// identifier narrows the page to that kind. ENOTFOUND.
	AudienceMembers(ctx context.Context, id int64, identifier string, after AudienceMember, limit int) ([]AudienceMember, error)
	// FindAudienceMember returns one member of an audience. ENOTFOUND.
	FindAudienceMember(ctx context.Context, id int64, identifier, value string) (*AudienceMember, error)
}
