package analytics

import (
	"encoding/binary"
	"hash/fnv"
	"iter"

	"github.com/touchpointhq/touchpoint"
)

// State is what a plan reads: the analytics plane as the store holds it
// before the plan's writes. A store implements it over what it keeps in
// memory. The planner never changes what State returns: it keeps its own
// decisions apart (see Plan).
type State interface {
	// User returns a user by amplitude id, or nil.
	User(id int64) *User
	// UserByUserID, UserByDevice and UserByAdID return the user a user
	// id, a device id or an advertising id maps to, or nil. A device's
	// user may have been merged into another (User.Merged).
	UserByUserID(project int64, userID string) *User
	UserByDevice(project int64, deviceID string) *User
	UserByAdID(project int64, key touchpoint.AdIDKey) *User
	// UserProps returns the properties of a user at a version (never 0),
	// which the caller does not change.
	UserProps(user, version int64) (map[string]any, error)
	// GroupProps returns a group's properties, nil when the group is
	// unknown; the caller does not change them.
	GroupProps(project int64, groupType, groupValue string) (map[string]any, error)
	// InsertIDReceived returns when a project's insert id (DedupHash) was
	// first received (ms), if within DedupWindow of the project's time.
	InsertIDReceived(project int64, hash uint64) (int64, bool)
	// Held returns the attribution events held for an advertising id, in
	// the order they were held.
	Held(project int64, key touchpoint.AdIDKey) []*Held
	// AllHeld yields every held attribution event at least once (one with
	// several advertising ids may come once per id).
	AllHeld() iter.Seq[*Held]
	// EventType returns the id of a project's event type, if it has one.
	EventType(project int64, name string) (int64, bool)
}

// User is an analytics user as the rules see it.
type User struct {
	ID      int64 // amplitude_id
	Project int64
	UserID  string // "": anonymous
	// Merged is the user this one was merged into (its device turned out
	// to be an identified user's); 0: none.
	Merged int64
	// Version is the version of its properties; 0: none yet.
	Version int64
	// Props are the properties at Version when known; nil when not
	// loaded yet (State.UserProps has them). Never changed in place: a
	// change makes a new map.
	Props map[string]any
	// FirstSeen is the time of its earliest event (ms), or of the event
	// that made it.
	FirstSeen int64
	// AdIDs are the advertising ids of its last event that had some, and
	// Seen hashes the platform, country and advertising ids last written
	// to its row. Stores keep both in memory only (zero after a start:
	// written again once).
	AdIDs touchpoint.AdIDs
	Seen  uint64
}

// Held is an attribution event waiting for a user with one of its
// advertising ids (up to touchpoint.AttributionHold).
type Held struct {
	ID        int64
	Project   int64
	Keys      []touchpoint.AdIDKey
	Received  int64 // ms
	EventType string
	Time      int64
	Props     map[string]any // its user property changes; never nil
	Data      []byte
}

// IDs are the next free ids of what plans create, one sequence each. The
// store keeps them and gives them to each plan.
type IDs struct {
	Event, User, Version, Type, Held int64
}

// Set sets the next id a store's sequence of this name holds (events,
// users, user_props, event_types, pending_attributions), and reports
// whether the name is one of them.
func (ids *IDs) Set(name string, next int64) bool {
	switch name {
	case "events":
		ids.Event = next
	case "users":
		ids.User = next
	case "user_props":
		ids.Version = next
	case "event_types":
		ids.Type = next
	case "pending_attributions":
		ids.Held = next
	default:
		return false
	}
	return true
}

// Complete reports whether every sequence was read (no id is 0).
func (ids IDs) Complete() bool {
	return ids.Event != 0 && ids.User != 0 && ids.Version != 0 && ids.Type != 0 && ids.Held != 0
}

// DedupHash is the key an insert id is remembered by: FNV-1a over the
// project, device id and insert id; never 0 (which means none).
func DedupHash(project int64, device, insertID string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(project))
	h.Write(b[:])
	h.Write([]byte(device))
	h.Write([]byte{0})
	h.Write([]byte(insertID))
	return max(h.Sum64(), 1)
}
