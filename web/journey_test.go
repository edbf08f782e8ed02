package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/touchpointhq/touchpoint"
)

// TestBrowserJourney drives the dashboard in Chromium the way a marketer
// first uses it: sign in, create an app and a partner, build a link, send a
// click through it and a launch, see the install on the overview, arrive
// live, and explained in the explorer; define a cohort, sync it to an
// AppsFlyer Audiences destination and see the run; open each chart. Every
// page is checked for labels, keyboard order and its width at 390 px, and
// photographed at 1280 px and 390 px (see chrome.shots).
func TestBrowserJourney(t *testing.T) {
	s, clk := startServer(t)
	c := newChrome(t, s.URL())
	const app, gaid = "com.example.journey", "38400000-8cf0-11bd-b23e-10b96e40000d"

	// Sign in: the first page says what to do next.
	c.open("/")
	c.submit(map[string]string{"token": token}, `main button[type="submit"]`)
	if got := c.text("main"); !strings.Contains(got, "There is no app yet") {
		t.Fatalf("first page: %q", got)
	}
	c.checkPage("welcome")

	// An app, through Settings; its keys are shown once.
	c.open("/settings")
	path := c.submit(map[string]string{"app-id": app, "app-name": "Journey"}, `#new-app button[type="submit"]`)
	if path != "/settings/apps/"+app && !strings.HasPrefix(path, "/settings/apps") {
		t.Fatalf("after creating the app at %s", path)
	}
	keys := value(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#new-keys code")].map(e => e.textContent)`))
	if len(keys) != 2 {
		t.Fatalf("keys shown: %q", keys)
	}
	devKey, apiToken := keys[0], keys[1]
	c.shot("01-app-created", 1280)
	c.checkPage("app created")

	// A partner.
	c.open(appPath(app, "partners"))
	c.checkPage("partners")
	c.submit(map[string]string{"pid": "examplenet_int"}, `main form button[type="submit"]`)
	c.waitText("main h1", "examplenet_int")
	c.shot("02-partner", 1280)
	c.checkPage("partner")

	// A link, built for the partner: the GAID is the device's (a network
	// would put its {advertising_id} macro there).
	c.open(appPath(app, "links") + "?pid=examplenet_int")
	c.submit(map[string]string{"lp-c": "journey_launch", "lp-af_adset": "set_1", "lp-advertising_id": "{advertising_id}"}, `main form button[type="submit"]`)
	built := c.text("#built-link")
	if !strings.Contains(built, "advertising_id={advertising_id}") || !strings.Contains(built, "c=journey_launch") {
		t.Fatalf("built link %q", built)
	}
	c.shot("03-link", 1280)
	c.checkPage("links")

	// Live, in a second tab, before the click.
	live := c.tab()
	live.open(appPath(app, "live"))
	live.waitText("#live-status", "Connected")

	// The click through the link (as the ad network sends the device), and
	// the app's first launch an hour later.
	u, err := url.Parse(strings.ReplaceAll(built, "{advertising_id}", gaid))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := s.send(t, "GET", u.RequestURI(), http.Header{"User-Agent": {"Mozilla/5.0 (Linux; Android 14; Pixel 8)"}}, ""); code != http.StatusFound {
		t.Fatalf("click: %d %s", code, body)
	}
	live.waitText(".feed", "examplenet_int")
	clk.Add(time.Hour)
	launch, _ := json.Marshal(map[string]any{"advertising_id": gaid})
	if code, body := s.send(t, "POST", "/sdk/v1/apps/"+app+"/launches", http.Header{"Authorization": {"Bearer " + devKey}}, string(launch)); code != http.StatusOK {
		t.Fatalf("launch: %d %s", code, body)
	}
	live.waitText(".feed li:first-child", "install")
	live.shot("04-live", 1280)
	live.checkPage("live")

	// The overview counts them.
	c.open(appPath(app, "overview"))
	tiles := c.text(".tiles")
	for _, want := range []string{"1\nclicks", "1\ninstalls"} {
		if !strings.Contains(strings.ToLower(tiles), want) {
			t.Errorf("overview tiles lack %q: %q", want, tiles)
		}
	}
	if got := c.text("main table"); !strings.Contains(got, "examplenet_int") {
		t.Errorf("overview table: %q", got)
	}
	c.navigate(chromedp.Click(chromedp.CSS(`main table a[href*="media_source=examplenet_int"]`)))
	c.waitText("main", "journey_launch")
	c.shot("05-overview-drilldown", 1280)
	c.shot("05-overview-drilldown-390", 390)
	c.checkPage("overview")

	// The explorer finds the device by its GAID and explains the decision.
	c.open(appPath(app, "explorer"))
	c.submit(map[string]string{"id": gaid}, `main form button[type="submit"]`)
	if got := c.text("main"); !strings.Contains(got, "examplenet_int") || !strings.Contains(strings.ToLower(got), "won") {
		t.Errorf("explorer: %q", got)
	}
	c.shot("06-explorer", 1280)
	c.shot("06-explorer-390", 390)
	c.checkPage("explorer")

	// Analytics: a project with the app's users.
	var project touchpoint.Project
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Journey analytics", "apps": []string{app}}, &project)
	var events []map[string]any
	for i := 1; i <= 4; i++ {
		at := epoch.Add(-time.Duration(i) * 24 * time.Hour).UnixMilli()
		user := fmt.Sprintf("user-%d", i)
		events = append(events, map[string]any{"user_id": user, "device_id": fmt.Sprintf("device-%d", i), "event_type": "session_start",
			"platform": "Android", "adid": fmt.Sprintf("38400000-8cf0-11bd-b23e-10b96e4000%02d", i), "time": at})
		if i <= 2 {
			events = append(events, map[string]any{"user_id": user, "event_type": "purchase", "time": at + 60_000,
				"revenue": 4.99, "event_properties": map[string]any{"store": "google"}})
		}
	}
	up, _ := json.Marshal(map[string]any{"api_key": project.APIKey, "events": events})
	if code, body := s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}}, string(up)); code != http.StatusOK {
		t.Fatalf("/2/httpapi: %d %s", code, body)
	}
	proj := "/projects/" + fmt.Sprint(project.ID)

	// Each chart.
	for _, kind := range []struct{ name, query string }{
		{"segmentation", "?e0=session_start"},
		{"funnel", "?e0=session_start&e1=purchase"},
		{"retention", "?e0=session_start"},
		{"ltv", ""},
	} {
		c.open(proj + "/charts/" + kind.name + kind.query)
		c.run(chromedp.WaitVisible(chromedp.CSS("#chart-table")))
		if n := value(c, chromedp.Evaluate[int](`document.querySelectorAll("main svg.chart").length`)); n == 0 && kind.name != "retention" {
			t.Errorf("%s: no chart drawn", kind.name)
		}
		c.shot("07-chart-"+kind.name, 1280)
		c.checkPage("chart " + kind.name)
	}

	// An AppsFlyer Audiences destination (this server's own Audiences API,
	// with the app's API token), then a cohort of the buyers, synced.
	c.open(proj + "/destinations/new?kind=appsflyer-cohort")
	c.checkPage("destination form")
	c.submitByName(map[string]string{"name": "AF audiences", "appsflyer_app_id": app, "api_token": apiToken,
		"platform": "android", "identifier": "gaid"}, `main form button[type="submit"]`)
	if got := c.text("main"); strings.Contains(got, apiToken) || !strings.Contains(got, "AF audiences") {
		t.Fatalf("destination page: %q", got)
	}
	c.open(proj + "/cohorts/new")
	c.submit(map[string]string{"name": "Buyers", "c0-kind": "event", "c0-event_type": "purchase", "c0-count_op": "at_least", "c0-count": "1"},
		`main button[value="preview"]`)
	c.waitText("#preview-size", "2")
	c.shot("08-cohort-preview", 1280)
	c.checkPage("cohort form")
	c.navigate(chromedp.Click(chromedp.CSS(`main button[value="save"]`)))
	c.waitText("main h1", "Buyers")
	c.submitByName(map[string]string{"cadence": "once", "batch_size": "100"}, `form[action$="/syncs"] button[type="submit"]`)
	c.navigate(chromedp.Click(chromedp.CSS(`form[action$="/run"] button[type="submit"]`)))
	c.waitText("main", "Run")
	if got := c.text("main"); !strings.Contains(got, "AF audiences") {
		t.Errorf("cohort page after the sync ran: %q", got)
	}
	c.shot("09-cohort-synced", 1280)
	c.shot("09-cohort-synced-390", 390)
	c.checkPage("cohort")
	var syncs struct{ Syncs []touchpoint.CohortSync }
	var cohorts struct{ Cohorts []touchpoint.Cohort }
	s.api(t, 200, "GET", "/api/v1/projects/"+fmt.Sprint(project.ID)+"/cohorts", nil, &cohorts)
	if len(cohorts.Cohorts) != 1 {
		t.Fatalf("cohorts: %+v", cohorts)
	}
	s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/syncs", project.ID, cohorts.Cohorts[0].ID), nil, &syncs)
	if len(syncs.Syncs) != 1 || syncs.Syncs[0].AudienceID == 0 {
		t.Fatalf("the sync did not reach the Audiences API: %+v", syncs.Syncs)
	}

	// The remaining screens open and pass the same checks.
	for _, p := range []string{appPath(app, "deliveries"), proj + "/users", proj + "/attributions/pending", proj + "/cohorts",
		proj + "/destinations", "/settings/rates"} {
		c.open(p)
		c.checkPage(p)
	}
	c.shot("10-deliveries", 1280)
}

// appPath is the dashboard path of an app's page.
func appPath(app, page string) string { return "/apps/" + app + "/" + page }

// tab opens another tab of the same browser (it shares the session).
func (c *chrome) tab() *chrome {
	c.t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx)
	c.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		c.t.Fatalf("open a tab: %v", err)
	}
	return &chrome{t: c.t, ctx: ctx, base: c.base, shots: c.shots}
}

// submitByName is submit with fields named by their name attribute.
func (c *chrome) submitByName(fields map[string]string, submit string) string {
	c.t.Helper()
	for name, v := range fields {
		c.set(`main [name="`+name+`"]`, v)
	}
	return c.navigate(chromedp.Click(chromedp.CSS(submit)))
}
