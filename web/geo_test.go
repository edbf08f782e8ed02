package web_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/internal/mmdbtest"
)

// TestOverviewByCountry: with a GeoIP database the overview adds a
// table by country: clicks where they came from, the install (and its
// purchase) where it was launched; without one there is no such table.
func TestOverviewByCountry(t *testing.T) {
	db, err := geo.Open(mmdbtest.Write(t, "GeoLite2-City"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, clk := startServer(t, func(s *httpapi.Server) {
		s.GeoIP = db
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	devKey := newGameApp(t, s, nil)
	for _, c := range []struct{ xff, query string }{
		{"81.2.69.142", "pid=examplenet_int&c=launch&advertising_id=" + gaid},
		{"216.160.83.56", "pid=examplenet_int&c=launch"},
		{"10.1.2.3", "pid=owned_email&c=spring"},
	} {
		if code, body := s.send(t, "GET", "/c/"+gameApp+"?"+c.query, http.Header{"X-Forwarded-For": {c.xff}}, ""); code != http.StatusFound {
			t.Fatalf("click %s: %d %s", c.query, code, body)
		}
	}
	clk.Add(time.Minute) // a launch at once would be a CTIT anomaly
	device := launch(t, s, devKey, map[string]any{"advertising_id": gaid, "ip": "89.160.20.112"})
	sdk(t, s, devKey, "/events", map[string]any{"device_id": device, "event_name": "af_purchase", "revenue": "9.99", "currency": "USD"}, nil)

	b := signIn(t, s)
	p := b.mustGet("/apps/" + gameApp + "/overview")
	p.mustShow(t, "<h2>By country</h2>")
	for name, want := range map[string][]string{
		// name, clicks, impressions, installs, organic, conversion rate,
		// cost, eCPI, conversions, revenue, ROAS, rejected
		"Sweden (SE)":         {"0", "0", "1", "0", "–", "–", "–", "1", "USD 9.99", "–", "0"},
		"United Kingdom (GB)": {"1", "0", "0", "0", "0.0%", "–", "–", "0", "–", "–", "0"},
		"United States (US)":  {"1", "0", "0", "0", "0.0%", "–", "–", "0", "–", "–", "0"},
		"(unknown)":           {"1", "0", "0", "0", "0.0%", "–", "–", "0", "–", "–", "0"},
	} {
		if got := rowCells(p, name); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row %s: %q, want %q", name, got, want)
		}
	}
	// A drill-down's table is its selection's: examplenet_int's click
	// from an unknown address is owned_email's.
	p = b.mustGet("/apps/" + gameApp + "/overview?media_source=examplenet_int")
	if got := rowCells(p, "Sweden (SE)"); len(got) < 3 || got[2] != "1" {
		t.Errorf("examplenet_int's installs in Sweden: %q", got)
	}
	if got := rowCells(p, "(unknown)"); got != nil {
		t.Errorf("examplenet_int shows an unknown country: %q", got)
	}
}

// TestOverviewNoCountries: a server without a GeoIP database shows no
// table by country.
func TestOverviewNoCountries(t *testing.T) {
	s, clk := startServer(t)
	sendTraffic(t, s, clk)
	b := signIn(t, s)
	b.mustGet("/apps/"+gameApp+"/overview").mustNotShow(t, "By country")
}
