package analytics

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Throttled is the 429 answer (Amplitude's HTTP V2 API documentation): the limit, the devices and users
// over it with their rates, and the indexes of their events.
type Throttled struct {
	Code             int                `json:"code"`
	Error            string             `json:"error"`
	EPSThreshold     int                `json:"eps_threshold"`
	ThrottledDevices map[string]float64 `json:"throttled_devices"`
	ThrottledUsers   map[string]float64 `json:"throttled_users"`
	ThrottledEvents  []int              `json:"throttled_events"`
}

// Limiter keeps each project's per-device and per-user event rates,
// averaged over touchpoint.RateWindow as a sliding window (the weighted sum
// of the current and the previous fixed window). An upload that would take
// any device or user over the limit is refused whole and counts for
// nothing; an accepted one counts for all its events. Ids are kept as
// 64-bit hashes of (project, kind, id): two ids that collide share a rate,
// which errs towards throttling, about once in 2^64.
type Limiter struct {
	seed   maphash.Seed
	shards [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[uint64]rateBucket
	calls   int
}

type rateBucket struct {
	window    int64 // index of the current fixed window
	cur, prev float64
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter {
	l := &Limiter{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[uint64]rateBucket)
	}
	return l
}

// key is the hash of a device id (user false) or user id of a project.
func (l *Limiter) key(project int64, user bool, id string) uint64 {
	k := maphash.String(l.seed, id) + uint64(project)*0x9E3779B97F4A7C15
	if user {
		k ^= 0xBF58476D1CE4E5B9
	}
	return k
}

const windowMillis = int64(touchpoint.RateWindow / time.Millisecond)

// roll moves b to window w. An earlier w (an upload stamped before one
// already counted) leaves b in its window rather than wiping its counts.
func (b *rateBucket) roll(w int64) {
	switch {
	case w <= b.window:
		return
	case w == b.window+1:
		b.prev, b.cur = b.cur, 0
	default:
		b.prev, b.cur = 0, 0
	}
	b.window = w
}

// rate is the bucket's events per second with n more.
func (b *rateBucket) rate(frac, n float64) float64 {
	return (b.prev*(1-frac) + b.cur + n) / touchpoint.RateWindow.Seconds()
}

// Allow counts an upload's events against eps per device and per user, at
// now. It returns nil when the upload is within the limits, and the 429
// answer otherwise.
func (l *Limiter) Allow(project int64, eps int, events []*touchpoint.IncomingEvent, now time.Time) *Throttled {
	counts := make(map[uint64]int, 2*len(events))
	for _, e := range events {
		if e.DeviceID != "" {
			counts[l.key(project, false, e.DeviceID)]++
		}
		if e.UserID != "" {
			counts[l.key(project, true, e.UserID)]++
		}
	}
	ms := now.UnixMilli()
	w, frac := ms/windowMillis, float64(ms%windowMillis)/float64(windowMillis)
	limit := float64(eps)
	var over map[uint64]float64
	// Check every key, then count them all: a refused upload counts for
	// nothing. Keys are checked and counted shard by shard under the
	// shard's lock; two uploads racing for the same device may both pass
	// the check, which the next upload's check corrects.
	for k, n := range counts {
		s := l.shard(k)
		s.mu.Lock()
		b, ok := s.buckets[k]
		s.mu.Unlock()
		if !ok {
			b = rateBucket{window: w}
		}
		b.roll(w)
		if r := b.rate(frac, float64(n)); r > limit {
			if over == nil {
				over = make(map[uint64]float64)
			}
			over[k] = r
		}
	}
	if over != nil {
		t := &Throttled{Code: 429, Error: ErrTooManyRequests, EPSThreshold: eps,
			ThrottledDevices: map[string]float64{}, ThrottledUsers: map[string]float64{}, ThrottledEvents: []int{}}
		for i, e := range events {
			throttled := false
			if r, ok := over[l.key(project, false, e.DeviceID)]; ok && e.DeviceID != "" {
				t.ThrottledDevices[e.DeviceID], throttled = r, true
			}
			if r, ok := over[l.key(project, true, e.UserID)]; ok && e.UserID != "" {
				t.ThrottledUsers[e.UserID], throttled = r, true
			}
			if throttled {
				t.ThrottledEvents = append(t.ThrottledEvents, i)
			}
		}
		return t
	}
	for k, n := range counts {
		s := l.shard(k)
		s.mu.Lock()
		b, ok := s.buckets[k]
		if !ok {
			b = rateBucket{window: w}
		}
		b.roll(w)
		b.cur += float64(n)
		s.buckets[k] = b
		if s.calls++; s.calls%4096 == 0 {
			s.sweep(w)
		}
		s.mu.Unlock()
	}
	return nil
}

// Refund takes back what Allow counted for an upload at now that was not
// stored after all (the store refused it, or could not write): a refused
// upload counts for nothing.
func (l *Limiter) Refund(project int64, events []*touchpoint.IncomingEvent, now time.Time) {
	w := now.UnixMilli() / windowMillis
	take := func(k uint64) {
		s := l.shard(k)
		s.mu.Lock()
		defer s.mu.Unlock()
		b, ok := s.buckets[k]
		if !ok {
			return
		}
		switch {
		case b.window == w:
			b.cur = max(b.cur-1, 0)
		case b.window == w+1:
			b.prev = max(b.prev-1, 0)
		default:
			return // counted in a window that no longer counts
		}
		s.buckets[k] = b
	}
	for _, e := range events {
		if e.DeviceID != "" {
			take(l.key(project, false, e.DeviceID))
		}
		if e.UserID != "" {
			take(l.key(project, true, e.UserID))
		}
	}
}

// sweep forgets the ids that sent nothing in the last two windows.
func (s *limiterShard) sweep(w int64) {
	for k, b := range s.buckets {
		if b.window < w-1 {
			delete(s.buckets, k)
		}
	}
}

func (l *Limiter) shard(k uint64) *limiterShard {
	return &l.shards[k%uint64(len(l.shards))]
}
