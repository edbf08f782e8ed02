package appsflyer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
)

const self = "http://127.0.0.1:8080"

// destination returns a normalized destination as the store keeps it.
func destination(mod func(d *touchpoint.Destination)) *touchpoint.Destination {
	d := &touchpoint.Destination{ID: 7, Project: 3, Name: "AppsFlyer sync", AppsFlyerAppID: "id123456789",
		Key: "s2s-key", URL: "https://api3.appsflyer.com/", AppsFlyerIDProperty: "af_id", Enabled: true}
	if mod != nil {
		mod(d)
	}
	d.Normalize()
	return d
}

// android is an Android app's destination.
func android(d *touchpoint.Destination) { d.AppsFlyerAppID = "com.example.game" }

// afid is the AppsFlyer id the tests' users have, in af_id.
const afid = "1700000000000-1234567890123456789"

// event returns a streamed event with data as its stored form, of a user
// with the AppsFlyer id afid (in af_id) besides user.
func event(data string, user, group map[string]any) *touchpoint.StreamedEvent {
	e := bare(data, user, group)
	props := map[string]any{"af_id": afid}
	for k, v := range user {
		props[k] = v
	}
	e.UserProperties = props
	return e
}

// bare is event with user's properties only.
func bare(data string, user, group map[string]any) *touchpoint.StreamedEvent {
	return &touchpoint.StreamedEvent{ID: 11, Project: 3, EventType: "purchase", Time: 1700000000123,
		UserID: "u1", Data: []byte(data), UserProperties: user, GroupProperties: group}
}

// withOS adds "os_version":"17" to a stored event.
func withOS(data string) string {
	if data == "{}" {
		return `{"os_version":"17"}`
	}
	return strings.TrimSuffix(data, "}") + `,"os_version":"17"}`
}

// sent fails the test unless d is a delivery to send (not one written
// failed).
func sent(t *testing.T, d *touchpoint.Delivery) *touchpoint.Delivery {
	t.Helper()
	if d == nil {
		t.Fatal("Delivery = nil, want a delivery")
	}
	if d.State != "" || d.Reason != "" {
		t.Fatalf("delivery state %q, reason %q; want one to send", d.State, d.Reason)
	}
	return d
}

// decode decodes a JSON object keeping numbers as json.Number.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	if dec.More() {
		t.Fatalf("decode %q: trailing data", s)
	}
	return m
}

// body decodes a delivery's body, and its eventValue when it is not "".
func body(t *testing.T, d *touchpoint.Delivery) (ev map[string]any, value map[string]any) {
	t.Helper()
	ev = decode(t, sent(t, d).Body)
	s, ok := ev["eventValue"].(string)
	if !ok {
		t.Fatalf("eventValue = %#v, want a string", ev["eventValue"])
	}
	if s != "" {
		value = decode(t, s)
	}
	return ev, value
}

const fullEvent = `{"user_id":"u1","device_id":"d1","time":1700000000123,"revenue":4.99,"event_type":"purchase",` +
	`"event_properties":{"sku":"a1","currency":"EUR","qty":2},"os_name":"ios","os_version":"17.2","ip":"203.0.113.7",` +
	`"idfa":"6d92078a-8246-4ba4-ae5b-76104861e7dc","idfv":"A1B2C3D4-0000-1111-2222-333344445555","app_version":"2.1"}`

func TestDeliveryFullEvent(t *testing.T) {
	user := map[string]any{"plan": "pro", "sku": "user-sku", "level": json.Number("5")}
	group := map[string]any{"org": "acme", "plan": "group-plan", "level": json.Number("1"), "sku": "group-sku",
		"region": "eu"}
	s := appsflyer.NewStream(destination(nil), self)
	if got, want := s.PID(), "destination/7"; got != want {
		t.Errorf("PID() = %q, want %q", got, want)
	}
	d := s.Delivery(event(fullEvent, user, group))
	ev, value := body(t, d)

	wantValue := map[string]any{
		"org": "acme", "region": "eu", // group only
		"plan": "pro", "level": json.Number("5"), // user over group; af_id is the appsflyer_id
		"sku": "a1", "currency": "EUR", "qty": json.Number("2"), // event over user and group
		"af_revenue": "4.99",
	}
	if !reflect.DeepEqual(value, wantValue) {
		t.Errorf("eventValue = %#v\nwant %#v", value, wantValue)
	}
	delete(ev, "eventValue")
	wantEvent := map[string]any{
		"appsflyer_id":     afid,
		"customer_user_id": "u1",
		"eventName":        "purchase",
		"eventTime":        "2023-11-14 22:13:20.123",
		"eventCurrency":    "EUR",
		"os":               "17.2",
		"ip":               "203.0.113.7",
		"idfa":             "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		"idfv":             "A1B2C3D4-0000-1111-2222-333344445555",
		"app_version_name": "2.1",
	}
	if !reflect.DeepEqual(ev, wantEvent) {
		t.Errorf("body = %#v\nwant %#v", ev, wantEvent)
	}
	if len(d.Body) > appsflyer.MaxBody {
		t.Errorf("body is %d bytes, over %d", len(d.Body), appsflyer.MaxBody)
	}

	got := *d
	got.Body = ""
	want := touchpoint.Delivery{Project: 3, PID: "destination/7", Kind: touchpoint.KindEventStream, Method: "POST",
		URL: "https://api3.appsflyer.com/inappevent/id123456789", ContentType: "application/json",
		Host: "api3.appsflyer.com", Headers: map[string]string{"authentication": "s2s-key"},
		MaxTries: touchpoint.StreamTries}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delivery = %+v\nwant %+v", got, want)
	}
}

func TestDeliveryURL(t *testing.T) {
	for _, tc := range []struct {
		name, destURL, self, appID string
		wantURL, wantHost          string
	}{
		{"destination URL", "https://api3.appsflyer.com", "http://ignored:1", "id123456789",
			"https://api3.appsflyer.com/inappevent/id123456789", "api3.appsflyer.com"},
		{"destination URL with slash", "https://af.example.com:8443/", self, "com.example.game",
			"https://af.example.com:8443/inappevent/com.example.game", "af.example.com:8443"},
		{"self", "", "http://127.0.0.1:8080", "id123456789",
			"http://127.0.0.1:8080/inappevent/id123456789", "127.0.0.1:8080"},
		{"self with slash", "", "http://localhost:9000/", "com.example.game",
			"http://localhost:9000/inappevent/com.example.game", "localhost:9000"},
		{"app id escaped", "", "http://localhost:9000", "a b/c",
			"http://localhost:9000/inappevent/a%20b%2Fc", "localhost:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := destination(func(d *touchpoint.Destination) { d.URL = tc.destURL; d.AppsFlyerAppID = tc.appID })
			d := appsflyer.NewStream(dest, tc.self).Delivery(event(`{"event_type":"purchase"}`, nil, nil))
			if d == nil {
				t.Fatal("Delivery = nil")
			}
			if d.URL != tc.wantURL || d.Host != tc.wantHost {
				t.Errorf("URL, Host = %q, %q; want %q, %q", d.URL, d.Host, tc.wantURL, tc.wantHost)
			}
		})
	}
}

func TestDeliveryCurrency(t *testing.T) {
	for _, tc := range []struct {
		name, data   string
		wantCurrency any    // nil: no eventCurrency
		wantRevenue  any    // nil: no af_revenue
		wantNote     string // "": none
	}{
		{"event property currency", `{"revenue":4.99,"event_properties":{"currency":"EUR"}}`, "EUR", "4.99", ""},
		{"no currency: USD", `{"revenue":4.99}`, "USD", "4.99", ""},
		{"no currency, event properties: USD", `{"revenue":10,"event_properties":{"sku":"a"}}`, "USD", "10", ""},
		{"af_currency", `{"revenue":1.5,"event_properties":{"af_currency":"GBP"}}`, "GBP", "1.5", ""},
		{"top-level currency", `{"revenue":1.5,"currency":"JPY"}`, "JPY", "1.5", ""},
		{"currency before af_currency", `{"revenue":1,"event_properties":{"currency":"EUR","af_currency":"GBP"}}`, "EUR", "1", ""},
		{"lower case is upper-cased", `{"revenue":1,"currency":"CHF","event_properties":{"currency":"eur"}}`, "EUR", "1", ""},
		{"spaces trimmed", `{"revenue":1,"event_properties":{"currency":" gbp "}}`, "GBP", "1", ""},
		{"invalid one skipped, visibly", `{"revenue":1,"currency":"CHF","event_properties":{"currency":"euro"}}`, "CHF", "1",
			`currency "euro" is not an ISO 4217 code the S2S API takes: eventCurrency is CHF`},
		{"three letters AppsFlyer does not take", `{"revenue":1,"event_properties":{"currency":"ABC"}}`, "USD", "1",
			`currency "ABC" is not an ISO 4217 code the S2S API takes: eventCurrency is USD (AppsFlyer's default)`},
		{"invalid only: USD, visibly", `{"revenue":1,"event_properties":{"currency":"euro","af_currency":978}}`, "USD", "1",
			`currency "euro", "978" is not an ISO 4217 code the S2S API takes: eventCurrency is USD (AppsFlyer's default)`},
		{"null currency is none", `{"revenue":1,"event_properties":{"currency":null}}`, "USD", "1", ""},
		{"no revenue: no currency", `{"event_properties":{"currency":"EUR"}}`, nil, nil, ""},
		{"null revenue", `{"revenue":null,"currency":"EUR"}`, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := appsflyer.NewStream(destination(nil), self).Delivery(event(withOS(tc.data), nil, nil))
			ev, value := body(t, d)
			if got := ev["eventCurrency"]; got != tc.wantCurrency {
				t.Errorf("eventCurrency = %#v, want %#v", got, tc.wantCurrency)
			}
			if got := value["af_revenue"]; got != tc.wantRevenue {
				t.Errorf("eventValue af_revenue = %#v, want %#v", got, tc.wantRevenue)
			}
			if d.Note != tc.wantNote {
				t.Errorf("Note = %q, want %q", d.Note, tc.wantNote)
			}
		})
	}
}

func TestDeliveryRevenueIsPlainDecimal(t *testing.T) {
	for raw, want := range map[string]string{
		"4.99": "4.99", "10": "10", "4.50": "4.50", "0": "0", "-0": "0", "-3.5": "-3.5", "0.001": "0.001",
		"1e+21": "1000000000000000000000", "1E21": "1000000000000000000000", "1.5E-3": "0.0015", "-2.5e2": "-250",
		"123e-1": "12.3", "100e-2": "1", "1.0e1": "10", "12345678901234567890": "12345678901234567890", "5e-7": "0.0000005",
	} {
		d := appsflyer.NewStream(destination(nil), self).Delivery(event(`{"revenue":`+raw+`}`, nil, nil))
		if _, value := body(t, d); value["af_revenue"] != want {
			t.Errorf("revenue %s: af_revenue = %#v, want %q", raw, value["af_revenue"], want)
		}
	}
}

func TestDeliveryRevenueOverridesProperty(t *testing.T) {
	d := appsflyer.NewStream(destination(nil), self).Delivery(
		bare(`{"revenue":2.5,"event_properties":{"af_revenue":"99","currency":"EUR"}}`, map[string]any{"af_id": afid}, nil))
	_, value := body(t, d)
	want := map[string]any{"af_revenue": "2.5", "currency": "EUR"}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("eventValue = %#v, want %#v", value, want)
	}
}

func TestDeliveryAppsFlyerID(t *testing.T) {
	const iosID = "1700000000000-1234567"
	for _, tc := range []struct {
		name   string
		dest   func(*touchpoint.Destination)
		user   map[string]any
		want   string // "": not sent
		reason string
	}{
		{"user has it", nil, map[string]any{"af_id": afid}, afid, ""},
		{"spaces trimmed", nil, map[string]any{"af_id": " " + afid + " "}, afid, ""},
		{"other property name", func(d *touchpoint.Destination) { d.AppsFlyerIDProperty = "AppsFlyer ID" },
			map[string]any{"AppsFlyer ID": afid, "af_id": "other"}, afid, ""},
		{"default property", func(d *touchpoint.Destination) { d.AppsFlyerIDProperty = "" },
			map[string]any{touchpoint.DefaultAppsFlyerIDProperty: afid, "af_id": "other"}, afid, ""},
		{"iOS: 7 digits", nil, map[string]any{"af_id": iosID}, iosID, ""},
		{"android", android, map[string]any{"af_id": afid}, afid, ""},
		{"user lacks it", nil, map[string]any{"plan": "pro"}, "",
			`not sent: the user has no AppsFlyer id (user property "af_id"), which the S2S API requires`},
		{"no user properties", nil, nil, "",
			`not sent: the user has no AppsFlyer id (user property "af_id"), which the S2S API requires`},
		{"default property missing", func(d *touchpoint.Destination) { d.AppsFlyerIDProperty = "" }, map[string]any{"af_id": afid}, "",
			`not sent: the user has no AppsFlyer id (user property "[AppsFlyer] appsflyer_id"), which the S2S API requires`},
		{"not a string", nil, map[string]any{"af_id": json.Number("17")}, "",
			`not sent: the user has no AppsFlyer id (user property "af_id"), which the S2S API requires`},
		{"empty", nil, map[string]any{"af_id": " "}, "",
			`not sent: the user has no AppsFlyer id (user property "af_id"), which the S2S API requires`},
		{"not an AppsFlyer id", nil, map[string]any{"af_id": "device-1"}, "",
			`not sent: appsflyer_id "device-1" (user property "af_id") is not an AppsFlyer id of an ios app`},
		{"android: 7 digits is iOS's form", android, map[string]any{"af_id": iosID}, "",
			`not sent: appsflyer_id "1700000000000-1234567" (user property "af_id") is not an AppsFlyer id of an android app`},
		{"inside other text", android, map[string]any{"af_id": "x" + afid}, "",
			`not sent: appsflyer_id "x1700000000000-1234567890123456789" (user property "af_id") is not an AppsFlyer id of an android app`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := appsflyer.NewStream(destination(tc.dest), self).Delivery(bare(`{"os_version":"17"}`, tc.user, nil))
			if tc.want != "" {
				if ev, _ := body(t, d); ev["appsflyer_id"] != tc.want {
					t.Errorf("appsflyer_id = %#v, want %q", ev["appsflyer_id"], tc.want)
				}
				return
			}
			// Not sent: written failed, with the reason, and the body it
			// would have had, without an appsflyer_id.
			if d == nil || d.State != touchpoint.DeliveryFailed || d.Reason != tc.reason {
				t.Fatalf("delivery %+v\nwant failed with reason %q", d, tc.reason)
			}
			if ev := decode(t, d.Body); ev["appsflyer_id"] != nil || ev["eventName"] != "purchase" {
				t.Errorf("body %s", d.Body)
			}
		})
	}
}

func TestDeliveryDeviceIDs(t *testing.T) {
	const gaid, oaid, amz = "38400000-8cf0-11bd-b23e-10b96e40000d", "oaid-1", "amz-1"
	const idfa, idfv = "6D92078A-8246-4BA4-AE5B-76104861E7DC", "A1B2C3D4-0000-1111-2222-333344445555"
	lower := strings.ToLower
	for _, tc := range []struct {
		name, data string
		dest       func(*touchpoint.Destination)
		want       map[string]any // the device id keys of the body
		note       string
	}{
		{"android adid", `{"os_name":"android","platform":"Android","adid":"` + gaid + `","android_id":"aid-1","oaid":"` + oaid + `"}`, android,
			map[string]any{"advertising_id": gaid, "oaid": oaid}, ""},
		{"no os name: adid", `{"adid":"` + gaid + `"}`, android, map[string]any{"advertising_id": gaid}, ""},
		{"fire os", `{"os_name":"Fire OS","adid":"amz-1"}`, android, map[string]any{"amazon_aid": amz}, ""},
		{"amazon platform", `{"platform":"Amazon","adid":"amz-1"}`, android, map[string]any{"amazon_aid": amz}, ""},
		{"amazon brand", `{"os_name":"android","platform":"Android","device_brand":"Amazon","adid":"amz-1"}`, android,
			map[string]any{"amazon_aid": amz}, ""},
		{"fire in brand", `{"device_brand":"KFire","adid":"amz-1"}`, android, map[string]any{"amazon_aid": amz}, ""},
		{"amazon_aid wins over adid", `{"device_brand":"amazon","adid":"amz-1","amazon_aid":"amz-explicit"}`, android,
			map[string]any{"amazon_aid": "amz-explicit"}, ""},
		{"android app: no iOS ids", `{"idfa":"` + idfa + `","idfv":"` + idfv + `","adid":"` + gaid + `"}`, android,
			map[string]any{"advertising_id": gaid}, ""},
		{"ios ids", `{"os_name":"ios","idfa":"` + idfa + `","idfv":"` + idfv + `"}`, nil,
			map[string]any{"idfa": idfa, "idfv": idfv}, ""},
		{"ios ids upper-cased", `{"idfa":"` + lower(idfa) + `","idfv":" ` + lower(idfv) + `"}`, nil,
			map[string]any{"idfa": idfa, "idfv": idfv}, ""},
		{"ios app: no Android ids", `{"idfa":"` + idfa + `","adid":"` + gaid + `","oaid":"o","amazon_aid":"a","android_id":"x"}`, nil,
			map[string]any{"idfa": idfa}, ""},
		{"ios id not a UUID", `{"idfa":"IDFA-1","idfv":"` + idfv + `"}`, nil, map[string]any{"idfv": idfv},
			`idfa "IDFA-1" is not a UUID: left out`},
		{"none", `{"os_name":"android"}`, android, map[string]any{}, ""},
		{"none on ios", `{}`, nil, map[string]any{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := appsflyer.NewStream(destination(tc.dest), self).Delivery(event(withOS(tc.data), nil, nil))
			ev, _ := body(t, d)
			got := map[string]any{}
			for _, k := range []string{"idfa", "idfv", "advertising_id", "oaid", "android_id", "amazon_aid", "imei"} {
				if v, ok := ev[k]; ok {
					got[k] = v
				}
			}
			if !reflect.DeepEqual(got, tc.want) || d.Note != tc.note {
				t.Errorf("device ids = %#v, note %q; want %#v, %q", got, d.Note, tc.want, tc.note)
			}
		})
	}
}

func TestDeliveryOSAndIP(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       map[string]any // os and ip
		note       string
	}{
		{"both", `{"os_version":"17.2","ip":"203.0.113.7"}`, map[string]any{"os": "17.2", "ip": "203.0.113.7"}, ""},
		{"no os_version: os left out", `{"ip":"203.0.113.7"}`, map[string]any{"ip": "203.0.113.7"},
			"the event has no os_version: os is left out"},
		{"blank os_version", `{"os_version":"  "}`, map[string]any{}, "the event has no os_version: os is left out"},
		{"IPv6 left out", `{"os_version":"14","ip":"2001:db8::1"}`, map[string]any{"os": "14"},
			`ip "2001:db8::1" is not an IPv4 address: left out`},
		{"not an address", `{"os_version":"14","ip":"$remote"}`, map[string]any{"os": "14"},
			`ip "$remote" is not an IPv4 address: left out`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := appsflyer.NewStream(destination(nil), self).Delivery(event(tc.data, nil, nil))
			ev, _ := body(t, d)
			got := map[string]any{}
			for _, k := range []string{"os", "ip"} {
				if v, ok := ev[k]; ok {
					got[k] = v
				}
			}
			if !reflect.DeepEqual(got, tc.want) || d.Note != tc.note {
				t.Errorf("os and ip = %#v, note %q; want %#v, %q", got, d.Note, tc.want, tc.note)
			}
		})
	}
}

func TestWants(t *testing.T) {
	all := appsflyer.NewStream(destination(nil), self)
	some := appsflyer.NewStream(destination(func(d *touchpoint.Destination) {
		d.Filter.EventTypes = []string{"purchase", "signup"}
	}), self)
	for _, tc := range []struct {
		s         *appsflyer.Stream
		eventType string
		want      bool
	}{
		{all, "purchase", true},
		{all, "anything", true},
		{all, "", true},
		{some, "purchase", true},
		{some, "signup", true},
		{some, "Purchase", false},
		{some, "view", false},
		{some, "", false},
	} {
		if got := tc.s.Wants(tc.eventType); got != tc.want {
			t.Errorf("Wants(%q) with types %v = %v, want %v", tc.eventType, tc.s == some, got, tc.want)
		}
	}
}

func TestDeliveryWhere(t *testing.T) {
	data := `{"event_properties":{"plan":"pro","level":5,"price":4.50,"vip":true,"note":null,"tags":["a","b"]}}`
	user := map[string]any{"country": "FR", "age": json.Number("42"), "score": 7.0, "beta": false}
	for _, tc := range []struct {
		name string
		c    touchpoint.PropertyCondition
		want bool // sent
	}{
		{"event is: match", touchpoint.PropertyCondition{On: "event", Property: "plan", Op: "is", Values: []string{"free", "pro"}}, true},
		{"event is: no match", touchpoint.PropertyCondition{On: "event", Property: "plan", Op: "is", Values: []string{"free"}}, false},
		{"event is: case matters", touchpoint.PropertyCondition{On: "event", Property: "plan", Op: "is", Values: []string{"Pro"}}, false},
		{"event is not: match", touchpoint.PropertyCondition{On: "event", Property: "plan", Op: "is not", Values: []string{"pro"}}, false},
		{"event is not: no match", touchpoint.PropertyCondition{On: "event", Property: "plan", Op: "is not", Values: []string{"free"}}, true},
		{"event number", touchpoint.PropertyCondition{On: "event", Property: "level", Op: "is", Values: []string{"5"}}, true},
		{"event number other text", touchpoint.PropertyCondition{On: "event", Property: "level", Op: "is", Values: []string{"5.0"}}, false},
		{"event decimal as written", touchpoint.PropertyCondition{On: "event", Property: "price", Op: "is", Values: []string{"4.50"}}, true},
		{"event bool", touchpoint.PropertyCondition{On: "event", Property: "vip", Op: "is", Values: []string{"true"}}, true},
		{"event null", touchpoint.PropertyCondition{On: "event", Property: "note", Op: "is", Values: []string{"null"}}, true},
		{"event array", touchpoint.PropertyCondition{On: "event", Property: "tags", Op: "is", Values: []string{`["a","b"]`}}, true},
		{"event missing is", touchpoint.PropertyCondition{On: "event", Property: "missing", Op: "is", Values: []string{""}}, false},
		{"event missing is not", touchpoint.PropertyCondition{On: "event", Property: "missing", Op: "is not", Values: []string{"x"}}, true},
		{"event side ignores user", touchpoint.PropertyCondition{On: "event", Property: "country", Op: "is", Values: []string{"FR"}}, false},
		{"user is", touchpoint.PropertyCondition{On: "user", Property: "country", Op: "is", Values: []string{"FR"}}, true},
		{"user is: no match", touchpoint.PropertyCondition{On: "user", Property: "country", Op: "is", Values: []string{"DE"}}, false},
		{"user is not", touchpoint.PropertyCondition{On: "user", Property: "country", Op: "is not", Values: []string{"FR"}}, false},
		{"user is not: no match", touchpoint.PropertyCondition{On: "user", Property: "country", Op: "is not", Values: []string{"DE", "IT"}}, true},
		{"user number", touchpoint.PropertyCondition{On: "user", Property: "age", Op: "is", Values: []string{"42"}}, true},
		{"user float", touchpoint.PropertyCondition{On: "user", Property: "score", Op: "is", Values: []string{"7"}}, true},
		{"user bool", touchpoint.PropertyCondition{On: "user", Property: "beta", Op: "is not", Values: []string{"false"}}, false},
		{"user side ignores event", touchpoint.PropertyCondition{On: "user", Property: "plan", Op: "is", Values: []string{"pro"}}, false},
		{"user missing is", touchpoint.PropertyCondition{On: "user", Property: "missing", Op: "is", Values: []string{"x"}}, false},
		{"user missing is not", touchpoint.PropertyCondition{On: "user", Property: "missing", Op: "is not", Values: []string{"x"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			dest := destination(func(d *touchpoint.Destination) { d.Filter.Where = &c })
			if err := dest.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			d := appsflyer.NewStream(dest, self).Delivery(event(data, user, nil))
			if got := d != nil; got != tc.want {
				t.Errorf("sent = %v, want %v", got, tc.want)
			}
		})
	}
	// With no user properties at all, a user condition sees a missing
	// property.
	for op, want := range map[string]bool{"is": false, "is not": true} {
		dest := destination(func(d *touchpoint.Destination) {
			d.Filter.Where = &touchpoint.PropertyCondition{On: "user", Property: "country", Op: op, Values: []string{"FR"}}
		})
		if got := appsflyer.NewStream(dest, self).Delivery(event(`{}`, nil, nil)) != nil; got != want {
			t.Errorf("no user properties, %q: sent = %v, want %v", op, got, want)
		}
	}
}

func TestDeliveryForwardedEventNotSent(t *testing.T) {
	s := appsflyer.NewStream(destination(nil), self)
	data := `{"event_type":"[AppsFlyer] Install","library":"` + touchpoint.ForwardLibrary + `","idfa":"X"}`
	if d := s.Delivery(event(data, nil, nil)); d != nil {
		t.Errorf("Delivery of a forwarded event = %+v, want nil", d)
	}
	// Another library is sent.
	if d := s.Delivery(event(`{"library":"amplitude-swift/1.0"}`, nil, nil)); d == nil {
		t.Error("Delivery of an SDK event = nil, want a delivery")
	}
}

func TestDeliveryBadData(t *testing.T) {
	if d := appsflyer.NewStream(destination(nil), self).Delivery(event(`not json`, nil, nil)); d != nil {
		t.Errorf("Delivery of unreadable data = %+v, want nil", d)
	}
}

func TestDeliveryNoValue(t *testing.T) {
	d := sent(t, appsflyer.NewStream(destination(nil), self).Delivery(event(`{"event_type":"open","os_version":"17"}`, nil, nil)))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(d.Body), &raw); err != nil {
		t.Fatal(err)
	}
	if got, ok := raw["eventValue"]; !ok || string(got) != `""` {
		t.Errorf(`eventValue = %s (present %v), want ""`, got, ok)
	}
	ev, value := body(t, d)
	if value != nil {
		t.Errorf("eventValue = %v, want none", value)
	}
	want := map[string]any{"appsflyer_id": afid, "customer_user_id": "u1", "eventName": "purchase", "eventValue": "",
		"eventTime": "2023-11-14 22:13:20.123", "os": "17"}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("body = %#v, want %#v", ev, want)
	}
	if d.Note != "" {
		t.Errorf("Note = %q, want none", d.Note)
	}
	// Empty property maps are no value either.
	d = appsflyer.NewStream(destination(nil), self).Delivery(
		event(`{"event_properties":{}}`, map[string]any{}, map[string]any{}))
	if ev, _ := body(t, d); ev["eventValue"] != "" {
		t.Errorf("eventValue with empty maps = %#v, want \"\"", ev["eventValue"])
	}
	// No user id: customer_user_id left out. No os_version: os left out,
	// never sent empty.
	e := event(`{}`, nil, nil)
	e.UserID = ""
	ev, _ = body(t, appsflyer.NewStream(destination(nil), self).Delivery(e))
	for _, k := range []string{"customer_user_id", "os"} {
		if _, ok := ev[k]; ok {
			t.Errorf("%s = %#v, want none", k, ev[k])
		}
	}
}

func TestDeliveryUnderLimit(t *testing.T) {
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(fullEvent, map[string]any{"plan": "pro"}, nil))
	if d == nil {
		t.Fatal("Delivery = nil")
	}
	if len(d.Body) > appsflyer.MaxBody || d.Note != "" {
		t.Errorf("body %d bytes, Note %q; want at most %d, no note", len(d.Body), d.Note, appsflyer.MaxBody)
	}
}

func TestDeliveryFitsLimit(t *testing.T) {
	big1 := strings.Repeat("a", 600)
	big2 := strings.Repeat("b", 590)
	big3 := strings.Repeat("c", 300)
	data, _ := json.Marshal(map[string]any{"event_properties": map[string]any{
		"big_one": big1, "mid_three": big3, "keep_small": "x", "keep_num": 3}})
	user := map[string]any{"big_two": big2, "keep_user": "pro"}
	group := map[string]any{"keep_group": "acme"}
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(string(data), user, group))
	ev, value := body(t, d)
	if len(d.Body) > appsflyer.MaxBody {
		t.Errorf("body is %d bytes, over %d", len(d.Body), appsflyer.MaxBody)
	}
	// Both largest must go (one alone leaves the body over 1 KB); the
	// next largest stays.
	want := map[string]any{"mid_three": big3, "keep_small": "x", "keep_num": json.Number("3"),
		"keep_user": "pro", "keep_group": "acme"}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("eventValue = %#v\nwant %#v", value, want)
	}
	if ev["customer_user_id"] != "u1" || ev["eventName"] != "purchase" {
		t.Errorf("body lost its fields: %#v", ev)
	}
	for _, k := range []string{"big_one", "big_two"} {
		if !strings.Contains(d.Note, k) {
			t.Errorf("Note %q does not name %s", d.Note, k)
		}
	}
	for k := range want {
		if strings.Contains(d.Note, k) {
			t.Errorf("Note %q names %s, which was kept", d.Note, k)
		}
	}
	if !strings.Contains(d.Note, "dropped 2 ") {
		t.Errorf("Note %q does not count 2 dropped properties", d.Note)
	}
	if strings.Index(d.Note, "big_one") > strings.Index(d.Note, "big_two") {
		t.Errorf("Note %q does not name the largest first", d.Note)
	}
}

func TestDeliveryDropsOnlyWhatIsNeeded(t *testing.T) {
	// Dropping the largest property alone fits: nothing else goes.
	data, _ := json.Marshal(map[string]any{"event_properties": map[string]any{
		"huge": strings.Repeat("h", 900), "medium": strings.Repeat("m", 300), "small": "s"}})
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(string(data), nil, nil))
	_, value := body(t, d)
	want := map[string]any{"medium": strings.Repeat("m", 300), "small": "s"}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("eventValue = %#v\nwant %#v", value, want)
	}
	if !strings.Contains(d.Note, "dropped 1 ") || !strings.Contains(d.Note, "huge") || strings.Contains(d.Note, "medium") {
		t.Errorf("Note = %q, want it to name huge only", d.Note)
	}
	if len(d.Body) > appsflyer.MaxBody {
		t.Errorf("body is %d bytes", len(d.Body))
	}
}

func TestDeliveryOverLimitWithoutProperties(t *testing.T) {
	// A user id of 1,100 bytes: no body without properties fits. The
	// event is not sent: its delivery is written failed, saying why.
	userID := strings.Repeat("u", 1100)
	for _, data := range []string{`{"event_properties":{"sku":"a1","plan":"pro"},"os_version":"17"}`, `{}`} {
		e := event(data, map[string]any{"country": "FR"}, nil)
		e.UserID = userID
		d := appsflyer.NewStream(destination(nil), self).Delivery(e)
		if d == nil || d.State != touchpoint.DeliveryFailed || len(d.Body) <= appsflyer.MaxBody ||
			d.Reason != fmt.Sprintf("not sent: the event is %d bytes with no properties but af_revenue, over the S2S API's 1 KB limit", len(d.Body)) {
			t.Fatalf("%s: delivery %+v, want failed over 1 KB", data, d)
		}
		if ev := decode(t, d.Body); ev["eventValue"] != "" || ev["customer_user_id"] != userID {
			t.Errorf("%s: body = %.100v…", data, d.Body)
		}
	}
}

func TestDeliveryKeepsRevenue(t *testing.T) {
	// af_revenue is never dropped to fit: the event is sent for it. Here
	// the two properties go and the revenue stays.
	data, _ := json.Marshal(map[string]any{"revenue": 4.99, "os_version": "17", "event_properties": map[string]any{
		"big": strings.Repeat("b", 900), "bigger": strings.Repeat("c", 950)}})
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(string(data), nil, nil))
	ev, value := body(t, d)
	if !reflect.DeepEqual(value, map[string]any{"af_revenue": "4.99"}) || ev["eventCurrency"] != "USD" ||
		d.Note != "dropped 2 of the event's properties, largest first, to fit the S2S API's 1 KB limit: bigger, big" {
		t.Errorf("eventValue = %.80v, eventCurrency %v, note %q", value, ev["eventCurrency"], d.Note)
	}
	// When even the revenue does not fit, nothing is sent.
	e := event(string(data), nil, nil)
	e.EventType = strings.Repeat("e", 980)
	d = appsflyer.NewStream(destination(nil), self).Delivery(e)
	if d == nil || d.State != touchpoint.DeliveryFailed || !strings.Contains(d.Reason, "over the S2S API's 1 KB limit") ||
		!strings.Contains(d.Body, `af_revenue`) {
		t.Errorf("delivery %+v, want failed with its revenue", d)
	}
}

func TestDeliveryBodyIsCompactJSON(t *testing.T) {
	// The body is one JSON value with no trailing newline, and HTML
	// characters are not escaped in the outer document.
	d := appsflyer.NewStream(destination(nil), self).Delivery(
		event(`{"event_properties":{"q":"a<b & c>d"}}`, nil, nil))
	if d == nil {
		t.Fatal("Delivery = nil")
	}
	if strings.HasSuffix(d.Body, "\n") {
		t.Error("body ends with a newline")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(d.Body)); err != nil || buf.String() != d.Body {
		t.Errorf("body is not compact JSON: %q (%v)", d.Body, err)
	}
	_, value := body(t, d)
	if value["q"] != "a<b & c>d" {
		t.Errorf("eventValue q = %#v", value["q"])
	}
}

func TestDeliveryDropsLargestEncoded(t *testing.T) {
	// "quoted" takes about 960 bytes in the body, "plain" about 600:
	// dropping "quoted" alone fits, keeping "plain".
	data, _ := json.Marshal(map[string]any{"event_properties": map[string]any{
		"quoted": strings.Repeat(`"`, 240), "plain": strings.Repeat("a", 600)}})
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(string(data), nil, nil))
	_, value := body(t, d)
	want := map[string]any{"plain": strings.Repeat("a", 600)}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("eventValue = %.80v…, want only plain kept; Note %q", value, d.Note)
	}
	if len(d.Body) > appsflyer.MaxBody {
		t.Errorf("body is %d bytes", len(d.Body))
	}
}

func TestDeliveryEventTimeUTC(t *testing.T) {
	// eventTime is UTC whatever the server's zone.
	local := time.Local
	time.Local = time.FixedZone("UTC+5", 5*3600)
	t.Cleanup(func() { time.Local = local })
	e := event(`{}`, nil, nil)
	e.Time = 1704067199999 // 2023-12-31 23:59:59.999 UTC
	ev, _ := body(t, appsflyer.NewStream(destination(nil), self).Delivery(e))
	if got, want := ev["eventTime"], "2023-12-31 23:59:59.999"; got != want {
		t.Errorf("eventTime = %v, want %v", got, want)
	}
}

func TestDeliveryRevenueProperty(t *testing.T) {
	// With no revenue, an af_revenue event property is the revenue, made
	// a plain decimal, with its currency; one that is no number is left
	// out, noted; a null one is sent as it is, with no currency.
	for _, tc := range []struct {
		prop     string
		want     any // af_revenue in eventValue; nil: none
		currency any // eventCurrency; nil: none
		note     string
	}{
		{`1e3`, "1000", "GBP", ""},
		{`"2.50"`, "2.50", "GBP", ""},
		{`"-1E-2"`, "-0.01", "GBP", ""},
		{`" 7 "`, "7", "GBP", ""},
		{`"six"`, nil, nil, `af_revenue "six" is not a decimal number: left out`},
		{`true`, nil, nil, `af_revenue true is not a decimal number: left out`},
		{`null`, nil, nil, ""},
	} {
		data := `{"os_version":"17","event_properties":{"af_revenue":` + tc.prop + `,"currency":"gbp"}}`
		d := appsflyer.NewStream(destination(nil), self).Delivery(event(data, nil, nil))
		ev, value := body(t, d)
		if value["af_revenue"] != tc.want || ev["eventCurrency"] != tc.currency || d.Note != tc.note {
			t.Errorf("af_revenue %s: sent %#v, eventCurrency %#v, note %q; want %#v, %#v, %q",
				tc.prop, value["af_revenue"], ev["eventCurrency"], d.Note, tc.want, tc.currency, tc.note)
		}
	}
}
