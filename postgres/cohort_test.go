package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestCohorts(t *testing.T) {
	storetest.RunCohorts(t, func(t *testing.T, now func() time.Time) storetest.CohortStore {
		return open(t, freshDatabase(t), now)
	})
}

func TestCohortSyncs(t *testing.T) {
	storetest.RunCohortSyncs(t, func(t *testing.T, now func() time.Time) storetest.CohortSyncStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestCohortSyncClaimsAcrossNodes: two nodes (two pools on one database)
// claiming the due syncs at once get each sync once between them; the
// claims of a node that died lapse at their end and another node takes
// the syncs over, after which the dead node's claims neither extend,
// release nor end what the new holder has.
func TestCohortSyncClaimsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	a, b := open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := a.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
		AppsFlyerAppID: "id123456789", APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
	if err := a.CreateDestination(ctx, dest); err != nil {
		t.Fatal(err)
	}
	co := &touchpoint.Cohort{Project: p.ID, Name: "Buyers", Definition: touchpoint.Condition{
		Event: &touchpoint.EventCondition{EventType: "purchase", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	if err := a.CreateCohort(ctx, co); err != nil {
		t.Fatal(err)
	}
	const syncs = 200
	var all []int64
	for range syncs {
		sy := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		if err := b.CreateCohortSync(ctx, sy); err != nil {
			t.Fatal(err)
		}
		all = append(all, sy.ID)
	}

	// Four claimers on each node start at once, each claiming a few
	// times, in rounds a lease apart: every round finds every sync due
	// and the claims of the round before lapsed, as if their nodes died.
	lease := 10 * time.Minute
	var now time.Time
	var mu sync.Mutex
	var held map[*postgres.DB][]*touchpoint.CohortSync
	var wg sync.WaitGroup
	shared := 0
	for round := range 5 {
		now = storetest.Start.Add(time.Duration(round) * lease)
		held = map[*postgres.DB][]*touchpoint.CohortSync{}
		start := make(chan struct{})
		for _, db := range []*postgres.DB{a, b, a, b, a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range 3 {
					l, err := db.ClaimCohortSyncs(ctx, now, now.Add(lease))
					if err != nil {
						t.Errorf("ClaimCohortSyncs: %v", err)
						return
					}
					mu.Lock()
					held[db] = append(held[db], l...)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		var got []int64
		for _, l := range held {
			for _, sy := range l {
				got = append(got, sy.ID)
				if sy.Claim != now.Add(lease).UnixMilli() {
					t.Errorf("round %d: sync %d claimed with claim %d, want %d", round, sy.ID, sy.Claim, now.Add(lease).UnixMilli())
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, all) {
			t.Fatalf("round %d: two nodes claiming at once got %v, want each of %v once", round, got, all)
		}
		if len(held[a]) > 0 && len(held[b]) > 0 {
			shared++
		}
	}
	t.Logf("rounds where both nodes got syncs: %d of 5", shared)

	// Node a dies holding its claims. Until they lapse, nobody gets them.
	if l, err := b.ClaimCohortSyncs(ctx, now.Add(lease-time.Millisecond), now.Add(2*lease)); err != nil || len(l) != 0 {
		t.Fatalf("claims before the lease ended: %d syncs, %v", len(l), err)
	}
	taken, err := b.ClaimCohortSyncs(ctx, now.Add(lease), now.Add(2*lease))
	if err != nil {
		t.Fatal(err)
	}
	var takenIDs []int64
	for _, sy := range taken {
		takenIDs = append(takenIDs, sy.ID)
	}
	slices.Sort(takenIDs)
	if !slices.Equal(takenIDs, all) {
		t.Fatalf("claims once the lease ended took %v, want every sync", takenIDs)
	}
	// One of the dead node's claims (if it had any; else one of b's first)
	// no longer holds its sync.
	var stale *touchpoint.CohortSync
	if len(held[a]) > 0 {
		stale = held[a][0]
	} else {
		stale = held[b][0]
	}
	if err := a.ExtendCohortSyncClaim(ctx, stale, now.Add(3*lease)); touchpoint.ErrorCode(err) != touchpoint.ECONFLICT {
		t.Errorf("extending a lapsed claim taken over: %v, want ECONFLICT", err)
	}
	if err := a.ReleaseCohortSync(ctx, stale); err != nil {
		t.Fatal(err)
	}
	run := &touchpoint.SyncRun{Claim: stale.Claim, Sync: stale.ID, StartedAt: now, FinishedAt: now.Add(lease), Status: touchpoint.RunOK}
	next := now.Add(time.Minute)
	if err := a.RecordSyncRun(ctx, run, &next); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ClaimCohortSync(ctx, stale.ID, now.Add(lease), now.Add(3*lease)); touchpoint.ErrorCode(err) != touchpoint.ECONFLICT {
		t.Errorf("ClaimCohortSync of a sync taken over, after the stale claim's release and run: %v, want ECONFLICT", err)
	}
	// The new holder's run ends its claim.
	var holder *touchpoint.CohortSync
	for _, sy := range taken {
		if sy.ID == stale.ID {
			holder = sy
		}
	}
	run = &touchpoint.SyncRun{Claim: holder.Claim, Sync: holder.ID, StartedAt: now.Add(lease), FinishedAt: now.Add(lease), Status: touchpoint.RunOK}
	if err := b.RecordSyncRun(ctx, run, &next); err != nil {
		t.Fatal(err)
	}

	// Both nodes ask for the one sync at once: one gets it.
	var wins, conflicts int
	for _, db := range []*postgres.DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.ClaimCohortSync(ctx, stale.ID, now.Add(lease), now.Add(3*lease))
			mu.Lock()
			defer mu.Unlock()
			switch touchpoint.ErrorCode(err) {
			case "":
				wins++
			case touchpoint.ECONFLICT:
				conflicts++
			default:
				t.Errorf("ClaimCohortSync: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 3 {
		t.Errorf("four claims of one sync at once: %d got it, %d were refused; want 1 and 3", wins, conflicts)
	}
}

// TestDestinationInUseAcrossNodes: a destination deleted on one node
// while another creates a sync to it is either deleted (and the sync
// refused) or kept with the sync, never deleted under a sync.
func TestDestinationInUseAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	a, b := open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := a.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	co := &touchpoint.Cohort{Project: p.ID, Name: "Buyers", Definition: touchpoint.Condition{
		Event: &touchpoint.EventCondition{EventType: "purchase", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	if err := a.CreateCohort(ctx, co); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
			AppsFlyerAppID: fmt.Sprintf("com.example.game%d", i), APIToken: "token", Platform: touchpoint.Android,
			Identifier: touchpoint.MapGAID, Enabled: true}
		if err := a.CreateDestination(ctx, dest); err != nil {
			t.Fatal(err)
		}
		var createErr, deleteErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			createErr = b.CreateCohortSync(ctx, &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Enabled: true})
		}()
		go func() {
			defer wg.Done()
			deleteErr = a.DeleteDestination(ctx, dest.ID)
		}()
		wg.Wait()
		_, findErr := a.FindDestination(ctx, dest.ID)
		switch {
		case createErr == nil && touchpoint.ErrorCode(deleteErr) == touchpoint.ECONFLICT && findErr == nil:
		case touchpoint.ErrorCode(createErr) == touchpoint.EINVALID && deleteErr == nil && touchpoint.ErrorCode(findErr) == touchpoint.ENOTFOUND:
		default:
			t.Fatalf("round %d: create %v, delete %v, then find %v", i, createErr, deleteErr, findErr)
		}
	}
}
