package amplitude_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/amplitude"
)

const self = "http://127.0.0.1:8080"

var (
	installTime = time.Date(2024, 3, 1, 12, 30, 45, 678e6, time.UTC)
	touchTime   = time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC)
)

func iosApp() *touchpoint.App { return &touchpoint.App{ID: "id123456789", Platform: touchpoint.IOS} }
func androidApp() *touchpoint.App {
	return &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android}
}

// device returns a device with every kind of id.
func device(app string) *touchpoint.Device {
	var ids touchpoint.DeviceIDs
	ids[touchpoint.IDFA] = touchpoint.DeviceID{Raw: "IDFA-1"}
	ids[touchpoint.IDFV] = touchpoint.DeviceID{Raw: "IDFV-1"}
	ids[touchpoint.GAID] = touchpoint.DeviceID{Raw: "GAID-1"}
	ids[touchpoint.AmazonAID] = touchpoint.DeviceID{Raw: "AMZ-1"}
	ids[touchpoint.AndroidID] = touchpoint.DeviceID{Raw: "ANDROID-1"}
	ids[touchpoint.OAID] = touchpoint.DeviceID{Raw: "OAID-1"}
	return &touchpoint.Device{App: app, ID: devID, IDs: ids, CustomerUserID: "cu-1",
		InstallTime: installTime}
}

func attributed() touchpoint.Attribution {
	return touchpoint.Attribution{MediaSource: "network_int", TouchID: 42, TouchType: touchpoint.Click,
		TouchTime: touchTime, MatchType: touchpoint.MatchIDMatching,
		Params: touchpoint.LinkParams{Campaign: "spring", CampaignID: "c1", Adset: "set", AdsetID: "s1", Ad: "banner",
			AdID: "a1", SiteID: "site9", Channel: "video", Keywords: "kw", Sub1: "not sent"}}
}

func install(app string, a touchpoint.Attribution) *touchpoint.Install {
	return &touchpoint.Install{ID: 5, App: app, DeviceID: "1709296245678-1234567890123456789", Type: touchpoint.TypeInstall,
		Time: installTime, Attribution: a,
		Launch: touchpoint.Launch{App: app, Time: installTime, IP: "203.0.113.9", OSVersion: "17.2",
			DeviceModel: "iPhone15,2", Language: "en-US", AppVersion: "2.1", UA: "not sent"}}
}

// forward returns a normalized forward, as the store keeps it.
func forward(mod func(f *touchpoint.AnalyticsForward)) *amplitude.Forward {
	f := &touchpoint.AnalyticsForward{App: "id123456789", URL: "https://api2.amplitude.com/", APIKey: "amp-key",
		Enabled: true}
	if mod != nil {
		mod(f)
	}
	f.Normalize()
	return amplitude.NewForward(f, self)
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return m
}

func ms(t time.Time) json.Number { return json.Number(strconv.FormatInt(t.UnixMilli(), 10)) }

// attributionEvent checks an /attribution delivery's form and returns its
// decoded event.
func attributionEvent(t *testing.T, d *touchpoint.Delivery) map[string]any {
	t.Helper()
	if d == nil {
		t.Fatal("delivery = nil")
	}
	if d.ContentType != "application/x-www-form-urlencoded" || !strings.HasSuffix(d.URL, "/attribution") {
		t.Fatalf("delivery %s (%s), want a form to /attribution", d.URL, d.ContentType)
	}
	form, err := url.ParseQuery(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(form) != 2 || len(form["api_key"]) != 1 || len(form["event"]) != 1 {
		t.Fatalf("form = %v, want one api_key and one event", form)
	}
	if form.Get("api_key") != "amp-key" {
		t.Errorf("api_key = %q", form.Get("api_key"))
	}
	return decode(t, form.Get("event"))
}

// httpEvent checks an /2/httpapi delivery's body and returns its one
// decoded event.
func httpEvent(t *testing.T, d *touchpoint.Delivery) map[string]any {
	t.Helper()
	if d == nil {
		t.Fatal("delivery = nil")
	}
	if d.ContentType != "application/json" || !strings.HasSuffix(d.URL, "/2/httpapi") {
		t.Fatalf("delivery %s (%s), want JSON to /2/httpapi", d.URL, d.ContentType)
	}
	b := decode(t, d.Body)
	events, ok := b["events"].([]any)
	if len(b) != 2 || b["api_key"] != "amp-key" || !ok || len(events) != 1 {
		t.Fatalf("body = %v, want api_key amp-key and one event", b)
	}
	e, ok := events[0].(map[string]any)
	if !ok {
		t.Fatalf("event = %#v", events[0])
	}
	return e
}

func wantAppsFlyerProps(company string) map[string]any {
	p := "[" + company + "] "
	return map[string]any{
		p + "media source":   "network_int",
		p + "campaign":       "spring",
		p + "campaign id":    "c1",
		p + "adset":          "set",
		p + "adset id":       "s1",
		p + "ad":             "banner",
		p + "ad id":          "a1",
		p + "site id":        "site9",
		p + "channel":        "video",
		p + "keywords":       "kw",
		p + "match type":     "id_matching",
		p + "touch type":     "click",
		p + "touch time":     "2024-03-01 11:00:00.000",
		p + "is retargeting": false,
		p + "install time":   "2024-03-01 12:30:45.678",
		p + "is organic":     false,
		p + "appsflyer_id":   devID,
	}
}

// devID is device's id: an AppsFlyer id in form.
const devID = "1709296245678-1234567890123456789"

func organicProps(company, id string) map[string]any {
	return map[string]any{
		"[" + company + "] install time": "2024-03-01 12:30:45.678",
		"[" + company + "] is organic":   true,
		"[" + company + "] appsflyer_id": id,
	}
}

func TestInstallAttributionAPI(t *testing.T) {
	app := iosApp()
	d := forward(nil).Install(app, device(app.ID), install(app.ID, attributed()), false)
	e := attributionEvent(t, d)
	want := map[string]any{
		"event_type":      "[AppsFlyer] Install",
		"platform":        "ios",
		"time":            ms(installTime),
		"idfa":            "IDFA-1",
		"idfv":            "IDFV-1",
		"user_properties": wantAppsFlyerProps("AppsFlyer"),
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}
	got := *d
	got.Body = ""
	wantD := touchpoint.Delivery{App: "id123456789", PID: "analytics-forward", Kind: touchpoint.KindAnalyticsForward,
		Method: "POST", URL: "https://api2.amplitude.com/attribution", ContentType: "application/x-www-form-urlencoded",
		Host: "api2.amplitude.com", MaxTries: touchpoint.StreamTries}
	if !reflect.DeepEqual(got, wantD) {
		t.Errorf("delivery = %+v\nwant %+v", got, wantD)
	}
	if amplitude.PID != "analytics-forward" {
		t.Errorf("PID = %q", amplitude.PID)
	}
}

func TestInstallTimesInUTC(t *testing.T) {
	app := iosApp()
	zone := time.FixedZone("CEST", 2*3600)
	in := install(app.ID, attributed())
	in.Time = installTime.In(zone)
	in.Attribution.TouchTime = touchTime.In(zone)
	e := attributionEvent(t, forward(nil).Install(app, device(app.ID), in, false))
	props := e["user_properties"].(map[string]any)
	if props["[AppsFlyer] install time"] != "2024-03-01 12:30:45.678" ||
		props["[AppsFlyer] touch time"] != "2024-03-01 11:00:00.000" {
		t.Errorf("times = %v, %v; want UTC", props["[AppsFlyer] install time"], props["[AppsFlyer] touch time"])
	}
	if e["time"] != ms(installTime) {
		t.Errorf("time = %v, want %v", e["time"], ms(installTime))
	}
}

func TestForwardURL(t *testing.T) {
	for _, tc := range []struct {
		name, url, self   string
		wantURL, wantHost string
	}{
		{"forward URL", "https://api.eu.amplitude.com", self, "https://api.eu.amplitude.com/attribution", "api.eu.amplitude.com"},
		{"forward URL with port", "http://amp.example.com:8081/", self, "http://amp.example.com:8081/attribution", "amp.example.com:8081"},
		{"self", "", "http://127.0.0.1:8080", "http://127.0.0.1:8080/attribution", "127.0.0.1:8080"},
		{"self with slash", "", "http://localhost:9000/", "http://localhost:9000/attribution", "localhost:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &touchpoint.AnalyticsForward{App: "id123456789", URL: tc.url, APIKey: "amp-key", Enabled: true}
			f.Normalize()
			app := iosApp()
			d := amplitude.NewForward(f, tc.self).Install(app, device(app.ID), install(app.ID, attributed()), false)
			if d == nil {
				t.Fatal("Install = nil")
			}
			if d.URL != tc.wantURL || d.Host != tc.wantHost {
				t.Errorf("URL, Host = %q, %q; want %q, %q", d.URL, d.Host, tc.wantURL, tc.wantHost)
			}
		})
	}
}

func TestInstallRestrictedIsOrganic(t *testing.T) {
	app := iosApp()
	e := attributionEvent(t, forward(nil).Install(app, device(app.ID), install(app.ID, attributed()), true))
	want := map[string]any{
		"event_type":      "[AppsFlyer] Install",
		"platform":        "ios",
		"time":            ms(installTime),
		"idfa":            "IDFA-1",
		"idfv":            "IDFV-1",
		"user_properties": organicProps("AppsFlyer", devID),
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}
}

func TestInstallOrganic(t *testing.T) {
	app := iosApp()
	for _, restricted := range []bool{false, true} {
		e := attributionEvent(t, forward(nil).Install(app, device(app.ID),
			install(app.ID, touchpoint.OrganicAttribution()), restricted))
		if got, want := e["user_properties"], any(organicProps("AppsFlyer", devID)); !reflect.DeepEqual(got, want) {
			t.Errorf("restricted %v: user_properties = %#v\nwant %#v", restricted, got, want)
		}
		if e["event_type"] != "[AppsFlyer] Install" {
			t.Errorf("event_type = %v", e["event_type"])
		}
	}
}

func TestInstallAdjustStyle(t *testing.T) {
	app := iosApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Style = touchpoint.StyleAdjust })
	if f.Company != "Adjust" {
		t.Fatalf("Company = %q, want Adjust", f.Company)
	}
	a := attributed()
	a.TouchType = touchpoint.Impression
	a.MatchType = touchpoint.MatchProbabilistic
	e := attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, a), false))
	want := map[string]any{
		"event_type": "[Adjust] Install",
		"platform":   "ios",
		"time":       ms(installTime),
		"idfa":       "IDFA-1",
		"idfv":       "IDFV-1",
		"user_properties": map[string]any{
			"[adjust] network":          "network_int",
			"[adjust] campaign":         "spring",
			"[adjust] adgroup":          "set",
			"[adjust] creative":         "banner",
			"[adjust] site_id":          "site9",
			"[adjust] channel":          "video",
			"[adjust] match_type":       "probabilistic",
			"[adjust] impression_based": true,
			"[adjust] installed_at":     "2024-03-01T12:30:45.678Z",
			"[adjust] is_organic":       false,
			"[adjust] adid":             devID,
		},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}

	// A click is not impression based.
	e = attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, attributed()), false))
	if p := e["user_properties"].(map[string]any); p["[adjust] impression_based"] != false ||
		p["[adjust] match_type"] != "id_matching" {
		t.Errorf("click: user_properties = %v", p)
	}

	// Organic and restricted installs have no network.
	wantOrganic := map[string]any{"[adjust] installed_at": "2024-03-01T12:30:45.678Z", "[adjust] is_organic": true,
		"[adjust] adid": devID}
	for _, tc := range []struct {
		a          touchpoint.Attribution
		restricted bool
	}{{touchpoint.OrganicAttribution(), false}, {attributed(), true}} {
		e := attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, tc.a), tc.restricted))
		if !reflect.DeepEqual(e["user_properties"], any(wantOrganic)) {
			t.Errorf("%s restricted %v: user_properties = %#v\nwant %#v", tc.a.MediaSource, tc.restricted,
				e["user_properties"], wantOrganic)
		}
	}
}

func TestInstallCustomCompany(t *testing.T) {
	app := iosApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Company = "Acme Attribution" })
	e := attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, attributed()), false))
	if e["event_type"] != "[Acme Attribution] Install" {
		t.Errorf("event_type = %v", e["event_type"])
	}
	if got, want := e["user_properties"], any(wantAppsFlyerProps("Acme Attribution")); !reflect.DeepEqual(got, want) {
		t.Errorf("user_properties = %#v\nwant %#v", got, want)
	}

	// In the Adjust style the properties' prefix is the name in lower case.
	f = forward(func(f *touchpoint.AnalyticsForward) { f.Style = touchpoint.StyleAdjust; f.Company = "MyTracker" })
	e = attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, touchpoint.OrganicAttribution()), false))
	want := map[string]any{"[mytracker] installed_at": "2024-03-01T12:30:45.678Z", "[mytracker] is_organic": true,
		"[mytracker] adid": devID}
	if e["event_type"] != "[MyTracker] Install" || !reflect.DeepEqual(e["user_properties"], any(want)) {
		t.Errorf("event_type %v, user_properties %#v; want [MyTracker] Install, %#v", e["event_type"], e["user_properties"], want)
	}
}

func TestInstallAndroidIDs(t *testing.T) {
	app := androidApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.App = app.ID })
	for _, tc := range []struct {
		name string
		drop []touchpoint.DeviceIDType
		want map[string]any
	}{
		{"gaid", nil, map[string]any{"adid": "GAID-1", "android_id": "ANDROID-1"}},
		{"amazon when no gaid", []touchpoint.DeviceIDType{touchpoint.GAID},
			map[string]any{"adid": "AMZ-1", "android_id": "ANDROID-1"}},
		{"no android id", []touchpoint.DeviceIDType{touchpoint.AndroidID}, map[string]any{"adid": "GAID-1"}},
		{"no ad id", []touchpoint.DeviceIDType{touchpoint.GAID, touchpoint.AmazonAID},
			map[string]any{"android_id": "ANDROID-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := device(app.ID)
			for _, typ := range tc.drop {
				dev.IDs[typ] = touchpoint.DeviceID{}
			}
			e := attributionEvent(t, f.Install(app, dev, install(app.ID, attributed()), false))
			want := map[string]any{"event_type": "[AppsFlyer] Install", "platform": "android", "time": ms(installTime),
				"user_properties": wantAppsFlyerProps("AppsFlyer")}
			for k, v := range tc.want {
				want[k] = v
			}
			if !reflect.DeepEqual(e, want) {
				t.Errorf("event = %#v\nwant %#v", e, want)
			}
		})
	}
}

func TestInstallIOSWithoutIDs(t *testing.T) {
	app := iosApp()
	dev := device(app.ID)
	dev.IDs[touchpoint.IDFA] = touchpoint.DeviceID{}
	e := attributionEvent(t, forward(nil).Install(app, dev, install(app.ID, attributed()), false))
	if _, ok := e["idfa"]; ok || e["idfv"] != "IDFV-1" {
		t.Errorf("idfa %v, idfv %v; want none, IDFV-1", e["idfa"], e["idfv"])
	}
	for _, k := range []string{"adid", "android_id"} {
		if _, ok := e[k]; ok {
			t.Errorf("iOS event has %s", k)
		}
	}
}

func TestInstallHTTPV2(t *testing.T) {
	app := iosApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2 })
	dev := device(app.ID)
	d := f.Install(app, dev, install(app.ID, attributed()), false)
	e := httpEvent(t, d)
	id, _ := e["insert_id"].(string)
	if !strings.HasPrefix(id, "tp-") || len(id) != 3+24 {
		t.Errorf("insert_id = %q, want tp- and 24 hex digits", id)
	}
	want := map[string]any{
		"event_type":      "[AppsFlyer] Install",
		"platform":        "ios",
		"time":            ms(installTime),
		"idfa":            "IDFA-1",
		"idfv":            "IDFV-1",
		"user_properties": wantAppsFlyerProps("AppsFlyer"),
		"user_id":         "cu-1",
		"device_id":       "1709296245678-1234567890123456789",
		"library":         touchpoint.ForwardLibrary,
		"insert_id":       id,
		"ip":              "203.0.113.9",
		"os_version":      "17.2",
		"device_model":    "iPhone15,2",
		"language":        "en-US",
		"app_version":     "2.1",
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}
	got := *d
	got.Body = ""
	wantD := touchpoint.Delivery{App: "id123456789", PID: "analytics-forward", Kind: touchpoint.KindAnalyticsForward,
		Method: "POST", URL: "https://api2.amplitude.com/2/httpapi", ContentType: "application/json",
		Host: "api2.amplitude.com", MaxTries: touchpoint.StreamTries}
	if !reflect.DeepEqual(got, wantD) {
		t.Errorf("delivery = %+v\nwant %+v", got, wantD)
	}

	// The same install gets the same insert_id; another install time,
	// device or app another.
	if again := httpEvent(t, f.Install(app, device(app.ID), install(app.ID, attributed()), false)); again["insert_id"] != id {
		t.Errorf("insert_id again = %v, want %v", again["insert_id"], id)
	}
	// Attribution is not part of it: the same launch, restricted, is the
	// same event.
	if again := httpEvent(t, f.Install(app, device(app.ID), install(app.ID, attributed()), true)); again["insert_id"] != id {
		t.Errorf("insert_id restricted = %v, want %v", again["insert_id"], id)
	}
	later := install(app.ID, attributed())
	later.Time = installTime.Add(time.Millisecond)
	if other := httpEvent(t, f.Install(app, device(app.ID), later, false)); other["insert_id"] == id {
		t.Errorf("insert_id of a later install = %v, the same", id)
	}
	dev2 := device(app.ID)
	dev2.ID = "1709296245678-0000000000000000001"
	if other := httpEvent(t, f.Install(app, dev2, install(app.ID, attributed()), false)); other["insert_id"] == id {
		t.Errorf("insert_id of another device = %v, the same", id)
	}
}

func TestInstallHTTPV2Minimal(t *testing.T) {
	// No customer user id and no launch details: only what there is.
	app := androidApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2; f.App = app.ID })
	dev := &touchpoint.Device{App: app.ID, ID: "1709296245678-1111111111111111111"}
	in := install(app.ID, touchpoint.OrganicAttribution())
	in.Launch = touchpoint.Launch{App: app.ID, Time: installTime}
	e := httpEvent(t, f.Install(app, dev, in, false))
	want := map[string]any{
		"event_type":      "[AppsFlyer] Install",
		"platform":        "android",
		"time":            ms(installTime),
		"user_properties": organicProps("AppsFlyer", "1709296245678-1111111111111111111"),
		"device_id":       "1709296245678-1111111111111111111",
		"library":         touchpoint.ForwardLibrary,
		"insert_id":       e["insert_id"],
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}
}

func TestInstallNotForwarded(t *testing.T) {
	app := iosApp()
	for _, mode := range []touchpoint.ForwardMode{touchpoint.ForwardAttributionAPI, touchpoint.ForwardHTTPV2} {
		off := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = mode; f.Enabled = false })
		if d := off.Install(app, device(app.ID), install(app.ID, attributed()), false); d != nil {
			t.Errorf("%s: disabled forward sent %+v", mode, d)
		}
		on := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = mode })
		for _, typ := range []touchpoint.InstallType{touchpoint.TypeReinstall, touchpoint.TypeReattribution,
			touchpoint.TypeReengagement} {
			in := install(app.ID, attributed())
			in.Type = typ
			if d := on.Install(app, device(app.ID), in, false); d != nil {
				t.Errorf("%s: %s sent %+v", mode, typ, d)
			}
		}
		if d := on.Install(app, device(app.ID), install(app.ID, attributed()), false); d == nil {
			t.Errorf("%s: install not sent", mode)
		}
	}
}

func conversion(mod func(c *touchpoint.Conversion)) *touchpoint.Conversion {
	rev, err := touchpoint.ParseAmount("4.99")
	if err != nil {
		panic(err)
	}
	c := &touchpoint.Conversion{ID: 9, App: "id123456789", DeviceID: "1709296245678-1234567890123456789",
		EventID: "ev-1", Name: "af_purchase", Value: `{"af_content_id":"sku-1","af_quantity":2}`, Revenue: rev,
		Currency: "EUR", Time: installTime.Add(time.Hour), Source: "SDK", Attribution: attributed()}
	if mod != nil {
		mod(c)
	}
	return c
}

func TestConversionNotForwarded(t *testing.T) {
	app := iosApp()
	attr := forward(nil)
	if d := attr.Conversion(app, device(app.ID), conversion(nil)); d != nil {
		t.Errorf("attribution-api mode sent %+v", d)
	}
	v2 := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2 })
	if d := v2.Conversion(app, device(app.ID), conversion(func(c *touchpoint.Conversion) { c.Source = "S2S" })); d != nil {
		t.Errorf("S2S event sent %+v", d)
	}
	off := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2; f.Enabled = false })
	if d := off.Conversion(app, device(app.ID), conversion(nil)); d != nil {
		t.Errorf("disabled forward sent %+v", d)
	}
}

func TestConversionHTTPV2(t *testing.T) {
	app := iosApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2 })
	c := conversion(nil)
	d := f.Conversion(app, device(app.ID), c)
	e := httpEvent(t, d)
	id, _ := e["insert_id"].(string)
	if !strings.HasPrefix(id, "tp-") || len(id) != 3+24 {
		t.Errorf("insert_id = %q, want tp- and 24 hex digits", id)
	}
	want := map[string]any{
		"event_type": "af_purchase",
		"platform":   "ios",
		"time":       ms(c.Time),
		"insert_id":  id,
		"revenue":    json.Number("4.99"),
		"event_properties": map[string]any{
			"af_content_id": "sku-1",
			"af_quantity":   json.Number("2"),
			"currency":      "EUR",
		},
		"idfa":      "IDFA-1",
		"idfv":      "IDFV-1",
		"user_id":   "cu-1",
		"device_id": "1709296245678-1234567890123456789",
		"library":   touchpoint.ForwardLibrary,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event = %#v\nwant %#v", e, want)
	}
	got := *d
	got.Body = ""
	wantD := touchpoint.Delivery{App: "id123456789", PID: "analytics-forward", Kind: touchpoint.KindAnalyticsForward,
		Method: "POST", URL: "https://api2.amplitude.com/2/httpapi", ContentType: "application/json",
		Host: "api2.amplitude.com", MaxTries: touchpoint.StreamTries}
	if !reflect.DeepEqual(got, wantD) {
		t.Errorf("delivery = %+v\nwant %+v", got, wantD)
	}

	// insert_id: the same event the same; another event id, name or time
	// another.
	if again := httpEvent(t, f.Conversion(app, device(app.ID), conversion(nil))); again["insert_id"] != id {
		t.Errorf("insert_id again = %v, want %v", again["insert_id"], id)
	}
	for name, mod := range map[string]func(c *touchpoint.Conversion){
		"event id": func(c *touchpoint.Conversion) { c.EventID = "ev-2" },
		"name":     func(c *touchpoint.Conversion) { c.Name = "af_purchase2" },
		"time":     func(c *touchpoint.Conversion) { c.Time = c.Time.Add(time.Millisecond) },
	} {
		if other := httpEvent(t, f.Conversion(app, device(app.ID), conversion(mod))); other["insert_id"] == id {
			t.Errorf("another %s: same insert_id %v", name, id)
		}
	}
	// An install and an event of the same device never share one.
	if inst := httpEvent(t, f.Install(app, device(app.ID), install(app.ID, attributed()), false)); inst["insert_id"] == id {
		t.Errorf("install and event share insert_id %v", id)
	}
}

func TestConversionProperties(t *testing.T) {
	app := androidApp()
	f := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = touchpoint.ForwardHTTPV2; f.App = app.ID })
	for _, tc := range []struct {
		name, value, revenue, currency string
		wantProps                      any // nil: no event_properties
		wantRevenue                    any // nil: no revenue
	}{
		{"object, currency set", `{"sku":"a","currency":"USD"}`, "4.99", "EUR",
			map[string]any{"sku": "a", "currency": "USD"}, json.Number("4.99")},
		{"object, no revenue", `{"sku":"a","n":1.5,"ok":true}`, "", "EUR",
			map[string]any{"sku": "a", "n": json.Number("1.5"), "ok": true}, nil},
		{"number value", `12.5`, "", "", map[string]any{"af_value": "12.5"}, nil},
		{"text value", `level up`, "", "", map[string]any{"af_value": "level up"}, nil},
		{"array value, revenue", `["a"]`, "3", "GBP", map[string]any{"af_value": `["a"]`, "currency": "GBP"},
			json.Number("3")},
		{"no value, revenue", ``, "0.5", "JPY", map[string]any{"currency": "JPY"}, json.Number("0.5")},
		{"no value, no revenue", ``, "", "EUR", nil, nil},
		{"empty object", `{}`, "", "", nil, nil},
		{"negative revenue", `{"sku":"a"}`, "-1.25", "EUR", map[string]any{"sku": "a", "currency": "EUR"},
			json.Number("-1.25")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conversion(func(c *touchpoint.Conversion) {
				c.App = app.ID
				c.Value = tc.value
				c.Currency = tc.currency
				c.Revenue = 0
				if tc.revenue != "" {
					var err error
					if c.Revenue, err = touchpoint.ParseAmount(tc.revenue); err != nil {
						t.Fatal(err)
					}
				}
			})
			e := httpEvent(t, f.Conversion(app, device(app.ID), c))
			if got := e["event_properties"]; !reflect.DeepEqual(got, tc.wantProps) {
				t.Errorf("event_properties = %#v, want %#v", got, tc.wantProps)
			}
			if got := e["revenue"]; got != tc.wantRevenue {
				t.Errorf("revenue = %#v, want %#v", got, tc.wantRevenue)
			}
			if e["platform"] != "android" || e["adid"] != "GAID-1" || e["android_id"] != "ANDROID-1" {
				t.Errorf("platform %v adid %v android_id %v", e["platform"], e["adid"], e["android_id"])
			}
			if _, ok := e["user_properties"]; ok {
				t.Error("an in-app event carries user_properties")
			}
		})
	}
}

func TestInstallEmptyValuesLeftOut(t *testing.T) {
	// A touch with no link parameters: only the properties that have a
	// value are sent.
	app := iosApp()
	a := touchpoint.Attribution{MediaSource: "custom_src", CustomSource: true, TouchID: 43, TouchType: touchpoint.Click,
		TouchTime: touchTime, MatchType: touchpoint.MatchReferrer, Retargeting: true}
	e := attributionEvent(t, forward(nil).Install(app, device(app.ID), install(app.ID, a), false))
	want := map[string]any{
		"[AppsFlyer] media source":   "custom_src",
		"[AppsFlyer] match type":     "referrer",
		"[AppsFlyer] touch type":     "click",
		"[AppsFlyer] touch time":     "2024-03-01 11:00:00.000",
		"[AppsFlyer] is retargeting": true,
		"[AppsFlyer] install time":   "2024-03-01 12:30:45.678",
		"[AppsFlyer] is organic":     false,
		"[AppsFlyer] appsflyer_id":   devID,
	}
	if !reflect.DeepEqual(e["user_properties"], any(want)) {
		t.Errorf("user_properties = %#v\nwant %#v", e["user_properties"], want)
	}

	f := forward(func(f *touchpoint.AnalyticsForward) { f.Style = touchpoint.StyleAdjust })
	e = attributionEvent(t, f.Install(app, device(app.ID), install(app.ID, a), false))
	want = map[string]any{
		"[adjust] network":          "custom_src",
		"[adjust] match_type":       "referrer",
		"[adjust] impression_based": false,
		"[adjust] installed_at":     "2024-03-01T12:30:45.678Z",
		"[adjust] is_organic":       false,
		"[adjust] adid":             devID,
	}
	if !reflect.DeepEqual(e["user_properties"], any(want)) {
		t.Errorf("adjust: user_properties = %#v\nwant %#v", e["user_properties"], want)
	}
}

// TestInstallCarriesAppsFlyerID: in the AppsFlyer style, every forwarded
// install (either mode, attributed, organic or won by a restricted
// partner) sets the user property an event stream to AppsFlyer reads by
// default to the device id, an AppsFlyer id in form.
func TestInstallCarriesAppsFlyerID(t *testing.T) {
	app := androidApp()
	for _, mode := range []touchpoint.ForwardMode{touchpoint.ForwardAttributionAPI, touchpoint.ForwardHTTPV2} {
		f := forward(func(f *touchpoint.AnalyticsForward) { f.Mode = mode; f.App = app.ID })
		for _, tc := range []struct {
			a          touchpoint.Attribution
			restricted bool
		}{{attributed(), false}, {touchpoint.OrganicAttribution(), false}, {attributed(), true}} {
			d := f.Install(app, device(app.ID), install(app.ID, tc.a), tc.restricted)
			var e map[string]any
			if mode == touchpoint.ForwardHTTPV2 {
				e = httpEvent(t, d)
			} else {
				e = attributionEvent(t, d)
			}
			props, _ := e["user_properties"].(map[string]any)
			if got := props[touchpoint.DefaultAppsFlyerIDProperty]; got != devID {
				t.Errorf("%s, %s restricted %v: %s = %#v, want %s", mode, tc.a.MediaSource, tc.restricted,
					touchpoint.DefaultAppsFlyerIDProperty, got, devID)
			}
		}
	}
}
