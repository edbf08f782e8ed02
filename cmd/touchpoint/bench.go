package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// runBench runs a benchmark helper:
//
//	touchpoint bench seed --data-dir D [--touches N] [--devices M] [--db postgres://…]
//
// seed fills a data directory with an app (com.bench.game, production
// clock), five partners and N touches over the last six days for M devices
// (device i has the GAID BenchGAID(i)), as the launches benchmark
// (bench/launches.sh) needs. It prints the app's dev key.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "backlog" {
		return runBacklog(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "events" {
		return runBenchEvents(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cohort" {
		return runBenchCohort(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "charts" {
		return runBenchCharts(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "dashboard" {
		return runBenchDashboard(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "uploads" {
		return runBenchUploads(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "seed" {
		fmt.Fprintln(stderr, "usage: touchpoint bench seed --data-dir DIR [--touches N] [--devices M] [--db postgres://…]")
		fmt.Fprintln(stderr, "       touchpoint bench backlog --data-dir DIR --deliveries N --partners P --port PORT")
		fmt.Fprintln(stderr, "       touchpoint bench events --api-key KEY [--server URL] [--conns 16] [--duration 20s]")
		fmt.Fprintln(stderr, "       touchpoint bench cohort [--data-dir DIR] [--users 1000000] [--events 10000000] [--runs 3]")
		fmt.Fprintln(stderr, "       touchpoint bench charts [--data-dir DIR] [--users 1000000] [--events 10000000] [--days 90] [--runs 3]")
		fmt.Fprintln(stderr, "       touchpoint bench dashboard [--data-dir DIR] [--installs 1000000] [--events 10000000] [--runs 5] [--seed-only]")
		fmt.Fprintln(stderr, "       touchpoint bench uploads --api-key KEY [--server URL] [--conns 32] [--requests 2] [--size 19922944]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("bench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "bench-data", "data directory to fill (created)")
	touches := fs.Int("touches", 10_000_000, "touches to record")
	devices := fs.Int("devices", 1_000_000, "devices the touches are for")
	dbURL := fs.String("db", "", "a PostgreSQL database (postgres://…) to fill instead of --data-dir's embedded store")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *devices < 1 || *touches < 1 {
		return errors.New("--touches and --devices must be positive")
	}
	var db interface {
		touchpoint.AppStore
		touchpoint.PartnerStore
		touchpoint.TouchStore
	}
	settle := func(context.Context) error { return nil }
	if *dbURL != "" {
		pg, err := postgres.Open(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pg.Close()
		db = pg
	} else {
		lite, err := openBenchDB(*dataDir)
		if err != nil {
			return err
		}
		defer lite.Close()
		db, settle = lite, lite.Settle
	}
	app := &touchpoint.App{ID: BenchApp, Platform: touchpoint.Android, Name: "Bench", Windows: touchpoint.DefaultWindows(),
		StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, BenchApp), MinCTIT: touchpoint.DefaultMinCTIT}
	if err := db.CreateApp(ctx, app); err != nil {
		return err
	}
	pids := []string{"net_a_int", "net_b_int", "net_c_int", "net_d_int", "net_e_int"}
	for _, pid := range pids {
		p := &touchpoint.Partner{AppID: app.ID, PID: pid}
		p.ApplyDefaults(app)
		if err := db.CreatePartner(ctx, p); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	start := now.Add(-6 * 24 * time.Hour)
	step := 6 * 24 * time.Hour / time.Duration(*touches)
	const group = 4096
	began := time.Now()
	batch := make([]*touchpoint.Touch, 0, group)
	for i := 0; i < *touches; i++ {
		d := rng.IntN(*devices)
		t := &touchpoint.Touch{App: app.ID, Kind: touchpoint.Click, Time: start.Add(time.Duration(i) * step), PID: pids[rng.IntN(len(pids))],
			IP: fmt.Sprintf("10.%d.%d.%d", d>>16&255, d>>8&255, d&255), UA: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"}
		if rng.IntN(5) == 0 {
			t.Kind = touchpoint.Impression
		}
		t.Params.Campaign = fmt.Sprintf("campaign_%d", rng.IntN(20))
		t.Params.SiteID = fmt.Sprintf("site_%d", rng.IntN(100))
		t.Params.ClickID = fmt.Sprintf("clk-%d", i)
		t.Device[touchpoint.GAID] = touchpoint.DeviceID{Raw: BenchGAID(d)}
		batch = append(batch, t)
		if len(batch) == group || i == *touches-1 {
			if err := db.RecordTouches(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if (i+1)%1_000_000 == 0 {
			fmt.Fprintf(stderr, "%d touches recorded (%.0f/s)\n", i+1, float64(i+1)/time.Since(began).Seconds())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Fprintln(stderr, "loading and indexing…")
	if err := settle(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seeded %d touches for %d devices in %s\n", *touches, *devices, time.Since(began).Round(time.Second))
	fmt.Fprintln(stdout, app.DevKey)
	return nil
}

// openBenchDB opens (creating it) the store of a benchmark's data
// directory.
func openBenchDB(dir string) (*sqlite.DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	return db, db.Open()
}

// BenchApp is the benchmark's app.
const BenchApp = "com.bench.game"

// BenchGAID is the advertising id of benchmark device i (bench/launches.lua
// writes the same).
func BenchGAID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i)
}

// runBacklog writes N due postbacks into a stopped server's store, spread
// over the partners net_1_int … net_P_int of BenchApp, partner i posting
// to 127.0.0.(i+1):PORT (bench/postbacks.sh makes the app, the partners
// and the sink), so the postback benchmark can measure the outbox with a
// backlog to work through.
func runBacklog(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench backlog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "bench-data", "data directory of a stopped server")
	n := fs.Int("deliveries", 100_000, "deliveries to write")
	partners := fs.Int("partners", 10, "partners (and hosts) to spread them over")
	port := fs.Int("port", 18192, "the sink's port")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *partners < 1 || *partners > 250 {
		return errors.New("--deliveries must be positive and --partners from 1 to 250")
	}
	db := sqlite.NewDB(filepath.Join(*dataDir, "touchpoint.db"))
	if err := db.Open(); err != nil {
		return err
	}
	defer db.Close()
	const group = 4096
	batch := make([]*touchpoint.Delivery, 0, group)
	run := time.Now().UnixNano() // URLs differ from an earlier run's
	for i := 0; i < *n; i++ {
		p := i%*partners + 1
		host := fmt.Sprintf("127.0.0.%d:%d", p+1, *port)
		batch = append(batch, &touchpoint.Delivery{App: BenchApp, PID: fmt.Sprintf("net_%d_int", p),
			Kind: touchpoint.KindInstallPostback, Source: "bench", Method: "GET", Host: host,
			URL: fmt.Sprintf("http://%s/backlog/%d-%d", host, run, i), MaxTries: 5, RetryInterval: 15 * time.Minute})
		if len(batch) == group || i == *n-1 {
			if err := db.EnqueueDeliveries(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}
