package geo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/internal/mmdbtest"
)

const chromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

func openTestDB(t testing.TB, dbType string) *geo.DB {
	t.Helper()
	db, err := geo.Open(mmdbtest.Write(t, dbType))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLookup(t *testing.T) {
	db := openTestDB(t, "GeoLite2-City")
	for _, c := range []struct {
		ip   string
		want geo.Location
	}{
		{"81.2.69.142", geo.Location{CountryCode: "GB", Country: "United Kingdom", Region: "England", City: "London"}},
		{"::ffff:81.2.69.142", geo.Location{CountryCode: "GB", Country: "United Kingdom", Region: "England", City: "London"}},
		{"89.160.20.112", geo.Location{CountryCode: "SE", Country: "Sweden", Region: "Östergötland County", City: "Linköping"}},
		{"2001:480::1", geo.Location{CountryCode: "US", Country: "United States", Region: "California", City: "San Diego"}},
		{"2a02:ff00::1", geo.Location{CountryCode: "IT", Country: "Italy"}},
		{"8.8.8.8", geo.Location{}},   // not in the database
		{"10.1.2.3", geo.Location{}},  // private
		{"127.0.0.1", geo.Location{}}, // loopback
		{"not an ip", geo.Location{}}, // not an address
		{"", geo.Location{}},          // none
	} {
		if got := db.Lookup(c.ip); got != c.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", c.ip, got, c.want)
		}
	}
	var none *geo.DB
	if got := none.Lookup("81.2.69.142"); !got.IsZero() {
		t.Errorf("a nil DB found %+v", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	os.WriteFile(garbage, []byte("this is not a database"), 0o600)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.mmdb"), "not a readable MaxMind DB"},
		{garbage, "not a readable MaxMind DB"},
		{mmdbtest.Write(t, "GeoLite2-ASN"), `is a "GeoLite2-ASN" database: want a City or Country one`},
	} {
		_, err := geo.Open(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) = %v, want an error saying %q", filepath.Base(c.path), err, c.want)
		}
	}
	for _, typ := range []string{"GeoLite2-Country", "GeoIP2-City", "DBIP-City-Lite", "DBIP-Country-Lite"} {
		db, err := geo.Open(mmdbtest.Write(t, typ))
		if err != nil {
			t.Errorf("Open(%s): %v", typ, err)
			continue
		}
		db.Close()
	}
}

func TestParseUA(t *testing.T) {
	for _, c := range []struct {
		ua   string
		want geo.Device
	}{
		{chromeMac, geo.Device{OSName: "Chrome", OSVersion: "120", DeviceFamily: "MacOS", DeviceType: "Desktop", Platform: "Web"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			geo.Device{OSName: "Safari", OSVersion: "17", DeviceFamily: "iOS", DeviceType: "Mobile", Platform: "Web"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36",
			geo.Device{OSName: "Chrome", OSVersion: "120", DeviceFamily: "Android", DeviceType: "Mobile", Platform: "Web"}},
		// Not browsers: servers, SDKs, native HTTP stacks, bots.
		{"Go-http-client/1.1", geo.Device{}},
		{"amplitude-go/1.3.0", geo.Device{}},
		{"MyGame/1.2 CFNetwork/1485 Darwin/23.1.0", geo.Device{}},
		{"Dalvik/2.1.0 (Linux; U; Android 13; SM-G991B Build/TP1A.220624.014)", geo.Device{}},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", geo.Device{}},
		{"", geo.Device{}},
	} {
		if got := geo.ParseUA(c.ua); got != c.want {
			t.Errorf("ParseUA(%q) = %+v, want %+v", c.ua, got, c.want)
		}
	}
}

func event(data string) *touchpoint.IncomingEvent {
	return &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, EventType: "play", Data: []byte(data)}
}

func fields(t *testing.T, e *touchpoint.IncomingEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("stored event %s: %v", e.Data, err)
	}
	return m
}

func TestEnrichEvent(t *testing.T) {
	en := &geo.Enricher{DB: openTestDB(t, "GeoLite2-City"), UA: true}

	// Nothing given: the request's address and agent fill everything.
	e := event(`{"event_type":"play"}`)
	en.Event(e, "81.2.69.142", chromeMac)
	m := fields(t, e)
	want := map[string]any{"event_type": "play", "country": "United Kingdom", "region": "England", "city": "London",
		"os_name": "Chrome", "os_version": "120", "device_family": "MacOS", "device_type": "Desktop", "platform": "Web"}
	if len(m) != len(want) {
		t.Errorf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, m[k], v, e.Data)
		}
	}
	if e.Country != "United Kingdom" || e.Platform != "Web" {
		t.Errorf("user fields: country %q platform %q", e.Country, e.Platform)
	}

	// The event's ip and user_agent win over the request's; the event's
	// own device fields are kept, the missing ones filled.
	e = event(`{"event_type":"play","ip":"89.160.20.112","user_agent":"` + chromeMac + `","os_name":"Brave","platform":"Web"}`)
	e.Platform = "Web"
	en.Event(e, "81.2.69.142", "Go-http-client/1.1")
	m = fields(t, e)
	if m["city"] != "Linköping" || m["country"] != "Sweden" || m["os_name"] != "Brave" || m["os_version"] != "120" || m["platform"] != "Web" || e.Platform != "Web" {
		t.Errorf("got %s", e.Data)
	}

	// A native event (its platform is not Web) gets no browser's fields,
	// and an ip it sends that is no address locates nothing.
	e = event(`{"event_type":"play","platform":"iOS","ip":"unknown"}`)
	e.Platform = "iOS"
	en.Event(e, "81.2.69.142", chromeMac)
	if string(e.Data) != `{"event_type":"play","platform":"iOS","ip":"unknown"}` || e.Platform != "iOS" || e.Country != "" {
		t.Errorf("native event: %s", e.Data)
	}

	// A location the event gives is kept whole: no city is added under it.
	e = event(`{"event_type":"play","country":"France"}`)
	e.Country = "France"
	en.Event(e, "81.2.69.142", "")
	m = fields(t, e)
	if m["country"] != "France" || m["city"] != nil || m["region"] != nil || e.Country != "France" {
		t.Errorf("got %s (country %q)", e.Data, e.Country)
	}

	// An unknown or private address and a server's agent add nothing.
	for _, ip := range []string{"8.8.8.8", "192.168.1.2", ""} {
		e = event(`{"event_type":"play","n":1}`)
		en.Event(e, ip, "amplitude-go/1.3.0")
		if string(e.Data) != `{"event_type":"play","n":1}` || e.Country != "" || e.Platform != "" {
			t.Errorf("from %q: %s", ip, e.Data)
		}
	}

	// Group identifies describe no device.
	e = event(`{"event_type":"$groupidentify"}`)
	e.Kind = touchpoint.GroupIdentifyEvent
	en.Event(e, "81.2.69.142", chromeMac)
	if string(e.Data) != `{"event_type":"$groupidentify"}` {
		t.Errorf("group identify: %s", e.Data)
	}

	// Without a database only the agent is read; a nil enricher does nothing.
	e = event(`{}`)
	(&geo.Enricher{UA: true}).Event(e, "81.2.69.142", chromeMac)
	if m = fields(t, e); m["country"] != nil || m["os_name"] != "Chrome" {
		t.Errorf("UA only: %s", e.Data)
	}
	e = event(`{}`)
	var none *geo.Enricher
	none.Event(e, "81.2.69.142", chromeMac)
	if string(e.Data) != `{}` {
		t.Errorf("nil enricher: %s", e.Data)
	}
}

// An event as the browser SDK sends it, stored form.
const benchEvent = `{"event_type":"page_view","insert_id":"b0c7a5a4-6d3c-4f4e-9d6b-3a2f1e0d9c8b","session_id":1764763200000,` +
	`"event_properties":{"page":"/pricing","referrer":"https://www.google.com/","plan":"pro"},"library":"amplitude-ts/2.11.0",` +
	`"language":"English","ip":"81.2.69.142"}`

// BenchmarkEnrich measures the enrichment of one event, with geo and UA,
// UA only, and none (a nil enricher: what serve without --geoip-db and
// without UA parsing would cost).
func BenchmarkEnrich(b *testing.B) {
	db := openTestDB(b, "GeoLite2-City")
	for _, c := range []struct {
		name string
		en   *geo.Enricher
	}{{"none", nil}, {"ua", &geo.Enricher{UA: true}}, {"geo+ua", &geo.Enricher{DB: db, UA: true}}} {
		b.Run(c.name, func(b *testing.B) {
			e := event(benchEvent)
			b.ReportAllocs()
			for b.Loop() {
				e.Data = []byte(benchEvent)
				c.en.Event(e, "81.2.69.142", chromeMac)
			}
		})
	}
}

// BenchmarkDecodeAndEnrich is the ingestion's CPU work before the store,
// for an upload of 10 browser events: decoding (analytics.DecodeUpload)
// alone, then with the enrichment /2/httpapi does after it.
func BenchmarkDecodeAndEnrich(b *testing.B) {
	db := openTestDB(b, "GeoLite2-City")
	events := make([]string, 10)
	for i := range events {
		events[i] = strings.Replace(benchEvent, `"event_type":"page_view"`, `"event_type":"page_view","device_id":"device-0123456789","time":1764763200000`, 1)
	}
	body := []byte(`{"api_key":"0123456789abcdef0123456789abcdef","events":[` + strings.Join(events, ",") + `]}`)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		en   *geo.Enricher
	}{{"decode", nil}, {"decode+ua", &geo.Enricher{UA: true}}, {"decode+geo+ua", &geo.Enricher{DB: db, UA: true}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				up, rej := analytics.DecodeUpload(body, analytics.Request{Endpoint: analytics.HTTPAPI, Now: now, RemoteIP: "81.2.69.142"})
				if rej != nil {
					b.Fatal(rej)
				}
				c.en.Upload(up.Events, "81.2.69.142", chromeMac)
			}
		})
	}
}
