package sqlite

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Event conditions are evaluated incrementally. For each distinct
// condition (project, event type, where, and the range: the last D days
// or fixed dates) the store keeps, in memory, every user's sorted times of
// the matching events from the range's start, and the highest event id it
// has read. The next evaluation reads only the events stored since (ids
// are given in commit order, so a snapshot holds every id up to its
// highest), drops the times a rolling window has left behind, and counts
// what is in the range: a cohort synced every minute scans a minute of
// events, not the whole table. The first evaluation, or one after a
// restart, reads the whole range.

const (
	// maxCachedConditions bounds the conditions kept; the least recently
	// used goes first.
	maxCachedConditions = 16
	// maxCachedTimes bounds the times of one condition: a condition
	// matching more events is evaluated from scratch each time.
	maxCachedTimes = 50_000_000
	// cacheIdle is how long an unused condition is kept.
	cacheIdle = time.Hour
)

// eventTimes are the matching events' times of each user.
type eventTimes struct {
	mu     sync.Mutex // held by the evaluation using it
	key    string
	byUser map[int64][]int64 // sorted
	n      int               // times held
	from   int64             // times before from are not held
	hwm    int64             // events up to this id are in
	used   time.Time
}

type timesCache struct {
	mu      sync.Mutex
	entries map[string]*eventTimes
}

// eventTimes returns, locked, the times of a condition's events from
// start on (to end, for fixed dates), brought up to the read's snapshot.
// The caller unlocks it.
func (db *DB) eventTimes(s *cohortSets, c *touchpoint.EventCondition, start, end int64) (*eventTimes, error) {
	var upTo int64
	if err := s.tx.QueryRowContext(s.ctx, `/* cohort events hwm */ SELECT coalesce(max(id), 0) FROM events`).Scan(&upTo); err != nil {
		return nil, err
	}
	rangeKey := any(c.WithinDays)
	if c.WithinDays == 0 {
		rangeKey = [2]string{c.From, c.To}
	}
	k, _ := json.Marshal([]any{s.project, c.EventType, c.Where, rangeKey})
	key := string(k)
	// A rolling window holds what is after its start (future-dated events
	// too: the window reaches them later); fixed dates hold their range.
	holdEnd := int64(1<<63 - 1)
	if c.WithinDays == 0 {
		holdEnd = end
	}
	db.times.mu.Lock()
	if db.times.entries == nil {
		db.times.entries = map[string]*eventTimes{}
	}
	t := db.times.entries[key]
	now := db.Clock()
	if t == nil {
		t = &eventTimes{key: key, from: start}
		db.times.entries[key] = t
	}
	t.used = now
	db.times.evict(now)
	db.times.mu.Unlock()

	t.mu.Lock()
	if t.byUser == nil || start < t.from || upTo < t.hwm {
		// New, a window moved back (a clock set back), or the store lost
		// events (a restore): read it all.
		t.byUser, t.n, t.from, t.hwm = map[int64][]int64{}, 0, start, 0
	}
	if start > t.from && c.WithinDays > 0 {
		t.prune(start)
	}
	if upTo > t.hwm {
		var err error
		if t.hwm == 0 {
			err = t.build(s, c, upTo, holdEnd)
		} else {
			err = s.scanEvents(c, t.hwm, upTo, t.from, holdEnd, func(user, at int64) {
				ts := t.byUser[user]
				i, _ := slices.BinarySearch(ts, at)
				t.byUser[user] = slices.Insert(ts, i, at)
				t.n++
			})
		}
		if err != nil {
			t.byUser = nil // half read: start over next time
			t.mu.Unlock()
			return nil, err
		}
		t.hwm = upTo
	}
	if t.n > maxCachedTimes {
		// Too big to keep: used this once, then dropped.
		db.times.mu.Lock()
		delete(db.times.entries, key)
		db.times.mu.Unlock()
	}
	return t, nil
}

// build reads every matching event up to upTo: sorted by user and time
// in one array, each user's times a piece of it (capped, so a later
// insert copies rather than overwrites the next user's).
func (t *eventTimes) build(s *cohortSets, c *touchpoint.EventCondition, upTo, holdEnd int64) error {
	var all [][2]int64
	err := s.scanEvents(c, 0, upTo, t.from, holdEnd, func(user, at int64) { all = append(all, [2]int64{user, at}) })
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b [2]int64) int {
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	times := make([]int64, len(all))
	for i, p := range all {
		times[i] = p[1]
	}
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j][0] == all[i][0] {
			j++
		}
		t.byUser[all[i][0]] = times[i:j:j]
		i = j
	}
	t.n = len(all)
	return nil
}

// prune drops the times before start.
func (t *eventTimes) prune(start int64) {
	for user, ts := range t.byUser {
		i, _ := slices.BinarySearch(ts, start)
		switch {
		case i == len(ts):
			delete(t.byUser, user)
		case i > 0:
			t.byUser[user] = slices.Clone(ts[i:])
		}
		t.n -= i
	}
	t.from = start
}

// evict drops idle conditions and, beyond the bound, the least recently
// used. The caller holds c.mu.
func (c *timesCache) evict(now time.Time) {
	for k, t := range c.entries {
		if now.Sub(t.used) > cacheIdle {
			delete(c.entries, k)
		}
	}
	for len(c.entries) > maxCachedConditions {
		var oldest *eventTimes
		for _, t := range c.entries {
			if oldest == nil || t.used.Before(oldest.used) {
				oldest = t
			}
		}
		delete(c.entries, oldest.key)
	}
}

// ForgetCohortState drops the incremental state: the next evaluation of
// every condition reads its whole range (benchmarks measure that).
func (db *DB) ForgetCohortState() {
	db.times.mu.Lock()
	db.times.entries = nil
	db.times.mu.Unlock()
}
