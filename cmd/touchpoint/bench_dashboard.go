package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// BenchDashboardApp is the dashboard benchmark's app.
const BenchDashboardApp = "com.bench.dashboard"

// runBenchDashboard is "touchpoint bench dashboard": it fills a store with
// the charts benchmark's project (10 million events of 1 million users by
// default) and an app with a million installs over the same 90 days
// (once: a data directory that has them is reused), starts the server on
// a loopback port, signs in, and times each dashboard page R times: the
// first (cold) and the median of the rest, from the request to the last
// byte of the page. The page's assets are two small static files a
// browser caches, so this time is most of a first paint on localhost;
// BenchmarkFirstPaint in package web measures the paint itself in
// Chromium.
func runBenchDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "bench-dashboard", "data directory (created; reused when it holds this seeding)")
	users := fs.Int("users", 1_000_000, "analytics users")
	events := fs.Int("events", 10_000_000, "analytics events")
	installs := fs.Int("installs", 1_000_000, "installs")
	runs := fs.Int("runs", 5, "times each page is asked for")
	seedOnly := fs.Bool("seed-only", false, "fill the data directory and stop (for BenchmarkFirstPaint)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *installs < 1 || *runs < 1 || *users < 1 || *events < *users {
		return errors.New("want positive --installs, --runs and --users, and --events ≥ --users")
	}
	db, runner, err := openBenchChartsDB(*dataDir, stderr)
	if err != nil {
		return err
	}
	defer func() {
		runner.Stop()
		db.Close()
	}()
	project, _, err := benchChartsData(ctx, db, benchChartsSpec{users: *users, events: *events, days: 90}, stderr)
	if err != nil {
		return err
	}
	device, err := benchDashboardInstalls(ctx, db, *installs, stderr)
	if err != nil {
		return err
	}
	for _, t := range []string{"sqlite-index-events", "sqlite-checkpoint", "sqlite-chart-index"} {
		if err := runner.RunOnce(ctx, t); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	if *seedOnly {
		fmt.Fprintf(stdout, "seeded %s: project %d, app %s\n", *dataDir, project, BenchDashboardApp)
		return nil
	}

	srv := httpapi.NewServer(db)
	srv.Addr = "127.0.0.1:0"
	srv.AdminToken = touchpoint.RandomString(32)
	srv.ExternalTasks = true
	srv.CatalogRefresh = 0
	srv.Logger = runner.Logger
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close(context.Background())
	c, err := benchSignIn(srv.URL(), srv.AdminToken)
	if err != nil {
		return err
	}
	app := "/apps/" + BenchDashboardApp
	proj := "/projects/" + strconv.FormatInt(project, 10)
	from90 := BenchChartsAnchor.AddDate(0, 0, -89).Format(time.DateOnly)
	to := BenchChartsAnchor.Format(time.DateOnly)
	pages := []string{
		app + "/overview",
		app + "/overview?from=" + from90 + "&to=" + to,
		app + "/overview?from=" + from90 + "&to=" + to + "&media_source=net_a_int",
		app + "/live",
		app + "/explorer?id=" + device,
		app + "/partners",
		app + "/links",
		app + "/deliveries",
		proj + "/charts/segmentation",
		proj + "/charts/funnel",
		proj + "/charts/retention",
		proj + "/charts/ltv",
		proj + "/users",
		proj + "/cohorts",
		proj + "/destinations",
		"/settings",
	}
	fmt.Fprintf(stdout, "%d installs, %d events; each page %d times (ms: first, median of the rest)\n\n", *installs, *events, *runs)
	fmt.Fprintln(stdout, "| page | status | bytes | first ms | median ms |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|")
	for _, p := range pages {
		var times []float64
		var status, size int
		for range *runs {
			began := time.Now()
			resp, err := c.Get(srv.URL() + p)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			times = append(times, float64(time.Since(began).Microseconds())/1000)
			status, size = resp.StatusCode, len(b)
		}
		first, rest := times[0], times[1:]
		if len(rest) == 0 {
			rest = times
		}
		slices.Sort(rest)
		fmt.Fprintf(stdout, "| %s | %d | %d | %.1f | %.1f |\n", p, status, size, first, rest[len(rest)/2])
	}
	return nil
}

// benchSignIn signs in to the dashboard at base with the admin token and
// returns a client holding the session.
func benchSignIn(base, token string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		return nil, errors.New("the sign-in page has no CSRF token")
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/signin",
		strings.NewReader(url.Values{"csrf": {string(m[1])}, "token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if strings.HasSuffix(resp.Request.URL.Path, "/signin") {
		return nil, fmt.Errorf("sign in failed: %s", resp.Status)
	}
	return c, nil
}

// benchDashboardInstalls gives the store the benchmark's app with n
// installs over the 90 days to BenchChartsAnchor (once), and returns a
// device id to look up. Seven in ten are attributed to one of five
// networks, campaigns, ad sets and ads, with a CPI cost; one in ten has
// a purchase.
func benchDashboardInstalls(ctx context.Context, db *sqlite.DB, n int, stderr io.Writer) (string, error) {
	device := func(i int) string { return fmt.Sprintf("bench-%010d", i) }
	if _, err := db.FindApp(ctx, BenchDashboardApp); err == nil {
		if _, err := db.FindDevice(ctx, BenchDashboardApp, device(n-1)); err != nil {
			return "", fmt.Errorf("%s holds app %s without %d installs: use another --data-dir or delete it", db.Path, BenchDashboardApp, n)
		}
		return device(n / 2), nil
	}
	app := &touchpoint.App{ID: BenchDashboardApp, Platform: touchpoint.Android, Name: "Dashboard bench", Windows: touchpoint.DefaultWindows(),
		StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, BenchDashboardApp), MinCTIT: touchpoint.DefaultMinCTIT}
	if err := db.CreateApp(ctx, app); err != nil {
		return "", err
	}
	pids := []string{"net_a_int", "net_b_int", "net_c_int", "net_d_int", "net_e_int"}
	for _, pid := range pids {
		p := &touchpoint.Partner{AppID: app.ID, PID: pid}
		p.ApplyDefaults(app)
		if err := db.CreatePartner(ctx, p); err != nil {
			return "", err
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	start := BenchChartsAnchor.AddDate(0, 0, -90)
	step := 90 * 24 * time.Hour / time.Duration(n)
	began := time.Now()
	const group = 2000
	var launches []*touchpoint.LaunchWrite
	var convs []*touchpoint.ConversionWrite
	installOf := map[string]*touchpoint.LaunchWrite{}
	for i := range n {
		at := start.Add(time.Duration(i) * step)
		a := touchpoint.OrganicAttribution()
		if rng.IntN(10) < 7 {
			pid := pids[rng.IntN(len(pids))]
			camp := rng.IntN(8)
			a = touchpoint.Attribution{MediaSource: pid, TouchID: int64(i + 1), TouchType: touchpoint.Click,
				TouchTime: at.Add(-time.Duration(rng.IntN(3600)+60) * time.Second), MatchType: touchpoint.MatchIDMatching,
				Params: touchpoint.LinkParams{Campaign: fmt.Sprintf("campaign_%d", camp), CampaignID: strconv.Itoa(1000 + camp),
					Adset: fmt.Sprintf("adset_%d_%d", camp, rng.IntN(4)), Ad: fmt.Sprintf("ad_%d", rng.IntN(6)),
					CostValue: "1.25", CostCurrency: "USD"}}
		}
		id := device(i)
		d := &touchpoint.Device{App: app.ID, ID: id, InstallTime: at, Attribution: a, FirstLaunch: at, LastLaunch: at, Launches: 1}
		d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: BenchGAID(i)}
		in := &touchpoint.Install{App: app.ID, DeviceID: id, Type: touchpoint.TypeInstall, Time: at, Attribution: a}
		if !a.IsOrganic() {
			in.Candidates = []touchpoint.Candidate{{TouchID: a.TouchID, MediaSource: a.MediaSource, Outcome: touchpoint.OutcomeWon,
				Reason: "won", Explanation: "The last click before the install, matched by advertising id."}}
		}
		in.Launch.IDs = d.IDs
		w := &touchpoint.LaunchWrite{Key: "bench-" + id, Device: d, Install: in}
		launches = append(launches, w)
		installOf[id] = w
		if rng.IntN(10) == 0 {
			convs = append(convs, &touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: app.ID, DeviceID: id,
				EventID: "p-" + id, Name: "af_purchase", Revenue: touchpoint.Amount(rng.IntN(200_000) + 9900), Currency: "USD",
				Time: at.Add(time.Hour), Source: "SDK", Attribution: a}})
		}
		if len(launches) == group || i == n-1 {
			if err := db.WriteLaunches(ctx, launches); err != nil {
				return "", err
			}
			for _, c := range convs {
				c.Conversion.InstallID = installOf[c.Conversion.DeviceID].Install.ID
			}
			if len(convs) > 0 {
				if err := db.WriteConversions(ctx, convs); err != nil {
					return "", err
				}
			}
			launches, convs = launches[:0], convs[:0]
			clear(installOf)
		}
		if (i+1)%200_000 == 0 {
			fmt.Fprintf(stderr, "%d installs written (%.0f/s)\n", i+1, float64(i+1)/time.Since(began).Seconds())
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	fmt.Fprintf(stderr, "seeded %d installs in %s\n", n, time.Since(began).Round(time.Second))
	return device(n / 2), nil
}
