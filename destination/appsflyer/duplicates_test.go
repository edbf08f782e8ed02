package appsflyer_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
)

// TestDeliveryDuplicateNames: an event whose JSON repeats a member name
// (HTTP V2 takes it, as JSON.parse does: the last one counts) is streamed
// like any other, not dropped without a trace: the stored form keeps the
// members as they came, and the stream reads the last of each.
func TestDeliveryDuplicateNames(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	up, rej := analytics.DecodeUpload([]byte(`{"api_key":"key-1","events":[{"event_type":"purchase","device_id":"device-1",
		"os_version":"16","os_version":"17","event_properties":{"level":1,"level":2,"color":"red"}}]}`),
		analytics.Request{Endpoint: analytics.HTTPAPI, Now: now})
	if rej != nil {
		t.Fatalf("DecodeUpload refused the event: %+v", rej)
	}
	e := event("{}", nil, nil)
	e.Data = up.Events[0].Data
	d := sent(t, appsflyer.NewStream(destination(nil), self).Delivery(e))
	body := decode(t, d.Body)
	if body["os"] != "17" {
		t.Errorf("os = %v, want the last os_version, 17", body["os"])
	}
	value := decode(t, body["eventValue"].(string))
	if value["level"] != nil && value["level"].(interface{ String() string }).String() != "2" || value["color"] != "red" {
		t.Errorf("eventValue = %v, want level 2 (the last) and color red", value)
	}
}
