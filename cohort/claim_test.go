package cohort_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// TestTwoSyncersOneRun: two syncers over one store (two servers), passing
// at once, run a due sync once: the first pass's claim holds it.
func TestTwoSyncersOneRun(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceHourly)
	other := &cohort.Syncer{Store: e.db, Client: e.syncer.Client, Now: e.clock.Now, Logger: e.syncer.Logger, Sleep: e.sleep}
	var wg sync.WaitGroup
	for _, s := range []*cohort.Syncer{e.syncer, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.RunDue(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if runs := e.runs(t); len(runs) != 1 || runs[0].Status != touchpoint.RunOK {
		t.Fatalf("runs %+v, want one ok", runs)
	}
	// The run ended the claim: an hour on, the sync is due again.
	e.clock.Add(time.Hour)
	if err := other.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.runs(t)); n != 2 {
		t.Errorf("%d runs an hour on, want 2", n)
	}
}

// TestStoppedPassReleases: a pass stopped during a run records nothing
// and releases its claim: the sync is due, and claimable, at once.
func TestStoppedPassReleases(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(failFirst(createPath, 1000, http.StatusServiceUnavailable))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.syncer.Sleep = func(ctx context.Context, d time.Duration) error {
		e.sleep(ctx, d)
		cancel()
		return ctx.Err()
	}
	if err := e.syncer.RunDue(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunDue = %v, want context.Canceled", err)
	}
	if runs := e.runs(t); len(runs) != 0 {
		t.Errorf("runs %+v, want none recorded", runs)
	}
	now := e.clock.Now()
	if due, err := e.db.ClaimCohortSyncs(context.Background(), now, now.Add(time.Minute)); err != nil || len(due) != 1 {
		t.Errorf("claimed %+v, %v; want the sync, released", due, err)
	}
}
