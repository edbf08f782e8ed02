package analytics_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// legacyEvent is an event as amplitude-js 8 builds it (_logEvent), with
// members replaced or added by kv.
func legacyEvent(kv ...any) string {
	e := map[string]any{
		"device_id": "Xb0ZkLz1Qm2yA3c4D5e6Fg", "user_id": nil, "timestamp": 1740830400123, "event_id": 7, "session_id": 1740830400000,
		"event_type": "Button Clicked", "version_name": nil, "platform": "Web", "os_name": "Chrome", "os_version": "124",
		"device_model": "Linux", "device_manufacturer": nil, "language": "en-US", "api_properties": map[string]any{},
		"event_properties": map[string]any{"color": "red"}, "user_properties": map[string]any{},
		"uuid": "5f0c1b2a-1111-4222-8333-944455556666", "library": map[string]any{"name": "amplitude-js", "version": "8.21.10"},
		"sequence_number": 12, "groups": map[string]any{}, "group_properties": map[string]any{},
		"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0", "partner_id": nil,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<absent>" {
			delete(e, kv[i].(string))
			continue
		}
		e[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// legacyForm is a form as amplitude-js posts it, its checksum right.
func legacyForm(events ...string) analytics.LegacyForm {
	f := analytics.LegacyForm{Client: testKey, Events: "[" + strings.Join(events, ",") + "]", Version: "2", UploadTime: "1740830401000"}
	f.Checksum = analytics.LegacyChecksum(f)
	return f
}

func mustDecodeLegacy(t *testing.T, f analytics.LegacyForm) *analytics.Upload {
	t.Helper()
	up, lerr := analytics.DecodeLegacy(f, testRequest())
	if lerr != nil {
		t.Fatalf("refused: %d %s", lerr.Status, lerr.Text)
	}
	return up
}

func TestDecodeLegacyStoredForm(t *testing.T) {
	up := mustDecodeLegacy(t, legacyForm(legacyEvent()))
	if len(up.Events) != 1 {
		t.Fatalf("%d events", len(up.Events))
	}
	e := up.Events[0]
	if e.Kind != touchpoint.TrackEvent || e.EventType != "Button Clicked" || e.DeviceID != "Xb0ZkLz1Qm2yA3c4D5e6Fg" || e.UserID != "" ||
		e.Time != 1740830400123 || e.InsertID != "5f0c1b2a-1111-4222-8333-944455556666" || e.Platform != "Web" {
		t.Errorf("event %+v", e)
	}
	m := data(t, e)
	for k, want := range map[string]any{
		"time": json.Number("1740830400123"), "insert_id": "5f0c1b2a-1111-4222-8333-944455556666", "library": "amplitude-js/8.21.10",
		"language": "English", "event_id": json.Number("7"), "sequence_number": json.Number("12"), "session_id": json.Number("1740830400000"),
		"os_name": "Chrome", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0",
	} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v (Data %s)", k, m[k], want, e.Data)
		}
	}
	for _, k := range []string{"timestamp", "uuid", "user_id", "partner_id"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s stored: %s", k, e.Data)
		}
	}
	if ep, _ := json.Marshal(m["event_properties"]); string(ep) != `{"color":"red"}` {
		t.Errorf("event_properties %s", ep)
	}
	if _, ok := m["api_properties"].(map[string]any); !ok {
		t.Errorf("api_properties not kept: %s", e.Data)
	}

	// The same event through HTTP V2, in the newer names: the same stored
	// form, member for member.
	v2 := strings.NewReplacer(`"timestamp"`, `"time"`, `"uuid"`, `"insert_id"`).Replace(legacyEvent("library", "amplitude-js/8.21.10"))
	if got := mustDecodeOne(t, v2); !sameMembers(t, got.Data, e.Data) {
		t.Errorf("HTTP V2 stores %s\nlegacy stores %s", got.Data, e.Data)
	}
}

// sameMembers reports whether two stored forms hold the same members.
func sameMembers(t *testing.T, a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		t.Fatalf("not JSON: %s / %s", a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestDecodeLegacyNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event string
		check func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any)
	}{
		{"time and insert_id win over the old names", legacyEvent("time", 1740830400999, "insert_id", "ins-new"),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if e.Time != 1740830400999 || e.InsertID != "ins-new" || m["timestamp"] != json.Number("1740830400123") || m["uuid"] == nil {
					t.Errorf("time %d insert_id %q; Data %s", e.Time, e.InsertID, e.Data)
				}
			}},
		{"no timestamp: the time of receipt", legacyEvent("timestamp", "<absent>"),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if e.Time != testNow.UnixMilli() {
					t.Errorf("time %d, want %d", e.Time, testNow.UnixMilli())
				}
			}},
		{"library without version", legacyEvent("library", map[string]any{"name": "amplitude-js"}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if m["library"] != "amplitude-js" {
					t.Errorf("library %v", m["library"])
				}
			}},
		{"empty library", legacyEvent("library", map[string]any{}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if _, ok := m["library"]; ok {
					t.Errorf("library %v", m["library"])
				}
			}},
		{"user id", legacyEvent("user_id", "user-42"),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if e.UserID != "user-42" || m["user_id"] != "user-42" {
					t.Errorf("user %q, Data %s", e.UserID, e.Data)
				}
			}},
		{"identify", legacyEvent("event_type", "$identify", "user_properties", map[string]any{"$set": map[string]any{"plan": "gold"}, "$add": map[string]any{"logins": 1}}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if e.Kind != touchpoint.IdentifyEvent || fmt.Sprint(e.UserProperties) != "map[$add:map[logins:1] $set:map[plan:gold]]" {
					t.Errorf("kind %v, properties %v", e.Kind, e.UserProperties)
				}
			}},
		{"group identify", legacyEvent("event_type", "$groupidentify", "groups", map[string]any{"org": "acme"},
			"group_properties", map[string]any{"$set": map[string]any{"tier": "gold"}}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if e.Kind != touchpoint.GroupIdentifyEvent || fmt.Sprint(e.Groups) != "map[org:acme]" || fmt.Sprint(e.GroupProperties) != "map[$set:map[tier:gold]]" {
					t.Errorf("kind %v, groups %v, properties %v", e.Kind, e.Groups, e.GroupProperties)
				}
			}},
		{"Revenue (logRevenueV2): $-keys", legacyEvent("event_type", "revenue_amount",
			"event_properties", map[string]any{"$productId": "sku-1", "$quantity": 2, "$price": 4.99, "$revenueType": "iap"}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if m["revenue"] != json.Number("9.98") || m["productId"] != "sku-1" || m["revenueType"] != "iap" {
					t.Errorf("Data %s", e.Data)
				}
			}},
		{"logRevenue: api_properties", legacyEvent("event_type", "revenue_amount", "event_properties", map[string]any{},
			"api_properties", map[string]any{"productId": "sku-2", "special": "revenue_amount", "quantity": 3, "price": 1.5}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if m["revenue"] != json.Number("4.5") || m["price"] != json.Number("1.5") || m["quantity"] != json.Number("3") || m["productId"] != "sku-2" {
					t.Errorf("Data %s", e.Data)
				}
			}},
		{"api_properties without special are not revenue", legacyEvent("api_properties", map[string]any{"price": 1.5, "tracking_options": map[string]any{"city": false}}),
			func(t *testing.T, e *touchpoint.IncomingEvent, m map[string]any) {
				if _, ok := m["revenue"]; ok {
					t.Errorf("Data %s", e.Data)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := mustDecodeLegacy(t, legacyForm(tc.event))
			tc.check(t, up.Events[0], data(t, up.Events[0]))
		})
	}
}

func TestDecodeLegacyRefusals(t *testing.T) {
	good := legacyEvent()
	many := make([]string, 2001)
	for i := range many {
		many[i] = `{"device_id":"device-1","event_type":"a"}`
	}
	withSum := func(f analytics.LegacyForm) analytics.LegacyForm {
		f.Checksum = analytics.LegacyChecksum(f)
		return f
	}
	for _, tc := range []struct {
		name   string
		form   analytics.LegacyForm
		status int
		text   string
	}{
		{"no client", withSum(analytics.LegacyForm{Events: "[" + good + "]", Version: "2", UploadTime: "1"}), 400, "invalid_api_key"},
		{"unknown client", withSum(analytics.LegacyForm{Client: "nope", Events: "[" + good + "]", Version: "2", UploadTime: "1"}), 400, "invalid_api_key"},
		{"bad checksum", func() analytics.LegacyForm { f := legacyForm(good); f.Checksum = strings.Repeat("0", 32); return f }(), 400, "bad_checksum"},
		{"checksum of other events", func() analytics.LegacyForm { f := legacyForm(good); f.Events = "[" + good + "," + good + "]"; return f }(), 400, "bad_checksum"},
		{"no e", withSum(analytics.LegacyForm{Client: testKey, Version: "2", UploadTime: "1"}), 400, "missing_event: the e parameter is required"},
		{"empty e", legacyForm(), 400, "missing_event: e holds no event"},
		{"e an object", withSum(analytics.LegacyForm{Client: testKey, Events: good}), 400, "invalid_event_json: e must be a JSON array of event objects"},
		{"e not JSON", withSum(analytics.LegacyForm{Client: testKey, Events: "[" + good}), 400, "invalid_event_json: e must be a JSON array of event objects"},
		{"e with garbage after", withSum(analytics.LegacyForm{Client: testKey, Events: "[" + good + "] x"}), 400, "invalid_event_json: e must be a JSON array of event objects"},
		{"an event not an object", legacyForm(good, `"open"`), 400, "invalid_event_json: e must be a JSON array of event objects"},
		{"faulty fields", legacyForm(good, legacyEvent("event_type", "<absent>"), legacyEvent("timestamp", "yesterday")), 400,
			`invalid_event: {"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[2]},"events_with_missing_fields":{"event_type":[1]}}`},
		{"2,001 events", legacyForm(many...), 413, "Request Entity Too Large"},
		{"over 1 MB", legacyForm(legacyEvent("event_properties", map[string]any{"pad": strings.Repeat("x", 1<<20)})), 413, "Request Entity Too Large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, lerr := analytics.DecodeLegacy(tc.form, testRequest())
			if lerr == nil {
				t.Fatalf("accepted %d events", len(up.Events))
			}
			if lerr.Status != tc.status || lerr.Text != tc.text {
				t.Errorf("= %d %q\nwant %d %q", lerr.Status, lerr.Text, tc.status, tc.text)
			}
		})
	}
	// No checksum: not checked. An upper-case one is the same.
	f := legacyForm(good)
	f.Checksum = ""
	mustDecodeLegacy(t, f)
	f = legacyForm(good)
	f.Checksum = strings.ToUpper(f.Checksum)
	mustDecodeLegacy(t, f)
}

// TestLegacyChecksum pins the checksum to the SDKs' formula: md5 of v,
// client, e and upload_time.
func TestLegacyChecksum(t *testing.T) {
	f := analytics.LegacyForm{Client: "key", Events: "[]", Version: "2", UploadTime: "123"}
	// md5("2key[]123")
	if got, want := analytics.LegacyChecksum(f), "b2b57020be402e1246c2c9f4a07d7291"; got != want {
		t.Errorf("checksum %s, want %s", got, want)
	}
}
