package touchpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// EventKind says what an incoming analytics event does.
type EventKind uint8

// Event kinds.
const (
	// TrackEvent events are stored on their user.
	TrackEvent EventKind = iota
	// IdentifyEvent changes a user's properties and stores nothing else:
	// the $identify event and POST /identify.
	IdentifyEvent
	// GroupIdentifyEvent changes a group's properties: $groupidentify and POST
	// /groupidentify.
	GroupIdentifyEvent
	// AttributionEvent is an MMP's attribution event (POST /attribution): it is
	// applied to the user with the same advertising id, now or when one
	// appears within AttributionHold.
	AttributionEvent
)

// AttributionHold is how long an attribution event waits for a user with
// its advertising id before it is dropped (Amplitude's Attribution API documentation).
const AttributionHold = 72 * time.Hour

// DedupWindow is how long an insert_id is remembered per device
// (Amplitude's HTTP V2 API documentation).
const DedupWindow = 7 * 24 * time.Hour

// AdIDs are the advertising ids an event carries at its top level, the ids
// attribution is matched on. Matching is case-sensitive, as Amplitude's.
type AdIDs struct {
	IDFA     string
	IDFV     string
	ADID     string // Google (or Amazon) advertising id
	AppSetID string // android_app_set_id
}

// AdIDKey is the hashed form of one advertising id, what the store keeps:
// the first 16 bytes of SHA-256 over "kind:value".
type AdIDKey [16]byte

// String is the key in hex, the form shown in amplitude_attribution_ids.
func (k AdIDKey) String() string { return hex.EncodeToString(k[:]) }

// Keys returns the hashed keys of the ids that are set.
func (a AdIDs) Keys() []AdIDKey {
	var keys []AdIDKey
	for _, id := range [...]struct{ kind, v string }{{"idfa", a.IDFA}, {"idfv", a.IDFV}, {"adid", a.ADID}, {"android_app_set_id", a.AppSetID}} {
		if id.v != "" {
			keys = append(keys, adIDKey(id.kind, id.v))
		}
	}
	return keys
}

func adIDKey(kind, v string) AdIDKey {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{':'})
	h.Write([]byte(v))
	var k AdIDKey
	copy(k[:], h.Sum(nil))
	return k
}

// IncomingEvent is one validated analytics event, as package analytics
// decoded it, ready for the store.
type IncomingEvent struct {
	Kind      EventKind
	UserID    string // "" when absent
	DeviceID  string // "" when absent (identify by user id only)
	EventType string
	Time      int64 // ms since the epoch
	InsertID  string
	AdIDs     AdIDs
	// Platform and Country are the event's own (top-level) fields; a user
	// has those of its latest event that had them.
	Platform, Country string
	// UserProperties are the user-property changes the event carries (see
	// ApplyUserProperties); nil when none.
	UserProperties map[string]any
	// Groups and GroupProperties are a group identify's groups and their
	// property changes.
	Groups          map[string]any
	GroupProperties map[string]any
	// Data is the event as stored: a JSON object of every field it came
	// with, normalised, without user_properties (the store adds the user's
	// properties as they stood).
	Data []byte
}

// EventUpload is one accepted request's events, recorded together and in
// order.
type EventUpload struct {
	Project  int64
	Received time.Time
	Events   []*IncomingEvent
	// Streams are the project's enabled destinations: each stored track
	// event they want gets its delivery, written with it.
	Streams []Streamer
	// Stored is set by the store: events stored, not counting duplicates
	// and identifies.
	Stored int
}

// User is an analytics user: one person, known by user id, device ids, or
// both, with a stable internal id (Amplitude's amplitude_id).
type User struct {
	AmplitudeID int64          `json:"amplitude_id"`
	UserID      string         `json:"user_id,omitempty"`
	DeviceIDs   []string       `json:"device_ids"`
	Properties  map[string]any `json:"user_properties"`
	// MergedInto is set on an anonymous user whose device later turned
	// out to belong to an identified user: its events are that user's.
	MergedInto int64 `json:"merged_into,omitempty"`
	// Attribution lists the attribution events applied to the user.
	Attribution []json.RawMessage `json:"attribution"`
	// FirstSeen and LastSeen are event times (the devices' clocks, as
	// Amplitude's "first seen"), never times of receipt: the earliest and
	// the latest event of the user and of the users merged into it. A user
	// known by an identify only was first seen at that identify's time.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Group is a group (Amplitude's accounts) with its properties.
type Group struct {
	Type       string         `json:"group_type"`
	Value      string         `json:"group_value"`
	Properties map[string]any `json:"group_properties"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// EventPage is a page of a user's events, oldest first; Next is the cursor
// of the next page (0: none).
type EventPage struct {
	Events []json.RawMessage `json:"events"`
	Next   int64             `json:"next_cursor,omitempty"`
}

// PendingAttributions summarises the attribution events waiting for a
// user.
type PendingAttributions struct {
	Count   int        `json:"count"`
	Oldest  *time.Time `json:"oldest,omitempty"`
	Dropped int64      `json:"dropped"`
}

// MaxSegmentDays bounds the range of a chart.
const MaxSegmentDays = 366

// EventStore keeps the analytics plane's events, users and groups.
//
// Writers over the same tables (processes sharing one database) see each
// other's commits: each RecordEvents or ExpireAttributions transaction
// starts from every commit before it, whoever made it, and ids are
// reserved in the transaction that uses them, so no two writers give the
// same id. What a store keeps in memory follows the commits only: a
// failed write leaves it as the tables are, and a commit of another
// writer makes the store reload it before its next write. Reads see the
// last commit.
type EventStore interface {
	// RecordEvents records uploads in one transaction, each event in
	// order: its user is resolved (or created), a repeated insert_id of
	// the same device within DedupWindow is skipped, user and group
	// properties change, and attribution is matched. Callers batch
	// concurrent uploads (package batch).
	RecordEvents(ctx context.Context, ups []*EventUpload) error
	// ExpireAttributions drops the attribution events of a project
	// (0: of every project) held past AttributionHold at now, counting
	// them in the project's dropped attributions, and returns how many
	// it dropped; with a project, it also forgets the project's insert ids
	// past DedupWindow at now. A background task calls it with each
	// project's time; RecordEvents drops a held event past the hold only
	// when an event with its advertising id comes.
	ExpireAttributions(ctx context.Context, project int64, now time.Time) (int64, error)
	// FindUser returns a user by amplitude id. ENOTFOUND.
	FindUser(ctx context.Context, project, amplitudeID int64) (*User, error)
	// LookupUser returns the user of a user id or, when that is empty, of
	// a device id. ENOTFOUND.
	LookupUser(ctx context.Context, project int64, userID, deviceID string) (*User, error)
	// UserEvents returns a user's events (with the users merged into it)
	// after the cursor, oldest first. ENOTFOUND.
	UserEvents(ctx context.Context, project, amplitudeID, cursor int64, limit int) (*EventPage, error)
	// FindGroup returns a group. ENOTFOUND.
	FindGroup(ctx context.Context, project int64, groupType, groupValue string) (*Group, error)
	// PendingAttributions summarises a project's held attribution events
	// at now (the project's time): those past the hold count as dropped.
	PendingAttributions(ctx context.Context, project int64, now time.Time) (*PendingAttributions, error)
	// Segment counts events per day. EINVALID.
}
