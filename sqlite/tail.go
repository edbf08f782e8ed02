package sqlite

import (
	"slices"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The tails are what the store has acknowledged but not yet written to
// SQLite's tables: touches on their way from the journal to the touch log
// (touchTail, moved by the loader every LoadInterval), and lookup keys on
// their way to the key tables (keyTail, moved by the indexer in large
// sorted rounds). Each has two segments: the one filling, and the one being
// moved, which stays readable until its move has committed. Readers look in
// a tail before the tables, and a tail drops a segment only after the
// tables hold it, so whatever a reader misses in the tail it finds in the
// tables.

// tailTouch is a touch in the journal, not yet in the touch log.
type tailTouch struct {
	id  int64
	app int64
	rec []byte // stored form
}

// touchSegment is a run of touches with ascending, consecutive ids.
type touchSegment struct {
	touches []tailTouch
	journal uint64    // the last journal segment holding them
	since   time.Time // when the first touch came
}

// touchTail holds the touches not yet loaded into SQLite.
type touchTail struct {
	mu  sync.RWMutex
	cur *touchSegment
	old *touchSegment // being loaded; nil when none
}

func newTouchTail() *touchTail { return &touchTail{cur: &touchSegment{}} }

func (t *touchTail) add(ts []tailTouch) {
	t.mu.Lock()
	if len(t.cur.touches) == 0 {
		t.cur.since = time.Now()
	}
	t.cur.touches = append(t.cur.touches, ts...)
	t.mu.Unlock()
}

// due reports whether a load round should start: batch touches wait, or
// the oldest has waited age, or a failed round is to be retried.
func (t *touchTail) due(batch int, age time.Duration) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.cur.touches)
	return t.old != nil || n >= batch || n > 0 && time.Since(t.cur.since) >= age
}

// snapshot returns every touch in the tail, ascending.
func (t *touchTail) snapshot() []tailTouch {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []tailTouch
	if t.old != nil {
		out = append(out, t.old.touches...)
	}
	return append(out, t.cur.touches...)
}

// find returns the touches of ids that are in the tail, and the ids that
// are not.
func (t *touchTail) find(ids []int64) (found []tailTouch, rest []int64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, id := range ids {
		if tt, ok := t.lookup(t.old, id); ok {
			found = append(found, tt)
		} else if tt, ok := t.lookup(t.cur, id); ok {
			found = append(found, tt)
		} else {
			rest = append(rest, id)
		}
	}
	return found, rest
}

func (t *touchTail) lookup(s *touchSegment, id int64) (tailTouch, bool) {
	if s == nil {
		return tailTouch{}, false
	}
	i, ok := slices.BinarySearchFunc(s.touches, id, func(tt tailTouch, id int64) int {
		switch {
		case tt.id < id:
			return -1
		case tt.id > id:
			return 1
		}
		return 0
	})
	if !ok {
		return tailTouch{}, false
	}
	return s.touches[i], true
}

// take hands the loader a segment: the one a failed round left, or the
// filling one, which is then closed at journal segment journal.
func (t *touchTail) take(journal uint64) *touchSegment {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.old == nil && len(t.cur.touches) > 0 {
		t.cur.journal = journal
		t.old, t.cur = t.cur, &touchSegment{}
	}
	return t.old
}

// done forgets the taken segment once SQLite holds it.
func (t *touchTail) done() {
	t.mu.Lock()
	t.old = nil
	t.mu.Unlock()
}

// size returns the number of touches waiting, and whether a segment is
// taken.
func (t *touchTail) size() (int, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.cur.touches)
	if t.old != nil {
		n += len(t.old.touches)
	}
	return n, t.old != nil
}

type entry struct {
	k  touchpoint.LookupKey
	id int64
}

// segment is a set of keys of committed touches: a hash of chains through
// entries, newest first.
type segment struct {
	head    map[touchpoint.LookupKey]int32 // newest entry of each key
	entries []chained
	since   time.Time // when the first entry came
	maxID   int64     // highest id added
}

type chained struct {
	entry
	prev int32 // previous entry of the same key, or -1
}

func newSegment(size int) *segment {
	return &segment{head: make(map[touchpoint.LookupKey]int32, size), entries: make([]chained, 0, size)}
}

// keyTail holds the lookup keys of touches committed but not yet indexed.
type keyTail struct {
	mu   sync.RWMutex
	cur  *segment // filling
	old  *segment // being written by the indexer; nil when none
	size int      // keys a segment is made for
}

// newKeyTail returns a tail whose segments are made for about size keys,
// so that they rarely grow while clicks wait.
func newKeyTail(size int) *keyTail {
	return &keyTail{cur: newSegment(size), size: size}
}

// add records the keys of committed touches; ids ascend.
func (t *keyTail) add(ids []int64, keys [][]touchpoint.LookupKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.cur
	if len(s.entries) == 0 {
		s.since = time.Now()
	}
	for i, id := range ids {
		for _, k := range keys[i] {
			prev, ok := s.head[k]
			if !ok {
				prev = -1
			}
			s.head[k] = int32(len(s.entries))
			s.entries = append(s.entries, chained{entry{k, id}, prev})
		}
		s.maxID = max(s.maxID, id)
	}
}

// find returns the ids with any of keys at or above minID.
func (t *keyTail) find(keys []touchpoint.LookupKey, minID int64) []int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []int64
	for _, s := range []*segment{t.cur, t.old} {
		if s == nil {
			continue
		}
		for _, k := range keys {
			i, ok := s.head[k]
			for ok && i >= 0 && s.entries[i].id >= minID {
				out = append(out, s.entries[i].id)
				i = s.entries[i].prev
			}
		}
	}
	return out
}

// due reports whether a round should start.
func (t *keyTail) due(batch int, age time.Duration) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.old != nil || len(t.cur.entries) >= batch || len(t.cur.entries) > 0 && time.Since(t.cur.since) >= age
}

// take hands a segment to the indexer, with the id up to which every touch
// is covered once it is written: the one left by a failed round, or the
// filling one. (Every key of an id below the segment's first is in an
// earlier segment; ids ascend.)
func (t *keyTail) take() (*segment, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.old == nil {
		if len(t.cur.entries) == 0 {
			return nil, 0
		}
		t.old, t.cur = t.cur, newSegment(t.size)
	}
	return t.old, t.old.maxID
}

// done forgets the taken segment once its keys are committed.
func (t *keyTail) done() {
	t.mu.Lock()
	t.old = nil
	t.mu.Unlock()
}

// pending returns the number of keys waiting.
func (t *keyTail) pending() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.cur.entries)
	if t.old != nil {
		n += len(t.old.entries)
	}
	return n
}
