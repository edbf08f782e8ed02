package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestRevenueProperties: revenue that the SDKs' Revenue classes send as
// $price, $quantity, $currency… inside event_properties is the event's
// revenue downstream too: the stream to AppsFlyer sends it as af_revenue
// in its currency, and the attribution plane books the conversion with it
// (what its reports and in-app postbacks count). The same for the legacy
// amplitude-js (logRevenueV2), and a top-level revenue wins.
func TestRevenueProperties(t *testing.T) {
	l := startLoop(t)
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	dev := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-7"}).DeviceID
	var dest touchpoint.Destination
	l.mustAPI(t, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", l.project.ID), map[string]any{
		"name": "AppsFlyer", "appsflyer_app_id": loopApp, "key": l.devKey}, &dest)

	// The user's AppsFlyer id, which the S2S API requires, as AppsFlyer's
	// Amplitude integration sets it.
	l.ingest(t, map[string]any{"user_id": "user-7", "device_id": "web-device-1", "event_type": "$identify",
		"user_properties": map[string]any{"$set": map[string]any{"[AppsFlyer] appsflyer_id": dev}}})
	// As @amplitude/analytics-browser's Revenue sends it.
	l.ingest(t, map[string]any{"user_id": "user-7", "device_id": "web-device-1", "event_type": "revenue_amount", "insert_id": "rev-1",
		"event_properties": map[string]any{"$productId": "gem-pack", "$quantity": 2, "$price": 4.99, "$revenueType": "purchase",
			"$currency": "EUR", "$receipt": nil}})
	// A top-level revenue wins over the properties.
	l.ingest(t, map[string]any{"user_id": "user-7", "device_id": "web-device-1", "event_type": "top_level", "insert_id": "rev-2",
		"revenue": 1.25, "event_properties": map[string]any{"$price": 100, "$quantity": 1}})
	// As amplitude-js's logRevenueV2 posts it to the legacy endpoint.
	v := legacyValues(l.project.APIKey, `{"device_id":"web-device-2","user_id":"user-7","event_type":"revenue_amount","uuid":"rev-3",`+
		`"event_properties":{"$productId":"coins","$quantity":3,"$price":0.5},"library":{"name":"amplitude-js","version":"8.21.10"}}`)
	if status, body := post(t, l.URL()+"/", "application/x-www-form-urlencoded", []byte(v.Encode())); status != 200 {
		t.Fatalf("legacy upload = %d %s", status, body)
	}

	// The streams: af_revenue and the currency.
	sent := map[string]map[string]any{}
	for _, d := range l.deliveries(t, fmt.Sprintf("project_id=%d", l.project.ID), touchpoint.DeliverySucceeded, 3) {
		var body struct {
			EventName, EventValue, EventCurrency string
		}
		if err := json.Unmarshal([]byte(d.Body), &body); err != nil {
			t.Fatal(err)
		}
		var value map[string]any
		if err := json.Unmarshal([]byte(body.EventValue), &value); err != nil {
			t.Fatalf("eventValue %q: %v", body.EventValue, err)
		}
		value["currency"] = body.EventCurrency
		sent[fmt.Sprint(value["$productId"], "/", body.EventName)] = value
	}
	for key, want := range map[string][2]string{
		"gem-pack/revenue_amount": {"9.98", "EUR"},
		"<nil>/top_level":         {"1.25", "USD"},
		"coins/revenue_amount":    {"1.5", "USD"},
	} {
		if v := sent[key]; v == nil || v["af_revenue"] != want[0] || v["currency"] != want[1] {
			t.Errorf("%s streamed %v, want af_revenue %s in %s", key, v, want[0], want[1])
		}
	}

	// The conversions the attribution plane booked.
	got := map[string]string{}
	for _, c := range l.conversions(t, dev) {
		got[c.Name+" "+c.Currency] = c.Revenue.String()
	}
	if want := map[string]string{"revenue_amount EUR": "9.98", "top_level USD": "1.25", "revenue_amount USD": "1.5"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("conversions %v, want %v", got, want)
	}

	// The stored event carries it at the top level, its properties as
	// they came.
	var page struct{ Events []map[string]any }
	u := l.user(t, "user-7")
	l.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events?%s", l.project.ID, u.AmplitudeID, url.Values{"limit": {"10"}}.Encode()), nil, &page)
	var found bool
	for _, e := range page.Events {
		if e["insert_id"] == "rev-1" {
			found = true
			ep, _ := json.Marshal(e["event_properties"])
			if e["revenue"] != 9.98 || e["price"] != 4.99 || e["quantity"] != 2.0 || e["productId"] != "gem-pack" || e["currency"] != "EUR" ||
				!strings.Contains(string(ep), `"$price":4.99`) {
				t.Errorf("stored %v", e)
			}
		}
	}
	if !found {
		t.Errorf("rev-1 not stored: %v", page.Events)
	}
}
