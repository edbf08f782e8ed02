package appsflyer_test

import (
	"bytes"
	"encoding/json"
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

// event returns a streamed event with data as its stored form.
func event(data string, user, group map[string]any) *touchpoint.StreamedEvent {
	return &touchpoint.StreamedEvent{ID: 11, Project: 3, EventType: "purchase", Time: 1700000000123,
		UserID: "u1", Data: []byte(data), UserProperties: user, GroupProperties: group}
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
	if d == nil {
		t.Fatal("Delivery = nil, want a delivery")
	}
	ev = decode(t, d.Body)
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
	`"idfa":"6D92078A-8246-4BA4-AE5B-76104861E7DC","idfv":"A1B2C3D4-0000-1111-2222-333344445555","app_version":"2.1"}`

func TestDeliveryFullEvent(t *testing.T) {
	user := map[string]any{"af_id": "1700000000000-1234567890123456789", "plan": "pro", "sku": "user-sku",
		"level": json.Number("5")}
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
		"plan": "pro", "level": json.Number("5"), "af_id": "1700000000000-1234567890123456789", // user over group
		"sku": "a1", "currency": "EUR", "qty": json.Number("2"), // event over user and group
		"af_revenue": "4.99",
	}
	if !reflect.DeepEqual(value, wantValue) {
		t.Errorf("eventValue = %#v\nwant %#v", value, wantValue)
	}
	delete(ev, "eventValue")
	wantEvent := map[string]any{
		"appsflyer_id":     "1700000000000-1234567890123456789",
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
		wantCurrency any // nil: no eventCurrency
		wantRevenue  any // nil: no af_revenue
	}{
		{"event property currency", `{"revenue":4.99,"event_properties":{"currency":"EUR"}}`, "EUR", "4.99"},
		{"no currency: USD", `{"revenue":4.99}`, "USD", "4.99"},
		{"no currency, event properties: USD", `{"revenue":10,"event_properties":{"sku":"a"}}`, "USD", "10"},
		{"af_currency", `{"revenue":1.5,"event_properties":{"af_currency":"GBP"}}`, "GBP", "1.5"},
		{"top-level currency", `{"revenue":1.5,"currency":"JPY"}`, "JPY", "1.5"},
		{"currency before af_currency", `{"revenue":1,"event_properties":{"currency":"EUR","af_currency":"GBP"}}`, "EUR", "1"},
		{"invalid currency skipped", `{"revenue":1,"currency":"CHF","event_properties":{"currency":"eur"}}`, "CHF", "1"},
		{"invalid currency only: USD", `{"revenue":1,"event_properties":{"currency":"euro"}}`, "USD", "1"},
		{"no revenue: no currency", `{"event_properties":{"currency":"EUR"}}`, nil, nil},
		{"null revenue", `{"revenue":null,"currency":"EUR"}`, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := appsflyer.NewStream(destination(nil), self).Delivery(event(tc.data, nil, nil))
			ev, value := body(t, d)
			if got := ev["eventCurrency"]; got != tc.wantCurrency {
				t.Errorf("eventCurrency = %#v, want %#v", got, tc.wantCurrency)
			}
			if got := value["af_revenue"]; got != tc.wantRevenue {
				t.Errorf("eventValue af_revenue = %#v, want %#v", got, tc.wantRevenue)
			}
		})
	}
}

func TestDeliveryRevenueOverridesProperty(t *testing.T) {
	d := appsflyer.NewStream(destination(nil), self).Delivery(
		event(`{"revenue":2.5,"event_properties":{"af_revenue":"99","currency":"EUR"}}`, nil, nil))
	_, value := body(t, d)
	want := map[string]any{"af_revenue": "2.5", "currency": "EUR"}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("eventValue = %#v, want %#v", value, want)
	}
}

func TestDeliveryAppsFlyerID(t *testing.T) {
	const afid = "1700000000000-1234567890123456789"
	for _, tc := range []struct {
		name     string
		property string
		user     map[string]any
		want     any // nil: no appsflyer_id
	}{
		{"user has it", "af_id", map[string]any{"af_id": afid}, afid},
		{"other property name", "AppsFlyer ID", map[string]any{"AppsFlyer ID": afid, "af_id": "other"}, afid},
		{"user lacks it", "af_id", map[string]any{"plan": "pro"}, nil},
		{"no user properties", "af_id", nil, nil},
		{"no property configured", "", map[string]any{"af_id": afid}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := destination(func(d *touchpoint.Destination) { d.AppsFlyerIDProperty = tc.property })
			ev, _ := body(t, appsflyer.NewStream(dest, self).Delivery(event(`{}`, tc.user, nil)))
			if got := ev["appsflyer_id"]; got != tc.want {
				t.Errorf("appsflyer_id = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDeliveryDeviceIDs(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       map[string]any // the device id keys of the body
	}{
		{"android adid", `{"os_name":"android","platform":"Android","adid":"gaid-1","android_id":"aid-1","oaid":"oaid-1"}`,
			map[string]any{"advertising_id": "gaid-1", "android_id": "aid-1", "oaid": "oaid-1"}},
		{"no os name: adid", `{"adid":"gaid-1"}`, map[string]any{"advertising_id": "gaid-1"}},
		{"fire os", `{"os_name":"Fire OS","adid":"amz-1"}`, map[string]any{"amazon_aid": "amz-1"}},
		{"amazon platform", `{"platform":"Amazon","adid":"amz-1"}`, map[string]any{"amazon_aid": "amz-1"}},
		{"amazon brand", `{"os_name":"android","platform":"Android","device_brand":"Amazon","adid":"amz-1"}`,
			map[string]any{"amazon_aid": "amz-1"}},
		{"fire in brand", `{"device_brand":"KFire","adid":"amz-1"}`, map[string]any{"amazon_aid": "amz-1"}},
		{"amazon_aid wins over adid", `{"device_brand":"amazon","adid":"amz-1","amazon_aid":"amz-explicit"}`,
			map[string]any{"amazon_aid": "amz-explicit"}},
		{"ios ids", `{"os_name":"ios","idfa":"IDFA-1","idfv":"IDFV-1"}`, map[string]any{"idfa": "IDFA-1", "idfv": "IDFV-1"}},
		{"none", `{"os_name":"android"}`, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, _ := body(t, appsflyer.NewStream(destination(nil), self).Delivery(event(tc.data, nil, nil)))
			got := map[string]any{}
			for _, k := range []string{"idfa", "idfv", "advertising_id", "oaid", "android_id", "amazon_aid"} {
				if v, ok := ev[k]; ok {
					got[k] = v
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("device ids = %#v, want %#v", got, tc.want)
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
	d := appsflyer.NewStream(destination(nil), self).Delivery(event(`{"event_type":"open"}`, nil, nil))
	if d == nil {
		t.Fatal("Delivery = nil")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(d.Body), &raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"eventValue": `""`, "os": `""`} {
		if got, ok := raw[k]; !ok || string(got) != want {
			t.Errorf("%s = %s (present %v), want %s", k, got, ok, want)
		}
	}
	ev, value := body(t, d)
	if value != nil {
		t.Errorf("eventValue = %v, want none", value)
	}
	want := map[string]any{"customer_user_id": "u1", "eventName": "purchase", "eventValue": "",
		"eventTime": "2023-11-14 22:13:20.123", "os": ""}
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
	// No user id: customer_user_id left out.
	e := event(`{}`, nil, nil)
	e.UserID = ""
	ev, _ = body(t, appsflyer.NewStream(destination(nil), self).Delivery(e))
	if _, ok := ev["customer_user_id"]; ok {
		t.Errorf("customer_user_id = %#v, want none", ev["customer_user_id"])
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
	userID := strings.Repeat("u", 1100)
	e := event(`{"event_properties":{"sku":"a1","plan":"pro"}}`, map[string]any{"country": "FR"}, nil)
	e.UserID = userID
	d := appsflyer.NewStream(destination(nil), self).Delivery(e)
	ev, value := body(t, d)
	if value != nil {
		t.Errorf("eventValue = %#v, want \"\" (every property dropped)", value)
	}
	if ev["customer_user_id"] != userID {
		t.Errorf("customer_user_id was changed")
	}
	if len(d.Body) <= appsflyer.MaxBody {
		t.Errorf("body is %d bytes, want over %d", len(d.Body), appsflyer.MaxBody)
	}
	if !strings.Contains(d.Note, "no properties") || !strings.Contains(d.Note, "1 KB") {
		t.Errorf("Note = %q, want it to say the event is over 1 KB with no properties", d.Note)
	}

	// With no properties to begin with, the note says the same.
	e = event(`{}`, nil, nil)
	e.UserID = userID
	d = appsflyer.NewStream(destination(nil), self).Delivery(e)
	if ev, _ := body(t, d); ev["eventValue"] != "" || ev["customer_user_id"] != userID {
		t.Errorf("body = %.100v…", d.Body)
	}
	if !strings.Contains(d.Note, "no properties") {
		t.Errorf("Note = %q, want it to say the event is over 1 KB with no properties", d.Note)
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
