package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// CohortSyncStore is what the sync cases need: syncs, the cohorts synced
// (with the events and users they are computed over) and the destinations
// they go to.
type CohortSyncStore interface {
	CohortStore
	touchpoint.IntegrationStore
	touchpoint.CohortSyncStore
}

// RunCohortSyncs runs the sync cases against stores from open.
func RunCohortSyncs(t *testing.T, open func(t *testing.T, now func() time.Time) CohortSyncStore) {
	runParts(t, cohortSyncTests, open)
}

var cohortSyncTests = []part[CohortSyncStore]{
	{"CohortSync/Storage", func(t *testing.T, s CohortSyncStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		q := MustCreateProject(t, s, "Other")
		cohortDest := func(project int64, appID string) *touchpoint.Destination {
			return &touchpoint.Destination{Project: project, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
				AppsFlyerAppID: appID, APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
		}
		dest := cohortDest(p.ID, "id123456789")
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDestination(ctxb(), cohortDest(p.ID, "id123456789")); code(err) != touchpoint.ECONFLICT {
			t.Errorf("a second cohort destination for the app: %v, want ECONFLICT", err)
		}
		android := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "Android audiences",
			AppsFlyerAppID: "com.example.game", APIToken: "token", Platform: touchpoint.Android, Identifier: touchpoint.MapGAID, Enabled: true}
		if err := s.CreateDestination(ctxb(), android); err != nil {
			t.Errorf("a cohort destination for another app: %v", err)
		}
		if _, err := s.UpdateDestination(ctxb(), android.ID, touchpoint.DestinationUpdate{AppsFlyerAppID: ptr("id123456789"),
			Platform: ptr(touchpoint.IOS), Identifier: ptr(touchpoint.MapIDFA)}); code(err) != touchpoint.ECONFLICT {
			t.Errorf("moving a cohort destination onto the app of another: %v, want ECONFLICT", err)
		}
		qDest := cohortDest(q.ID, "id123456789")
		if err := s.CreateDestination(ctxb(), qDest); err != nil {
			t.Errorf("the app's cohort destination in another project: %v", err)
		}
		events := &touchpoint.Destination{Project: p.ID, Name: "Events", AppsFlyerAppID: "id123456789", Key: "dev-key", Enabled: true}
		if err := s.CreateDestination(ctxb(), events); err != nil {
			t.Fatal(err)
		}

		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		qCo := cohCreate(t, s, q, "Other buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))

		// Refused syncs.
		for name, bad := range map[string]touchpoint.CohortSync{
			"an events destination":         {Cohort: co.ID, Destination: events.ID},
			"another project's destination": {Cohort: co.ID, Destination: qDest.ID},
			"no destination":                {Cohort: co.ID},
			"a bad cadence":                 {Cohort: co.ID, Destination: dest.ID, Cadence: "weekly"},
			"a negative batch size":         {Cohort: co.ID, Destination: dest.ID, BatchSize: -1},
			"too big a batch":               {Cohort: co.ID, Destination: dest.ID, BatchSize: touchpoint.MaxSyncBatch + 1},
			"another project's cohort":      {Cohort: qCo.ID, Destination: dest.ID},
		} {
			bad.Enabled = true
			if err := s.CreateCohortSync(ctxb(), &bad); code(err) != touchpoint.EINVALID {
				t.Errorf("CreateCohortSync with %s: %v, want EINVALID", name, err)
			}
		}
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: 999, Destination: dest.ID, Enabled: true}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CreateCohortSync of a missing cohort: %v, want ENOTFOUND", err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || len(l) != 0 {
			t.Fatalf("refused syncs were stored: %+v, %v", l, err)
		}

		// A sync is due at once.
		hourly := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), hourly); err != nil {
			t.Fatal(err)
		}
		if hourly.ID == 0 || hourly.BatchSize != touchpoint.DefaultSyncBatch || !cohTimeIs(hourly.NextRun, Start) || hourly.LastRun != nil ||
			!hourly.CreatedAt.Equal(Start) || hourly.AudienceID != 0 {
			t.Fatalf("created %+v", hourly)
		}
		once := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, BatchSize: 500, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), once); err != nil {
			t.Fatal(err)
		}
		if once.Cadence != touchpoint.CadenceOnce || once.BatchSize != 500 {
			t.Fatalf("created %+v", once)
		}
		qSync := &touchpoint.CohortSync{Cohort: qCo.ID, Destination: qDest.ID, Cadence: touchpoint.CadenceDaily, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), qSync); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindCohortSync(ctxb(), hourly.ID)
		if err != nil || got.ID != hourly.ID || got.Cohort != co.ID || got.Destination != dest.ID || got.Cadence != touchpoint.CadenceHourly ||
			got.BatchSize != touchpoint.DefaultSyncBatch || !got.Enabled || !cohTimeIs(got.NextRun, Start) || got.LastRun != nil {
			t.Fatalf("FindCohortSync = %+v, %v", got, err)
		}
		if _, err := s.FindCohortSync(ctxb(), 999); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindCohortSync(999): %v", err)
		}
		syncIDs := func(l []*touchpoint.CohortSync) []int64 {
			out := []int64{}
			for _, s := range l {
				out = append(out, s.ID)
			}
			return out
		}
		if l, err := s.ListCohortSyncs(ctxb(), co.ID); err != nil || !slices.Equal(syncIDs(l), []int64{hourly.ID, once.ID}) {
			t.Errorf("ListCohortSyncs(cohort) = %v, %v", syncIDs(l), err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || !slices.Equal(syncIDs(l), []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("ListCohortSyncs(0) = %v, %v", syncIDs(l), err)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 999); err != nil || len(l) != 0 {
			t.Errorf("ListCohortSyncs(999) = %v, %v", syncIDs(l), err)
		}
		due := func(at time.Time) []int64 {
			t.Helper()
			// Claimed and released at once: the next claim gets the same
			// syncs.
			l, err := s.ClaimCohortSyncs(ctxb(), at, at.Add(time.Minute))
			if err != nil {
				t.Fatalf("ClaimCohortSyncs: %v", err)
			}
			for _, sy := range l {
				if err := s.ReleaseCohortSync(ctxb(), sy); err != nil {
					t.Fatalf("ReleaseCohortSync: %v", err)
				}
			}
			return cohSorted(syncIDs(l))
		}
		if got := due(Start); !slices.Equal(got, []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("due at Start: %v", got)
		}
		if got := due(Start.Add(-time.Millisecond)); len(got) != 0 {
			t.Errorf("due before Start: %v", got)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); code(err) != touchpoint.ECONFLICT {
			t.Errorf("deleting a destination a sync uses: %v, want ECONFLICT", err)
		}
		if _, err := s.FindDestination(ctxb(), dest.ID); err != nil {
			t.Errorf("the destination after a refused delete: %v", err)
		}

		// The audience.
		if err := s.SetSyncAudience(ctxb(), hourly.ID, 42, "Buyers (touchpoint)", "import-key-1"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), hourly.ID); err != nil || got.AudienceID != 42 || got.AudienceName != "Buyers (touchpoint)" ||
			got.ImportKey != "import-key-1" || !cohTimeIs(got.NextRun, Start) {
			t.Errorf("after SetSyncAudience %+v, %v", got, err)
		}

		// What each sync's audience holds, by user and identifier.
		sent := func(sync int64) string {
			t.Helper()
			l, err := s.SentDevices(ctxb(), sync)
			if err != nil {
				t.Fatalf("SentDevices(%d): %v", sync, err)
			}
			return cohDevices(l)
		}
		if got := sent(hourly.ID); got != "" {
			t.Errorf("sent before anything was marked: %s", got)
		}
		if err := s.MarkSynced(ctxb(), hourly.ID, []touchpoint.SyncDevice{{User: 20, ID: cohIDFA2}, {User: 10, ID: cohIDFA3},
			{User: 10, ID: cohIDFA1}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkSynced(ctxb(), hourly.ID, []touchpoint.SyncDevice{{User: 10, ID: cohIDFA1}}, nil); err != nil {
			t.Errorf("marking a device again: %v", err)
		}
		if err := s.MarkSynced(ctxb(), once.ID, []touchpoint.SyncDevice{{User: 10, ID: cohIDFA1}}, nil); err != nil {
			t.Fatal(err)
		}
		if got, want := sent(hourly.ID), cohDev(10, cohIDFA1)+","+cohDev(10, cohIDFA3)+","+cohDev(20, cohIDFA2); got != want {
			t.Errorf("sent %s, want %s", got, want)
		}
		// Added and removed at once; removing what the audience lacks
		// changes nothing.
		if err := s.MarkSynced(ctxb(), hourly.ID, []touchpoint.SyncDevice{{User: 30, ID: "user-3"}},
			[]touchpoint.SyncDevice{{User: 10, ID: cohIDFA3}, {User: 99, ID: cohIDFA4}, {User: 20, ID: cohIDFA1}}); err != nil {
			t.Fatal(err)
		}
		if got, want := sent(hourly.ID), cohDev(10, cohIDFA1)+","+cohDev(20, cohIDFA2)+","+cohDev(30, "user-3"); got != want {
			t.Errorf("sent after an add and a removal %s, want %s", got, want)
		}
		// Each sync keeps what it sent.
		if got, want := sent(once.ID), cohDev(10, cohIDFA1); got != want {
			t.Errorf("the other sync sent %s, want %s", got, want)
		}
		if got := sent(qSync.ID); got != "" {
			t.Errorf("the other project's sync sent %s", got)
		}

		// Runs.
		now := c.Now()
		run1 := &touchpoint.SyncRun{Sync: hourly.ID, StartedAt: now, FinishedAt: now.Add(time.Second), Status: touchpoint.RunOK,
			Size: 2, Added: 2, Skipped: 1, Responses: []touchpoint.SyncResponse{{Action: "create", Status: 200, Body: `{"audience_id":42}`, Tries: 1}}}
		next := now.Add(time.Hour)
		if err := s.RecordSyncRun(ctxb(), run1, &next); err != nil {
			t.Fatal(err)
		}
		if run1.ID == 0 {
			t.Fatalf("run %+v", run1)
		}
		got, err = s.FindCohortSync(ctxb(), hourly.ID)
		if err != nil || !cohTimeIs(got.LastRun, now) || !cohTimeIs(got.NextRun, next) || got.AudienceID != 42 {
			t.Fatalf("after a run %+v, %v", got, err)
		}
		if got := due(now); !slices.Equal(got, []int64{once.ID, qSync.ID}) {
			t.Errorf("due after the run: %v", got)
		}
		if got := due(next); !slices.Equal(got, []int64{hourly.ID, once.ID, qSync.ID}) {
			t.Errorf("due at the next run: %v", got)
		}
		c.Add(time.Hour)
		run2 := &touchpoint.SyncRun{Sync: hourly.ID, StartedAt: c.Now(), FinishedAt: c.Now().Add(time.Second), Status: touchpoint.RunPartial,
			Size: 2, Added: 1, Removed: 1, Failed: 3, Error: "add: 500"}
		next2 := c.Now().Add(time.Hour)
		if err := s.RecordSyncRun(ctxb(), run2, &next2); err != nil {
			t.Fatal(err)
		}
		runs, err := s.SyncRuns(ctxb(), hourly.ID, 10)
		if err != nil || len(runs) != 2 || runs[0].ID != run2.ID || runs[1].ID != run1.ID {
			t.Fatalf("SyncRuns = %+v, %v", runs, err)
		}
		if r := runs[1]; r.Sync != hourly.ID || r.Status != touchpoint.RunOK || !r.StartedAt.Equal(now) || !r.FinishedAt.Equal(now.Add(time.Second)) ||
			r.Size != 2 || r.Added != 2 || r.Skipped != 1 || len(r.Responses) != 1 || r.Responses[0] != run1.Responses[0] {
			t.Errorf("first run stored as %+v", r)
		}
		if r := runs[0]; r.Status != touchpoint.RunPartial || r.Removed != 1 || r.Failed != 3 || r.Error != "add: 500" || r.Responses == nil || len(r.Responses) != 0 {
			t.Errorf("second run stored as %+v", r)
		}
		if runs, err := s.SyncRuns(ctxb(), hourly.ID, 1); err != nil || len(runs) != 1 || runs[0].ID != run2.ID {
			t.Errorf("SyncRuns(limit 1) = %+v, %v", runs, err)
		}
		if runs, err := s.SyncRuns(ctxb(), once.ID, 10); err != nil || len(runs) != 0 {
			t.Errorf("runs of a sync never run: %+v, %v", runs, err)
		}
		if _, err := s.SyncRuns(ctxb(), 999, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("SyncRuns(999): %v", err)
		}
		if got, _ := s.FindCohortSync(ctxb(), hourly.ID); !cohTimeIs(got.LastRun, c.Now()) || !cohTimeIs(got.NextRun, next2) {
			t.Errorf("after the second run %+v", got)
		}
		// A one-time sync is done once it ran.
		run3 := &touchpoint.SyncRun{Sync: once.ID, StartedAt: c.Now(), FinishedAt: c.Now(), Status: touchpoint.RunOK}
		if err := s.RecordSyncRun(ctxb(), run3, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), once.ID); err != nil || got.NextRun != nil || !cohTimeIs(got.LastRun, c.Now()) {
			t.Errorf("one-time sync after its run %+v, %v", got, err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{hourly.ID, qSync.ID}) {
			t.Errorf("due a year on: %v", got)
		}
		if err := s.RecordSyncRun(ctxb(), &touchpoint.SyncRun{Sync: 999, StartedAt: c.Now(), Status: touchpoint.RunOK}, nil); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("RecordSyncRun of a missing sync: %v", err)
		}

		// Updates: a disabled sync is not due; enabled again, or given a
		// new cadence, it is due at once.
		c.Add(time.Minute)
		up, err := s.UpdateCohortSync(ctxb(), hourly.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(false)})
		if err != nil || up.Enabled || up.Cadence != touchpoint.CadenceHourly {
			t.Fatalf("disable: %+v, %v", up, err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{qSync.ID}) {
			t.Errorf("due with the sync disabled: %v", got)
		}
		up, err = s.UpdateCohortSync(ctxb(), hourly.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(true)})
		if err != nil || !up.Enabled || !cohTimeIs(up.NextRun, c.Now()) {
			t.Fatalf("enable: %+v, %v", up, err)
		}
		if got := due(c.Now()); !slices.Equal(got, []int64{hourly.ID, qSync.ID}) {
			t.Errorf("due once enabled again: %v", got)
		}
		up, err = s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{Cadence: ptr(touchpoint.CadenceDaily), BatchSize: ptr(2000)})
		if err != nil || up.Cadence != touchpoint.CadenceDaily || up.BatchSize != 2000 || !cohTimeIs(up.NextRun, c.Now()) {
			t.Fatalf("new cadence: %+v, %v", up, err)
		}
		if got, err := s.FindCohortSync(ctxb(), once.ID); err != nil || got.Cadence != touchpoint.CadenceDaily || got.BatchSize != 2000 || !cohTimeIs(got.LastRun, c.Now().Add(-time.Minute)) {
			t.Errorf("after the update %+v, %v", got, err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{Cadence: ptr("weekly")}); code(err) != touchpoint.EINVALID {
			t.Errorf("a bad cadence: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), once.ID, touchpoint.CohortSyncUpdate{BatchSize: ptr(touchpoint.MaxSyncBatch + 1)}); code(err) != touchpoint.EINVALID {
			t.Errorf("too big a batch: %v, want EINVALID", err)
		}
		if _, err := s.UpdateCohortSync(ctxb(), 999, touchpoint.CohortSyncUpdate{Enabled: ptr(true)}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("UpdateCohortSync(999): %v, want ENOTFOUND", err)
		}

		// Deleting a sync removes its runs; deleting the cohort its syncs.
		if err := s.DeleteCohortSync(ctxb(), hourly.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCohortSync(ctxb(), hourly.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindCohortSync after delete: %v", err)
		}
		if _, err := s.SyncRuns(ctxb(), hourly.ID, 10); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("SyncRuns after delete: %v", err)
		}
		if err := s.DeleteCohortSync(ctxb(), hourly.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("DeleteCohortSync twice: %v", err)
		}
		if got := sent(hourly.ID); got != "" {
			t.Errorf("a deleted sync's devices: %s", got)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); code(err) != touchpoint.ECONFLICT {
			t.Errorf("deleting a destination the one-time sync uses: %v, want ECONFLICT", err)
		}
		if err := s.DeleteCohort(ctxb(), co.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCohortSync(ctxb(), once.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("a deleted cohort's sync: %v, want ENOTFOUND", err)
		}
		if got := sent(once.ID); got != "" {
			t.Errorf("a deleted cohort's sync's devices: %s", got)
		}
		if l, err := s.ListCohortSyncs(ctxb(), 0); err != nil || !slices.Equal(syncIDs(l), []int64{qSync.ID}) {
			t.Errorf("syncs after deleting the cohort: %v, %v", syncIDs(l), err)
		}
		if got := due(c.Now().AddDate(1, 0, 0)); !slices.Equal(got, []int64{qSync.ID}) {
			t.Errorf("due after deleting the cohort: %v", got)
		}
		if err := s.DeleteDestination(ctxb(), dest.ID); err != nil {
			t.Errorf("deleting the destination once no sync uses it: %v", err)
		}
		// Another project's sync was left alone.
		if got, err := s.FindCohortSync(ctxb(), qSync.ID); err != nil || got.Cohort != qCo.ID {
			t.Errorf("the other project's sync %+v, %v", got, err)
		}
	}},
	{"CohortSync/Claims", func(t *testing.T, s CohortSyncStore, c *Clock) {
		// ClaimCohortSyncs hands a due sync to one claim until the claim
		// expires, RecordSyncRun sets the next due time and ends the
		// claim, ReleaseCohortSync ends it without a run.
		p := MustCreateProject(t, s, "Game")
		dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
			AppsFlyerAppID: "id123456789", APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		sy := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		if err := s.CreateCohortSync(ctxb(), sy); err != nil {
			t.Fatal(err)
		}
		var claimed *touchpoint.CohortSync // by the last claim that got it
		claim := func(at, until time.Time) []int64 {
			t.Helper()
			l, err := s.ClaimCohortSyncs(ctxb(), at, until)
			if err != nil {
				t.Fatalf("ClaimCohortSyncs: %v", err)
			}
			out := []int64{}
			for _, x := range l {
				out = append(out, x.ID)
				claimed = x
			}
			return out
		}
		now := c.Now()
		lease := 10 * time.Minute
		if got := claim(now, now.Add(lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Fatalf("first claim: %v, want the sync", got)
		}
		if got := claim(now.Add(lease-time.Millisecond), now.Add(2*lease)); len(got) != 0 {
			t.Errorf("a claim before the first expires: %v, want none", got)
		}
		first := claimed
		if got := claim(now.Add(lease), now.Add(2*lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("a claim once the first expired: %v, want the sync", got)
		}
		if got := claim(now.Add(lease), now.Add(2*lease)); len(got) != 0 {
			t.Errorf("a claim while the second holds: %v, want none", got)
		}
		second := claimed
		// The first claim's holder can neither extend nor release what the
		// second holds, nor take it with ClaimCohortSync.
		if err := s.ExtendCohortSyncClaim(ctxb(), first, now.Add(3*lease)); code(err) != touchpoint.ECONFLICT {
			t.Errorf("extending a lapsed claim: %v, want ECONFLICT", err)
		}
		if err := s.ReleaseCohortSync(ctxb(), first); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimCohortSync(ctxb(), sy.ID, now.Add(lease), now.Add(3*lease)); code(err) != touchpoint.ECONFLICT {
			t.Errorf("ClaimCohortSync while the second claim holds (a stale release in between): %v, want ECONFLICT", err)
		}
		// The holder extends its claim past the lease: still its own.
		if err := s.ExtendCohortSyncClaim(ctxb(), second, now.Add(3*lease)); err != nil {
			t.Fatal(err)
		}
		if got := claim(now.Add(2*lease), now.Add(4*lease)); len(got) != 0 {
			t.Errorf("a claim within the extended claim: %v, want none", got)
		}
		// A run recorded under a stale claim does not end the holder's.
		stale := &touchpoint.SyncRun{Claim: first.Claim, Sync: sy.ID, StartedAt: now, FinishedAt: now.Add(lease), Status: touchpoint.RunOK}
		stalenext := now.Add(time.Minute)
		if err := s.RecordSyncRun(ctxb(), stale, &stalenext); err != nil {
			t.Fatal(err)
		}
		if got := claim(now.Add(2*lease), now.Add(4*lease)); len(got) != 0 {
			t.Errorf("a claim after a stale run was recorded: %v, want none (the second holds it)", got)
		}

		// A run ends the claim; the sync is due at its next run.
		next := now.Add(time.Hour)
		run := &touchpoint.SyncRun{Claim: second.Claim, Sync: sy.ID, StartedAt: now.Add(lease), FinishedAt: now.Add(lease), Status: touchpoint.RunOK}
		if err := s.RecordSyncRun(ctxb(), run, &next); err != nil {
			t.Fatal(err)
		}
		if got := claim(next.Add(-time.Millisecond), next.Add(lease)); len(got) != 0 {
			t.Errorf("a claim before the next run: %v, want none", got)
		}
		if got := claim(next, next.Add(lease)); !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("a claim at the next run, within the old claim's time: %v, want the sync", got)
		}
		// A release ends it without a run.
		if err := s.ReleaseCohortSync(ctxb(), claimed); err != nil {
			t.Fatal(err)
		}
		// ClaimCohortSync takes one sync whether due or not, once.
		one, err := s.ClaimCohortSync(ctxb(), sy.ID, now, now.Add(lease))
		if err != nil || one.ID != sy.ID || one.Claim != now.Add(lease).UnixMilli() {
			t.Fatalf("ClaimCohortSync of a sync not due: %+v, %v", one, err)
		}
		if _, err := s.ClaimCohortSync(ctxb(), sy.ID, now, now.Add(lease)); code(err) != touchpoint.ECONFLICT {
			t.Errorf("ClaimCohortSync twice: %v, want ECONFLICT", err)
		}
		if _, err := s.ClaimCohortSync(ctxb(), 999, now, now.Add(lease)); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("ClaimCohortSync of a missing sync: %v, want ENOTFOUND", err)
		}
		if err := s.ReleaseCohortSync(ctxb(), one); err != nil {
			t.Fatal(err)
		}
		if got, err := s.FindCohortSync(ctxb(), sy.ID); err != nil || !cohTimeIs(got.NextRun, next) {
			t.Errorf("after the release %+v, %v; want next run %v", got, err, next)
		}

		// Claims at once: one of them gets the sync.
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := s.ClaimCohortSyncs(ctxb(), next, next.Add(lease))
				if err != nil {
					t.Errorf("ClaimCohortSyncs: %v", err)
				}
				mu.Lock()
				for _, x := range l {
					got = append(got, x.ID)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if !slices.Equal(got, []int64{sy.ID}) {
			t.Errorf("four claims at once got %v, want the sync once", got)
		}

		// A disabled sync is never claimed.
		if _, err := s.UpdateCohortSync(ctxb(), sy.ID, touchpoint.CohortSyncUpdate{Enabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if got := claim(next.Add(24*time.Hour), next.Add(25*time.Hour)); len(got) != 0 {
			t.Errorf("a disabled sync claimed: %v", got)
		}
	}},
	{"CohortSync/MissingDestination", func(t *testing.T, s CohortSyncStore, c *Clock) {
		// CohortSyncStore: CreateCohortSync is ENOTFOUND for a missing
		// cohort, EINVALID for a missing destination (a field of the
		// request).
		p := MustCreateProject(t, s, "Game")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: co.ID, Destination: 999, Enabled: true}); code(err) != touchpoint.EINVALID {
			t.Errorf("CreateCohortSync to a missing destination: %v, want EINVALID", err)
		}
		if err := s.CreateCohortSync(ctxb(), &touchpoint.CohortSync{Cohort: co.ID + 100, Destination: 999, Enabled: true}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("CreateCohortSync of a missing cohort: %v, want ENOTFOUND", err)
		}
	}},
	{"CohortSync/Diffs", func(t *testing.T, s CohortSyncStore, c *Clock) {
		// What a run sends follows the stored membership and the members'
		// identifiers: the analytics plane's.
		p := MustCreateProject(t, s, "Game")
		dest := &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AppsFlyer audiences",
			AppsFlyerAppID: "id123456789", APIToken: "token", Platform: touchpoint.IOS, Identifier: touchpoint.MapIDFA, Enabled: true}
		if err := s.CreateDestination(ctxb(), dest); err != nil {
			t.Fatal(err)
		}
		// Members: u1 and u2 with an idfa, u3 with a gaid alone, u4 not a member.
		day := func(d int) time.Time { return Start.AddDate(0, 0, d) }
		cohRecord(t, s, p, Start,
			cohEvent("user-1", "device-1", "purchase", day(-1), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA1})),
			cohEvent("", "device-2", "purchase", day(-20), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA2})),
			cohEvent("user-3", "device-3", "purchase", day(-1), cohIDs(touchpoint.AdIDs{ADID: cohGAID1})),
			cohEvent("", "device-4", "open", day(-1), cohIDs(touchpoint.AdIDs{IDFA: cohIDFA3})))
		u1, u2, u3 := cohUser(t, s, p, "user-1", ""), cohUser(t, s, p, "", "device-2"), cohUser(t, s, p, "user-3", "")
		co := cohCreate(t, s, p, "Buyers", cohDid("purchase", touchpoint.AtLeast, 1, cohDays(30)))
		hourly := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Cadence: touchpoint.CadenceHourly, Enabled: true}
		once := &touchpoint.CohortSync{Cohort: co.ID, Destination: dest.ID, Enabled: true}
		for _, sy := range []*touchpoint.CohortSync{hourly, once} {
			if err := s.CreateCohortSync(ctxb(), sy); err != nil {
				t.Fatal(err)
			}
		}

		// Diffs follow the stored membership.
		cohCheckDiff(t, "before computing", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 0)
		cohCompute(t, s, co.ID)
		d := cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "first", d, cohDev(u1, cohIDFA1)+","+cohDev(u2, cohIDFA2), "", 1)
		cohCheckDiff(t, "by gaid", cohDiff(t, s, hourly.ID, touchpoint.MapGAID), cohDev(u3, cohGAID1), "", 2)
		cohCheckDiff(t, "by user id", cohDiff(t, s, hourly.ID, touchpoint.MapUserID), cohDev(u1, "user-1")+","+cohDev(u3, "user-3"), "", 1)
		cohCheckDiff(t, "by cuid", cohDiff(t, s, hourly.ID, touchpoint.MapCUID), cohDev(u1, "user-1")+","+cohDev(u3, "user-3"), "", 1)
		if _, err := cohort.DiffCohortSync(ctxb(), s, hourly.ID, "email"); code(err) != touchpoint.EINVALID {
			t.Errorf("a diff by email: %v, want EINVALID", err)
		}
		if _, err := cohort.DiffCohortSync(ctxb(), s, 999, touchpoint.MapIDFA); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("DiffCohortSync(999): %v, want ENOTFOUND", err)
		}
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, nil); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, nil); err != nil {
			t.Errorf("marking again: %v", err)
		}
		cohCheckDiff(t, "after marking again", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)
		// Each sync keeps what it sent.
		cohCheckDiff(t, "the other sync", cohDiff(t, s, once.ID, touchpoint.MapIDFA), cohDev(u1, cohIDFA1)+","+cohDev(u2, cohIDFA2), "", 1)

		// A member's idfa changes: the old one goes, the new one comes.
		cohRecord(t, s, p, Start, cohEvent("user-1", "device-1", "open", Start, cohIDs(touchpoint.AdIDs{IDFA: cohIDFA4})))
		cohCompute(t, s, co.ID)
		d = cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "new idfa", d, cohDev(u1, cohIDFA4), cohDev(u1, cohIDFA1), 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, d.Add, d.Remove); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking the new idfa", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)

		// A member leaves: its idfa goes.
		c.Add(15 * 24 * time.Hour)
		if m := cohCompute(t, s, co.ID); !slices.Equal(m.Left, []int64{u2}) || len(m.Entered) != 0 {
			t.Fatalf("computed %+v, want %d out", m, u2)
		}
		d = cohDiff(t, s, hourly.ID, touchpoint.MapIDFA)
		cohCheckDiff(t, "a member left", d, "", cohDev(u2, cohIDFA2), 1)
		if err := s.MarkSynced(ctxb(), hourly.ID, nil, d.Remove); err != nil {
			t.Fatal(err)
		}
		cohCheckDiff(t, "after marking the removal", cohDiff(t, s, hourly.ID, touchpoint.MapIDFA), "", "", 1)
		if got, err := s.SentDevices(ctxb(), hourly.ID); err != nil || cohDevices(got) != cohDev(u1, cohIDFA4) {
			t.Errorf("SentDevices = %s, %v; want %s", cohDevices(got), err, cohDev(u1, cohIDFA4))
		}
	}},
}
