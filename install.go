package touchpoint

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Launch is one launch of an app on a device, as the SDK reports it
// (POST /sdk/v1/apps/{app_id}/launches). A first launch has no DeviceID: the
// server gives one. Later launches carry it.
type Launch struct {
	App      string `json:"app_id"`
	DeviceID string `json:"device_id,omitempty"`
	// LaunchID is the SDK's key for this launch, the same on every retry of
	// it. Without one, a retry is recognised by its launch time and device
	// ids (see Launch.IdempotencyKey).
	LaunchID string    `json:"launch_id,omitempty"`
	Time     time.Time `json:"launch_time"`
	// IDs are the device ids as the SDK read them, by type (raw; an all-zero
	// advertising id, which a device with ad tracking limited reports, is
	// dropped by the SDK API).
	IDs DeviceIDs `json:"device_ids"`
	// Referrer is the Google Play install referrer string, with the click
	// and install-begin times Play reports with it.
	Referrer         string    `json:"referrer,omitempty"`
	ClickTime        time.Time `json:"click_ts,omitzero"`
	InstallBeginTime time.Time `json:"install_begin_ts,omitzero"`
	IP               string    `json:"ip,omitempty"`
	UA               string    `json:"user_agent,omitempty"`
	DeviceModel      string    `json:"device_model,omitempty"`
	OSVersion        string    `json:"os_version,omitempty"`
	Language         string    `json:"language,omitempty"`
	AppVersion       string    `json:"app_version,omitempty"`
	SDKVersion       string    `json:"sdk_version,omitempty"`
	CustomerUserID   string    `json:"customer_user_id,omitempty"`
	// ATT is the iOS App Tracking Transparency status: authorized, denied,
	// restricted or not_determined.
	ATT string `json:"att,omitempty"`
	// CountryCode (ISO 3166-1 alpha-2) and City are where IP was, by the
	// server's GeoIP database (serve --geoip-db), not what the SDK said:
	// empty without a database, or when it does not know IP.
	CountryCode string `json:"country_code,omitempty"`
	City        string `json:"city,omitempty"`
}

// ATT statuses.
var ATTStatuses = []string{"authorized", "denied", "restricted", "not_determined"}

// AdIDTypes are the advertising ids: a launch with one of them is matched
// deterministically and never probabilistically.
var AdIDTypes = []DeviceIDType{GAID, IDFA, OAID, AmazonAID}

// MatchIDTypes are the device ids that touches are matched on (AppsFlyer's attribution-model documentation:
// GAID, IDFA, OAID, IMEI, Android ID; and Amazon's advertising id). IDFV is
// not among them: it belongs to the app's vendor, ad networks never see it.
var MatchIDTypes = []DeviceIDType{GAID, IDFA, OAID, IMEI, AndroidID, AmazonAID}

// IdentityIDTypes are the device ids a device is recognised by when it is
// installed again (reinstall detection).
var IdentityIDTypes = []DeviceIDType{GAID, IDFA, IDFV, OAID, AndroidID, IMEI, AmazonAID}

// HasAdID reports whether the launch carries an advertising id.
func (l *Launch) HasAdID() bool {
	for _, t := range AdIDTypes {
		if l.IDs[t].Raw != "" {
			return true
		}
	}
	return false
}

// IdempotencyKey identifies a launch across retries: the SDK's launch_id
// when it sent one, else a hash of the launch time (to the millisecond),
// our device id and every device id, and, for a device without ids, what
// the launch says of the device (IP, user agent, model, OS version). Two
// launches of one device never share a launch time, so the derived key only
// repeats on a retry. SDKs should send launch_id.
func (l *Launch) IdempotencyKey() string {
	if l.LaunchID != "" {
		return "l:" + l.LaunchID
	}
	h := sha1.New()
	fmt.Fprintf(h, "%d|%s", l.Time.UnixMilli(), l.DeviceID)
	any := false
	for i, id := range l.IDs {
		if id.Raw != "" {
			fmt.Fprintf(h, "|%s=%s", DeviceIDParams[i], strings.ToLower(id.Raw))
			any = true
		}
	}
	if !any {
		fmt.Fprintf(h, "|%s|%s|%s|%s", l.IP, l.UA, l.DeviceModel, l.OSVersion)
	}
	return "h:" + hex.EncodeToString(h.Sum(nil))
}

// NewDeviceID returns a device id in the form of an AppsFlyer ID: the
// first launch time in Unix milliseconds, a dash and 19 random digits.
func NewDeviceID(t time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	n := binary.BigEndian.Uint64(b[:]) % 1e19
	s := strconv.FormatUint(n, 10)
	return strconv.FormatInt(t.UnixMilli(), 10) + "-" + strings.Repeat("0", 19-len(s)) + s
}

// InstallType says what a decided launch was.
type InstallType string

const (
	// TypeInstall is a new install: the first launch of the app on a device,
	// or one after the re-attribution window.
	TypeInstall InstallType = "install"
	// TypeReinstall is an install again inside the re-attribution window:
	// not a new install.
	TypeReinstall InstallType = "reinstall"
	// TypeReattribution is a reinstall inside the re-attribution window
	// driven by a retargeting touch, credited to it in retargeting data.
	TypeReattribution InstallType = "re-attribution"
	// TypeReengagement is a launch of an installed app after a retargeting
	// touch.
	TypeReengagement InstallType = "re-engagement"
)

// MatchType is how the winning touch was tied to the launch.
type MatchType string

const (
	MatchReferrer      MatchType = "referrer"      // postbacks: ref
	MatchIDMatching    MatchType = "id_matching"   // postbacks: uid
	MatchProbabilistic MatchType = "probabilistic" // postbacks: fp
)

// Postback returns the match type as AppsFlyer's postbacks write it.
func (m MatchType) Postback() string {
	switch m {
	case MatchReferrer:
		return "ref"
	case MatchIDMatching:
		return "uid"
	case MatchProbabilistic:
		return "fp"
	}
	return ""
}

// Organic is the media source of installs no touch earned.
const Organic = "organic"

// Attribution is who earned a launch: a touch, or nobody (organic).
type Attribution struct {
	MediaSource  string     `json:"media_source"` // pid, or "organic"
	CustomSource bool       `json:"custom_media_source,omitempty"`
	TouchID      int64      `json:"touch_id,string,omitempty"`
	TouchType    TouchKind  `json:"touch_type,omitempty"`
	TouchTime    time.Time  `json:"touch_time,omitzero"`
	MatchType    MatchType  `json:"match_type,omitempty"`
	Retargeting  bool       `json:"is_retargeting,omitempty"`
	Params       LinkParams `json:"params"`
}

// IsOrganic reports whether no touch earned it.
func (a *Attribution) IsOrganic() bool { return a.TouchID == 0 }

// OrganicAttribution is the attribution of an organic launch.
func OrganicAttribution() Attribution { return Attribution{MediaSource: Organic} }

// AttributionOf returns the attribution a touch earns with a match type.
func AttributionOf(t *Touch, m MatchType) Attribution {
	return Attribution{
		MediaSource:  t.PID,
		CustomSource: t.CustomSource,
		TouchID:      t.ID,
		TouchType:    t.Kind,
		TouchTime:    t.Time,
		MatchType:    m,
		Retargeting:  t.Params.Retargeting,
		Params:       t.Params,
	}
}

// Contributor is a touch of another media source that took part without
// winning (AppsFlyer's multi-touch contributors, at most 3).
type Contributor struct {
	MediaSource string    `json:"media_source"`
	Campaign    string    `json:"campaign,omitempty"`
	Prt         string    `json:"af_prt,omitempty"`
	TouchID     int64     `json:"touch_id,string"`
	TouchType   TouchKind `json:"touch_type"`
	TouchTime   time.Time `json:"touch_time"`
	MatchType   MatchType `json:"match_type"`
}

// MaxContributors bounds the contributors of a launch.
const MaxContributors = 3

// Outcome of a candidate touch in a decision.
type Outcome string

const (
	OutcomeWon      Outcome = "won"
	OutcomeLost     Outcome = "lost"
	OutcomeRejected Outcome = "rejected" // would have won, but failed a fraud check
)

// Reason codes: why a candidate touch did not win.
const (
	ReasonWon                  = "won"
	ReasonNotMatched           = "not_matched"
	ReasonAfterLaunch          = "after_launch"
	ReasonSignatureRejected    = "signature_rejected"
	ReasonOutsideWindow        = "outside_window"
	ReasonProbabilisticNotUsed = "probabilistic_not_used"
	ReasonImpressionNotByID    = "impression_not_by_device_id"
	ReasonOverCap              = "over_cap"
	ReasonCTIT                 = "ctit_anomalies"
	ReasonSourceRejected       = "source_rejected"
	ReasonReferrerWon          = "referrer_won"
	ReasonDeterministicWon     = "deterministic_won"
	ReasonLaterTouchWon        = "later_touch_won"
	ReasonClickWon             = "impression_behind_click"
	ReasonNotRetargeting       = "not_retargeting"
	ReasonBeforeLastLaunch     = "before_last_launch"
)

// Candidate is a touch considered for a launch, with what became of it and
// why, in words a marketer understands.
type Candidate struct {
	TouchID     int64     `json:"touch_id,string"`
	MediaSource string    `json:"media_source"`
	Campaign    string    `json:"campaign,omitempty"`
	TouchType   TouchKind `json:"touch_type"`
	TouchTime   time.Time `json:"touch_time"`
	MatchType   MatchType `json:"match_type,omitempty"`
	Outcome     Outcome   `json:"outcome"`
	Reason      string    `json:"reason"`
	Explanation string    `json:"explanation"`
}

// Reject reasons (Protect360's).
const (
	RejectCTIT       = "ctit_anomalies"
	RejectClickFlood = "click_flood"
)

// Rejection is a touch that would have won a launch but failed a fraud
// check. The launch is not credited to its media source.
type Rejection struct {
	Reason      string     `json:"reject_reason"`
	Value       string     `json:"reject_reason_value,omitempty"`
	MediaSource string     `json:"media_source"`
	TouchID     int64      `json:"touch_id,string"`
	TouchType   TouchKind  `json:"touch_type"`
	TouchTime   time.Time  `json:"touch_time"`
	Params      LinkParams `json:"params"`
}

// Install is a decided launch: a new install, a reinstall, a
// re-attribution or a re-engagement, with the touch that earned it (or
// organic), its contributors, every candidate considered and the fraud
// rejections.
type Install struct {
	ID           int64         `json:"id,string"`
	App          string        `json:"app_id"`
	DeviceID     string        `json:"device_id"`
	Type         InstallType   `json:"type"`
	Time         time.Time     `json:"launch_time"`
	Attribution  Attribution   `json:"attribution"`
	Contributors []Contributor `json:"contributors,omitempty"`
	Candidates   []Candidate   `json:"candidates"`
	Rejections   []Rejection   `json:"rejections,omitempty"`
	// ReengagementUntil ends the re-engagement window of a re-engagement
	// or re-attribution: conversions before it count for its source too.
	ReengagementUntil time.Time `json:"reengagement_until,omitzero"`
	// Launch is what the SDK reported.
	Launch    Launch    `json:"launch"`
	CreatedAt time.Time `json:"created_at"`
}

// Device is an app's record of one device: our device id, its ids, the
// install that opened its re-attribution window, and the attribution its
// conversions carry.
type Device struct {
	App            string    `json:"app_id"`
	ID             string    `json:"device_id"`
	IDs            DeviceIDs `json:"device_ids"`
	CustomerUserID string    `json:"customer_user_id,omitempty"`
	// InstallID and InstallTime are the last new install; the
	// re-attribution window runs from InstallTime.
	InstallID   int64     `json:"install_id,string"`
	InstallTime time.Time `json:"install_time"`
	// Attribution is what the device's conversions are credited to: the
	// install's, or organic after a reinstall.
	Attribution Attribution `json:"attribution"`
	// Reengagement is the last re-engagement (or re-attribution), and
	// ReengagementID its record; conversions before ReengagementUntil count
	// for it too.
	Reengagement      *Attribution `json:"reengagement,omitempty"`
	ReengagementID    int64        `json:"reengagement_id,string,omitempty"`
	ReengagedAt       time.Time    `json:"reengaged_at,omitzero"`
	ReengagementUntil time.Time    `json:"reengagement_until,omitzero"`
	// CountryCode is the country of the last new install's launch (see
	// Launch.CountryCode): the country its conversions are reported
	// under.
	CountryCode string    `json:"country_code,omitempty"`
	FirstLaunch time.Time `json:"first_launch"`
	LastLaunch  time.Time `json:"last_launch"`
	Launches    int64     `json:"launches"`
}

// Conversion is an in-app event of an installed device, carrying the
// attribution of its install and, inside a re-engagement window, of the
// re-engagement too.
type Conversion struct {
	ID       int64     `json:"id,string"`
	App      string    `json:"app_id"`
	DeviceID string    `json:"device_id"`
	EventID  string    `json:"event_id,omitempty"`
	Name     string    `json:"event_name"`
	Value    string    `json:"event_value,omitempty"` // JSON text
	Revenue  Amount    `json:"revenue"`
	Currency string    `json:"currency,omitempty"`
	Time     time.Time `json:"event_time"`
	Source   string    `json:"event_source"` // SDK or S2S
	// InstallID is the device's install at the event.
	InstallID    int64        `json:"install_id,string"`
	Attribution  Attribution  `json:"attribution"`
	Reengagement *Attribution `json:"reengagement,omitempty"`
	// SharingFilter is an S2S event's sharing_filter: the partners
	// (pids) it may not be posted to, or SharingAll for none at all.
	SharingFilter []string `json:"sharing_filter,omitempty"`
	// CountryCode is the device's install country (Device.CountryCode):
	// the report counts a conversion, as its install, under it.
	CountryCode string    `json:"country_code,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// SharingAll in a conversion's SharingFilter blocks every partner.
const SharingAll = "all"

// MaxEventNameLength bounds the names of the events an app's SDK reports
// (ours; AppsFlyer documents none). An S2S event's name is bounded by
// the API's 1 KB body alone.
const MaxEventNameLength = 100

// MaxEventValueLength bounds a conversion's JSON value (ours).
const MaxEventValueLength = 4000

// LaunchWrite is what one launch changes, written by InstallStore.WriteLaunches
// in a group with others. The store sets the result fields.
type LaunchWrite struct {
	// Key is the idempotency key of a first launch (empty for later ones).
	Key string
	// Seen is the device the decision was made on (nil: none was found);
	// Version its Launches count then. The write fails with Stale when the
	// device changed meanwhile.
	Seen    *Device
	Version int64
	// Device is the device's new state.
	Device *Device
	// Install is the decided launch, when the launch was one (nil for an
	// ordinary later launch).
	Install *Install
	// Deliveries are the postbacks the install owes, written with it; the
	// store sets their Source to install/<id>.
	Deliveries []*Delivery

	// Results: Duplicate is the install of an earlier try of this first
	// launch (the write did nothing); Stale means the decision must be made
	// again.
	Duplicate int64
	Stale     bool
}

// ReengagementAt returns the re-engagement a conversion at t counts for
// besides the install, or nil: the last one, while its window is open.
func (d *Device) ReengagementAt(t time.Time) *Attribution {
	if d.Reengagement == nil || t.Before(d.ReengagedAt) || !t.Before(d.ReengagementUntil) {
		return nil
	}
	a := *d.Reengagement
	return &a
}

// ConversionWrite is one conversion to store. The store sets Duplicate when
// the device has a conversion with the same event id already.
type ConversionWrite struct {
	Conversion *Conversion
	// Deliveries are the postbacks the conversion owes, written with it
	// (not for a duplicate); the store sets their Source.
	Deliveries []*Delivery
	Duplicate  int64
}

// InstallStore keeps devices, installs and conversions.
type InstallStore interface {
	// FindDeviceByIDs returns the app's device carrying any of the ids
	// (compared raw, case-insensitively), or nil.
	FindDeviceByIDs(ctx context.Context, app string, ids DeviceIDs) (*Device, error)
	// FindDevice returns a device by our device id, or ENOTFOUND.
	FindDevice(ctx context.Context, app, id string) (*Device, error)
	// FindDeviceByCustomerUserID returns the app's device whose customer
	// user id is cuid (the most recently launched if several are), or
	// ENOTFOUND.
	FindDeviceByCustomerUserID(ctx context.Context, app, cuid string) (*Device, error)
	// WriteLaunches writes launches in one transaction, checking each
	// against what was written meanwhile (see LaunchWrite).
	WriteLaunches(ctx context.Context, ws []*LaunchWrite) error
	// FindInstall returns an install by id, or ENOTFOUND.
	FindInstall(ctx context.Context, app string, id int64) (*Install, error)
	// ListInstalls returns a device's decided launches, newest first.
	ListInstalls(ctx context.Context, app, deviceID string) ([]*Install, error)
	// LatestInstall returns the app's newest new install (TypeInstall:
	// not a reinstall, re-attribution or re-engagement), or ENOTFOUND when
	// it has none yet. The dashboard previews postbacks on it.
	LatestInstall(ctx context.Context, app string) (*Install, error)
	// WriteConversions stores conversions in one transaction.
	WriteConversions(ctx context.Context, ws []*ConversionWrite) error
	// ListConversions returns a device's conversions, newest first.
	ListConversions(ctx context.Context, app, deviceID string) ([]*Conversion, error)
	// Report sums the app's aggregates (see Report).
	Report(ctx context.Context, f ReportFilter) ([]*ReportRow, error)
}
