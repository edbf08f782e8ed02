package migrate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/internal/migrate"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

const childEnv = "TOUCHPOINT_MIGRATE_CHILD"

// child is what the fixture's process told: the keys it was shown, the
// touches it left in the journal, and its clock at the end.
type child struct {
	devKeys map[string]string // app → dev key
	apiKeys map[int64]string  // project → API key
	journal []int64
	now     time.Time
}

// filled makes the fixture in dir in a child process that dies, killed,
// once it has (a server killed with clicks in its journal), and returns
// what it told.
func filled(t *testing.T, dir string, journalOnly int) child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMigrate$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, fmt.Sprintf("%s_JOURNAL=%d", childEnv, journalOnly))
	out, _ := cmd.CombinedOutput() // the child dies by SIGKILL
	c := child{devKeys: map[string]string{}, apiKeys: map[int64]string{}}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "devkey":
			c.devKeys[f[1]] = f[2]
		case len(f) == 3 && f[0] == "apikey":
			var id int64
			fmt.Sscan(f[1], &id)
			c.apiKeys[id] = f[2]
		case len(f) == 2 && f[0] == "journal":
			var id int64
			fmt.Sscan(f[1], &id)
			c.journal = append(c.journal, id)
		case len(f) == 2 && f[0] == "now":
			var ms int64
			fmt.Sscan(f[1], &ms)
			c.now = time.UnixMilli(ms).UTC()
		case len(f) == 1 && f[0] == "filled":
			done = true
		}
	}
	if !done || len(c.journal) != journalOnly {
		t.Fatalf("the fixture's process did not finish:\n%s", out)
	}
	return c
}

// TestMigrate copies a store with something in every table, some clicks
// in its journal only, and checks that the PostgreSQL store answers what
// the embedded store answers, and that what is written next gets the ids
// the embedded store would have given.
func TestMigrate(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		var n int
		fmt.Sscan(os.Getenv(childEnv+"_JOURNAL"), &n)
		fill(t, dir, n)
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	}
	url := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	fx := filled(t, dir, 3)
	segments, _ := filepath.Glob(filepath.Join(dir, migrate.DatabaseFile+".journal", "*.journal"))
	if len(segments) == 0 {
		t.Fatal("the fixture left nothing in the journal")
	}

	var progress bytes.Buffer
	res, err := migrate.Run(context.Background(), migrate.Config{From: dir, To: url, Progress: &progress, Batch: 4})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if bad := res.Mismatches(); len(bad) > 0 {
		t.Errorf("counts differ: %+v", bad)
	}
	// Every table held something: the fixture covers them all.
	var tables []string
	for _, c := range res.Counts {
		tables = append(tables, c.Table)
		if c.Source == 0 {
			t.Errorf("the fixture has no %s", c.Table)
		}
	}
	if !slices.Contains(tables, "touch_keys") || !slices.Contains(tables, "insert_ids") || !slices.Contains(tables, "pending_attribution_keys") {
		t.Errorf("the derived tables are not counted: %v", tables)
	}
	// A line per table, without redraws: the writer is no terminal.
	if lines := strings.Count(progress.String(), "\n"); strings.Contains(progress.String(), "\r") || lines < len(res.Counts)-3 {
		t.Errorf("progress:\n%s", progress.String())
	}
	if !regexp.MustCompile(`(?m)^touches +27 / 27 +\[#+\]`).MatchString(progress.String()) {
		t.Errorf("no progress line of the touches (24, and 3 in the journal):\n%s", progress.String())
	}

	now := fx.now
	src := openSource(t, dir, func() time.Time { return now })
	defer src.Close()
	dst, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.Clock = func() time.Time { return now }

	compare(t, src, dst, fx)
	t.Logf("%d questions asked of both stores", compared)
	nextIDs(t, src, dst, now)
}

// compared counts the questions both stores were asked.
var compared int

// same reports a difference between what the two stores answered.
func same(t *testing.T, what string, a, b any, errA, errB error) {
	t.Helper()
	compared++
	if touchpoint.ErrorCode(errA) != touchpoint.ErrorCode(errB) || (errA == nil) != (errB == nil) {
		t.Errorf("%s: the embedded store answers %v, PostgreSQL %v", what, errA, errB)
		return
	}
	if ja, jb := jsonOf(a), jsonOf(b); ja != jb {
		t.Errorf("%s differs:\nembedded:   %s\npostgresql: %s", what, ja, jb)
	}
}

// compare asks both stores the same questions.
func compare(t *testing.T, src *sqlite.DB, dst *postgres.DB, fx child) {
	ctx := context.Background()
	now := fx.now
	long := now.Add(-60 * 24 * time.Hour)

	// Apps, partners, secrets; the keys still open what they opened.
	apps, err := src.ListApps(ctx)
	if err != nil || len(apps) != 2 {
		t.Fatalf("ListApps: %v, %v", apps, err)
	}
	got, err2 := dst.ListApps(ctx)
	same(t, "ListApps", apps, got, err, err2)
	for _, a := range got {
		if key := fx.devKeys[a.ID]; key != "" && touchpoint.HashKey(key) != a.DevKeyHash {
			t.Errorf("app %s: its dev key does not match its hash", a.ID)
		}
	}
	for _, app := range []string{appA, appB} {
		a1, e1 := src.FindApp(ctx, app)
		a2, e2 := dst.FindApp(ctx, app)
		same(t, "FindApp "+app, a1, a2, e1, e2)
		ps, e1 := src.ListPartners(ctx, app)
		ps2, e2 := dst.ListPartners(ctx, app)
		same(t, "ListPartners "+app, ps, ps2, e1, e2)
		for _, p := range ps {
			s1, e1 := src.ListSecrets(ctx, app, p.PID)
			s2, e2 := dst.ListSecrets(ctx, app, p.PID)
			same(t, "ListSecrets "+p.PID, s1, s2, e1, e2)
			r1, e1 := src.SigningReport(ctx, app, p.PID, long, now.Add(time.Hour))
			r2, e2 := dst.SigningReport(ctx, app, p.PID, long, now.Add(time.Hour))
			same(t, "SigningReport "+app+" "+p.PID, r1, r2, e1, e2)
		}

		// Touches: every one, by id and by each of its keys.
		ts, _, e1 := src.ListTouches(ctx, touchpoint.TouchFilter{App: app, Limit: 1000})
		ts2, _, e2 := dst.ListTouches(ctx, touchpoint.TouchFilter{App: app, Limit: 1000})
		same(t, "ListTouches "+app, ts, ts2, e1, e2)
		for _, f := range []touchpoint.TouchFilter{{App: app}, {App: app, Kind: touchpoint.Impression}, {App: app, PID: "other_int"},
			{App: app, From: now.Add(-10 * 24 * time.Hour), To: now}} {
			n1, e1 := src.CountTouches(ctx, f)
			n2, e2 := dst.CountTouches(ctx, f)
			same(t, fmt.Sprintf("CountTouches %+v", f), n1, n2, e1, e2)
		}
		for _, tc := range ts {
			f1, e1 := src.FindTouch(ctx, app, tc.ID)
			f2, e2 := dst.FindTouch(ctx, app, tc.ID)
			same(t, fmt.Sprintf("FindTouch %d", tc.ID), f1, f2, e1, e2)
			for _, k := range tc.Keys() {
				k1, e1 := src.TouchesByKeys(ctx, app, []touchpoint.LookupKey{k}, long)
				k2, e2 := dst.TouchesByKeys(ctx, app, []touchpoint.LookupKey{k}, long)
				same(t, fmt.Sprintf("TouchesByKeys of touch %d", tc.ID), k1, k2, e1, e2)
				if len(k2) == 0 {
					t.Errorf("touch %d is not found by its key %d", tc.ID, k)
				}
			}
		}
		r1, e1 := src.Report(ctx, touchpoint.ReportFilter{App: app, From: long, To: now, GroupBy: []string{"day", "media_source", "campaign"}})
		r2, e2 := dst.Report(ctx, touchpoint.ReportFilter{App: app, From: long, To: now, GroupBy: []string{"day", "media_source", "campaign"}})
		same(t, "Report "+app, r1, r2, e1, e2)
		l1, e1 := src.LatestInstall(ctx, app)
		l2, e2 := dst.LatestInstall(ctx, app)
		same(t, "LatestInstall "+app, l1, l2, e1, e2)
		au, e1 := src.ListAudiences(ctx, app)
		au2, e2 := dst.ListAudiences(ctx, app)
		same(t, "ListAudiences "+app, au, au2, e1, e2)
		for _, a := range au {
			f1, e1 := src.FindAudienceByImportKey(ctx, a.ImportKey)
			f2, e2 := dst.FindAudienceByImportKey(ctx, a.ImportKey)
			same(t, "FindAudienceByImportKey", f1, f2, e1, e2)
			for _, id := range []string{"gaid", "cuid"} {
				m1, e1 := src.AudienceMembers(ctx, a.ID, id, touchpoint.AudienceMember{}, 100)
				m2, e2 := dst.AudienceMembers(ctx, a.ID, id, touchpoint.AudienceMember{}, 100)
				same(t, "AudienceMembers "+id, m1, m2, e1, e2)
			}
			f1m, e1 := src.FindAudienceMember(ctx, a.ID, "gaid", gaid)
			f2m, e2 := dst.FindAudienceMember(ctx, a.ID, "gaid", gaid)
			same(t, "FindAudienceMember", f1m, f2m, e1, e2)
		}
	}
	for _, id := range fx.journal {
		tc, err := dst.FindTouch(ctx, appA, id)
		if err != nil {
			t.Errorf("a click left in the journal (%d) is not in PostgreSQL: %v", id, err)
			continue
		}
		k, err := dst.TouchesByKeys(ctx, appA, []touchpoint.LookupKey{touchpoint.ClickIDKey(appA, tc.Params.ClickID)}, time.Time{})
		if err != nil || len(k) != 1 || k[0].ID != id {
			t.Errorf("the journal's click %d by its click id: %v, %v", id, k, err)
		}
	}

	// Devices, installs, conversions.
	for _, d := range devices {
		d1, e1 := src.FindDevice(ctx, appA, d)
		d2, e2 := dst.FindDevice(ctx, appA, d)
		same(t, "FindDevice "+d, d1, d2, e1, e2)
		if d1 == nil {
			continue
		}
		b1, e1 := src.FindDeviceByIDs(ctx, appA, d1.IDs)
		b2, e2 := dst.FindDeviceByIDs(ctx, appA, d1.IDs)
		same(t, "FindDeviceByIDs "+d, b1, b2, e1, e2)
		c1, e1 := src.FindDeviceByCustomerUserID(ctx, appA, d1.CustomerUserID)
		c2, e2 := dst.FindDeviceByCustomerUserID(ctx, appA, d1.CustomerUserID)
		same(t, "FindDeviceByCustomerUserID "+d, c1, c2, e1, e2)
		i1, e1 := src.ListInstalls(ctx, appA, d)
		i2, e2 := dst.ListInstalls(ctx, appA, d)
		same(t, "ListInstalls "+d, i1, i2, e1, e2)
		for _, in := range i1 {
			f1, e1 := src.FindInstall(ctx, appA, in.ID)
			f2, e2 := dst.FindInstall(ctx, appA, in.ID)
			same(t, fmt.Sprintf("FindInstall %d", in.ID), f1, f2, e1, e2)
		}
		v1, e1 := src.ListConversions(ctx, appA, d)
		v2, e2 := dst.ListConversions(ctx, appA, d)
		same(t, "ListConversions "+d, v1, v2, e1, e2)
	}

	// The outbox: every delivery with its attempts, health, backlog.
	ds, _, e1 := src.ListDeliveries(ctx, touchpoint.DeliveryFilter{Limit: 1000})
	ds2, _, e2 := dst.ListDeliveries(ctx, touchpoint.DeliveryFilter{Limit: 1000})
	same(t, "ListDeliveries", ds, ds2, e1, e2)
	states := map[touchpoint.DeliveryState]int{}
	for _, d := range ds {
		f1, e1 := src.FindDelivery(ctx, d.ID)
		f2, e2 := dst.FindDelivery(ctx, d.ID)
		same(t, fmt.Sprintf("FindDelivery %d", d.ID), f1, f2, e1, e2)
		if f2 != nil && f1 != nil && f1.Lease != f2.Lease {
			t.Errorf("delivery %d: lease %d, then %d", d.ID, f1.Lease, f2.Lease)
		}
		if f2 != nil && len(f2.Attempts) > 0 {
			states[f2.State]++
		}
	}
	if states[touchpoint.DeliverySucceeded] == 0 || states[touchpoint.DeliveryFailed] == 0 || states[touchpoint.DeliveryPending] == 0 {
		t.Errorf("attempts of each state: %v", states)
	}
	for _, pid := range []string{"net_int", "other_int"} {
		h1, e1 := src.DeliveryHealth(ctx, appA, pid, long, now.Add(24*time.Hour))
		h2, e2 := dst.DeliveryHealth(ctx, appA, pid, long, now.Add(24*time.Hour))
		same(t, "DeliveryHealth "+pid, h1, h2, e1, e2)
	}
	b1, e1 := src.DeliveryBacklog(ctx)
	b2, e2 := dst.DeliveryBacklog(ctx)
	same(t, "DeliveryBacklog", b1, b2, e1, e2)

	// Exchange rates.
	for _, day := range []time.Time{now.AddDate(0, 0, -1), now, now.AddDate(0, 0, 3)} {
		r1, e1 := src.FindExchangeRates(ctx, day)
		r2, e2 := dst.FindExchangeRates(ctx, day)
		same(t, "FindExchangeRates "+day.Format(time.DateOnly), r1, r2, e1, e2)
		u1, on1, e1 := src.USDRate(ctx, "EUR", day)
		u2, on2, e2 := dst.USDRate(ctx, "EUR", day)
		same(t, "USDRate "+day.Format(time.DateOnly), []any{u1, on1}, []any{u2, on2}, e1, e2)
	}

	// Projects, their keys, users, events, groups, held attributions,
	// charts.
	ps, e1 := src.ListProjects(ctx)
	ps2, e2 := dst.ListProjects(ctx)
	same(t, "ListProjects", ps, ps2, e1, e2)
	for _, p := range ps {
		f1, e1 := src.FindProject(ctx, p.ID)
		f2, e2 := dst.FindProject(ctx, p.ID)
		same(t, fmt.Sprintf("FindProject %d", p.ID), f1, f2, e1, e2)
		if key := fx.apiKeys[p.ID]; key == "" {
			t.Errorf("project %d: no API key", p.ID)
		} else if k, err := dst.ProjectByAPIKey(key); err != nil || k.ID != p.ID {
			t.Errorf("project %d by its API key: %+v, %v", p.ID, k, err)
		}
		for _, u := range append(users, [2]string{"rehearsal", ""}) {
			l1, e1 := src.LookupUser(ctx, p.ID, u[0], u[1])
			l2, e2 := dst.LookupUser(ctx, p.ID, u[0], u[1])
			same(t, fmt.Sprintf("LookupUser %d %v", p.ID, u), l1, l2, e1, e2)
			if l1 == nil {
				continue
			}
			var cursor int64
			for {
				p1, e1 := src.UserEvents(ctx, p.ID, l1.AmplitudeID, cursor, 7)
				p2, e2 := dst.UserEvents(ctx, p.ID, l1.AmplitudeID, cursor, 7)
				same(t, fmt.Sprintf("UserEvents %d after %d", l1.AmplitudeID, cursor), p1, p2, e1, e2)
				if e1 != nil || p1.Next == 0 {
					break
				}
				cursor = p1.Next
			}
		}
		g1, e1 := src.FindGroup(ctx, p.ID, "org", "acme")
		g2, e2 := dst.FindGroup(ctx, p.ID, "org", "acme")
		same(t, "FindGroup", g1, g2, e1, e2)
		for _, at := range []time.Time{now, now.Add(touchpoint.AttributionHold + time.Hour)} {
			h1, e1 := src.PendingAttributions(ctx, p.ID, at)
			h2, e2 := dst.PendingAttributions(ctx, p.ID, at)
			same(t, "PendingAttributions", h1, h2, e1, e2)
		}
		n1, e1 := src.CountUsers(ctx, p.ID)
		n2, e2 := dst.CountUsers(ctx, p.ID)
		same(t, "CountUsers", n1, n2, e1, e2)
		cc := chart.Context{Project: p.ID, Location: p.Location(), Now: now}
		for kind, q := range map[string]string{
			"segmentation": `{"events":[{"event_type":"open"},{"event_type":"purchase"}],"group_by":[{"property":"plan"}]}`,
			"uniques":      `{"events":[{"event_type":"_active"}],"metric":"uniques","interval":"week"}`,
			"funnel":       `{"steps":[{"event_type":"open"},{"event_type":"purchase"}]}`,
			"retention":    `{"start_event":{"event_type":"open"},"periods":10}`,
			"ltv":          `{}`,
		} {
			kind, _, _ := strings.Cut(kind, "-")
			if kind == "uniques" {
				kind = "segmentation"
			}
			c1, c2 := chart.New(kind), chart.New(kind)
			if err := json.Unmarshal([]byte(q), c1); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(q), c2)
			r1, e1 := chart.Run(ctx, src, cc, c1)
			r2, e2 := chart.Run(ctx, dst, cc, c2)
			same(t, "chart "+q, r1, r2, e1, e2)
		}

		// Cohorts and their syncs.
		cs, e1 := src.ListCohorts(ctx, p.ID)
		cs2, e2 := dst.ListCohorts(ctx, p.ID)
		same(t, "ListCohorts", cs, cs2, e1, e2)
		for _, c := range cs {
			v1, e1 := src.CohortVersions(ctx, c.ID)
			v2, e2 := dst.CohortVersions(ctx, c.ID)
			same(t, "CohortVersions", v1, v2, e1, e2)
			m1, e1 := src.CohortMembers(ctx, c.ID, 0, -1)
			m2, e2 := dst.CohortMembers(ctx, c.ID, 0, -1)
			same(t, "CohortMembers", m1, m2, e1, e2)
			if len(m2) == 0 {
				t.Errorf("cohort %d has no members", c.ID)
			}
			ms1, base1, e1 := src.CohortMembership(ctx, c.ID)
			ms2, base2, e2 := dst.CohortMembership(ctx, c.ID)
			same(t, "CohortMembership", []any{ms1, base1}, []any{ms2, base2}, e1, e2)
			d1, e1 := src.CohortDevices(ctx, c.ID, touchpoint.MapUserID)
			d2, e2 := dst.CohortDevices(ctx, c.ID, touchpoint.MapUserID)
			same(t, "CohortDevices", d1, d2, e1, e2)
		}
	}
	f1, e1 := src.ListAnalyticsForwards(ctx)
	f2, e2 := dst.ListAnalyticsForwards(ctx)
	same(t, "ListAnalyticsForwards", f1, f2, e1, e2)
	dl1, e1 := src.ListDestinations(ctx, 0)
	dl2, e2 := dst.ListDestinations(ctx, 0)
	same(t, "ListDestinations", dl1, dl2, e1, e2)
	syncs, e1 := src.ListCohortSyncs(ctx, 0)
	syncs2, e2 := dst.ListCohortSyncs(ctx, 0)
	same(t, "ListCohortSyncs", syncs, syncs2, e1, e2)
	for _, s := range syncs {
		r1, e1 := src.SyncRuns(ctx, s.ID, 100)
		r2, e2 := dst.SyncRuns(ctx, s.ID, 100)
		same(t, "SyncRuns", r1, r2, e1, e2)
		d1, e1 := src.SentDevices(ctx, s.ID)
		d2, e2 := dst.SentDevices(ctx, s.ID)
		same(t, "SentDevices", d1, d2, e1, e2)
		// The run under way when the server stopped still holds its
		// claim on both.
		_, e1 = src.ClaimCohortSync(ctx, s.ID, now, now.Add(time.Minute))
		_, e2 = dst.ClaimCohortSync(ctx, s.ID, now, now.Add(time.Minute))
		same(t, "ClaimCohortSync", nil, nil, e1, e2)
	}
	c1, e1 := src.ClaimCohortSyncs(ctx, now.Add(2*time.Hour), now.Add(3*time.Hour))
	c2, e2 := dst.ClaimCohortSyncs(ctx, now.Add(2*time.Hour), now.Add(3*time.Hour))
	same(t, "ClaimCohortSyncs", c1, c2, e1, e2)

	// The lease the stopped server held is still its own.
	l1, e1 := src.AcquireLease(ctx, "touch-purge", "node-2", now, now.Add(time.Minute))
	l2, e2 := dst.AcquireLease(ctx, "touch-purge", "node-2", now, now.Add(time.Minute))
	same(t, "AcquireLease", l1, l2, e1, e2)
}

// nextIDs writes the same things to both stores and checks that they
// give the same ids: the embedded store's next ones, past every id
// copied.
func nextIDs(t *testing.T, src *sqlite.DB, dst *postgres.DB, now time.Time) {
	ctx := context.Background()
	both := func(what string, write func(touchpoint.Store) (int64, error)) {
		t.Helper()
		a, err := write(src)
		if err != nil {
			t.Fatalf("%s in the embedded store: %v", what, err)
		}
		b, err := write(dst)
		if err != nil {
			t.Fatalf("%s in PostgreSQL: %v", what, err)
		}
		if a != b || b == 0 {
			t.Errorf("%s: the embedded store gives id %d, PostgreSQL %d", what, a, b)
		}
	}
	both("a touch", func(s touchpoint.Store) (int64, error) {
		tc := storetest.NewTouch(appA, "net_int", now)
		return tc.ID, s.RecordTouches(ctx, []*touchpoint.Touch{tc})
	})
	both("an install", func(s touchpoint.Store) (int64, error) {
		d := &touchpoint.Device{App: appA, ID: "dev-new", InstallTime: now, FirstLaunch: now, LastLaunch: now, Launches: 1,
			Attribution: touchpoint.OrganicAttribution()}
		d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: "11111111-0000-4000-8000-000000000001"}
		in := &touchpoint.Install{App: appA, DeviceID: d.ID, Type: touchpoint.TypeInstall, Time: now, Attribution: d.Attribution}
		w := &touchpoint.LaunchWrite{Key: "launch-new", Device: d, Install: in}
		err := s.WriteLaunches(ctx, []*touchpoint.LaunchWrite{w})
		return in.ID, err
	})
	both("a conversion", func(s touchpoint.Store) (int64, error) {
		c := &touchpoint.Conversion{App: appA, DeviceID: "dev-new", Name: "open", Time: now, Source: "SDK", CreatedAt: now}
		return c.ID, s.WriteConversions(ctx, []*touchpoint.ConversionWrite{{Conversion: c}})
	})
	both("a delivery", func(s touchpoint.Store) (int64, error) {
		d := &touchpoint.Delivery{App: appA, PID: "net_int", Kind: touchpoint.KindInstallPostback, Source: "x", Method: "GET",
			URL: "https://postbacks.example.net/n", Host: "postbacks.example.net", MaxTries: 1}
		err := s.EnqueueDeliveries(ctx, []*touchpoint.Delivery{d})
		return d.ID, err
	})
	both("a project", func(s touchpoint.Store) (int64, error) {
		p := storetest.MustCreateProject(t, s, "New")
		return p.ID, nil
	})
	both("a user and its event", func(s touchpoint.Store) (int64, error) {
		e := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: "user-new", DeviceID: "device-new", EventType: "open",
			Time: now.UnixMilli(), Data: []byte(`{"event_type":"open"}`)}
		if err := s.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: 1, Received: now, Events: []*touchpoint.IncomingEvent{e}}}); err != nil {
			return 0, err
		}
		u, err := s.LookupUser(ctx, 1, "user-new", "")
		if err != nil {
			return 0, err
		}
		page, err := s.UserEvents(ctx, 1, u.AmplitudeID, 0, 10)
		if err != nil || len(page.Events) != 1 {
			return 0, fmt.Errorf("events %v, %v", page, err)
		}
		var ev struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(page.Events[0], &ev)
		return u.AmplitudeID<<20 | ev.ID, nil
	})
	both("a destination", func(s touchpoint.Store) (int64, error) {
		d := &touchpoint.Destination{Project: 1, Kind: touchpoint.DestinationAppsFlyerEvents, Name: "More", AppsFlyerAppID: appA, Key: "k"}
		return d.ID, s.CreateDestination(ctx, d)
	})
	var co int64
	both("a cohort", func(s touchpoint.Store) (int64, error) {
		c := &touchpoint.Cohort{Project: 1, Name: "New", Definition: touchpoint.Condition{Event: &touchpoint.EventCondition{
			EventType: "open", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
		err := s.CreateCohort(ctx, c)
		co = c.ID
		return c.ID, err
	})
	both("a computation", func(s touchpoint.Store) (int64, error) {
		if _, err := cohort.Compute(ctx, s, co, now); err != nil {
			return 0, err
		}
		_, base, err := s.CohortMembership(ctx, co)
		return base, err
	})
	both("an audience", func(s touchpoint.Store) (int64, error) {
		a := &touchpoint.Audience{App: appA, Name: "New", Platform: touchpoint.Android}
		return a.ID, s.CreateAudience(ctx, a)
	})
	var sync int64
	both("a cohort sync", func(s touchpoint.Store) (int64, error) {
		ds, err := s.ListDestinations(ctx, 1)
		if err != nil {
			return 0, err
		}
		i := slices.IndexFunc(ds, func(d *touchpoint.Destination) bool { return d.Kind == touchpoint.DestinationAppsFlyerCohort })
		c := &touchpoint.CohortSync{Cohort: co, Destination: ds[i].ID, Enabled: true}
		err = s.CreateCohortSync(ctx, c)
		sync = c.ID
		return c.ID, err
	})
	both("a sync run", func(s touchpoint.Store) (int64, error) {
		r := &touchpoint.SyncRun{Sync: sync, StartedAt: now, FinishedAt: now, Status: touchpoint.RunOK}
		return r.ID, s.RecordSyncRun(ctx, r, nil)
	})
}

// TestRefusals: a target that holds data, a source that does not exist
// or that a server holds: refused, with nothing changed on either side.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return storetest.Start }
	dir := t.TempDir()
	db := openSource(t, dir, now)
	storetest.MustCreateApp(t, db, appA)
	tc := storetest.NewTouch(appA, "net_int", storetest.Start)
	if err := db.RecordTouches(ctx, []*touchpoint.Touch{tc}); err != nil {
		t.Fatal(err)
	}

	url := pgtest.FreshDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tablesOf := func() string {
		var names []string
		rows, _ := conn.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY relname`)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}

	// The source is held by a server (this store, open).
	_, err = migrate.Run(ctx, migrate.Config{From: dir, To: url})
	if !errors.Is(err, sqlite.ErrInUse) || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("a source in use: %v", err)
	}
	if got := tablesOf(); got != "" {
		t.Errorf("the target changed: %s", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// No source.
	missing := filepath.Join(t.TempDir(), "none")
	_, err = migrate.Run(ctx, migrate.Config{From: missing, To: url})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("no source: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing source was made: %v", err)
	}

	// A target with data: a store some node already wrote to.
	pg, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	pg.Clock = now
	storetest.MustCreateApp(t, pg, "com.example.other")
	pg.Close()
	before := tablesOf()
	info, _ := os.Stat(filepath.Join(dir, migrate.DatabaseFile))
	_, err = migrate.Run(ctx, migrate.Config{From: dir, To: url})
	if !errors.Is(err, postgres.ErrNotEmpty) || !strings.Contains(err.Error(), "apps") {
		t.Errorf("a target with data: %v", err)
	}
	if tablesOf() != before {
		t.Error("the target's tables changed")
	}
	var n int
	conn.QueryRow(ctx, `SELECT count(*) FROM apps`).Scan(&n)
	if n != 1 {
		t.Errorf("the target holds %d apps", n)
	}
	if after, _ := os.Stat(filepath.Join(dir, migrate.DatabaseFile)); !after.ModTime().Equal(info.ModTime()) {
		t.Error("the source changed")
	}
}

// TestFailedCopyEmptiesTarget: a copy that fails part way (a row the
// target refuses) leaves the target empty, so that it can be tried again.
func TestFailedCopyEmptiesTarget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openSource(t, dir, func() time.Time { return storetest.Start })
	storetest.MustCreateApp(t, db, appA)
	p := storetest.MustCreateProject(t, db, "Game")
	// A cohort whose definition holds a NUL, which JSONB refuses.
	c := &touchpoint.Cohort{Project: p.ID, Name: "Nul", Definition: touchpoint.Condition{Event: &touchpoint.EventCondition{
		EventType: "a\x00b", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	if err := db.CreateCohort(ctx, c); err != nil {
		t.Fatal(err)
	}
	db.Close()
	url := pgtest.FreshDatabase(t)
	_, err := migrate.Run(ctx, migrate.Config{From: dir, To: url})
	if err == nil || !strings.Contains(err.Error(), "copying cohorts") || !strings.Contains(err.Error(), "emptied again") {
		t.Fatalf("a copy that fails: %v", err)
	}
	if err := postgres.CheckEmpty(ctx, url); err != nil {
		t.Errorf("after the failed copy: %v", err)
	}
}

// TestSchemaCovered: every column of every table of the embedded store is
// read by the copy (a column added by a later migration must be copied
// too), and every table of the PostgreSQL store is filled.
func TestSchemaCovered(t *testing.T) {
	dir := t.TempDir()
	db := openSource(t, dir, func() time.Time { return storetest.Start })
	defer db.Close()
	x, err := db.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	names, err := x.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	queries := migrate.SourceQueries()
	// Columns that copy what another column holds.
	derived := map[string]bool{
		"cohort_syncs.next_run": true, // the sync's data holds it; the column is it while enabled
	}
	for _, name := range names {
		q, ok := queries[name]
		if !ok {
			continue // not copied row by row: checked by Run (checkSource)
		}
		cols, err := x.Columns(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if derived[name+"."+c] {
				continue
			}
			if !regexp.MustCompile(`\b` + c + `\b`).MatchString(q) {
				t.Errorf("%s.%s is not copied (%s)", name, c, q)
			}
		}
	}
}
