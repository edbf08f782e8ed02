package httpapi_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/apispec"
)

// chartSchemas compiles the chart schemas of api/openapi.yaml (OpenAPI
// 3.1: JSON Schema 2020-12).
func chartSchemas(t *testing.T) map[string]*jsonschema.Schema {
	return apispec.Schemas(t, "SegmentationQuery", "FunnelQuery", "RetentionQuery", "LTVQuery",
		"SegmentationResult", "FunnelResult", "RetentionResult", "LTVResult", "Project")
}

// TestChartsMatchOpenAPI asks for each chart over HTTP and checks the
// query and the answer against the schemas the OpenAPI file gives them.
func TestChartsMatchOpenAPI(t *testing.T) {
	now := time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(func() time.Time { return now }))
	schemas := chartSchemas(t)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Game", "time_zone": "Europe/Berlin"}, &p)
	var raw any
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d", p.ID), nil, &raw)
	if err := schemas["Project"].Validate(raw); err != nil || p.TimeZone != "Europe/Berlin" {
		t.Fatalf("project %+v: %v", raw, err)
	}
	at := func(day, hour int) int64 { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC).UnixMilli() }
	body := fmt.Sprintf(`{"api_key":%q,"events":[
		{"device_id":"device-1","event_type":"session_start","time":%d,"user_properties":{"$set":{"[AppsFlyer] media source":"examplenet"}}},
		{"device_id":"device-1","event_type":"purchase","time":%d,"revenue":4.99},
		{"device_id":"device-1","event_type":"session_start","time":%d},
		{"device_id":"device-2","event_type":"session_start","time":%d,"platform":"iOS"}]}`, p.APIKey, at(1, 9), at(1, 10), at(3, 9), at(2, 23))
	if code, answer := post(t, s.URL()+"/2/httpapi", "application/json", []byte(body)); code != 200 {
		t.Fatalf("upload = %d %s", code, answer)
	}
	media := map[string]any{"property": "[AppsFlyer] media source"}
	start := map[string]any{"event_type": "session_start"}
	for kind, query := range map[string]map[string]any{
		"segmentation": {"events": []any{start, map[string]any{"event_type": "purchase", "where": []any{map[string]any{"property": "revenue", "op": ">", "value": 1}}}},
			"metric": "uniques", "interval": "week", "start": "2026-11-01", "end": "2026-11-09", "group_by": []any{media, map[string]any{"type": "event", "property": "platform"}}},
		"funnel":    {"steps": []any{start, map[string]any{"event_type": "purchase"}}, "start": "2026-11-01", "end": "2026-11-09", "group_by": media},
		"retention": {"start_event": start, "start": "2026-11-01", "end": "2026-11-09", "periods": 7, "group_by": media},
		"ltv":       {"start": "2026-11-01", "end": "2026-11-09", "days": 7, "group_by": media},
	} {
		name := map[string]string{"segmentation": "Segmentation", "funnel": "Funnel", "retention": "Retention", "ltv": "LTV"}[kind]
		if err := schemas[name+"Query"].Validate(jsonValue(t, query)); err != nil {
			t.Errorf("%s query: %v", kind, err)
		}
		var answer any
		s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/charts/%s", p.ID, kind), query, &answer)
		if err := schemas[name+"Result"].Validate(answer); err != nil {
			t.Errorf("%s answer %v: %v", kind, answer, err)
		}
		t.Logf("%s: %v", kind, answer)
	}
	// Berlin's days: device-2's session at 23:00 UTC on the 2nd is on
	// the 3rd there.
	var seg struct {
		XValues []string `json:"x_values"`
		Series  []struct {
			Values []float64 `json:"values"`
		} `json:"series"`
	}
	s.mustAPI(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/charts/segmentation", p.ID),
		map[string]any{"events": []any{start}, "start": "2026-11-01", "end": "2026-11-03"}, &seg)
	if fmt.Sprint(seg.XValues, seg.Series) != "[2026-11-01 2026-11-02 2026-11-03] [{[1 0 2]}]" {
		t.Fatalf("sessions by Berlin day: %v %v", seg.XValues, seg.Series)
	}
	s.mustAPI(t, 400, "POST", "/api/v1/projects", map[string]any{"name": "Game", "time_zone": "Mars/Olympus"}, nil)
	s.mustAPI(t, 400, "PATCH", fmt.Sprintf("/api/v1/projects/%d", p.ID), map[string]any{"time_zone": "Local"}, nil)
	s.mustAPI(t, 200, "PATCH", fmt.Sprintf("/api/v1/projects/%d", p.ID), map[string]any{"time_zone": ""}, &p)
	if p.TimeZone != "UTC" {
		t.Fatalf("time zone after setting none: %q", p.TimeZone)
	}
}

// jsonValue is v as JSON decodes it.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
