package main

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/task"
)

// BenchChartsAnchor is the end of the charts benchmark's data and the time
// its charts are computed at: a constant, so that the data and the answers
// are the same every run.
var BenchChartsAnchor = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// benchChartsVersion names the seeding below: a data directory seeded by
// another version is not reused.
const benchChartsVersion = 1

// benchChartsSources are the media sources users come from, with their
// shares in percent.
var benchChartsSources = []struct {
	name  string
	share uint64
}{{"organic", 38}, {"googleadwords_int", 22}, {"Facebook Ads", 17}, {"tiktokglobal_int", 10}, {"applovin_int", 8}, {"unityads_int", 5}}

// benchSourceShares are benchChartsSources' shares, for benchPick.
var benchSourceShares = func() []uint64 {
	shares := make([]uint64, len(benchChartsSources))
	for i, s := range benchChartsSources {
		shares[i] = s.share
	}
	return shares
}()

// benchChartsCampaigns is how many campaigns the paid sources' users come
// from.
const benchChartsCampaigns = 40

// The event types of the seeding, as packed (benchEvent).
const (
	evFirst    = iota // a user's first session_start, with its user properties
	evSession         // session_start
	evTutorial        // tutorial_complete
	evLevel           // level_up {"level": n}
	evAd              // ad_view
	evPurchase        // purchase with $price and $quantity
)

var benchChartsTypes = [...]string{"session_start", "session_start", "tutorial_complete", "level_up", "ad_view", "purchase"}

// A purchase's price is one of these, the cheap ones most often.
var (
	benchPrices       = []float64{0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99}
	benchPriceWeights = []uint64{30, 25, 20, 12, 7, 4, 2} // sum 100
)

// benchChartsQuery is one chart the benchmark computes.
type benchChartsQuery struct {
	name  string
	bar   time.Duration // the goal for its median; 0: none
	query func() chart.Query
}

// benchChartsQueries are the benchmark's charts at anchor: the last 30
// days, by the users' media source.
func benchChartsQueries(anchor time.Time) []benchChartsQuery {
	day := func(d int) string { return anchor.AddDate(0, 0, d).Format(time.DateOnly) }
	last30 := chart.Range{Start: day(-30), End: day(-1)}
	before := chart.Range{Start: day(-60), End: day(-31)}
	source := func() *chart.Property { return &chart.Property{Type: "user", Property: "[AppsFlyer] media source"} }
	campaign := chart.Property{Type: "user", Property: "[AppsFlyer] campaign"}
	return []benchChartsQuery{
		{"segmentation: uniques of session_start by media source, 30 days", time.Second, func() chart.Query {
			return &chart.Segmentation{Events: []chart.EventSpec{{EventType: "session_start"}}, Metric: chart.Uniques,
				Interval: chart.Day, Range: last30, GroupBy: []chart.Property{*source()}}
		}},
		{"funnel: session_start → tutorial_complete → purchase by media source, 30 days", 3 * time.Second, func() chart.Query {
			return &chart.Funnel{Steps: []chart.EventSpec{{EventType: "session_start"}, {EventType: "tutorial_complete"}, {EventType: "purchase"}},
				Range: last30, GroupBy: source()}
		}},
		{"retention: session_start, then any event, 30 days × 30 day periods, by media source", 3 * time.Second, func() chart.Query {
			return &chart.Retention{StartEvent: chart.EventSpec{EventType: "session_start"}, Range: last30,
				Interval: chart.Day, Mode: chart.NDay, Periods: 30, GroupBy: source()}
		}},
		{"ltv: users first seen 60 to 31 days ago, 30 days, by media source", 0, func() chart.Query {
			return &chart.LTV{Range: before, Days: 30, GroupBy: source()}
		}},
		{"segmentation: sum of revenue of purchase by media source and campaign, 30 days", time.Second, func() chart.Query {
			return &chart.Segmentation{Events: []chart.EventSpec{{EventType: "purchase"}}, Metric: chart.Sum, Property: chart.RevenueProp,
				Interval: chart.Day, Range: last30, GroupBy: []chart.Property{*source(), campaign}}
		}},
	}
}

// runBenchCharts is "touchpoint bench charts": it fills a store with a
// project of N users and M events over D days ending at BenchChartsAnchor
// (once: a data directory that has them is reused), computes each
// benchmark chart R times in this process, and prints the first (cold)
// and the median of the rest, with the answers' gist and the peak RSS.
func runBenchCharts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench charts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "bench-charts", "data directory (created; reused when it holds this seeding)")
	users := fs.Int("users", 1_000_000, "users")
	events := fs.Int("events", 10_000_000, "events")
	days := fs.Int("days", 90, "days the events span, ending at "+BenchChartsAnchor.Format(time.DateOnly))
	runs := fs.Int("runs", 3, "times each chart is computed")
	only := fs.Int("only", 0, "compute only chart N (1-5)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the charts' computations to this file")
	memprofile := fs.String("memprofile", "", "write an allocation profile (pprof allocs) to this file after the charts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	queries := benchChartsQueries(BenchChartsAnchor)
	switch {
	case *users < 1 || *users >= 1<<benchUserBits || *events < *users:
		return errors.New("want 1 ≤ --users < 2^34 and --events ≥ --users")
	case *days < 1 || *days > 1000:
		return errors.New("want --days from 1 to 1000")
	case *runs < 1:
		return errors.New("want --runs ≥ 1")
	case *only < 0 || *only > len(queries):
		return fmt.Errorf("want --only from 1 to %d", len(queries))
	}
	spec := benchChartsSpec{users: *users, events: *events, days: *days}

	db, runner, err := openBenchChartsDB(*dataDir, stderr)
	if err != nil {
		return err
	}
	defer func() {
		runner.Stop()
		db.Close()
	}()
	project, seeded, err := benchChartsData(ctx, db, spec, stderr)
	if err != nil {
		return err
	}
	// Charts read what background work would have caught up with by
	// now: index the events, checkpoint the WAL.
	for _, t := range runner.Tasks {
		if t.Name == "sqlite-index-events" || t.Name == "sqlite-checkpoint" {
			if err := runner.RunOnce(ctx, t.Name); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
	}
	// The charts' columns, which a server loads in the background from
	// its start.
	began := time.Now()
	if err := runner.RunOnce(ctx, "sqlite-chart-index"); err != nil {
		return fmt.Errorf("sqlite-chart-index: %w", err)
	}
	fmt.Fprintf(stdout, "charts' columns loaded in %s (the background task sqlite-chart-index)\n", time.Since(began).Round(time.Millisecond))
	if seeded > 0 {
		fmt.Fprintf(stdout, "data: seeded %d users, %d events over %d days to %s in %s (%s)\n", spec.users, spec.events, spec.days,
			BenchChartsAnchor.Format(time.DateOnly), seeded.Round(time.Second), *dataDir)
	} else {
		fmt.Fprintf(stdout, "data: reused %d users, %d events over %d days to %s (%s)\n", spec.users, spec.events, spec.days,
			BenchChartsAnchor.Format(time.DateOnly), *dataDir)
	}
	hwm, rss := procStatusMB("VmHWM"), procStatusMB("VmRSS")
	// The queries' own peak: the seeding's garbage goes back to the
	// system, and the peak starts over from what is left.
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	after := "opening"
	if seeded > 0 {
		after = "seeding"
	}
	fmt.Fprintf(stdout, "peak RSS after %s: %s MB (RSS then %s MB, %s MB after a GC)\n", after, hwm, rss, procStatusMB("VmRSS"))

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	c := chart.Context{Project: project, Location: time.UTC, Now: BenchChartsAnchor}
	type row struct {
		n           int
		q           benchChartsQuery
		cold, med   time.Duration
		times       []time.Duration
		answer, bar string
	}
	var rows []row
	for i, bq := range queries {
		if *only != 0 && *only != i+1 {
			continue
		}
		r := row{n: i + 1, q: bq}
		for run := range *runs {
			began := time.Now()
			res, err := chart.Run(ctx, db, c, bq.query())
			took := time.Since(began)
			if err != nil {
				return fmt.Errorf("chart %d (%s): %w", i+1, bq.name, err)
			}
			fmt.Fprintf(stderr, "chart %d run %d: %s\n", i+1, run+1, took.Round(time.Millisecond))
			r.times = append(r.times, took)
			if run == 0 {
				r.answer = benchChartsGist(res)
			}
		}
		r.cold = r.times[0]
		if len(r.times) > 1 {
			r.med = benchMedian(r.times[1:])
		}
		r.bar = "–"
		if bq.bar > 0 {
			r.bar = "< " + bq.bar.String() + " ok"
			switch {
			case r.med > bq.bar || (len(r.times) == 1 && r.cold > bq.bar):
				r.bar = "< " + bq.bar.String() + " **OVER**"
			case r.cold > bq.bar:
				r.bar = "< " + bq.bar.String() + " ok (cold over)"
			}
		}
		rows = append(rows, r)
	}
	pprof.StopCPUProfile()

	cold := "the first in this process"
	if seeded > 0 {
		cold += ", which seeded the store (run again for a fresh process)"
	}
	fmt.Fprintf(stdout, "\ncharts at %s (UTC), %d runs each: cold = %s, median = of the rest\n\n",
		BenchChartsAnchor.Format(time.RFC3339), *runs, cold)
	fmt.Fprintln(stdout, "| # | chart | cold | median | bar | answer |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---|---|")
	for _, r := range rows {
		med := "–"
		if len(r.times) > 1 {
			med = r.med.String()
		}
		fmt.Fprintf(stdout, "| %d | %s | %s | %s | %s | %s |\n", r.n, r.q.name, r.cold.Round(time.Millisecond), med, r.bar, r.answer)
	}
	what := "during the charts (the peak reset after " + after + ")"
	if !reset {
		what = "of the whole process (could not reset it)"
	}
	peak, verdict := procStatusMB("VmHWM"), "ok"
	if n, err := strconv.Atoi(peak); err == nil && n >= 1024 {
		verdict = "**OVER**"
	}
	fmt.Fprintf(stdout, "\npeak RSS %s: %s MB (bar < 1 GB: %s)\n", what, peak, verdict)
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}

// openBenchChartsDB opens (creating it) the store of the benchmark's data
// directory, its clock stopped at BenchChartsAnchor, with its background
// work in a runner of ours, so that it can be settled before the charts.
func openBenchChartsDB(dir string, stderr io.Writer) (*sqlite.DB, *task.Runner, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	db.Clock = func() time.Time { return BenchChartsAnchor }
	db.Logger = logger
	db.ExternalTasks = true
	if err := db.Open(); err != nil {
		return nil, nil, err
	}
	r := &task.Runner{Tasks: db.Tasks(), Clock: db, Logger: logger}
	if err := r.Start(); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, r, nil
}

// benchChartsSpec is what a seeding is of.
type benchChartsSpec struct{ users, events, days int }

// name is the benchmark project's name once seeded: what a reuse checks.
func (s benchChartsSpec) name() string {
	return fmt.Sprintf("Charts bench v%d: %d users, %d events, %d days to %s", benchChartsVersion, s.users, s.events, s.days,
		BenchChartsAnchor.Format(time.DateOnly))
}

// seedingSuffix ends the project's name while it is being seeded.
const seedingSuffix = " (seeding)"

// benchChartsData returns the benchmark project, seeding it first when the
// store has none, and how long the seeding took (0: reused).
func benchChartsData(ctx context.Context, db *sqlite.DB, spec benchChartsSpec, stderr io.Writer) (int64, time.Duration, error) {
	ps, err := db.ListProjects(ctx)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case len(ps) == 1 && ps[0].Name == spec.name():
		return ps[0].ID, 0, nil
	case len(ps) == 1 && strings.HasSuffix(ps[0].Name, seedingSuffix):
		return 0, 0, fmt.Errorf("%s: an earlier seeding did not finish (%q): delete the directory", db.Path, ps[0].Name)
	case len(ps) > 0:
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = strconv.Quote(p.Name)
		}
		return 0, 0, fmt.Errorf("%s holds %s, not %q (--users %d --events %d --days %d): use another --data-dir or delete it",
			db.Path, strings.Join(names, ", "), spec.name(), spec.users, spec.events, spec.days)
	}
	began := time.Now()
	p := &touchpoint.Project{Name: spec.name() + seedingSuffix, TimeZone: "UTC",
		Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := db.CreateProject(ctx, p); err != nil {
		return 0, 0, err
	}
	plan := planBenchCharts(spec, stderr)
	fmt.Fprintf(stderr, "planned %d events, %d merges in %s\n", len(plan.events), len(plan.merges), time.Since(began).Round(time.Millisecond))
	s := &benchSeeder{db: db, project: p.ID, plan: plan, start: BenchChartsAnchor.AddDate(0, 0, -spec.days).UnixMilli(), stderr: stderr}
	if err := s.seed(ctx); err != nil {
		return 0, 0, err
	}
	if s.stored != spec.events {
		return 0, 0, fmt.Errorf("stored %d events of %d", s.stored, spec.events)
	}
	name := spec.name()
	if _, err := db.UpdateProject(ctx, p.ID, touchpoint.ProjectUpdate{Name: &name}); err != nil {
		return 0, 0, err
	}
	took := time.Since(began)
	fmt.Fprintf(stderr, "seeded %d events of %d users in %s (%.0f/s)\n", spec.events, spec.users, took.Round(time.Second),
		float64(spec.events)/took.Seconds())
	return p.ID, took, nil
}

// A planned event is packed in a uint64, so that ten million sort
// quickly: seconds since the range's start (27 bits), type (3), user (34).
const (
	benchUserBits = 34
	benchTypeBits = 3
)

func benchEvent(secs uint32, typ, user int) uint64 {
	return uint64(secs)<<(benchUserBits+benchTypeBits) | uint64(typ)<<benchUserBits | uint64(user)
}

func unpackBenchEvent(e uint64) (secs uint32, typ, user int) {
	return uint32(e >> (benchUserBits + benchTypeBits)), int(e >> benchUserBits & (1<<benchTypeBits - 1)), int(e & (1<<benchUserBits - 1))
}

// benchMix is SplitMix64's finaliser: a well-spread hash.
func benchMix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// The traits of a user, each a hash of its number (benchTrait).
const (
	traitPlatform = iota + 1
	traitSource
	traitCampaign
	traitUnattributed
	traitIdentity
	traitMerge
	traitPayer
	traitTutorial
	traitFirstPurchase
)

// benchTrait is a number in [0, n) fixed for a user and a trait.
func benchTrait(user int, trait, n uint64) uint64 {
	return benchMix(uint64(user)*0x9e3779b97f4a7c15^trait<<56) % n
}

// How a user is known.
const (
	identified = iota // by a user id (u<n>) and its device (d<n>), from the first event
	anonymous         // by its device only
	mergeable         // by its device only, until it logs in as another user, into whom it is merged
)

func benchIdentity(user int) int {
	switch {
	case benchTrait(user, traitMerge, 1000) < 25: // 2.5%, of whom some have no event to merge with
		return mergeable
	case benchTrait(user, traitIdentity, 100) < 10:
		return anonymous
	}
	return identified
}

// benchMerge says a mergeable user logs in as user into at second at:
// its events from then on carry into's user id.
type benchMerge struct {
	into int
	at   uint32
}

// benchChartsPlan is a seeding: its events, by time, and its merges.
type benchChartsPlan struct {
	events []uint64
	merges map[int]benchMerge
}

// planBenchCharts plans the events of a seeding. Every user's first event
// is a session_start with its properties, on a day spread over the range;
// the rest of its events (a heavy-tailed number: most users few, some
// many) come in sessions (a session_start, then a few level_ups, ad_views
// and, for payers, purchases minutes apart) on days after it, more of them
// soon after. Most users finish the tutorial minutes after their first
// event; some payers buy at once. The same numbers give the same plan.
func planBenchCharts(spec benchChartsSpec, stderr io.Writer) *benchChartsPlan {
	rng := rand.New(rand.NewPCG(2026, 11))
	span := uint32(spec.days * 86400)
	first := make([]uint32, spec.users)
	weight := make([]float64, spec.users)
	var total float64
	for u := range first {
		first[u] = uint32(rng.Int64N(int64(span - 3600)))
		left := float64(span-first[u]) / float64(span) // a user first seen late has had less time
		weight[u] = math.Exp(1.6*rng.NormFloat64()) * math.Sqrt(left)
		total += weight[u]
	}
	plan := &benchChartsPlan{events: make([]uint64, 0, spec.events), merges: make(map[int]benchMerge)}
	extra := spec.events - spec.users
	perWeight := float64(extra) / total
	var cum float64
	given := 0
	var times []uint32 // of the user's events after its first, for a merge
	for u := range spec.users {
		cum += weight[u]
		n := min(int(cum*perWeight), extra) - given
		if u == spec.users-1 {
			n = extra - given
		}
		given += n
		t0 := first[u]
		plan.events = append(plan.events, benchEvent(t0, evFirst, u))
		payer := benchTrait(u, traitPayer, 100) < 10
		times = times[:0]
		add := func(t uint32, typ int) {
			t = min(t, span-1)
			plan.events = append(plan.events, benchEvent(t, typ, u))
			times = append(times, t)
			n--
		}
		if n > 0 && benchTrait(u, traitTutorial, 100) < 60 {
			add(t0+60+rng.Uint32N(840), evTutorial)
			if n > 0 && payer && benchTrait(u, traitFirstPurchase, 100) < 30 {
				add(t0+900+rng.Uint32N(3000), evPurchase)
			}
		}
		life := float64(span - t0 - 1)
		for n > 0 {
			t := t0 + 1 + uint32(life*math.Pow(rng.Float64(), 2.2))
			add(t, evSession)
			for k := min(n, rng.IntN(6)); k > 0; k-- {
				t += 5 + rng.Uint32N(300)
				typ := evAd
				switch r := rng.IntN(100); {
				case payer && r < 12:
					typ = evPurchase
				case r < 55:
					typ = evLevel
				}
				add(t, typ)
			}
		}
		if benchIdentity(u) == mergeable && len(times) > 0 {
			slices.Sort(times)
			at := times[len(times)/2]
			for range 64 {
				v := rng.IntN(spec.users)
				if v != u && first[v] < at && benchIdentity(v) == identified {
					plan.merges[u] = benchMerge{into: v, at: at}
					break
				}
			}
		}
	}
	began := time.Now()
	slices.Sort(plan.events)
	fmt.Fprintf(stderr, "sorted %d events in %s\n", len(plan.events), time.Since(began).Round(time.Millisecond))
	return plan
}

// benchSeeder records a plan's events in uploads of 2,000, in the order
// they happened, but for about 1 in 100 (not a user's first) that arrives
// one to 48 hours late, after events of later times.
type benchSeeder struct {
	db      *sqlite.DB
	project int64
	plan    *benchChartsPlan
	start   int64 // the range's first millisecond
	stderr  io.Writer

	clock  uint32 // seconds since start: when the upload being filled is received
	late   lateEvents
	up     []*touchpoint.IncomingEvent // the upload being filled
	ups    []*touchpoint.EventUpload   // closed, not recorded yet
	slab   []byte
	done   int
	stored int
	began  time.Time
}

// The seeding's uploads: 2,000 events each, recorded ten at a time.
const (
	benchUpload = 2000
	benchGroup  = 10
)

func (s *benchSeeder) seed(ctx context.Context) error {
	s.began = time.Now()
	for _, e := range s.plan.events {
		secs, typ, _ := unpackBenchEvent(e)
		for len(s.late) > 0 && s.late[0].due <= secs {
			if err := s.add(ctx, heap.Pop(&s.late).(lateEvent).event); err != nil {
				return err
			}
		}
		s.clock = secs
		if h := benchMix(e ^ 0x5eed); typ != evFirst && h%100 == 0 {
			heap.Push(&s.late, lateEvent{due: secs + 3600 + uint32(h>>8%(47*3600)), event: e})
			continue
		}
		if err := s.add(ctx, e); err != nil {
			return err
		}
	}
	for len(s.late) > 0 {
		if err := s.add(ctx, heap.Pop(&s.late).(lateEvent).event); err != nil {
			return err
		}
	}
	return s.flush(ctx, true)
}

// add adds an event to the upload, sending it when full.
func (s *benchSeeder) add(ctx context.Context, packed uint64) error {
	secs, typ, u := unpackBenchEvent(packed)
	h := benchMix(packed)
	at := s.start + int64(secs)*1000 + int64(h%1000)
	platform := "Android"
	if benchTrait(u, traitPlatform, 100) < 45 {
		platform = "iOS"
	}
	device := "d" + strconv.Itoa(u)
	userID := ""
	switch benchIdentity(u) {
	case identified:
		userID = "u" + strconv.Itoa(u)
	case mergeable:
		if m, ok := s.plan.merges[u]; ok && secs >= m.at {
			userID = "u" + strconv.Itoa(m.into)
		}
	}
	e := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: userID, DeviceID: device, EventType: benchChartsTypes[typ],
		Time: at, Platform: platform}
	if platform == "iOS" {
		e.AdIDs.IDFV = BenchGAID(u)
	} else {
		e.AdIDs.ADID = BenchGAID(u)
	}
	if typ == evFirst && benchTrait(u, traitUnattributed, 100) >= 3 {
		e.UserProperties = map[string]any{"$set": benchUserProperties(u)}
	}

	// The stored form, as ingestion writes it: ids and time, the revenue
	// it works out, then the members as they came.
	b := s.slab
	if b == nil {
		b = make([]byte, 0, benchUpload*160)
	}
	from := len(b)
	b = append(b, '{')
	if userID != "" {
		b = append(b, `"user_id":"`...)
		b = append(b, userID...)
		b = append(b, `",`...)
	}
	b = append(b, `"device_id":"`...)
	b = append(b, device...)
	b = append(b, `","time":`...)
	b = strconv.AppendInt(b, at, 10)
	b = append(b, ',')
	var props []byte
	switch typ {
	case evLevel:
		props = strconv.AppendUint([]byte(`{"level":`), 1+h>>10%60, 10)
		props = append(props, '}')
	case evPurchase:
		tier, q := benchPick(benchPriceWeights, h>>10%100), int64(1)
		switch r := h >> 20 % 100; {
		case r < 5:
			q = 3
		case r < 15:
			q = 2
		}
		price := benchPrices[tier]
		b = append(b, `"revenue":`...)
		b = strconv.AppendFloat(b, price*float64(q), 'f', -1, 64)
		b = append(b, `,"price":`...)
		b = strconv.AppendFloat(b, price, 'f', -1, 64)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, q, 10)
		b = append(b, `,"productId":"gems_`...)
		b = strconv.AppendInt(b, int64(tier), 10)
		b = append(b, `",`...)
		props = append(props, `{"$price":`...)
		props = strconv.AppendFloat(props, price, 'f', -1, 64)
		props = append(props, `,"$quantity":`...)
		props = strconv.AppendInt(props, q, 10)
		props = append(props, `,"$productId":"gems_`...)
		props = strconv.AppendInt(props, int64(tier), 10)
		props = append(props, `"}`...)
	}
	b = append(b, `"event_type":"`...)
	b = append(b, e.EventType...)
	b = append(b, `","platform":"`...)
	b = append(b, platform...)
	b = append(b, '"')
	if props != nil {
		b = append(b, `,"event_properties":`...)
		b = append(b, props...)
	}
	b = append(b, '}')
	e.Data = b[from:len(b):len(b)]
	s.slab = b

	s.up = append(s.up, e)
	s.done++
	if s.done%1_000_000 == 0 {
		fmt.Fprintf(s.stderr, "%d events recorded (%.0f/s)\n", s.done, float64(s.done)/time.Since(s.began).Seconds())
	}
	if len(s.up) == benchUpload {
		return s.flush(ctx, false)
	}
	return nil
}

// flush closes the upload, received at the clock, and records the
// uploads closed so far when there are benchGroup of them (or all is
// true), in one call, as the server's group commit does under load.
func (s *benchSeeder) flush(ctx context.Context, all bool) error {
	if len(s.up) > 0 {
		received := time.UnixMilli(min(s.start+int64(s.clock)*1000+999, BenchChartsAnchor.UnixMilli()))
		s.ups = append(s.ups, &touchpoint.EventUpload{Project: s.project, Received: received, Events: s.up})
		s.up, s.slab = make([]*touchpoint.IncomingEvent, 0, benchUpload), nil // the store may keep what it was given
	}
	if len(s.ups) == 0 || len(s.ups) < benchGroup && !all {
		return ctx.Err()
	}
	if err := s.db.RecordEvents(ctx, s.ups); err != nil {
		return err
	}
	for _, up := range s.ups {
		s.stored += up.Stored
	}
	s.ups = nil
	return ctx.Err()
}

// benchUserProperties are what a user's first event sets: its media
// source (skewed: organic most) and, unless organic, campaign (skewed to
// the first few).
func benchUserProperties(u int) map[string]any {
	src := benchChartsSources[benchPick(benchSourceShares, benchTrait(u, traitSource, 100))].name
	props := map[string]any{"[AppsFlyer] media source": src}
	if src != "organic" {
		r := float64(benchTrait(u, traitCampaign, 1<<20)) / (1 << 20)
		props["[AppsFlyer] campaign"] = fmt.Sprintf("campaign_%02d", int(benchChartsCampaigns*r*r))
	}
	return props
}

// benchPick returns the index whose share holds r, r in [0, sum of
// shares).
func benchPick(shares []uint64, r uint64) int {
	for i, s := range shares {
		if r < s {
			return i
		}
		r -= s
	}
	return len(shares) - 1
}

// lateEvent is an event held back until its due second.
type lateEvent struct {
	due   uint32
	event uint64
}

// lateEvents is a heap of late events, the first due first.
type lateEvents []lateEvent

func (h lateEvents) Len() int           { return len(h) }
func (h lateEvents) Less(i, j int) bool { return h[i].due < h[j].due }
func (h lateEvents) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *lateEvents) Push(x any)        { *h = append(*h, x.(lateEvent)) }
func (h *lateEvents) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// benchChartsGist sums up a chart's answer in a few words.
func benchChartsGist(res any) string {
	first := func(g []string) string { return strings.Join(g, " / ") }
	at := func(xs []float64, i int) float64 {
		if i < len(xs) {
			return xs[i]
		}
		return math.NaN()
	}
	switch r := res.(type) {
	case *chart.SegmentationResult:
		if len(r.Series) == 0 {
			return "0 series"
		}
		s := r.Series[0]
		var sum float64
		for _, x := range r.Series {
			sum += x.Total
		}
		return fmt.Sprintf("%d series × %d days; all: %.6g; top %s: %.6g, first day %.6g", len(r.Series), len(r.XValues), sum,
			first(s.Group), s.Total, at(s.Values, 0))
	case *chart.FunnelResult:
		return fmt.Sprintf("%d groups; users by step %v (%.1f%% to the end)", len(r.Groups), r.Total.Users,
			100*at(r.Total.FromFirst, len(r.Total.FromFirst)-1))
	case *chart.RetentionResult:
		var users int64
		if len(r.Total.Users) > 0 {
			users = r.Total.Users[0]
		}
		return fmt.Sprintf("%d groups, %d rows; %d users; day 1 %.1f%%, day 7 %.1f%%, day 29 %.1f%%", len(r.Groups), len(r.Total.Cohorts),
			users, 100*at(r.Total.Rates, 1), 100*at(r.Total.Rates, 7), 100*at(r.Total.Rates, 29))
	case *chart.LTVResult:
		var users int64
		if len(r.Total.Users) > 0 {
			users = r.Total.Users[0]
		}
		return fmt.Sprintf("%d groups; %d users; per user $%.3f on day 0, $%.3f by day %d", len(r.Groups), users,
			at(r.Total.PerUser, 0), at(r.Total.PerUser, r.Days), r.Days)
	}
	return fmt.Sprintf("%T", res)
}

// benchMedian returns the median of durations (of an even number, the
// mean of the middle two), to the millisecond.
func benchMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m.Round(time.Millisecond)
}

// procStatusMB returns a memory field of /proc/self/status (VmHWM, VmRSS)
// in megabytes, "n/a" where there is none.
func procStatusMB(field string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return "n/a"
		}
		return strconv.FormatInt(kb/1024, 10)
	}
	return "n/a"
}
