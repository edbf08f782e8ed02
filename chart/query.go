// Package chart computes the analytics charts a marketer reads (event
// segmentation, funnels, retention, and revenue per user by acquisition
// channel) from a project's events and users as a store scans them
// (touchpoint.ChartSource). Every rule lives here; a store only scans.
package chart

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
)

// AnyEvent stands for every event type in an EventSpec, as Amplitude's
// "_all" (its "_active" is taken as the same: every event counts as
// active here).
const (
	AnyEvent    = "_all"
	AnyActive   = "_active"
	NoneLabel   = "(none)"
	AllLabel    = "all"
	OtherLabel  = "(other)"
	RevenueProp = "revenue"
)

// Limits of a query.
const (
	MaxEvents       = 10  // events of a segmentation
	MaxFilters      = 20  // filters of one event
	MaxGroupBy      = 2   // group-by properties of a segmentation
	MaxSeries       = 100 // series per event: the biggest; the rest add up to OtherLabel
	MaxDays         = touchpoint.MaxSegmentDays
	MinSteps        = 2
	MaxSteps        = 10
	MaxPeriods      = 365
	MaxDistribution = 100 // values listed by a distribution
	// MaxCells bounds a segmentation's groups × intervals (each series
	// keeps a cell per interval).
	MaxCells = 10_000_000
	// MaxDistinct bounds the events (times the specs matching each) a
	// uniques or average segmentation counts distinct users of: it keeps
	// 24 bytes for each while it counts.
	MaxDistinct    = 30_000_000
	DefaultPeriods = 30
	DefaultDays    = 30 // a range's days when it gives no start
	DefaultLTVDays = 30
	// A funnel's conversion window: a day by default, as Amplitude's; at
	// most a year.
	DefaultConversion = 24 * 60 * 60
	MaxConversion     = 366 * 24 * 60 * 60
)

// EventSpec picks events: of one type (AnyEvent: any), meeting every
// filter.
type EventSpec struct {
	EventType string   `json:"event_type"`
	Where     []Filter `json:"where,omitempty"`
}

// Filter tests a property of an event: an event property (type "event",
// the default) or a user property as the event was stored with it (type
// "user"). The operators are the cohort conditions' (touchpoint.
// ValueCondition): =, !=, contains, >, <, in.
type Filter struct {
	Type     string `json:"type,omitempty"` // event (default), user
	Property string `json:"property"`
	Op       string `json:"op"`
	Value    any    `json:"value,omitempty"`
	Values   []any  `json:"values,omitempty"`
}

// Property names a property to group by: a user property (type "user",
// the default: what events were stored with, or for LTV the user's
// current value) or an event property (type "event").
type Property struct {
	Type     string `json:"type,omitempty"` // user (default), event
	Property string `json:"property"`
}

// Range is a run of whole days in the project's time zone, both included
// (2006-01-02). Without End it ends today (the project's day); without
// Start it spans DefaultDays days.
type Range struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Segmentation counts events per day, week or month.
type Segmentation struct {
	Events []EventSpec `json:"events"`
	// Metric: totals (the default), uniques (distinct users), average
	// (events per user), sum and property_average (of Property, a
	// number), distribution (the events by Property's value).
	Metric   string `json:"metric,omitempty"`
	Property string `json:"property,omitempty"`
	Interval string `json:"interval,omitempty"` // day (default), week (from Monday), month
	Range
	GroupBy []Property `json:"group_by,omitempty"`
}

// Metrics of a segmentation.
const (
	Totals          = "totals"
	Uniques         = "uniques"
	Average         = "average"
	Sum             = "sum"
	PropertyAverage = "property_average"
	Distribution    = "distribution"
)

// Intervals.
const (
	Day   = "day"
	Week  = "week"
	Month = "month"
)

// Funnel counts the users who did steps in order.
type Funnel struct {
	Steps []EventSpec `json:"steps"`
	Range
	// ConversionSeconds: every step within this long of the first.
	ConversionSeconds int64     `json:"conversion_seconds,omitempty"`
	GroupBy           *Property `json:"group_by,omitempty"`
}

// Retention counts the users who came back after a start event.
type Retention struct {
	StartEvent EventSpec `json:"start_event"`
	// ReturnEvent: any event when nil.
	ReturnEvent *EventSpec `json:"return_event,omitempty"`
	Range
	Interval string    `json:"interval,omitempty"` // day (default), week
	Mode     string    `json:"mode,omitempty"`     // n_day (default), unbounded
	Periods  int       `json:"periods,omitempty"`  // periods after period 0; 30 by default
	GroupBy  *Property `json:"group_by,omitempty"`
}

// Retention modes.
const (
	NDay      = "n_day"
	Unbounded = "unbounded"
)

// LTV is revenue per user by days since first seen, for the users first
// seen in the range.
type LTV struct {
	Range
	Days    int       `json:"days,omitempty"` // days after day 0; 30 by default
	GroupBy *Property `json:"group_by,omitempty"`
}

// Context is what a chart is computed at: the project, its time zone and
// its time now.
type Context struct {
	Project  int64
	Location *time.Location
	Now      time.Time
}

func invalid(format string, args ...any) error {
	return touchpoint.Errorf(touchpoint.EINVALID, format, args...)
}

// days returns the range's bounds at c: its first day's start and its
// last day's end, in c's zone.
func (r Range) days(c Context) (start, end time.Time, err error) {
	loc := c.Location
	if r.End == "" {
		if r.Start > c.Now.In(loc).Format(time.DateOnly) {
			return start, end, invalid("start %s is after today (%s in the project's zone): give an end", r.Start, c.Now.In(loc).Format(time.DateOnly))
		}
		r.End = c.Now.In(loc).Format(time.DateOnly)
	}
	// Dates are worked out as dates (in UTC, where every day has 24
	// hours), then each day's first moment in the zone.
	b, err2 := time.Parse(time.DateOnly, r.End)
	if r.Start == "" && err2 == nil {
		r.Start = b.AddDate(0, 0, 1-DefaultDays).Format(time.DateOnly)
	}
	a, err1 := time.Parse(time.DateOnly, r.Start)
	switch {
	case err1 != nil || err2 != nil:
		return start, end, invalid("start and end are dates: 2006-01-02")
	case b.Before(a):
		return start, end, invalid("end %s is before start %s", r.End, r.Start)
	}
	if n := int(b.Sub(a)/(24*time.Hour)) + 1; n > MaxDays {
		return start, end, invalid("the range spans %d days: at most %d", n, MaxDays)
	}
	return dayStart(a, loc), dayStart(b.AddDate(0, 0, 1), loc), nil
}

// dayStart is the first moment in loc of the calendar date of date (a
// UTC midnight): midnight, or where summer time begins at midnight
// (Santiago, Cairo, Beirut…), the moment the clocks jump to.
func dayStart(date time.Time, loc *time.Location) time.Time {
	y, m, d := date.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		// The midnight that does not exist came out on the day before:
		// the day begins when that day's zone period ends.
		_, t = t.ZoneBounds()
	}
	return t
}

func (e *EventSpec) validate(field string) error {
	if e.EventType == "" || len(e.EventType) > 1024 || !utf8.ValidString(e.EventType) {
		return invalid("%s.event_type is required, up to 1024 bytes (%s for any event)", field, AnyEvent)
	}
	if len(e.Where) > MaxFilters {
		return invalid("%s.where has %d filters: at most %d", field, len(e.Where), MaxFilters)
	}
	for i := range e.Where {
		f := &e.Where[i]
		switch f.Type {
		case "":
			f.Type = "event"
		case "event", "user":
		default:
			return invalid("%s.where[%d].type %q: event or user", field, i, f.Type)
		}
		c := f.condition()
		if !utf8.ValidString(f.Property) {
			return invalid("%s.where[%d].property is not UTF-8", field, i)
		}
		if err := c.Validate(fmt.Sprintf("%s.where[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

func (f *Filter) condition() touchpoint.ValueCondition {
	return touchpoint.ValueCondition{Property: f.Property, Op: f.Op, Value: f.Value, Values: f.Values}
}

func (f *Filter) ref() touchpoint.PropertyRef {
	return propertyRef(f.Property, f.Type == "user")
}

// propertyRef is where a chart reads a property: "revenue", of an event,
// is always its revenue as ingestion worked it out.
func propertyRef(name string, user bool) touchpoint.PropertyRef {
	return touchpoint.PropertyRef{Name: name, User: user, Top: !user && name == RevenueProp}
}

func (p *Property) validate(field string) error {
	switch p.Type {
	case "":
		p.Type = "user"
	case "event", "user":
	default:
		return invalid("%s.type %q: user or event", field, p.Type)
	}
	if p.Property == "" || len(p.Property) > 1024 || !utf8.ValidString(p.Property) {
		return invalid("%s.property is required, up to 1024 bytes", field)
	}
	return nil
}

func (p *Property) ref() touchpoint.PropertyRef {
	return propertyRef(p.Property, p.Type == "user")
}
