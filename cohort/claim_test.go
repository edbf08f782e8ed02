package cohort_test

import (
	"context"
	"database/sql"
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
	ctx := e.stopAtFirstRetry(t)
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

// TestLongRunKeepsClaim: a run longer than its lease extends its claim,
// so another server does not take the sync meanwhile; the recorded run
// ends the claim.
func TestLongRunKeepsClaim(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.syncer.Lease = 30 * time.Millisecond
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.af.setAnswer(func(path string, n int, _ []byte) int {
		if path == createPath {
			once.Do(func() { close(entered) })
			<-release
		}
		return http.StatusOK
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.syncer.RunNow(context.Background(), e.sync.ID)
		done <- err
	}()
	<-entered
	// The syncer's clock goes well past the lease; the claim is extended
	// from it (a third of the lease, 10 ms, of the machine's time apart):
	// wait until the stored claim ends after the new now.
	e.clock.Add(time.Hour)
	view, err := sql.Open("sqlite", "file:"+e.db.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var until int64
		if err := view.QueryRow(`SELECT claimed_until FROM cohort_syncs WHERE id = ?`, e.sync.ID).Scan(&until); err != nil {
			t.Fatal(err)
		}
		if until > e.clock.Now().UnixMilli() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim was not extended past the lease")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Another server cannot take the sync.
	if _, err := e.db.ClaimCohortSync(context.Background(), e.sync.ID, e.clock.Now(), e.clock.Now().Add(time.Minute)); touchpoint.ErrorCode(err) != touchpoint.ECONFLICT {
		t.Fatalf("another server's claim during the run: %v, want ECONFLICT", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if runs := e.runs(t); len(runs) != 1 || runs[0].Status != touchpoint.RunOK {
		t.Fatalf("runs %+v, want one ok", runs)
	}
	// The run ended its claim: a run asked for now may start.
	if _, err := e.db.ClaimCohortSync(context.Background(), e.sync.ID, e.clock.Now(), e.clock.Now().Add(time.Minute)); err != nil {
		t.Errorf("claim after the run: %v", err)
	}
}

// lostClaim is a store on which every extension of a claim finds it
// taken by another server.
type lostClaim struct{ cohort.Store }

func (lostClaim) ExtendCohortSyncClaim(_ context.Context, s *touchpoint.CohortSync, _ time.Time) error {
	return touchpoint.Errorf(touchpoint.ECONFLICT, "sync %d's claim lapsed", s.ID)
}

// TestLostClaimStops: a run whose claim was taken by another server stops
// sending and records nothing (the other server's run does).
func TestLostClaimStops(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.syncer.Store = lostClaim{e.db}
	e.syncer.Lease = 30 * time.Millisecond
	e.af.setAnswer(func(path string, n int, _ []byte) int {
		if path == createPath {
			time.Sleep(200 * time.Millisecond) // longer than a third of the lease
		}
		return http.StatusOK
	})
	run, err := e.syncer.RunNow(context.Background(), e.sync.ID)
	if touchpoint.ErrorCode(err) != touchpoint.ECONFLICT || run != nil {
		t.Fatalf("RunNow = %+v, %v; want the lost claim's ECONFLICT", run, err)
	}
	if n := len(e.af.requests(addPath)); n != 0 {
		t.Errorf("%d add requests after the claim was lost, want none", n)
	}
	if runs := e.runs(t); len(runs) != 0 {
		t.Errorf("runs %+v, want none recorded", runs)
	}
}
