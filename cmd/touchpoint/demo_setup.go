package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The demo's apps and partners.
const (
	demoAndroid = "com.touchpoint.demo"
	demoIOS     = "id1234567890"

	pidPostbacks = "adnet_int"     // install and in-app postbacks to the sink; may send af_ip/af_ua
	pidSigned    = "signednet_int" // click signing enabled
	pidSRN       = "srn_int"       // restricted: a self-reporting network
)

// demoCurrencies are the currencies of in-app revenue, with the US dollars
// one unit is worth around the demo's days (each day's table varies a
// little).
var demoCurrencies = map[string]float64{"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "BRL": 0.19}

// demo is one run: what setup made, the simulation's state, and its
// counters.
type demo struct {
	opts  demoOptions
	cfg   demoConfig
	base  string // the server, http://127.0.0.1:8080
	admin *Client
	http  *http.Client // the public endpoints; redirects are not followed
	sink  *sink

	devKeys  map[string]string // app → dev key
	secrets  map[string]string // app → signednet_int's signing secret
	apiToken string            // the Android app's API token, for the Audiences API
	project  int64
	apiKey   string
	eventsTo map[string]int64 // app → its event-stream destination
	cohort   int64
	cohortTo int64 // the appsflyer-cohort destination
	syncID   atomic.Int64

	// start is where the simulation began (the history's first moment),
	// live where it reaches the demo's clock.
	start, live  time.Time
	simNow       atomic.Int64 // the apps' and project's clocks, Unix ms
	rateDay      string       // the last UTC day exchange rates were loaded for
	historyTook  atomic.Int64 // how long the history took to play, once it has
	historyUsers int64        // users of the history (read once historyTook is set)

	rng      *rand.Rand // the main loop's: arrivals and each journey's seed
	journeys int64
	queue    actionQueue
	seq      int64 // of actions scheduled, to keep their order
	qmu      sync.Mutex

	poolMu    sync.Mutex
	installed []*journey // installed devices, for reinstalls and re-engagements

	n counters
	// samples are device ids by what happened to them (match types,
	// rejections, reinstalls…), for tests and for the curious.
	samplesMu sync.Mutex
	samples   map[string][]string
}

// counters are what the demo sent and what came of it.
type counters struct {
	clicks, impressions, rejectedClicks       atomic.Int64
	installs, organic, fraud                  atomic.Int64
	reinstalls, reengagements, reattributions atomic.Int64
	inApp, events                             atomic.Int64
	errors                                    atomic.Int64
	lastErr                                   atomic.Value // string
}

func newDemo(opts demoOptions, cfg demoConfig, base, token string, s *sink) *demo {
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.tick == 0 {
		opts.tick = time.Second
	}
	if opts.historyStep == 0 {
		opts.historyStep = 15 * time.Minute
	}
	return &demo{
		opts: opts, cfg: cfg, base: base, sink: s,
		admin: &Client{Server: base, Token: token, HTTP: &http.Client{Timeout: time.Minute}},
		http: &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		devKeys: map[string]string{}, secrets: map[string]string{}, eventsTo: map[string]int64{},
		rng:     rand.New(rand.NewPCG(cfg.seed, 0x70c4)),
		samples: map[string][]string{},
	}
}

// api calls the admin API (the CLI's client) and decodes the answer into
// out, when given.
func (d *demo) api(ctx context.Context, method, path string, body, out any) error {
	b, err := d.admin.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// setup makes everything through the admin API, as an operator would:
// the apps (test mode, their clocks at the history's start), partners,
// signing secrets, the analytics project and its integrations, exchange
// rates and a cohort.
func (d *demo) setup(ctx context.Context) error {
	d.live = d.opts.now().UTC().Truncate(time.Millisecond)
	d.start = d.live.AddDate(0, 0, -d.cfg.historyDays)
	d.simNow.Store(d.start.UnixMilli())
	start := d.start

	for _, a := range []struct{ id, platform, name string }{
		{demoAndroid, "android", "Demo Game (Android)"},
		{demoIOS, "ios", "Demo Game (iOS)"},
	} {
		var app struct {
			DevKey   string `json:"dev_key"`
			APIToken string `json:"api_token"`
		}
		if err := d.api(ctx, "POST", "/api/v1/apps", map[string]any{"app_id": a.id, "platform": a.platform, "name": a.name,
			"test_mode": true, "test_clock": start}, &app); err != nil {
			return err
		}
		d.devKeys[a.id] = app.DevKey
		if a.id == demoAndroid {
			d.apiToken = app.APIToken
		}
		if err := d.setupPartners(ctx, a.id); err != nil {
			return err
		}
	}

	var p struct {
		ID     int64  `json:"id"`
		APIKey string `json:"api_key"`
	}
	if err := d.api(ctx, "POST", "/api/v1/projects", map[string]any{"name": "Demo Game", "apps": []string{demoAndroid, demoIOS},
		"test_mode": true, "test_clock": start}, &p); err != nil {
		return err
	}
	d.project, d.apiKey = p.ID, p.APIKey
	dests := fmt.Sprintf("/api/v1/projects/%d/destinations", d.project)
	for _, app := range []string{demoAndroid, demoIOS} {
		// Installs → analytics: the [AppsFlyer] properties, and the
		// AppsFlyer id the event stream sends back.
		if err := d.api(ctx, "PUT", "/api/v1/apps/"+app+"/analytics-forward", map[string]any{"api_key": d.apiKey}, nil); err != nil {
			return err
		}
		// Analytics → AppsFlyer's S2S API, which this server answers:
		// the events the attribution SDK does not see. Each app's users
		// (their "app" user property) go to that app.
		var dest struct{ ID int64 }
		if err := d.api(ctx, "POST", dests, map[string]any{"kind": "appsflyer-events", "name": "AppsFlyer events " + app,
			"appsflyer_app_id": app, "key": d.devKeys[app],
			"filter": map[string]any{"event_types": []string{"subscription_start"},
				"where": map[string]any{"on": "user", "property": "app", "op": "is", "values": []string{app}}}}, &dest); err != nil {
			return err
		}
		d.eventsTo[app] = dest.ID
	}

	// Exchange rates for every day of the history, as an operator loads
	// each day's table; the live days are loaded as they come.
	for day := start.AddDate(0, 0, -1); !day.After(d.live); day = day.AddDate(0, 0, 1) {
		if err := d.loadRates(ctx, day); err != nil {
			return err
		}
	}

	// A cohort of this week's payers from Android, for retargeting,
	// synced every minute to the Audiences API (this server's) once it
	// has members (see maybeStartSync).
	var co struct{ ID int64 }
	if err := d.api(ctx, "POST", fmt.Sprintf("/api/v1/projects/%d/cohorts", d.project), map[string]any{
		"name": "Payers this week", "description": "Android users who paid in the last 7 days: retarget them",
		"definition": demoCohort}, &co); err != nil {
		return err
	}
	d.cohort = co.ID
	var dest struct{ ID int64 }
	if err := d.api(ctx, "POST", dests, map[string]any{"kind": "appsflyer-cohort", "name": "AppsFlyer audiences",
		"appsflyer_app_id": demoAndroid, "api_token": d.apiToken, "platform": "android", "identifier": "gaid"}, &dest); err != nil {
		return err
	}
	d.cohortTo = dest.ID
	return nil
}

// setupPartners creates an app's three partners.
func (d *demo) setupPartners(ctx context.Context, app string) error {
	base := "/api/v1/apps/" + app + "/partners"
	// The ad network with postbacks: installs and every in-app event,
	// with revenue (converted to USD by the day's rates).
	if err := d.api(ctx, "POST", base, map[string]any{"pid": pidPostbacks, "allow_ip_ua": true, "postbacks": []map[string]any{
		{"kind": "install_postback", "url": d.sink.url + "/install?clickid=(clickid)&campaign=(campaign)&adset=(af_adset)&mt=(match-type)&ts=(install-unix-ts)"},
		{"kind": "event_postback", "send_revenue": true, "url": d.sink.url + "/event?clickid=(clickid)&e=(event-name)&usd=(monetary)&orig=(orig-monetary)&cur=(currency)"},
	}}, nil); err != nil {
		return err
	}
	// The network that signs its clicks: a secret, then signing enabled
	// (it cannot be before a secret exists). The secret lasts 60 days of
	// the app's clock: the history and a long live run.
	if err := d.api(ctx, "POST", base, map[string]any{"pid": pidSigned}, nil); err != nil {
		return err
	}
	var sec struct{ Secret string }
	if err := d.api(ctx, "POST", base+"/"+pidSigned+"/secrets?ttl-hours=1440", nil, &sec); err != nil {
		return err
	}
	d.secrets[app] = sec.Secret
	if err := d.api(ctx, "PATCH", base+"/"+pidSigned, map[string]any{"click_signing": "enabled"}, nil); err != nil {
		return err
	}
	// The self-reporting network: restricted, so it gets no postbacks and
	// its installs reach analytics as organic.
	return d.api(ctx, "POST", base, map[string]any{"pid": pidSRN, "restricted": true}, nil)
}

// loadRates puts a day's exchange rates (US dollars per unit), a little
// off the base rates, as a day's table would be.
func (d *demo) loadRates(ctx context.Context, day time.Time) error {
	date := day.UTC().Format(time.DateOnly)
	// A rate per day that does not depend on the order days are loaded in.
	r := rand.New(rand.NewPCG(d.cfg.seed, uint64(day.UTC().Unix()/86400)))
	rates := map[string]float64{}
	for cur, usd := range demoCurrencies {
		rates[cur] = math.Round(usd*(0.98+0.04*r.Float64())*1e6) / 1e6
	}
	if err := d.api(ctx, "PUT", "/api/v1/exchange-rates/"+date, map[string]any{"rates": rates}, nil); err != nil {
		return err
	}
	d.rateDay = date
	return nil
}

// maybeStartSync creates the cohort's sync, every minute, once the cohort
// has members: its first run then fills the audience at once.
func (d *demo) maybeStartSync(ctx context.Context) error {
	if d.syncID.Load() != 0 {
		return nil
	}
	path := fmt.Sprintf("/api/v1/projects/%d/cohorts", d.project)
	var preview struct{ Size int64 }
	if err := d.api(ctx, "POST", path+"/preview", map[string]any{"definition": demoCohort}, &preview); err != nil {
		return err
	}
	if preview.Size == 0 {
		return nil
	}
	var sy struct{ ID int64 }
	if err := d.api(ctx, "POST", fmt.Sprintf("%s/%d/syncs", path, d.cohort), map[string]any{"destination_id": d.cohortTo, "cadence": "minute"}, &sy); err != nil {
		return err
	}
	d.syncID.Store(sy.ID)
	return nil
}

// demoCohort is the cohort's definition: Android users who bought in the
// last 7 days (of the project's clock).
var demoCohort = map[string]any{"and": []any{
	map[string]any{"event": map[string]any{"event_type": "purchase", "op": "at_least", "count": 1, "within_days": 7}},
	map[string]any{"user_property": map[string]any{"property": "app", "op": "=", "value": demoAndroid}},
}}

// sample keeps a device id under what happened to it.
func (d *demo) sample(kind, deviceID string) {
	d.samplesMu.Lock()
	defer d.samplesMu.Unlock()
	if len(d.samples[kind]) < 50 {
		d.samples[kind] = append(d.samples[kind], deviceID)
	}
}

// samplesOf returns the device ids kept under kind.
func (d *demo) samplesOf(kind string) []string {
	d.samplesMu.Lock()
	defer d.samplesMu.Unlock()
	return append([]string(nil), d.samples[kind]...)
}

// fail counts an error of the traffic (a refused request is news: the
// summary shows the last one).
func (d *demo) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) { // stopping
		return
	}
	d.n.lastErr.Store(err.Error()) // before the count: a summary that sees the count sees an error
	d.n.errors.Add(1)
}
