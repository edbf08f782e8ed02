package touchpoint

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"math"
	"time"
)

// TouchKind tells a click from an impression.
type TouchKind uint8

// Touch kinds.
const (
	Click      TouchKind = 1
	Impression TouchKind = 2
)

// String returns "click" or "impression".
func (k TouchKind) String() string {
	switch k {
	case Click:
		return "click"
	case Impression:
		return "impression"
	}
	return "unknown"
}

// ParseTouchKind reads "click" or "impression".
func ParseTouchKind(s string) (TouchKind, error) {
	switch s {
	case "click":
		return Click, nil
	case "impression":
		return Impression, nil
	}
	return 0, Errorf(EINVALID, "kind %q: want click or impression", s)
}

// MarshalText implements encoding.TextMarshaler.
func (k TouchKind) MarshalText() ([]byte, error) {
	if k == 0 {
		return nil, nil
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *TouchKind) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*k = 0
		return nil
	}
	v, err := ParseTouchKind(string(b))
	*k = v
	return err
}

// Verdict is the outcome of checking a click signature (AppsFlyer's click-signing documentation). The names
// are AppsFlyer's report columns and test-endpoint failure codes.
type Verdict uint8

// Verdicts. VerdictUnchecked is recorded when the partner's signing mode is
// disabled, and for custom media sources (no partner, no secrets).
const (
	VerdictUnchecked Verdict = iota
	VerdictValid
	VerdictMissingSignature
	VerdictClickExpired
	VerdictInvalidSignature
	VerdictNoActiveSecrets
	numVerdicts
)

var verdictNames = [numVerdicts]string{"unchecked", "valid", "missing_signature", "click_expired", "invalid_signature", "no_active_secrets"}

// Verdicts lists every verdict in order.
func Verdicts() []Verdict {
	v := make([]Verdict, numVerdicts)
	for i := range v {
		v[i] = Verdict(i)
	}
	return v
}

// String returns the verdict's wire name.
func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if n == string(b) {
			*v = Verdict(i)
			return nil
		}
	}
	return Errorf(EINVALID, "unknown verdict %q", b)
}

// Touch is one click or impression recorded from an attribution link.
type Touch struct {
	// ID is ours, assigned when the touch is stored. It is time-ordered:
	// see TouchIDTime. It goes to Google Play in the referrer as af_tranid.
	ID   int64     `json:"id,string"`
	App  string    `json:"app_id"`
	Kind TouchKind `json:"kind"`
	Time time.Time `json:"time"`
	PID  string    `json:"pid"`
	// CustomSource is set when the pid is not a configured partner of the
	// app: it is recorded as a custom (owned) media source with the app's
	// default windows.
	CustomSource bool       `json:"custom_media_source"`
	Params       LinkParams `json:"params"`
	// Extra holds the parameters we do not know, as they came, in order.
	Extra    []Param   `json:"extra,omitempty"`
	Device   DeviceIDs `json:"device_ids"`
	IP       string    `json:"ip,omitempty"`
	UA       string    `json:"user_agent,omitempty"`
	Language string    `json:"language,omitempty"`
	// CountryCode (ISO 3166-1 alpha-2, as AppsFlyer's raw data has it) and
	// City are where IP was, by the server's GeoIP database (serve
	// --geoip-db); empty without one, or when it does not know IP.
	CountryCode string  `json:"country_code,omitempty"`
	City        string  `json:"city,omitempty"`
	Verdict     Verdict `json:"signature_verdict"`
	// Rejected touches (signing enabled and a verdict other than valid) are
	// kept for reports but are never attributable.
	Rejected bool `json:"rejected"`
	// OverCap touches came after their partner's daily click cap was
	// reached (AppsFlyer's click_flood): recorded, never attributable.
	OverCap bool `json:"over_cap,omitempty"`
	// Notes say which values were dropped and why.
	Notes []string `json:"notes,omitempty"`
}

// Param is a name and value from a query string.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Note records that a value was dropped, and why.
func (t *Touch) Note(msg string) { t.Notes = append(t.Notes, msg) }

// Touch ids carry the time they were given in their upper bits: id =
// unix milliseconds << TouchIDSeqBits | a sequence number. Ids are strictly
// increasing per store; a time range is an id range.
const TouchIDSeqBits = 20

// TouchIDTime returns the time encoded in a touch id.
func TouchIDTime(id int64) time.Time {
	return time.UnixMilli(id >> TouchIDSeqBits).UTC()
}

// FirstTouchID returns the smallest id that can be given at or after t:
// 0 for a time before 1970 (the zero time too), the largest id for one
// past what ids can hold (the year 2248). Shifting such a time's
// milliseconds would overflow into an id of another time.
func FirstTouchID(t time.Time) int64 {
	ms := t.UnixMilli()
	switch {
	case ms <= 0:
		return 0
	case ms >= math.MaxInt64>>TouchIDSeqBits:
		return math.MaxInt64 &^ (1<<TouchIDSeqBits - 1)
	}
	return ms << TouchIDSeqBits
}

// NextTouchID returns the id to give a touch at t when the last id given was
// last: t's first id, or last+1 if that is not larger.
func NextTouchID(last int64, t time.Time) int64 {
	id := FirstTouchID(t)
	if id <= last {
		id = last + 1
	}
	return id
}

// DeviceID is one device identifier in the forms a link may carry it.
type DeviceID struct {
	Raw  string `json:"raw,omitempty"`
	SHA1 string `json:"sha1,omitempty"`
	MD5  string `json:"md5,omitempty"`
}

// IsZero reports whether no form is set.
func (d DeviceID) IsZero() bool { return d.Raw == "" && d.SHA1 == "" && d.MD5 == "" }

// Forms returns the id with the hashed forms filled in from the raw one
// (lower-case hex of the raw value as received) where they were not sent.
func (d DeviceID) Forms() DeviceID {
	if d.Raw != "" {
		if d.SHA1 == "" {
			s := sha1.Sum([]byte(d.Raw))
			d.SHA1 = hex.EncodeToString(s[:])
		}
		if d.MD5 == "" {
			s := md5.Sum([]byte(d.Raw))
			d.MD5 = hex.EncodeToString(s[:])
		}
	}
	return d
}

// DeviceIDType names a kind of device id.
type DeviceIDType uint8

// Device id types, with their link parameter names.
const (
	GAID      DeviceIDType = iota // advertising_id
	IDFA                          // idfa
	IDFV                          // idfv
	AndroidID                     // android_id
	IMEI                          // imei
	OAID                          // oaid
	AmazonAID                     // amazon_aid
	NumDeviceIDTypes
)

// DeviceIDParams are the link parameter names of the device id types; the
// hashed forms are the same names prefixed with sha1_ and md5_.
var DeviceIDParams = [NumDeviceIDTypes]string{"advertising_id", "idfa", "idfv", "android_id", "imei", "oaid", "amazon_aid"}

// DeviceIDs holds every device id of a touch, indexed by DeviceIDType.
type DeviceIDs [NumDeviceIDTypes]DeviceID

// MarshalJSON writes the ids that are set, by parameter name, each with its
// derived hashed forms.
func (d DeviceIDs) MarshalJSON() ([]byte, error) {
	m := make(map[string]DeviceID)
	for i, id := range d {
		if !id.IsZero() {
			m[DeviceIDParams[i]] = id.Forms()
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (d *DeviceIDs) UnmarshalJSON(b []byte) error {
	var m map[string]DeviceID
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*d = DeviceIDs{}
	for i, name := range DeviceIDParams {
		d[i] = m[name]
	}
	return nil
}

// TouchFilter selects touches of one app. Zero fields do not filter.
type TouchFilter struct {
	App      string
	PID      string
	Kind     TouchKind
	From, To time.Time // From inclusive, To exclusive
	// DeviceID matches a device id of the touch: the raw value in any
	// letter case, its sha1 hex, or a hash in the form the network sent it
	// (touches are indexed by the sha1 of a raw id, so the md5 of an id
	// that was sent raw does not find it).
	DeviceID string
	ClickID  string
	// Before is the pagination cursor: only touches with a smaller id.
	Before int64
	Limit  int
}

// Matches reports whether a touch of f.App passes the filter's other
// fields (Limit aside): what stores check on the touches they read.
func (f TouchFilter) Matches(t *Touch) bool {
	switch {
	case f.Before != 0 && t.ID >= f.Before,
		!f.From.IsZero() && t.Time.Before(f.From),
		!f.To.IsZero() && !t.Time.Before(f.To),
		f.PID != "" && t.PID != f.PID,
		f.Kind != 0 && t.Kind != f.Kind,
		f.ClickID != "" && t.Params.ClickID != f.ClickID,
		f.DeviceID != "" && !t.HasDeviceID(f.DeviceID):
		return false
	}
	return true
}

// SigningCount is the number of clicks per signature verdict for one
// partner in one hour.
type SigningCount struct {
	Hour   time.Time          `json:"hour"`
	Counts [numVerdicts]int64 `json:"-"`
}

// Total is the number of checked clicks in the hour.
func (c *SigningCount) Total() int64 {
	var n int64
	for _, v := range c.Counts {
		n += v
	}
	return n
}

// TouchesSince keeps the touches at or after since, in place: what a
// lookup by keys answers once a store has read its candidates by id
// (ids carry their time to the millisecond, touches to the nanosecond).
func TouchesSince(ts []*Touch, since time.Time) []*Touch {
	out := ts[:0]
	for _, t := range ts {
		if !t.Time.Before(since) {
			out = append(out, t)
		}
	}
	return out
}

// TouchStore keeps touches.
type TouchStore interface {
	// RecordTouches stores touches durably, all or none, and gives each its
	// ID. When it returns nil every touch survives a crash and is visible to
	// FindTouch, ListTouches and TouchesByKeys. ENOTFOUND if an app is unknown.
	//
	// Visible to whom is the store's to say: the embedded SQLite store
	// commits touches to a journal file and serves them from its process's
	// memory until they are loaded into the database (about a second later),
	// and numbers them from a counter in that memory, which is why it is one
	// process per database (see Store). A store shared by several processes
	// must make touches visible to all of them on return.
	RecordTouches(ctx context.Context, ts []*Touch) error
	// FindTouch returns one touch of an app. ENOTFOUND.
	FindTouch(ctx context.Context, app string, id int64) (*Touch, error)
	// ListTouches returns up to f.Limit touches, newest first, and the cursor
	// for the next page (0 when there is none).
	ListTouches(ctx context.Context, f TouchFilter) ([]*Touch, int64, error)
	// CountTouches counts the touches that match f (Limit and Before are
	// ignored).
	CountTouches(ctx context.Context, f TouchFilter) (int64, error)
	// TouchesByKeys returns the touches of an app at or after since that
	// have any of the lookup keys (see Touch.Keys), oldest first.
	TouchesByKeys(ctx context.Context, app string, keys []LookupKey, since time.Time) ([]*Touch, error)
	// SigningReport returns per-hour verdict counts of a partner's clicks in
	// [from, to), oldest first. Hours with no checked click are left out.
	SigningReport(ctx context.Context, app, pid string, from, to time.Time) ([]SigningCount, error)
	// PurgeTouches deletes touches older than before and returns how many
	// went. Stores may keep some older touches (whole days are dropped).
	PurgeTouches(ctx context.Context, before time.Time) (int64, error)
}
