package chart

// The rules every chart follows.
//
// Users. An event counts for its user or, when that user was merged into
// another (Amplitude's identity merge: a device id and a user id found
// to be one person), for the user it was merged into, the events before
// the merge included.
//
// Days. A range is whole days in the project's time zone (UTC unless the
// project says otherwise), both ends included. Segmentation intervals
// are calendar days, weeks from Monday and calendar months of that zone;
// an interval is named by its first day, which for a week or month may
// come before the range's start (the events counted stay within the
// range). Retention and LTV count days as Amplitude does by default: 24
// hours from the user's own start (day 1 is hours 24 to 48), a week as
// 7 such days.
//
// Events. An EventSpec matches an event of its type (AnyEvent or
// AnyActive: of any type) on which every filter holds. An event filter
// reads the event's event_properties member, else its top-level field
// (revenue, price, productId, platform, country…), as cohort conditions
// do; a user filter reads the user properties the event was stored with
// (Amplitude's snapshot: a property set after the event does not count
// on it), except platform and country (touchpoint.BuiltinUserProperties),
// read from the event's own fields. Operators are touchpoint.
// ValueCondition's.
//
// Groups. A group-by property's label on an event is its value's text
// (touchpoint.ValueText), NoneLabel when the event has none.
//
// Segmentation. Per interval and over the range (Total), of the events
// each spec matches in the range, by group:
//
//   - totals: the events;
//   - uniques: the distinct users;
//   - average: events per user (totals / uniques; 0 with no users);
//   - sum: the sum of Property over the events where it is a number
//     (touchpoint.NumberOf);
//   - property_average: that sum over the number of those events;
//   - distribution: the events that have Property; Distribution counts
//     them by its value over the range.
//
// Event property "revenue", in a metric, a filter or a group, is the
// event's revenue as ingestion worked it out (its top-level revenue, from
// revenue or price × quantity, the SDKs' $-keys included), never an
// event_properties member of that name.
//
// Funnel. A user enters with an event matching step 1 in the range; step
// k is an event matching it at a later time than step k-1's (events of
// the same millisecond are not in order) and at most ConversionSeconds
// after step 1's, the range's end notwithstanding. Of a user's possible
// paths the one that goes furthest counts, the earliest first step among
// those, taking each next step as early as it comes. A user reached step
// k when that path did; the group is the label on its first step, the
// time between steps its steps' times. (Of first steps in one
// millisecond with different labels, either may give the group.)
//
// Retention. A user's start is their first event matching the start spec
// in the range; the user belongs to the row of the interval (day or
// week) holding it, and the group of its label. Period 0 holds every
// user of the row. Period k ≥ 1 is [start + k·P, start + (k+1)·P), P a
// day or a week: n_day counts the users with an event matching the
// return spec (any event without one) in it; unbounded, in it or later.
// A row lists period 0 and the periods that have begun by now for its
// first possible start: its interval's first moment in the range (that moment + k·P ≤
// now; a week's row that begins before the range counts from the range).
//
// LTV. The users first seen in the range (over the users merged into
// them), grouped by a user property's current value. Day k is
// [first seen + k days, first seen + (k+1) days); a user counts at day k
// once it has begun by now, with the revenue of its events before day k
// ends.
