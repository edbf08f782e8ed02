package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// TestIncrementalCohorts checks the incremental evaluation of event
// conditions against evaluation from scratch: rounds of random events
// (late, future-dated, merging anonymous users), clock moves forward and
// one back, and after each round every definition must give the same
// members with the cache as without it.
func TestIncrementalCohorts(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	db := NewDB(filepath.Join(t.TempDir(), "t.db"))
	db.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := &touchpoint.Project{Name: "P", Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	defs := []string{
		`{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":3}}`,
		`{"event":{"event_type":"buy","op":"at_least","count":3,"within_days":7}}`,
		`{"event":{"event_type":"buy","op":"at_most","count":1,"within_days":2}}`,
		`{"event":{"event_type":"buy","op":"exactly","count":2,"from":"2026-11-20","to":"2026-11-26"}}`,
		`{"event":{"event_type":"buy","op":"at_least","count":1,"within_days":5,"where":[{"property":"price","op":">","value":50}]}}`,
		`{"not":{"event":{"event_type":"open","op":"at_least","count":2,"within_days":1}}}`,
	}
	conds := make([]touchpoint.Condition, len(defs))
	for i, d := range defs {
		if err := json.Unmarshal([]byte(d), &conds[i]); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	day := int64(24 * time.Hour / time.Millisecond)
	seen := make([]int, len(defs)) // the most members of each
	for round := range 12 {
		var evs []*touchpoint.IncomingEvent
		for range 40 {
			u := rng.IntN(60)
			e := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, EventType: []string{"buy", "open"}[rng.IntN(2)],
				Time: now.UnixMilli() - rng.Int64N(9*day) + day/2} // late and future-dated too
			if u < 40 {
				e.UserID = fmt.Sprintf("user-%d", u)
			}
			// Devices shared by an anonymous user and an identified one
			// merge the first into the second.
			e.DeviceID = fmt.Sprintf("device-%d", u%50)
			e.Data = []byte(fmt.Sprintf(`{"event_type":%q,"event_properties":{"price":%d}}`, e.EventType, rng.IntN(100)))
			evs = append(evs, e)
		}
		if err := db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: now, Events: evs}}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if round == 8 {
			now = now.Add(-36 * time.Hour) // a clock set back
		} else {
			now = now.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
		}
		mu.Unlock()
		for i, c := range conds {
			cached, err := cohort.Evaluate(ctx, db, p.ID, &c, db.now())
			if err != nil {
				t.Fatal(err)
			}
			db.times.mu.Lock()
			saved := db.times.entries
			db.times.entries = nil
			db.times.mu.Unlock()
			fresh, err := cohort.Evaluate(ctx, db, p.ID, &c, db.now())
			if err != nil {
				t.Fatal(err)
			}
			db.times.mu.Lock()
			db.times.entries = saved
			db.times.mu.Unlock()
			a, b := cached.IDs(), fresh.IDs()
			if !slices.Equal(a, b) {
				t.Fatalf("round %d, %s: incremental %v, from scratch %v", round, defs[i], a, b)
			}
			seen[i] = max(seen[i], len(b))
		}
	}
	for i, n := range seen {
		if n == 0 {
			t.Errorf("%s never had members: the test checks nothing", defs[i])
		}
	}
	if len(db.times.entries) != len(defs) {
		t.Errorf("%d conditions cached, want %d (one per distinct event condition)", len(db.times.entries), len(defs))
	}
}
