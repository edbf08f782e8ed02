package touchpoint

import (
	"context"
	"iter"
	"slices"
)

// ChartSource is what analytics charts read (package chart computes them
// from it): a project's events, column by column, and its users. A store
// answers it with plain scans, so every rule of a chart (filters,
// buckets, funnels, retention, revenue) lives in package chart, the same
// whatever the store.
type ChartSource interface {
	// ScanEvents calls fn with batches of a project's events whose time
	// is in [Start, End) and whose type is one of Types (every type when
	// Types is empty), in no particular order. ENOTFOUND: no project.
	ScanEvents(ctx context.Context, project int64, scan *EventScan, fn func(*EventBatch) error) error
	// ScanUsers calls fn with batches of a project's users that are not
	// merged into another: when each was first seen (the earliest over
	// the users merged into it), and the current value of each of props
	// (user properties). ENOTFOUND: no project.
	ScanUsers(ctx context.Context, project int64, props []string, fn func(*UserBatch) error) error
	// CountUsers returns how many users of a project ScanUsers would
	// give, without reading them. ENOTFOUND: no project.
	CountUsers(ctx context.Context, project int64) (int64, error)
}

// EventScan is a request for events. Times are Unix milliseconds.
type EventScan struct {
	Start, End int64
	Types      []string
	Props      []PropertyRef
	// Require names Props (by index) an event must have a value of to be
	// scanned at all: a store may find those events without reading the
	// rest (LTV reads only the events with revenue).
	Require []int
}

// PropertyRef names a property a chart reads.
type PropertyRef struct {
	Name string
	// User: a user property, the value the event was stored with (its
	// snapshot, as Amplitude's events carry them); the built-in user
	// properties (BuiltinUserProperties) are the event's own fields.
	// Else an event property: the event's event_properties member, else
	// its top-level field (revenue, price, productId, platform…), as in
	// cohort conditions.
	User bool
	// Top reads only the event's top-level field: "revenue" is the
	// event's revenue as ingestion worked it out, whatever its
	// event_properties hold.
	Top bool
}

// EventBatch is a run of events, column by column: event i is User[i],
// Type[i], Time[i] and Props[j][i] for each requested property j.
type EventBatch struct {
	// User is the user the event counts for: the one that sent it or,
	// when that one was merged into another, the one it was merged into.
	User []int64
	// Type indexes TypeNames, which is the scan's Types when it has
	// some, else every type of the project known so far.
	Type      []int32
	TypeNames []string
	Time      []int64
	// Props[j][i] is the code of the value of property j on event i in
	// Dicts[j]: 0 when it has none.
	Props [][]int32
	Dicts []*Dict
}

// Len is the number of events in the batch.
func (b *EventBatch) Len() int { return len(b.User) }

// Keep keeps the events for which keep is true, in order.
func (b *EventBatch) Keep(keep func(i int) bool) {
	n := 0
	for i := range b.Len() {
		if !keep(i) {
			continue
		}
		b.User[n], b.Type[n], b.Time[n] = b.User[i], b.Type[i], b.Time[i]
		for _, col := range b.Props {
			col[n] = col[i]
		}
		n++
	}
	b.User, b.Type, b.Time = b.User[:n], b.Type[:n], b.Time[:n]
	for j := range b.Props {
		b.Props[j] = b.Props[j][:n]
	}
}

// UserBatch is a run of users: user i is User[i], FirstSeen[i] (Unix
// ms) and Props[j][i] for each requested property j.
type UserBatch struct {
	User      []int64
	FirstSeen []int64
	Props     [][]int32
	Dicts     []*Dict
}

// Reset empties the batch for the next run of users, keeping its
// capacity and its dictionaries.
func (b *UserBatch) Reset() {
	b.User, b.FirstSeen = b.User[:0], b.FirstSeen[:0]
	for i := range b.Props {
		b.Props[i] = b.Props[i][:0]
	}
}

// Dict holds the values of a property seen in one scan: code c is
// Values[c-1] (nil, string, float64, bool or []any, as ParseJSONValue
// gives). It only grows within a scan, so codes stay valid from batch to
// batch.
type Dict struct {
	Values []any
	index  map[string]int32
}

// Code returns the code of a value (its JSON text, or the empty text for
// none: code 0), adding it when new.
func (d *Dict) Code(raw []byte) int32 {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	if d.index == nil {
		d.index = make(map[string]int32)
	}
	if c, ok := d.index[string(raw)]; ok {
		return c
	}
	d.Values = append(d.Values, ParseJSONValue(raw))
	c := int32(len(d.Values))
	d.index[string(raw)] = c
	return c
}

// Codes lists the dictionary's values by their JSON text, with their
// codes.
func (d *Dict) Codes() iter.Seq2[string, int32] {
	return func(yield func(string, int32) bool) {
		for text, c := range d.index {
			if !yield(text, c) {
				return
			}
		}
	}
}

// Value returns the value of a code.
func (d *Dict) Value(c int32) any {
	if c == 0 {
		return nil
	}
	return d.Values[c-1]
}

// Versioned reports whether a store reads the property from the version
// of the user's properties its event was stored with: a user property,
// but for the built-in ones, which are the event's own fields.
func (r PropertyRef) Versioned() bool {
	return r.User && !slices.Contains(BuiltinUserProperties, r.Name)
}

// TopOnly reports whether a property read from the stored event itself
// is read among its top-level fields only, event_properties aside: Top,
// and the built-in user properties.
func (r PropertyRef) TopOnly() bool { return r.Top || r.User }

// Survivor follows merges (merged maps a user merged into another to
// that one) from a user to the one no other took in: the user its events
// count for. A merge into a user merged since counts for the last one.
// The walk is bounded: a cycle, which the writer never makes, ends it.
func Survivor[ID comparable](merged map[ID]ID, id ID) ID {
	for hops := 0; hops < 64; hops++ {
		next, ok := merged[id]
		if !ok {
			break
		}
		id = next
	}
	return id
}
