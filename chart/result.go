package chart

// SegmentationResult is a segmentation: one series per event and group,
// each with a value per interval of XValues.
type SegmentationResult struct {
	Metric   string `json:"metric"`
	Interval string `json:"interval"`
	// XValues are the intervals' first days (2006-01-02), in the
	// project's time zone.
	XValues []string `json:"x_values"`
	Series  []Series `json:"series"`
}

// Series is one event's values for one group: for each interval, and
// over the whole range (Total: for uniques the distinct users of the
// range, for average and property_average the range's own ratio).
// Series of an event come biggest total first; past MaxSeries the rest
// add up to one series labelled OtherLabel (its uniques the distinct
// users of those groups).
type Series struct {
	Event string `json:"event"` // the event's type
	Index int    `json:"index"` // the event's place in the query
	// Group holds the value of each group-by property (NoneLabel when
	// the event has none); AllLabel alone without group_by.
	Group  []string  `json:"group"`
	Values []float64 `json:"values"`
	Total  float64   `json:"total"`
	// Distribution (metric distribution): the events of the range by the
	// property's value, most first, at most MaxDistribution values.
	Distribution []ValueCount `json:"distribution,omitempty"`
}

// ValueCount is how many events had a value.
type ValueCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// FunnelResult is a funnel: the users at each step, in all (Total) and
// by the group-by property's value on each user's first step.
type FunnelResult struct {
	Steps             []string      `json:"steps"`
	ConversionSeconds int64         `json:"conversion_seconds"`
	Total             FunnelGroup   `json:"total"`
	Groups            []FunnelGroup `json:"groups"`
}

// FunnelGroup is one group's funnel: the users who reached each step,
// the share of the previous step's and of the first step's who did, and
// the median time from the previous step of those who did (null for the
// first step and for a step no one reached).
type FunnelGroup struct {
	Group         []string   `json:"group"`
	Users         []int64    `json:"users"`
	FromPrevious  []float64  `json:"from_previous"`
	FromFirst     []float64  `json:"from_first"`
	MedianSeconds []*float64 `json:"median_seconds"`
}

// RetentionResult is a retention table: in all (Total) and by the
// group-by property's value on each user's start event.
type RetentionResult struct {
	Interval string           `json:"interval"`
	Mode     string           `json:"mode"`
	Periods  int              `json:"periods"`
	Total    RetentionGroup   `json:"total"`
	Groups   []RetentionGroup `json:"groups"`
}

// RetentionGroup is one group's retention. Cohorts are its rows: the
// users whose first start event of the range fell in one interval, and
// how many of them came back in each period since (period 0 holds them
// all). A row stops at the last period that has begun. Retained, Users
// and Rates sum the rows: for period k, the rows that reach it.
type RetentionGroup struct {
	Group    []string       `json:"group"`
	Users    []int64        `json:"users"`
	Retained []int64        `json:"retained"`
	Rates    []float64      `json:"rates"`
	Cohorts  []RetentionRow `json:"cohorts"`
}

// RetentionRow is one start interval's users and how many came back in
// each period.
type RetentionRow struct {
	Date     string  `json:"date"`
	Users    int64   `json:"users"`
	Retained []int64 `json:"retained"`
}

// LTVResult is revenue per user by days since first seen: in all
// (Total) and by the group-by property's current value.
type LTVResult struct {
	Days   int        `json:"days"`
	Total  LTVGroup   `json:"total"`
	Groups []LTVGroup `json:"groups"`
}

// LTVGroup is one group's lifetime value. For day k: Users is how many
// of its users had reached day k (first seen at least k days before
// now), Revenue their revenue from first seen to the end of day k, and
// PerUser the one over the other.
type LTVGroup struct {
	Group   []string  `json:"group"`
	Users   []int64   `json:"users"`
	Revenue []float64 `json:"revenue"`
	PerUser []float64 `json:"per_user"`
}
