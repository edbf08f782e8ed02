package touchpoint

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Cohort is a saved, behavioural definition of a set of a project's users
// (Amplitude's Behavioral Cohorts API). Every
// change of the definition is a new version; the store keeps them all.
type Cohort struct {
	ID          int64     `json:"id"`
	Project     int64     `json:"project_id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Definition  Condition `json:"definition"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Size and ComputedAt describe the membership last computed (none
	// yet: ComputedAt is nil).
	Size       int64      `json:"size"`
	ComputedAt *time.Time `json:"computed_at,omitempty"`
}

// CohortVersion is one stored version of a cohort's definition.
type CohortVersion struct {
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	Definition Condition `json:"definition"`
	CreatedAt  time.Time `json:"created_at"`
}

// Condition is a node of a cohort's definition: exactly one of its fields
// is set. And, Or and Not combine conditions; the others are conditions on
// one user.
type Condition struct {
	And          []Condition     `json:"and,omitempty"`
	Or           []Condition     `json:"or,omitempty"`
	Not          *Condition      `json:"not,omitempty"`
	Event        *EventCondition `json:"event,omitempty"`
	UserProperty *ValueCondition `json:"user_property,omitempty"`
	FirstSeen    *TimeRange      `json:"first_seen,omitempty"`
}

// EventCondition holds for a user who performed an event type a number of
// times (Op Count) within a time range, counting only the events that meet
// every Where condition.
type EventCondition struct {
	EventType string `json:"event_type"`
	Op        string `json:"op"` // at_least, at_most, exactly
	Count     int64  `json:"count"`
	TimeRange
	// Where tests event properties: a name is looked up in the event's
	// event_properties, then among its top-level fields (revenue, price,
	// productId, platform, country…).
	Where []ValueCondition `json:"where,omitempty"`
}

// Count operators of an EventCondition.
const (
	AtLeast = "at_least"
	AtMost  = "at_most"
	Exactly = "exactly"
)

// TimeRange is either the last WithinDays days (a rolling window ending
// at the time of computation) or the UTC days From to To, both included.
type TimeRange struct {
	WithinDays int    `json:"within_days,omitempty"`
	From       string `json:"from,omitempty"` // 2006-01-02
	To         string `json:"to,omitempty"`
}

// MaxWithinDays bounds a rolling window.
const MaxWithinDays = 3660

// Bounds returns the range as [start, end) in ms at now.
func (r TimeRange) Bounds(now time.Time) (start, end int64) {
	if r.WithinDays > 0 {
		return now.Add(-time.Duration(r.WithinDays) * 24 * time.Hour).UnixMilli(), now.UnixMilli() + 1
	}
	from, _ := time.Parse(time.DateOnly, r.From)
	to, _ := time.Parse(time.DateOnly, r.To)
	return from.UnixMilli(), to.AddDate(0, 0, 1).UnixMilli()
}

func (r TimeRange) validate(field string) error {
	switch {
	case r.WithinDays < 0 || r.WithinDays > MaxWithinDays:
		return Errorf(EINVALID, "%s.within_days %d is out of range: 1 to %d", field, r.WithinDays, MaxWithinDays)
	case r.WithinDays > 0 && (r.From != "" || r.To != ""):
		return Errorf(EINVALID, "%s: give within_days or from and to, not both", field)
	case r.WithinDays > 0:
		return nil
	case r.From == "" || r.To == "":
		return Errorf(EINVALID, "%s: give within_days, or from and to (2006-01-02, both included)", field)
	}
	from, err := time.Parse(time.DateOnly, r.From)
	if err != nil {
		return Errorf(EINVALID, "%s.from %q is not a date like 2006-01-02", field, r.From)
	}
	to, err := time.Parse(time.DateOnly, r.To)
	if err != nil {
		return Errorf(EINVALID, "%s.to %q is not a date like 2006-01-02", field, r.To)
	}
	if to.Before(from) {
		return Errorf(EINVALID, "%s.to %s is before from %s", field, r.To, r.From)
	}
	return nil
}

// ValueCondition compares one property's value. A missing property has
// no value: only != holds for it. =, != and in compare text (a number as
// JSON writes it), case-sensitively; contains looks for Value's text in
// the value's, ignoring case; > and < compare numbers (a property holding
// a numeric string counts as that number). On a list-valued property, =,
// in and contains hold when one item does, != when none is equal.
type ValueCondition struct {
	Property string `json:"property"`
	Op       string `json:"op"` // = != contains > < in
	Value    any    `json:"value,omitempty"`
	Values   []any  `json:"values,omitempty"` // for in
}

// Value operators.
const (
	OpEq       = "="
	OpNe       = "!="
	OpContains = "contains"
	OpGt       = ">"
	OpLt       = "<"
	OpIn       = "in"
)

// BuiltinUserProperties are user properties a user has without setting
// them: the platform and country of the user's latest event that had one.
var BuiltinUserProperties = []string{"platform", "country"}

// Limits of a definition.
const (
	MaxConditionDepth  = 8
	MaxConditionLeaves = 50
	MaxInValues        = 1000
)

// Normalize trims a cohort's name.
func (c *Cohort) Normalize() { c.Name = strings.TrimSpace(c.Name) }

// Validate checks a cohort before it is stored.
func (c *Cohort) Validate() error {
	switch {
	case CheckName("name", c.Name) != nil:
		return CheckName("name", c.Name)
	case strings.ContainsRune(c.Description, 0) || !utf8.ValidString(c.Description):
		return Errorf(EINVALID, "description is not text: it holds a NUL character or invalid UTF-8")
	case utf8.RuneCountInString(c.Description) > 2000:
		return Errorf(EINVALID, "description is longer than 2000 characters")
	}
	leaves := 0
	return c.Definition.validate("definition", 1, &leaves)
}

func (c *Condition) validate(field string, depth int, leaves *int) error {
	if depth > MaxConditionDepth {
		return Errorf(EINVALID, "%s: conditions nest at most %d deep", field, MaxConditionDepth)
	}
	set := 0
	for _, b := range []bool{c.And != nil, c.Or != nil, c.Not != nil, c.Event != nil, c.UserProperty != nil, c.FirstSeen != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return Errorf(EINVALID, "%s: give exactly one of and, or, not, event, user_property, first_seen", field)
	}
	switch {
	case c.And != nil || c.Or != nil:
		list, name := c.And, "and"
		if c.Or != nil {
			list, name = c.Or, "or"
		}
		if len(list) == 0 {
			return Errorf(EINVALID, "%s.%s is empty", field, name)
		}
		for i := range list {
			if err := list[i].validate(field+"."+name+"["+strconv.Itoa(i)+"]", depth+1, leaves); err != nil {
				return err
			}
		}
		return nil
	case c.Not != nil:
		return c.Not.validate(field+".not", depth+1, leaves)
	}
	if *leaves++; *leaves > MaxConditionLeaves {
		return Errorf(EINVALID, "%s: a definition holds at most %d conditions", field, MaxConditionLeaves)
	}
	switch {
	case c.Event != nil:
		e, f := c.Event, field+".event"
		switch {
		case e.EventType == "":
			return Errorf(EINVALID, "%s.event_type is required", f)
		case e.Op != AtLeast && e.Op != AtMost && e.Op != Exactly:
			return Errorf(EINVALID, "%s.op %q: want at_least, at_most or exactly", f, e.Op)
		case e.Count < 0:
			return Errorf(EINVALID, "%s.count is negative", f)
		case e.Op == AtLeast && e.Count == 0:
			return Errorf(EINVALID, "%s: at_least 0 holds for everyone; want a count of 1 or more", f)
		}
		if err := e.TimeRange.validate(f); err != nil {
			return err
		}
		for i := range e.Where {
			if err := e.Where[i].Validate(f + ".where[" + strconv.Itoa(i) + "]"); err != nil {
				return err
			}
		}
		return nil
	case c.UserProperty != nil:
		if strings.Contains(c.UserProperty.Property, `"`) {
			return Errorf(EINVALID, "%s.user_property.property cannot hold a double quote", field)
		}
		return c.UserProperty.Validate(field + ".user_property")
	default:
		return c.FirstSeen.validate(field + ".first_seen")
	}
}

// Validate checks a condition; field names it in the error.
func (v *ValueCondition) Validate(field string) error {
	if v.Property == "" || len(v.Property) > 1024 {
		return Errorf(EINVALID, "%s.property is required, up to 1024 bytes", field)
	}
	scalar := func(x any) bool {
		switch x.(type) {
		case string, float64, bool, json.Number:
			return true
		}
		return false
	}
	switch v.Op {
	case OpEq, OpNe, OpContains:
		if !scalar(v.Value) {
			return Errorf(EINVALID, "%s.value is required: a string, number or boolean", field)
		}
	case OpGt, OpLt:
		if _, ok := NumberOf(v.Value); !ok {
			return Errorf(EINVALID, "%s.value must be a number for %s", field, v.Op)
		}
	case OpIn:
		if len(v.Values) == 0 || len(v.Values) > MaxInValues {
			return Errorf(EINVALID, "%s.values is required for in: 1 to %d values", field, MaxInValues)
		}
		if slices.ContainsFunc(v.Values, func(x any) bool { return !scalar(x) }) {
			return Errorf(EINVALID, "%s.values holds strings, numbers or booleans only", field)
		}
	default:
		return Errorf(EINVALID, "%s.op %q: want =, !=, contains, >, < or in", field, v.Op)
	}
	return nil
}

// Match reports whether a property value meets the condition. v is nil
// (missing), a string, float64, int64, bool, json.Number or []any.
func (v *ValueCondition) Match(x any) bool {
	if list, ok := x.([]any); ok {
		if v.Op == OpNe {
			for _, item := range list {
				if !v.Match(item) {
					return false
				}
			}
			return true
		}
		return slices.ContainsFunc(list, v.Match)
	}
	if x == nil {
		return v.Op == OpNe
	}
	switch v.Op {
	case OpEq:
		return ValueText(x) == ValueText(v.Value)
	case OpNe:
		return ValueText(x) != ValueText(v.Value)
	case OpContains:
		return strings.Contains(strings.ToLower(ValueText(x)), strings.ToLower(ValueText(v.Value)))
	case OpIn:
		t := ValueText(x)
		return slices.ContainsFunc(v.Values, func(y any) bool { return ValueText(y) == t })
	case OpGt, OpLt:
		a, ok := NumberOf(x)
		b, _ := NumberOf(v.Value)
		if !ok {
			return false
		}
		if v.Op == OpGt {
			return a > b
		}
		return a < b
	}
	return false
}

// ValueText is the text a value compares as.
func ValueText(x any) string {
	switch x := x.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return x.String()
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// NumberOf is a value as a number: numbers, and strings that hold one.
func NumberOf(x any) (float64, bool) {
	var f float64
	var err error
	switch x := x.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case json.Number:
		f, err = x.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, false
	}
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// ParseJSONValue turns one JSON value into what Match takes: nil, string,
// float64, bool or []any (objects become their JSON text). Invalid input
// is nil.
func ParseJSONValue(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		return nil
	case 't':
		return true
	case 'f':
		return false
	case '"':
		if !slices.Contains(b, '\\') && len(b) >= 2 {
			return string(b[1 : len(b)-1])
		}
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		return s
	case '[':
		var list []any
		if json.Unmarshal(b, &list) != nil {
			return nil
		}
		return list
	case '{':
		return string(b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return nil
	}
	return f
}

// CohortUpdate changes a cohort; nil fields stay. A new definition makes
// a new version.
type CohortUpdate struct {
	Name        *string    `json:"name"`
	Description *string    `json:"description"`
	Definition  *Condition `json:"definition"`
}

// Apply returns c with the update applied.
func (u CohortUpdate) Apply(c Cohort) Cohort {
	if u.Name != nil {
		c.Name = *u.Name
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	if u.Definition != nil {
		c.Definition = *u.Definition
	}
	return c
}

// Membership is the outcome of computing a cohort: its size, when, and
// the users (amplitude ids) who entered and left since the last
// computation.
type Membership struct {
	Cohort     int64     `json:"cohort_id"`
	Version    int       `json:"version"`
	Size       int64     `json:"size"`
	ComputedAt time.Time `json:"computed_at"`
	Entered    []int64   `json:"-"`
	Left       []int64   `json:"-"`
	// Took is how long the computation took.
	Took time.Duration `json:"-"`
}

// CohortPreview is a definition's current size and a sample of its
// members, computed without storing anything.
type CohortPreview struct {
	Size   int64   `json:"size"`
	Sample []int64 `json:"sample"` // amplitude ids, lowest first
}

// CohortMember is one member with the ids a sync maps it by.
type CohortMember struct {
	AmplitudeID int64  `json:"amplitude_id"`
	UserID      string `json:"user_id,omitempty"`
	IDFA        string `json:"idfa,omitempty"`
	IDFV        string `json:"idfv,omitempty"`
	ADID        string `json:"adid,omitempty"` // Google (or Amazon) advertising id
	Platform    string `json:"platform,omitempty"`
	Country     string `json:"country,omitempty"`
}

// CohortStore keeps cohorts and their membership. Package cohort
// evaluates definitions over the store's CohortSource.
type CohortStore interface {
	CohortSource
	// CreateCohort validates and stores a new cohort (version 1).
	// ENOTFOUND when the project does not exist; EINVALID.
	CreateCohort(ctx context.Context, c *Cohort) error
	// FindCohort returns a cohort. ENOTFOUND.
	FindCohort(ctx context.Context, id int64) (*Cohort, error)
	// ListCohorts returns a project's cohorts by id.
	ListCohorts(ctx context.Context, project int64) ([]*Cohort, error)
	// UpdateCohort changes a cohort; a changed definition is a new
	// version. EINVALID, ENOTFOUND.
	UpdateCohort(ctx context.Context, id int64, upd CohortUpdate) (*Cohort, error)
	// DeleteCohort removes a cohort, its membership and its syncs.
	// ENOTFOUND.
	DeleteCohort(ctx context.Context, id int64) error
	// CohortVersions returns a cohort's versions, oldest first. ENOTFOUND.
	CohortVersions(ctx context.Context, id int64) ([]*CohortVersion, error)
	// CohortMembers returns a page of the stored membership, by amplitude
	// id after the cursor. ENOTFOUND.
	CohortMembers(ctx context.Context, id, cursor int64, limit int) ([]CohortMember, error)
}

// CohortSource answers the queries cohort rules are evaluated over, and
// keeps the membership they come to. The rules (combining sets, counts,
// windows, merged users, the diff) are package cohort's.
type CohortSource interface {
	// ReadCohortSets opens a read of a project's users and events: every
	// query of the reader sees the same snapshot. The caller closes it.
	// ENOTFOUND (project).
	ReadCohortSets(ctx context.Context, project int64) (CohortSets, error)
	// CohortMembership returns a cohort's stored members, lowest first,
	// and a base that names this state of the membership. ENOTFOUND.
	CohortMembership(ctx context.Context, id int64) (members []int64, base int64, err error)
	// PutMembership stores a computation: m's Entered join the members,
	// its Left go, and the cohort's size and computation time are set.
	// ECONFLICT when the membership changed since base was read;
	// ENOTFOUND.
	PutMembership(ctx context.Context, m *Membership, base int64) error
}

// CohortSets answers set queries about one project's users (amplitude
// ids) from one snapshot. Each calls fn for every user it finds, in no
// set order.
type CohortSets interface {
	// Users finds every user of the project, with the user it was merged
	// into (0: none).
	Users(fn func(user, mergedInto int64)) error
	// EventCounts finds the users with events of c's type that meet every
	// c.Where, at times in [start, end) ms, and how many each has. A
	// merged user's events count under its own id. Only c's type, Where
	// and range (to cache by) are read: counts and windows are the
	// caller's.
	EventCounts(c *EventCondition, start, end int64, fn func(user, n int64)) error
	// UserProperty finds the users not merged that have a property set,
	// with its current value as ValueCondition.Match takes it. A user with
	// no builtin property (BuiltinUserProperties) of its own has one of its
	// merged users'.
	UserProperty(name string, fn func(user int64, value any)) error
	// FirstSeen finds every user with the time of its first event (ms).
	FirstSeen(fn func(user, first int64)) error
	// Close ends the read.
	Close() error
}
