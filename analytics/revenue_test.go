package analytics_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/analytics"
)

// TestDecodeUploadRevenueProperties: the Revenue classes' $-keys inside
// event_properties are the event's revenue, written at the top level of
// the stored form as if they had been sent there; top-level members win.
func TestDecodeUploadRevenueProperties(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members string
		want    map[string]any // top-level members of the stored form; nil: absent
	}{
		{"TypeScript Revenue: price and quantity",
			`"event_properties":{"$productId":"sku-1","$quantity":2,"$price":4.99,"$revenueType":"purchase","$currency":"EUR","color":"red"}`,
			map[string]any{"revenue": json.Number("9.98"), "price": json.Number("4.99"), "quantity": json.Number("2"),
				"productId": "sku-1", "revenueType": "purchase", "currency": "EUR"}},
		{"TypeScript Revenue: setRevenue only ($price 0, $quantity 1)",
			`"event_properties":{"$productId":"","$quantity":1,"$price":0,"$revenue":10}`,
			map[string]any{"revenue": json.Number("10"), "price": json.Number("0"), "quantity": json.Number("1"), "productId": nil}},
		{"Go Revenue: Price and Quantity ($revenue 0)",
			`"event_properties":{"$productId":"sku-9","$quantity":2,"$price":3.5,"$revenueType":"","$receipt":"","$receiptSig":"","$currency":"","$revenue":0}`,
			map[string]any{"revenue": json.Number("7"), "price": json.Number("3.5"), "quantity": json.Number("2"), "productId": "sku-9",
				"revenueType": nil, "currency": nil}},
		{"Go Revenue: Price alone ($quantity 0)", `"event_properties":{"$quantity":0,"$price":3.5,"$revenue":0}`,
			map[string]any{"revenue": json.Number("3.5"), "price": json.Number("3.5"), "quantity": nil}},
		{"Go Revenue: Revenue alone ($price 0)", `"event_properties":{"$quantity":0,"$price":0,"$revenue":12}`,
			map[string]any{"revenue": json.Number("12"), "price": json.Number("0"), "quantity": nil}},
		{"Kotlin Revenue: revenue alone", `"event_properties":{"$quantity":1,"$revenue":12}`,
			map[string]any{"revenue": json.Number("12"), "price": nil, "quantity": json.Number("1")}},
		{"price and revenue: price × quantity", `"event_properties":{"$quantity":2,"$price":3,"$revenue":100}`,
			map[string]any{"revenue": json.Number("6")}},
		{"price 0 alone", `"event_properties":{"$price":0}`,
			map[string]any{"revenue": json.Number("0"), "price": json.Number("0")}},
		{"amplitude-js Revenue: price, no quantity", `"event_properties":{"$price":3.5,"$productId":"sku-2"}`,
			map[string]any{"revenue": json.Number("3.5"), "price": json.Number("3.5"), "quantity": nil, "productId": "sku-2"}},
		{"refund", `"event_properties":{"$price":-2,"$quantity":3}`,
			map[string]any{"revenue": json.Number("-6"), "price": json.Number("-2"), "quantity": json.Number("3")}},
		{"top-level revenue wins over the properties' amount", `"revenue":7,"event_properties":{"$price":2,"$quantity":3,"$revenue":100,"$productId":"sku-3"}`,
			map[string]any{"revenue": json.Number("7"), "price": nil, "quantity": nil, "productId": "sku-3"}},
		{"top-level price wins", `"price":2,"event_properties":{"$price":9,"$quantity":3}`,
			map[string]any{"revenue": json.Number("2"), "price": json.Number("2"), "quantity": nil}},
		{"top-level quantity with $price", `"quantity":4,"event_properties":{"$price":2.5}`,
			map[string]any{"revenue": json.Number("10"), "price": json.Number("2.5"), "quantity": json.Number("4")}},
		{"top-level strings win member by member", `"productId":"top","currency":"USD","event_properties":{"$price":1,"$productId":"prop","$currency":"EUR","$revenueType":"iap"}`,
			map[string]any{"revenue": json.Number("1"), "productId": "top", "currency": "USD", "revenueType": "iap"}},
		{"not numbers: no revenue", `"event_properties":{"$price":"4.99","$revenue":true,"$quantity":2}`,
			map[string]any{"revenue": nil, "price": nil, "quantity": nil}},
		{"a fractional $quantity counts as none", `"event_properties":{"$price":2,"$quantity":1.5}`,
			map[string]any{"revenue": json.Number("2"), "quantity": nil}},
		{"$-keys in nested objects are not revenue", `"event_properties":{"cart":{"$price":5}}`,
			map[string]any{"revenue": nil, "price": nil}},
		{"no revenue keys", `"event_properties":{"price":5,"$other":1}`,
			map[string]any{"revenue": nil, "price": nil}},
		{"an overflowing product is no revenue", `"event_properties":{"$price":1e300,"$quantity":9000000000000000000}`,
			map[string]any{"revenue": nil, "price": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecodeOne(t, `{"event_type":"revenue_amount","user_id":"user-1",`+tc.members+`}`)
			m := data(t, e)
			for k, want := range tc.want {
				got, ok := m[k]
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want none (Data %s)", k, got, e.Data)
					}
					continue
				}
				if got != want {
					t.Errorf("%s = %v, want %v (Data %s)", k, got, want, e.Data)
				}
			}
			// The stored form is valid JSON with each member once.
			if strings.Count(string(e.Data), `"revenue":`) > 1 || strings.Count(string(e.Data), `"quantity":`) > 1 {
				t.Errorf("a member twice: %s", e.Data)
			}
			// The properties are kept as they came.
			if _, ok := m["event_properties"].(map[string]any); !ok {
				t.Errorf("event_properties lost: %s", e.Data)
			}
		})
	}
}

// TestDecodeUploadInvalidAPIKey: Amplitude's "Invalid API key: <key>", the
// form every SDK drops on; a key is echoed cut.
func TestDecodeUploadInvalidAPIKey(t *testing.T) {
	long := strings.Repeat("k", 5000)
	for _, tc := range []struct{ key, want string }{
		{"nope", `{"code":400,"error":"Invalid API key: nope"}`},
		{" ", `{"code":400,"error":"Invalid API key:  "}`},
		{`a"b`, `{"code":400,"error":"Invalid API key: a\"b"}`},
		{long, `{"code":400,"error":"Invalid API key: ` + long[:analytics.MaxEchoedKey] + `…"}`},
	} {
		key, _ := json.Marshal(tc.key)
		_, rej := analytics.DecodeUpload([]byte(`{"api_key":`+string(key)+`,"events":[{"event_type":"a","user_id":"user-1"}]}`), testRequest())
		if got := rejectionJSON(t, rej); got != tc.want {
			t.Errorf("key %.20q: %s, want %s", tc.key, got, tc.want)
		}
		// Each SDK's test for a bad key holds: Go and Python's prefix,
		// TypeScript's, Kotlin's words.
		if !strings.HasPrefix(rej.Error, "Invalid API key:") || !strings.Contains(strings.ToLower(rej.Error), "invalid api key") {
			t.Errorf("%q is no bad-key answer the SDKs recognise", rej.Error)
		}
	}
}
