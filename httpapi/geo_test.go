package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/touchpointhq/touchpoint/sqlite"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/internal/apispec"
	"github.com/touchpointhq/touchpoint/internal/mmdbtest"
)

// withGeoIP gives the server a test GeoIP database (mmdbtest.Places)
// and believes the X-Forwarded-For of local proxies, so that a test
// can send from any address.
func withGeoIP(t *testing.T) func(*httpapi.Server) {
	db, err := geo.Open(mmdbtest.Write(t, "GeoLite2-City"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return func(s *httpapi.Server) {
		s.GeoIP = db
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	}
}

const chromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// TestGeoAnalytics: uploads get the location of their address (the
// event's ip, "$remote", else the connection's) and the browser's fields
// where they did not say, and a chart groups them by country.
func TestGeoAnalytics(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(func() time.Time { return now }), withGeoIP(t))
	p := s.createProject(t, nil)
	at := func(h int) int64 { return now.Add(time.Duration(-h) * time.Hour).UnixMilli() }
	upload := func(xff, ua, events string) {
		t.Helper()
		body := fmt.Sprintf(`{"api_key":%q,"events":[%s]}`, p.APIKey, events)
		if code, answer := post(t, s.URL()+"/2/httpapi", "text/plain", []byte(body), "X-Forwarded-For", xff, "User-Agent", ua); code != 200 {
			t.Fatalf("upload = %d %s", code, answer)
		}
	}
	// A browser in London; the same browser's next event names its ip
	// ($remote: the connection's, here Sweden's); a native app sends its
	// country and platform; a server forwards an event with the
	// device's ip.
	upload("81.2.69.142", chromeWindows, fmt.Sprintf(`{"device_id":"browser-1","event_type":"view","time":%d}`, at(5)))
	upload("89.160.20.112", chromeWindows, fmt.Sprintf(`{"device_id":"browser-2","event_type":"view","time":%d,"ip":"$remote"}`, at(4)))
	upload("216.160.83.56", "MyGame/1.2 CFNetwork/1485 Darwin/23.1.0",
		fmt.Sprintf(`{"device_id":"phone-1","event_type":"view","time":%d,"platform":"iOS","os_name":"ios","country":"Canada"}`, at(3)))
	upload("203.0.113.1", "amplitude-go/1.3.0", fmt.Sprintf(`{"device_id":"phone-2","event_type":"view","time":%d,"ip":"81.2.69.160","platform":"Android"}`, at(2)))

	for device, want := range map[string]map[string]any{
		"browser-1": {"country": "United Kingdom", "region": "England", "city": "London", "os_name": "Chrome", "os_version": "120",
			"device_family": "Windows", "device_type": "Desktop", "platform": "Web", "ip": nil},
		"browser-2": {"country": "Sweden", "city": "Linköping", "ip": "89.160.20.112", "platform": "Web"},
		"phone-1":   {"country": "Canada", "city": nil, "region": nil, "os_name": "ios", "platform": "iOS", "device_type": nil},
		"phone-2":   {"country": "United Kingdom", "city": "London", "platform": "Android", "os_name": nil},
	} {
		evs := s.deviceEvents(t, p, device)
		if len(evs) != 1 {
			t.Fatalf("%s: %d events", device, len(evs))
		}
		for k, v := range want {
			if evs[0][k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", device, k, evs[0][k], v, evs[0])
			}
		}
	}

	var seg struct {
		Series []struct {
			Group  []string  `json:"group"`
			Values []float64 `json:"values"`
		} `json:"series"`
	}
	s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/charts/segmentation", p.ID), map[string]any{
		"events": []any{map[string]any{"event_type": "view"}}, "start": "2026-11-10", "end": "2026-11-10",
		"group_by": []any{map[string]any{"property": "country"}}}, &seg)
	got := map[string]float64{}
	for _, sr := range seg.Series {
		got[fmt.Sprint(sr.Group)] = sr.Values[0]
	}
	if fmt.Sprint(got) != "map[[Canada]:1 [Sweden]:1 [United Kingdom]:2]" {
		t.Errorf("views by country: %v (%+v)", got, seg)
	}

	// The other charts group by it too: a funnel and a retention by the
	// events' country, LTV by the users' (their latest event's).
	byCountry := map[string]any{"property": "country"}
	view := map[string]any{"event_type": "view"}
	var groups struct {
		Groups []struct {
			Group []string `json:"group"`
			Users []int    `json:"users"`
		} `json:"groups"`
	}
	for kind, q := range map[string]map[string]any{
		"funnel":    {"steps": []any{view, view}, "start": "2026-11-10", "end": "2026-11-10", "group_by": byCountry},
		"retention": {"start_event": view, "start": "2026-11-10", "end": "2026-11-10", "periods": 1, "group_by": byCountry},
		"ltv":       {"start": "2026-11-10", "end": "2026-11-10", "days": 1, "group_by": byCountry},
	} {
		groups.Groups = nil
		s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/charts/%s", p.ID, kind), q, &groups)
		users := map[string]int{}
		for _, g := range groups.Groups {
			if kind == "funnel" {
				continue // a funnel's groups count steps, not users: only the names are checked
			}
			users[fmt.Sprint(g.Group)] = g.Users[0]
		}
		names := []string{}
		for _, g := range groups.Groups {
			names = append(names, fmt.Sprint(g.Group))
		}
		slices.Sort(names)
		if fmt.Sprint(names) != "[[Canada] [Sweden] [United Kingdom]]" {
			t.Errorf("%s groups: %v", kind, names)
		}
		if kind != "funnel" && fmt.Sprint(users) != "map[[Canada]:1 [Sweden]:1 [United Kingdom]:2]" {
			t.Errorf("%s users by country: %v", kind, users)
		}
	}
}

// TestGeoAttribution: clicks and launches record the country and city
// of their address, and the report groups and filters by country:
// clicks under their own, the install and its in-app events under the
// launch's.
func TestGeoAttribution(t *testing.T) {
	a := startSDKApp(t, withGeoIP(t), func(s *httpapi.Server) { s.AllowPrivatePostbackHosts = true })
	// The partner's install postback asks for the install's place.
	sk := newSink(t)
	a.mustAPI(t, 200, "PATCH", "/api/v1/apps/"+appID+"/partners/net_a", map[string]any{"postbacks": []any{
		map[string]any{"kind": "install_postback", "url": sk.URL + "/install?cc=(country-code)&city=(city)"}}}, nil)
	for _, c := range []struct{ xff, query string }{
		{"81.2.69.142", "pid=net_a&c=spring&advertising_id=G-1"},
		{"216.160.83.56", "pid=net_a&c=spring"},
		{"10.0.0.7", "pid=net_a&c=spring"}, // a private address: no country
	} {
		resp, body := a.get(t, "/c/"+appID+"?"+c.query, "X-Forwarded-For", c.xff)
		if resp.StatusCode != 302 {
			t.Fatalf("click = %d %s", resp.StatusCode, body)
		}
	}
	var page touchPage
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/touches", nil, &page)
	countries := map[string]string{}
	for _, tc := range page.Touches {
		countries[tc.IP] = tc.CountryCode + "/" + tc.City
	}
	if fmt.Sprint(countries) != "map[10.0.0.7:/ 216.160.83.56:US/Milton 81.2.69.142:GB/London]" {
		t.Errorf("touches' places: %v", countries)
	}

	// The device installs from Sweden (the SDK's ip wins over the
	// connection's) and buys; its install postback names where.
	a.advance(t, "1h")
	first := a.launch(t, map[string]any{"advertising_id": "G-1", "launch_id": "L-1", "ip": "89.160.20.112"})
	if first.ConversionData["media_source"] != "net_a" {
		t.Fatalf("launch: %+v", first)
	}
	var ev httpapi.EventResponse
	if a.sdk(t, "/events", map[string]any{"device_id": first.DeviceID, "event_id": "E-1", "event_name": "af_purchase", "revenue": "4.5", "currency": "EUR"}, &ev) != 200 {
		t.Fatal("event refused")
	}
	if got := sk.waitRequests(t, 1); got[0] != "/install?cc=SE&city=Link%C3%B6ping" {
		t.Errorf("install postback %s", got[0])
	}
	view := a.explain(t, first.DeviceID)
	if len(view.Installs) != 1 || view.Installs[0].Launch.CountryCode != "SE" || view.Installs[0].Launch.City != "Linköping" {
		t.Fatalf("install's launch: %+v", view.Installs)
	}

	schemas := apispec.Schemas(t, "ReportRow", "Touch")
	var raw struct{ Rows []any }
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&group_by=country", nil, &raw)
	for _, r := range raw.Rows {
		if err := schemas["ReportRow"].Validate(r); err != nil {
			t.Errorf("report row %v: %v", r, err)
		}
	}
	rows := a.report(t, "country")
	for country, want := range map[string][3]int64{"GB": {1, 0, 0}, "US": {1, 0, 0}, "": {1, 0, 0}, "SE": {0, 1, 1}} {
		r := row(rows, "country", country)
		if got := [3]int64{r.Clicks, r.Installs, r.Conversions}; got != want || r.Group == nil {
			t.Errorf("country %q: clicks, installs, conversions = %v, want %v", country, got, want)
		}
	}
	if r := row(rows, "country", "SE"); r.Revenue["EUR"] != 4.5*touchpoint.AmountScale {
		t.Errorf("SE revenue %v", r.Revenue)
	}
	var only struct{ Rows []touchpoint.ReportRow }
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/report?from=2026-11-01&to=2026-11-30&group_by=media_source,country&country=GB", nil, &only)
	if len(only.Rows) != 1 || only.Rows[0].Group["country"] != "GB" || only.Rows[0].Group["media_source"] != "net_a" || only.Rows[0].Clicks != 1 {
		t.Errorf("where country=GB: %+v", only.Rows)
	}
}

// TestNoGeoIP: without a database nothing is looked up; the browser's
// fields still come from its User-Agent.
func TestNoGeoIP(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(func() time.Time { return now }), func(s *httpapi.Server) {
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	p := s.createProject(t, nil)
	body := fmt.Sprintf(`{"api_key":%q,"events":[{"device_id":"browser-1","event_type":"view","time":%d}]}`, p.APIKey, now.UnixMilli())
	if code, answer := post(t, s.URL()+"/2/httpapi", "text/plain", []byte(body), "X-Forwarded-For", "81.2.69.142", "User-Agent", chromeWindows); code != 200 {
		t.Fatalf("upload = %d %s", code, answer)
	}
	evs := s.deviceEvents(t, p, "browser-1")
	if len(evs) != 1 || evs[0]["country"] != nil || evs[0]["city"] != nil || evs[0]["os_name"] != "Chrome" {
		t.Fatalf("events %v", evs)
	}
}

// BenchmarkUploadGeo posts uploads of 10 browser events to /2/httpapi on
// the embedded store, one at a time: "plain" without a GeoIP database
// and from a client that is no browser (nothing to fill: what is left is
// the scan of each event's members), "geo+ua" with the database and a
// browser's User-Agent (every event gets 8 fields).
func BenchmarkUploadGeo(b *testing.B) {
	for _, c := range []struct {
		name, ua string
		geo      bool
	}{{"plain", "Go-http-client/1.1", false}, {"geo+ua", chromeWindows, true}} {
		b.Run(c.name, func(b *testing.B) {
			db := sqlite.NewDB(filepath.Join(b.TempDir(), "touchpoint.db"))
			srv := httpapi.NewServer(db)
			srv.Addr, srv.AdminToken = "127.0.0.1:0", token
			srv.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			srv.Logger = slog.New(slog.DiscardHandler)
			if c.geo {
				g, err := geo.Open(mmdbtest.Write(b, "GeoLite2-City"))
				if err != nil {
					b.Fatal(err)
				}
				defer g.Close()
				srv.GeoIP = g
			}
			if err := db.Open(); err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := srv.Open(); err != nil {
				b.Fatal(err)
			}
			defer srv.Close(context.Background())
			req, _ := http.NewRequest("POST", srv.URL()+"/api/v1/projects", strings.NewReader(`{"name":"Bench","limits":{"http_eps":1000000}}`))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p touchpoint.Project
			json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Fatal(resp.Status)
			}
			s := struct{ URL func() string }{srv.URL}
			client := &http.Client{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				events := make([]string, 10)
				for j := range events {
					events[j] = fmt.Sprintf(`{"device_id":"device-%08d","event_type":"page_view","insert_id":"%d-%d","event_properties":{"page":"/pricing","plan":"pro"},"library":"amplitude-ts/2.11.0"}`, i%1000, i, j)
				}
				i++
				body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
				req, _ := http.NewRequest("POST", s.URL()+"/2/httpapi", strings.NewReader(body))
				req.Header.Set("User-Agent", c.ua)
				req.Header.Set("X-Forwarded-For", "81.2.69.142")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
			b.StopTimer()
			client.CloseIdleConnections()
		})
	}
}

// TestGeoLegacy: the legacy endpoint's events (amplitude-js) are filled
// as /2/httpapi's: amplitude-js sends its own os_name and os_version,
// which are kept, and its user_agent, which is read for the rest.
func TestGeoLegacy(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(func() time.Time { return now }), withGeoIP(t))
	p := s.createProject(t, nil)
	ev := strings.Replace(jsEvent("device-legacy", "Page Viewed", "uuid-1", now.Add(-time.Minute).UnixMilli()),
		`"user_agent":"Mozilla/5.0"`, `"user_agent":"`+chromeWindows+`"`, 1)
	v := legacyValues(p.APIKey, ev)
	status, body := post(t, s.URL()+"/", "application/x-www-form-urlencoded", []byte(v.Encode()), "X-Forwarded-For", "89.160.20.112")
	if status != 200 || body != "success" {
		t.Fatalf("= %d %q", status, body)
	}
	evs := s.deviceEvents(t, p, "device-legacy")
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	for k, want := range map[string]any{"country": "Sweden", "city": "Linköping", "os_name": "Chrome", "os_version": "124",
		"device_family": "Windows", "device_type": "Desktop", "platform": "Web"} {
		if evs[0][k] != want {
			t.Errorf("%s = %v, want %v (%v)", k, evs[0][k], want, evs[0])
		}
	}
}
