package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// BenchmarkFirstPaint opens each dashboard page in Chromium, signed in,
// and reports the median first contentful paint (fcp-ms: from the start
// of the navigation, as the browser's Paint Timing reports it), the
// median time to the page's last byte (html-ms), and the median time until
// the parts a page fetches after it painted (a chart, a long range's
// counts) are in (done-ms).
//
// With TOUCHPOINT_BENCH_DATA naming a data directory seeded by
// `touchpoint bench dashboard --seed-only` (a million installs, ten
// million events), it opens that store; otherwise a small one of its own.
// bench/dashboard.sh does both steps.
//
//	go test ./web -run '^$' -bench FirstPaint -benchtime 5x
func BenchmarkFirstPaint(b *testing.B) {
	var db *sqlite.DB
	app, project := "com.bench.dashboard", int64(0)
	if dir := os.Getenv("TOUCHPOINT_BENCH_DATA"); dir != "" {
		db = sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
		// The seeding's clock: its data ends there.
		db.Clock = func() time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) }
	} else {
		db = sqlite.NewDB(filepath.Join(b.TempDir(), "touchpoint.db"))
		db.Clock = func() time.Time { return epoch }
	}
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if os.Getenv("TOUCHPOINT_BENCH_DATA") == "" {
		a := &touchpoint.App{ID: app, Platform: touchpoint.Android, Name: "Bench", Windows: touchpoint.DefaultWindows(),
			StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, app), MinCTIT: touchpoint.DefaultMinCTIT}
		if err := db.CreateApp(ctx, a); err != nil {
			b.Fatal(err)
		}
		p := &touchpoint.Project{Name: "Bench", Apps: []string{app},
			Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
		if err := db.CreateProject(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	ps, err := db.ListProjects(ctx)
	if err != nil || len(ps) == 0 {
		b.Fatalf("projects: %v, %v", ps, err)
	}
	project = ps[0].ID

	srv := httpapi.NewServer(db)
	srv.Addr = "127.0.0.1:0"
	srv.AdminToken = token
	srv.CatalogRefresh = 0
	if err := srv.Open(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close(context.Background())
	c := newChrome(b, srv.URL())
	c.open("/signin")
	c.submit(map[string]string{"token": token}, `main button[type="submit"]`)

	proj := "/projects/" + strconv.FormatInt(project, 10)
	now := db.Now()
	from90 := now.AddDate(0, 0, -89).Format(time.DateOnly)
	// The baseline: a bare page of a server that does nothing else, as
	// fast as a page can paint here.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Baseline</title><main><h1>Baseline</h1><p>A bare page.</p></main>"))
	}))
	defer bare.Close()
	pages := []struct{ name, path string }{
		{"baseline", bare.URL + "/"},
		{"overview", appPath(app, "overview")},
		{"overview-90d", appPath(app, "overview") + "?from=" + from90 + "&to=" + now.Format(time.DateOnly)},
		{"live", appPath(app, "live")},
		{"explorer", appPath(app, "explorer")},
		{"partners", appPath(app, "partners")},
		{"links", appPath(app, "links")},
		{"deliveries", appPath(app, "deliveries")},
		{"segmentation", proj + "/charts/segmentation"},
		{"funnel", proj + "/charts/funnel?e0=session_start&e1=purchase"},
		{"retention", proj + "/charts/retention"},
		{"ltv", proj + "/charts/ltv"},
		{"users", proj + "/users"},
		{"cohorts", proj + "/cohorts"},
		{"destinations", proj + "/destinations"},
		{"settings", "/settings"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var fcp, html, done []float64
			for b.Loop() {
				c.open(p.path)
				// The paint entry comes a frame after the page shows.
				v := value(c, chromedp.Poll[[]float64](`(() => {
					const n = performance.getEntriesByType("navigation")[0];
					const p = performance.getEntriesByName("first-contentful-paint")[0];
					return p && n ? [p.startTime, n.responseEnd - n.startTime] : null;
				})()`, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
				d := value(c, chromedp.Poll[float64](`document.querySelector("[data-fragment] [role=status]") ? null : performance.now()`,
					chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
				fcp, html, done = append(fcp, v[0]), append(html, v[1]), append(done, d)
			}
			b.ReportMetric(median(fcp), "fcp-ms")
			b.ReportMetric(median(html), "html-ms")
			b.ReportMetric(median(done), "done-ms")
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
