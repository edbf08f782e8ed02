package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// BenchCohortApp is the cohort benchmark's app.
const BenchCohortApp = "com.bench.cohort"

// benchCohorts are the definitions the cohort benchmark computes.
var benchCohorts = []struct {
	name string
	def  string
}{
	{"purchased in the last 7 days", `{"event":{"event_type":"purchase","op":"at_least","count":1,"within_days":7}}`},
	{"2+ purchases over $20 in 30 days (event property)",
		`{"event":{"event_type":"purchase","op":"at_least","count":2,"within_days":30,"where":[{"property":"price","op":">","value":20}]}}`},
	{"from examplenet, never finished the tutorial",
		`{"and":[{"user_property":{"property":"[AppsFlyer] media source","op":"=","value":"examplenet"}},
		{"not":{"event":{"event_type":"tutorial_complete","op":"at_least","count":1,"within_days":30}}}]}`},
	{"active in the last 30 days (the sync's cohort)", `{"event":{"event_type":"session_start","op":"at_least","count":1,"within_days":30}}`},
}

// runBenchCohort is "touchpoint bench cohort": it fills a store with a
// project of N users and M events over the last 30 days (once: a data
// directory that has them is reused), computes each benchmark cohort from
// scratch R times, then syncs the last cohort (every user) R times to this
// server's Audiences API on loopback, each time a new cohort and a new
// audience, and prints the medians.
func runBenchCohort(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench cohort", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "bench-cohort", "data directory (created; reused when it holds the events)")
	users := fs.Int("users", 1_000_000, "users")
	events := fs.Int("events", 10_000_000, "events")
	runs := fs.Int("runs", 3, "times each cohort is computed and synced")
	batch := fs.Int("batch", touchpoint.DefaultSyncBatch, "devices per Audiences API request")
	only := fs.Int("only", 0, "compute only cohort N (1-4) and skip the sync")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the computations to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *users < 1 || *events < *users || *runs < 1 {
		return fmt.Errorf("want --users ≥ 1, --events ≥ --users, --runs ≥ 1")
	}
	db, err := openBenchDB(*dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	project, app, err := benchCohortData(ctx, db, *users, *events, stderr)
	if err != nil {
		return err
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stdout, "store: %d users, %d events\n", *users, *events)
	fmt.Fprintf(stdout, "%-52s %10s %12s %12s\n", "cohort", "members", "first (med)", "again (med)")
	// first: a new cohort, nothing kept in memory; again: the same cohort
	// computed at once after, incrementally.
	for i, bc := range benchCohorts {
		if *only != 0 && *only != i+1 {
			continue
		}
		var def touchpoint.Condition
		if err := json.Unmarshal([]byte(bc.def), &def); err != nil {
			return err
		}
		var first, again []time.Duration
		var size int64
		for range *runs {
			c := &touchpoint.Cohort{Project: project, Name: bc.name, Definition: def}
			if err := db.CreateCohort(ctx, c); err != nil {
				return err
			}
			db.ForgetCohortState()
			began := time.Now()
			m, err := cohort.Compute(ctx, db, c.ID, db.Now())
			if err != nil {
				return err
			}
			first = append(first, time.Since(began))
			began = time.Now()
			if _, err := cohort.Compute(ctx, db, c.ID, db.Now()); err != nil {
				return err
			}
			again = append(again, time.Since(began))
			size = m.Size
			if err := db.DeleteCohort(ctx, c.ID); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%-52s %10d %12s %12s   first: %v\n", bc.name, size, median(first), median(again), rounded(first))
	}

	if *only != 0 {
		return nil
	}
	// The first sync of the last cohort to this server's Audiences API.
	srv := httpapi.NewServer(db)
	srv.Addr = "127.0.0.1:0"
	srv.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv.CatalogRefresh = 0
	srv.CohortSyncInterval = 20 * time.Millisecond
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	var def touchpoint.Condition
	json.Unmarshal([]byte(benchCohorts[len(benchCohorts)-1].def), &def)
	var syncs []time.Duration
	for i := range *runs {
		d := &touchpoint.Destination{Project: project, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "bench " + strconv.Itoa(i),
			AppsFlyerAppID: app.ID, APIToken: app.APIToken, Platform: touchpoint.Android, Identifier: touchpoint.MapGAID, Enabled: true}
		// One cohort destination per app: the previous run's goes first.
		ds, err := db.ListDestinations(ctx, project)
		if err != nil {
			return err
		}
		c := &touchpoint.Cohort{Project: project, Name: "Active", Definition: def}
		if err := db.CreateCohort(ctx, c); err != nil {
			return err
		}
		for _, old := range ds {
			syncs, _ := db.ListCohortSyncs(ctx, 0)
			for _, sy := range syncs {
				if sy.Destination == old.ID {
					db.DeleteCohortSync(ctx, sy.ID)
				}
			}
			if err := db.DeleteDestination(ctx, old.ID); err != nil {
				return err
			}
		}
		if err := db.CreateDestination(ctx, d); err != nil {
			return err
		}
		db.ForgetCohortState()
		sy := &touchpoint.CohortSync{Cohort: c.ID, Destination: d.ID, Cadence: touchpoint.CadenceOnce, BatchSize: *batch, Enabled: true}
		if err := db.CreateCohortSync(ctx, sy); err != nil {
			return err
		}
		var run *touchpoint.SyncRun
		for run == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			rs, err := db.SyncRuns(ctx, sy.ID, 1)
			if err != nil {
				return err
			}
			if len(rs) > 0 {
				run = rs[0]
			}
		}
		took := run.FinishedAt.Sub(run.StartedAt)
		syncs = append(syncs, took)
		got, err := db.FindCohortSync(ctx, sy.ID)
		if err != nil {
			return err
		}
		aud, err := db.FindAudience(ctx, got.AudienceID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "first sync %d: %s, %s: %d added, %d skipped, %d failed in %d requests; audience size %d\n",
			i+1, took.Round(time.Millisecond), run.Status, run.Added, run.Skipped, run.Failed, len(run.Responses), aud.Size)
		if err := db.DeleteCohort(ctx, c.ID); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "first sync of the active cohort: median %s %v\n", median(syncs), rounded(syncs))
	return nil
}

// benchCohortData returns the benchmark project and app, filling the
// store first when it has none.
func benchCohortData(ctx context.Context, db *sqlite.DB, users, events int, stderr io.Writer) (int64, *touchpoint.App, error) {
	// The store keeps only the hash of the app's API token, which the
	// destination must send: a store filled before gets a fresh token.
	if app, err := db.RotateAppKey(ctx, BenchCohortApp, touchpoint.APIToken); err == nil {
		ps, err := db.ListProjects(ctx)
		if err != nil {
			return 0, nil, err
		}
		for _, p := range ps {
			if slices.Contains(p.Apps, BenchCohortApp) {
				return p.ID, app, nil
			}
		}
	}
	app := &touchpoint.App{ID: BenchCohortApp, Platform: touchpoint.Android, Name: "Cohort bench", Windows: touchpoint.DefaultWindows(),
		StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, BenchCohortApp), MinCTIT: touchpoint.DefaultMinCTIT}
	if err := db.CreateApp(ctx, app); err != nil {
		return 0, nil, err
	}
	p := &touchpoint.Project{Name: "Cohort bench", Apps: []string{app.ID},
		Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := db.CreateProject(ctx, p); err != nil {
		return 0, nil, err
	}
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UnixMilli()
	month := int64(30 * 24 * time.Hour / time.Millisecond)
	sources := []string{"examplenet", "examplenet", "othernet", "organic", "organic"}
	types := []string{"session_start", "session_start", "session_start", "level_up", "level_up", "tutorial_complete", "purchase", "ad_view"}
	const upload = 2000
	began := time.Now()
	var up []*touchpoint.IncomingEvent
	flush := func() error {
		if len(up) == 0 {
			return nil
		}
		err := db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: time.Now(), Events: up}})
		up = up[:0]
		return err
	}
	// Round r gives every user one event; the first round is each user's
	// session start with its properties, the rest spread over the types.
	perUser := events / users
	for i := range events {
		r, u := i/users, i%users
		if r >= perUser {
			u = rng.IntN(users)
		}
		typ := types[rng.IntN(len(types))]
		e := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: "u" + strconv.Itoa(u), EventType: typ,
			Time: now - rng.Int64N(month), Platform: "Android", AdIDs: touchpoint.AdIDs{ADID: BenchGAID(u)}}
		if r == 0 {
			e.EventType = "session_start"
			e.DeviceID = "d" + strconv.Itoa(u)
			e.UserProperties = map[string]any{"$set": map[string]any{"[AppsFlyer] media source": sources[u%len(sources)],
				"[AppsFlyer] campaign": "campaign_" + strconv.Itoa(u%20)}}
		}
		switch e.EventType {
		case "purchase":
			price := float64(rng.IntN(10000)) / 100
			e.Data = []byte(`{"event_type":"purchase","platform":"Android","event_properties":{"price":` +
				strconv.FormatFloat(price, 'f', -1, 64) + `,"currency":"USD"}}`)
		case "level_up":
			e.Data = []byte(`{"event_type":"level_up","platform":"Android","event_properties":{"level":` + strconv.Itoa(rng.IntN(50)) + `}}`)
		default:
			e.Data = []byte(`{"event_type":"` + e.EventType + `","platform":"Android"}`)
		}
		up = append(up, e)
		if len(up) == upload {
			if err := flush(); err != nil {
				return 0, nil, err
			}
		}
		if (i+1)%1_000_000 == 0 {
			fmt.Fprintf(stderr, "%d events recorded (%.0f/s)\n", i+1, float64(i+1)/time.Since(began).Seconds())
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
	}
	if err := flush(); err != nil {
		return 0, nil, err
	}
	fmt.Fprintf(stderr, "loaded %d events of %d users in %s\n", events, users, time.Since(began).Round(time.Second))
	return p.ID, app, nil
}

// median returns the median of durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
