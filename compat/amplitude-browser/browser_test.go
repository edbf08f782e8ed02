// Package compat runs the official Amplitude browser SDKs, pinned in
// package-lock.json, in headless Chromium against a real Touchpoint server:
// @amplitude/analytics-browser with its fetch and its beacon transports,
// and the legacy amplitude-js with its XMLHttpRequest and its sendBeacon
// uploads. The page is served from another origin than the server, as a
// website's is, so every upload is cross-origin. Each test checks through
// the admin API and the metrics that every event arrived exactly once.
//
// .ci/run installs what it needs: the npm packages (npm ci in this
// directory) and Chromium (apt-get install chromium). Without them the
// test is skipped, saying how to install them, and fails under CI=true.
package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/touchpointhq/touchpoint/compat/compattest"
	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// The SDK bundles a page loads, from node_modules.
var bundles = map[string]string{
	"/analytics-browser.js": "node_modules/@amplitude/analytics-browser/lib/scripts/amplitude-min.js",
	"/amplitude-js.js":      "node_modules/amplitude-js/amplitude.umd.min.js",
}

// browser is a headless Chromium and the site its pages come from.
type browser struct {
	ctx  context.Context
	site string // http://localhost:port: another origin than the servers'
}

// startBrowser starts Chromium (headless, no sandbox, nothing fetched from
// the network but what the pages ask for, a fresh profile) and a site
// that serves the SDK bundles; or skips the test.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	for _, file := range bundles {
		if _, err := os.Stat(file); err != nil {
			testenv.Skip(t, "the Amplitude browser SDKs are not installed: run `npm ci` in compat/amplitude-browser (%v)", err)
		}
	}
	mux := http.NewServeMux()
	for path, file := range bundles {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			http.ServeFile(w, r, file)
		})
	}
	mux.HandleFunc("GET /{sdk}", func(w http.ResponseWriter, r *http.Request) {
		sdk := strings.TrimSuffix(r.PathValue("sdk"), ".html")
		if _, ok := bundles["/"+sdk+".js"]; !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>%s</title><script src=\"/%s.js\"></script>", sdk, sdk)
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	_, port, _ := net.SplitHostPort(site.Listener.Addr().String())

	ctx := testenv.Chromium(t, 4*time.Minute)
	return &browser{ctx: ctx, site: "http://localhost:" + port}
}

// run opens a page of the site with an SDK loaded ("analytics-browser"
// or "amplitude-js") in a new tab, runs script there (an expression whose
// promise gives T), and returns its value.
func run[T any](t *testing.T, b *browser, sdk, script string) T {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(b.site+"/"+sdk+".html")); err != nil {
		t.Fatalf("open the %s page: %v", sdk, err)
	}
	ctx, cancelRun := context.WithTimeout(tab, time.Minute)
	defer cancelRun()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", sdk, err)
	}
	return v
}

// script fills a driver's CONFIG with cfg.
func script(driver string, cfg map[string]any) string {
	b, _ := json.Marshal(cfg)
	return strings.Replace(driver, "CONFIG", string(b), 1)
}

// sdkResult is what a driver reports of each call: the SDK's own result.
type sdkResult struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	Type     string `json:"type"`
	InsertID string `json:"insert_id"`
}

// browserSDK drives @amplitude/analytics-browser: n tracks, an identify
// and a revenue, through the transport given, and reports the result of
// each call (the promise resolves once the SDK is done with the event: sent
// and answered, or handed to sendBeacon).
const browserSDK = `(async (cfg) => {
	const client = amplitude.createInstance();
	await client.init(cfg.key, undefined, {
		serverUrl: cfg.server + '/2/httpapi', transport: cfg.transport, deviceId: cfg.device, enableRequestBodyCompression: !!cfg.gzip,
		flushIntervalMillis: 100, flushQueueSize: cfg.queue, flushMaxRetries: 3, logLevel: 0,
		autocapture: false, fetchRemoteConfig: false, enableDiagnostics: false, identityStorage: 'none',
	}).promise;
	const calls = [];
	for (let i = 0; i < cfg.n; i++) calls.push(client.track('Browser Event', { i, transport: cfg.transport }).promise);
	if (cfg.extras) {
		calls.push(client.identify(new amplitude.Identify().set('plan', 'gold').add('visits', 1)).promise);
		calls.push(client.revenue(new amplitude.Revenue().setProductId('sku-1').setPrice(2.5).setQuantity(2).setCurrency('EUR')).promise);
	}
	const results = await Promise.all(calls);
	return results.map((r) => ({ code: r.code, message: r.message, type: r.event.event_type, insert_id: r.event.insert_id }));
})(CONFIG)`

// legacySDK drives amplitude-js: a revenue (logRevenueV2) and an identify,
// then n events, each with callbacks, and reports what each event's
// callback got: the status and the answer (for the beacon transport, what
// the SDK reports once sendBeacon took the request).
const legacySDK = `(async (cfg) => {
	const client = amplitude.getInstance(cfg.instance);
	await new Promise((resolve) => client.init(cfg.key, null, {
		apiEndpoint: cfg.endpoint, forceHttps: false, transport: cfg.transport, deviceId: cfg.device,
		batchEvents: false, saveEvents: false, logLevel: 'DISABLE',
		includeReferrer: false, includeUtm: false, includeGclid: false, includeFbclid: false,
	}, resolve));
	if (cfg.extras) {
		client.logRevenueV2(new amplitude.Revenue().setProductId('sku-2').setPrice(1.5).setQuantity(3));
		client.identify(new amplitude.Identify().set('plan', 'silver'));
	}
	const calls = [];
	for (let i = 0; i < cfg.n; i++) {
		calls.push(new Promise((resolve) => client.logEvent('Legacy Event', { i },
			(code, body) => resolve({ code, message: String(body), type: 'Legacy Event' }),
			(code, body) => resolve({ code, message: String(body), type: 'Legacy Event' }))));
	}
	return await Promise.all(calls);
})(CONFIG)`

// waitIngested waits until an endpoint has acknowledged n events (beacon
// uploads are not awaited by the page), for at most 30 s.
func waitIngested(t *testing.T, s *compattest.Server, endpoint string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); s.Ingested(t, endpoint) < n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

func insertID(e map[string]any) string { return fmt.Sprint(e["insert_id"]) }

func TestAmplitudeBrowserSDK(t *testing.T) {
	b := startBrowser(t)
	const n = 25

	// fetch, fetch compressing its bodies (Content-Encoding: gzip, which
	// the preflight must allow), and beacon.
	for _, tc := range []struct {
		transport string
		gzip      bool
	}{{"fetch", false}, {"fetch", true}, {"beacon", false}} {
		transport, name := tc.transport, tc.transport
		if tc.gzip {
			name += "+gzip"
		}
		t.Run("analytics-browser/"+name, func(t *testing.T) {
			s := compattest.Start(t)
			p := s.CreateProject(t, "Web")
			device := "browser-device-" + transport
			results := run[[]sdkResult](t, b, "analytics-browser", script(browserSDK, map[string]any{
				"key": p.APIKey, "server": s.URL(), "transport": transport, "gzip": tc.gzip, "device": device, "n": n, "queue": 10, "extras": true}))
			var want []string
			for _, r := range results {
				if r.Code != 200 {
					t.Errorf("%s %s: the SDK got %d %s", r.Type, r.InsertID, r.Code, r.Message)
				}
				if r.Type != "$identify" {
					want = append(want, r.InsertID)
				}
			}
			if len(results) != n+2 || len(want) != n+1 {
				t.Fatalf("%d results: %+v", len(results), results)
			}
			if transport == "beacon" {
				waitIngested(t, s, "/2/httpapi", n+2)
			}
			// Every event stored once, and each sent once: the server
			// acknowledged as many as the SDK sent, no more.
			events := s.Events(t, p, "", device)
			compattest.ExactlyOnce(t, events, insertID, want)
			if got := s.Ingested(t, "/2/httpapi"); got != n+2 {
				t.Errorf("the server acknowledged %d events, the SDK sent %d", got, n+2)
			}
			for _, e := range events {
				if e["event_type"] == "revenue_amount" && (e["revenue"] != 5.0 || e["currency"] != "EUR" || e["productId"] != "sku-1") {
					t.Errorf("revenue event %v", e)
				}
				if e["library"] == nil || e["platform"] != "Web" {
					t.Errorf("the SDK's own fields are missing: %v", e)
				}
			}
			if u, _ := s.FindUser(t, p, "", device); u.UserProperties["plan"] != "gold" || u.UserProperties["visits"] != 1.0 {
				t.Errorf("user properties %v", u.UserProperties)
			}
		})
	}

	// A wrong key: the SDK reads the 400 across origins, recognises
	// "Invalid API key: …" and drops the events, each sent once, never
	// retried.
	t.Run("analytics-browser/bad key", func(t *testing.T) {
		s := compattest.Start(t)
		results := run[[]sdkResult](t, b, "analytics-browser", script(browserSDK, map[string]any{
			"key": "0123456789abcdef0123456789abcdef", "server": s.URL(), "transport": "fetch", "device": "browser-device-bad", "n": 3, "queue": 1}))
		for _, r := range results {
			if r.Code != 400 || r.Message != "Invalid API key: 0123456789abcdef0123456789abcdef" {
				t.Errorf("%s: the SDK got %d %q", r.InsertID, r.Code, r.Message)
			}
		}
		if got, ok := s.Requests(t, "POST /2/httpapi", 400), s.Requests(t, "POST /2/httpapi", 200); got != 3 || ok != 0 {
			t.Errorf("%d uploads refused and %d accepted, want 3 (one per event, none retried) and 0", got, ok)
		}
	})

	for _, transport := range []string{"http", "beacon"} {
		t.Run("amplitude-js/"+transport, func(t *testing.T) {
			s := compattest.Start(t)
			p := s.CreateProject(t, "Legacy web")
			device := "legacy-device-" + transport
			results := run[[]sdkResult](t, b, "amplitude-js", script(legacySDK, map[string]any{
				"key": p.APIKey, "endpoint": strings.TrimPrefix(s.URL(), "http://"), "transport": transport, "device": device,
				"instance": transport, "n": n, "extras": true}))
			if len(results) != n {
				t.Fatalf("%d results: %+v", len(results), results)
			}
			for i, r := range results {
				if r.Code != 200 || r.Message != "success" {
					t.Errorf("event %d: the SDK got %d %q", i, r.Code, r.Message)
				}
			}
			// The events, the revenue and the identify.
			if transport == "beacon" {
				waitIngested(t, s, "/", n+2)
			}
			events := s.Events(t, p, "", device)
			want := []string{"revenue_amount"}
			for i := range n {
				want = append(want, fmt.Sprintf("Legacy Event %d", i))
			}
			compattest.ExactlyOnce(t, events, func(e map[string]any) string {
				if i, ok := e["event_properties"].(map[string]any)["i"]; ok {
					return fmt.Sprint(e["event_type"], " ", i)
				}
				return fmt.Sprint(e["event_type"])
			}, want)
			if got := s.Ingested(t, "/"); got != n+2 {
				t.Errorf("the server acknowledged %d events, the SDK sent %d", got, n+2)
			}
			for _, e := range events {
				if !strings.HasPrefix(fmt.Sprint(e["library"]), "amplitude-js/") || e["insert_id"] == nil || e["time"] == nil {
					t.Errorf("legacy names not mapped: %v", e)
				}
				if e["event_type"] == "revenue_amount" && (e["revenue"] != 4.5 || e["productId"] != "sku-2") {
					t.Errorf("revenue event %v", e)
				}
			}
			if u, _ := s.FindUser(t, p, "", device); u.UserProperties["plan"] != "silver" {
				t.Errorf("user properties %v", u.UserProperties)
			}
		})
	}

	// The legacy endpoint's form as a page may send it itself:
	// navigator.sendBeacon with FormData (multipart) and with
	// URLSearchParams, across origins, no checksum.
	t.Run("sendBeacon forms", func(t *testing.T) {
		s := compattest.Start(t)
		p := s.CreateProject(t, "Beacon")
		sent := run[[]bool](t, b, "amplitude-js", script(`(async (cfg) => {
			const fields = (i) => [['client', cfg.key], ['v', '2'], ['upload_time', String(Date.now())],
				['e', JSON.stringify([{ device_id: cfg.device, event_type: 'Beacon Form', uuid: 'beacon-' + i,
					timestamp: Date.now(), event_properties: { i } }])]];
			const form = new FormData();
			for (const [k, v] of fields(0)) form.append(k, v);
			return [navigator.sendBeacon(cfg.server + '/', form), navigator.sendBeacon(cfg.server + '/', new URLSearchParams(fields(1)))];
		})(CONFIG)`, map[string]any{"key": p.APIKey, "server": s.URL(), "device": "beacon-form-device"}))
		if len(sent) != 2 || !sent[0] || !sent[1] {
			t.Fatalf("sendBeacon returned %v", sent)
		}
		waitIngested(t, s, "/", 2)
		compattest.ExactlyOnce(t, s.Events(t, p, "", "beacon-form-device"), insertID, []string{"beacon-0", "beacon-1"})
	})

	// A wrong key: "invalid_api_key", one request, the event kept by the
	// SDK (as with Amplitude) and not sent again on its own.
	t.Run("amplitude-js/bad key", func(t *testing.T) {
		s := compattest.Start(t)
		results := run[[]sdkResult](t, b, "amplitude-js", script(legacySDK, map[string]any{
			"key": "0123456789abcdef0123456789abcdef", "endpoint": strings.TrimPrefix(s.URL(), "http://"), "transport": "http",
			"device": "legacy-device-bad", "instance": "bad", "n": 1}))
		if len(results) != 1 || results[0].Code != 400 || results[0].Message != "invalid_api_key" {
			t.Errorf("the SDK got %+v, want 400 invalid_api_key", results)
		}
		if got := s.Requests(t, "POST /{$}", 400); got != 1 {
			t.Errorf("%d uploads refused, want 1", got)
		}
	})
}

// TestBundlesPinned: the bundles the pages load are the versions
// package-lock.json pins.
func TestBundlesPinned(t *testing.T) {
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	b, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"@amplitude/analytics-browser", "amplitude-js"} {
		want := lock.Packages["node_modules/"+pkg].Version
		var installed struct{ Version string }
		b, err := os.ReadFile(filepath.Join("node_modules", pkg, "package.json"))
		if err != nil {
			testenv.Skip(t, "%s is not installed: run `npm ci` in compat/amplitude-browser", pkg)
		}
		if err := json.Unmarshal(b, &installed); err != nil {
			t.Fatal(err)
		}
		if want == "" || installed.Version != want {
			t.Errorf("%s %s installed, the lock pins %q: run npm ci", pkg, installed.Version, want)
		}
	}
}
