package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestTouches(t *testing.T) {
	storetest.RunTouches(t, func(t *testing.T, now func() time.Time) storetest.TouchStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestTouchesTwoNodes: nodes recording into one database at once, into
// weeks neither has created yet, give every touch its own id, each batch
// consecutive ones, and see each other's touches on return.
func TestTouchesTwoNodes(t *testing.T) {
	dbURL := freshDatabase(t)
	c := storetest.NewClock(storetest.Start)
	nodes := []*postgres.DB{open(t, dbURL, c.Now), open(t, dbURL, c.Now)}
	storetest.MustCreateApp(t, nodes[0], "com.example.game")
	const writers, batches, size = 4, 10, 3
	var mu sync.Mutex
	var recorded [][]*touchpoint.Touch
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*writers)
	for n, db := range nodes {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					// Three weeks, so that nodes create partitions at once.
					at := storetest.Start.Add(time.Duration((n+w+b)%3) * 8 * 24 * time.Hour)
					var ts []*touchpoint.Touch
					for range size {
						ts = append(ts, storetest.NewTouch("com.example.game", "net", at))
					}
					if err := db.RecordTouches(context.Background(), ts); err != nil {
						errs <- err
						return
					}
					for _, other := range nodes {
						if _, err := other.FindTouch(context.Background(), "com.example.game", ts[0].ID); err != nil {
							errs <- err
							return
						}
					}
					mu.Lock()
					recorded = append(recorded, ts)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, ts := range recorded {
		for i, tc := range ts {
			if seen[tc.ID] {
				t.Fatalf("id %d given twice", tc.ID)
			}
			seen[tc.ID] = true
			if i > 0 && tc.ID != ts[i-1].ID+1 {
				t.Fatalf("batch ids %d, %d not consecutive", ts[i-1].ID, tc.ID)
			}
			if touchpoint.TouchIDTime(tc.ID).Before(tc.Time) {
				t.Fatalf("id %d carries %v, before its touch's time %v", tc.ID, touchpoint.TouchIDTime(tc.ID), tc.Time)
			}
		}
	}
	for i, db := range nodes {
		n, err := db.CountTouches(context.Background(), touchpoint.TouchFilter{App: "com.example.game"})
		if err != nil || n != int64(len(nodes)*writers*batches*size) {
			t.Fatalf("node %d counts %d, %v; want %d", i, n, err, len(nodes)*writers*batches*size)
		}
	}
}

// TestTouchesAfterOtherNodePurge: a node that knows a week's partitions
// exist still records into that week after another node dropped them.
func TestTouchesAfterOtherNodePurge(t *testing.T) {
	dbURL := freshDatabase(t)
	c := storetest.NewClock(storetest.Start)
	a, b := open(t, dbURL, c.Now), open(t, dbURL, c.Now)
	storetest.MustCreateApp(t, a, "com.example.game")
	old := storetest.Start.Add(-40 * 24 * time.Hour)
	first := storetest.NewTouch("com.example.game", "net", old)
	if err := a.RecordTouches(context.Background(), []*touchpoint.Touch{first}); err != nil {
		t.Fatal(err)
	}
	n, err := b.PurgeTouches(context.Background(), storetest.Start.Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	again := storetest.NewTouch("com.example.game", "net", old.Add(time.Second))
	if err := a.RecordTouches(context.Background(), []*touchpoint.Touch{again}); err != nil {
		t.Fatalf("recording into a week another node dropped: %v", err)
	}
	if touchpoint.TouchIDTime(again.ID).After(old.Add(time.Minute)) {
		t.Fatalf("id %d carries %v: not the dropped week's", again.ID, touchpoint.TouchIDTime(again.ID))
	}
	if _, err := b.FindTouch(context.Background(), "com.example.game", again.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindTouch(context.Background(), "com.example.game", first.ID); touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		t.Fatalf("purged touch: err = %v", err)
	}
}
