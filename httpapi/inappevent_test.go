package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
)

// TestInAppEventTakesWhatTheSpecAllows: bodies AppsFlyer's OpenAPI file
// allows (each checked against it first) are accepted: a refund's
// negative revenue, an event name over 100 characters, the documented
// enums and the fields we do not use.
func TestInAppEventTakesWhatTheSpecAllows(t *testing.T) {
	sp := afspec.MustLoad(t)
	l := startLoop(t)
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	dev := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-7"}).DeviceID
	long := strings.Repeat("e", 300)
	for _, tc := range []struct {
		name    string
		members string // added to a body with appsflyer_id, eventName (name) and eventValue
		value   string
		revenue string // the conversion's
	}{
		{"refund", `"eventCurrency":"EUR"`, `{\"af_revenue\":\"-3.5\"}`, "-3.5"},
		{long, ``, ``, "0"},
		{"enums", `"app_type":"app_clip","sharing_filter":["googleadwords_int"],"aie":true`, ``, "0"},
		{"app_type none", `"app_type":""`, ``, "0"},
		{"unused fields", `"ua":"Mozilla/5.0","bundleIdentifier":"com.example.loop","app_store":"play","custom_data":"{\"k\":\"v\"}",` +
			`"email_hashed":"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f","app_set_id":{"scope":2,` +
			`"id":"f47ac10b-58cc-4372-a567-0e02b2c3d479"},"consent_data":{"manual":{"gdpr_applies":true}},"app_version_name":"2.0"`, ``, "0"},
		{"sharing_filter all", `"sharing_filter":"all"`, `{\"af_revenue\":\"1\"}`, "1"},
	} {
		body := fmt.Sprintf(`{"appsflyer_id":%q,"eventName":%q,"eventValue":"%s","os":"14"`, dev, tc.name, tc.value)
		if tc.members != "" {
			body += "," + tc.members
		}
		body += "}"
		if err := sp.S2SRequest(touchpoint.Android, []byte(body)); err != nil {
			t.Fatalf("%.40s: the test's body is not the spec's: %v", tc.name, err)
		}
		if code, msg := l.s2s(t, loopApp, l.devKey, []byte(body)); code != 200 || msg != "OK" {
			t.Errorf("%.40s: %d %q", tc.name, code, msg)
		}
	}
	// att belongs to iOS apps.
	var ios touchpoint.App
	l.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "id123456789", "platform": "ios", "name": "iOS"}, &ios)
	code, raw := l.post(t, "/sdk/v1/apps/id123456789/launches", "Authorization", "Bearer "+ios.DevKey,
		map[string]any{"idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"})
	var lr struct {
		DeviceID string `json:"device_id"`
	}
	if code != 200 || json.Unmarshal([]byte(raw), &lr) != nil {
		t.Fatalf("iOS launch = %d %s", code, raw)
	}
	for _, att := range []int{0, 1, 2, 3} {
		body := fmt.Sprintf(`{"appsflyer_id":%q,"eventName":"att","eventValue":"","att":%d,"idfa":"6D92078A-8246-4BA4-AE5B-76104861E7DC"}`, lr.DeviceID, att)
		if err := sp.S2SRequest(touchpoint.IOS, []byte(body)); err != nil {
			t.Fatalf("att %d: the test's body is not the spec's: %v", att, err)
		}
		if code, msg := l.s2s(t, "id123456789", ios.DevKey, []byte(body)); code != 200 || msg != "OK" {
			t.Errorf("att %d: %d %q", att, code, msg)
		}
	}

	got := map[string]string{}
	for _, c := range l.conversions(t, dev) {
		got[c.Name] = c.Revenue.String()
	}
	if len(got) != 6 || got["refund"] != "-3.5" || got[long] != "0" || got["sharing_filter all"] != "1" {
		t.Errorf("conversions %v", got)
	}
}

// TestInAppEventSharingFilter: an S2S event's sharing_filter keeps its
// in-app postbacks from the partners it names, and "all" from every
// partner; the conversion is stored with it.
func TestInAppEventSharingFilter(t *testing.T) {
	l := startLoop(t)
	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	if resp, body := l.get(t, "/c/"+loopApp+"?pid=net_a&c=spring&advertising_id="+gaid); resp.StatusCode != 302 {
		t.Fatalf("click = %d %s", resp.StatusCode, body)
	}
	l.mustAPI(t, 200, "POST", "/api/v1/apps/"+loopApp+"/test_clock", map[string]any{"advance": "2h"}, nil)
	dev := l.launch(t, map[string]any{"advertising_id": gaid, "customer_user_id": "user-1"})
	if dev.ConversionData["media_source"] != "net_a" {
		t.Fatalf("launch %+v", dev)
	}
	filters := map[string]any{
		"no_filter":    nil,
		"all":          "all",
		"named":        []string{"net_a"},
		"named_upper":  []string{"other_int", "NET_A"},
		"other":        []string{"other_int", "googleadwords_int"},
		"all_in_list":  []string{"all"},
		"apple_search": []string{"Apple Search Ads"},
	}
	for name, f := range filters {
		body := map[string]any{"appsflyer_id": dev.DeviceID, "eventName": name, "eventValue": "", "os": "14"}
		if f != nil {
			body["sharing_filter"] = f
		}
		if code, msg := l.s2s(t, loopApp, l.devKey, body); code != 200 {
			t.Fatalf("%s: %d %q", name, code, msg)
		}
	}
	// The postbacks were written with the conversions.
	var posted []string
	for _, d := range l.deliveries(t, "app_id="+loopApp+"&kind=event_postback", "", 3) {
		u, err := url.Parse(d.URL)
		if err != nil || d.PID != "net_a" {
			t.Fatalf("postback %+v", d)
		}
		posted = append(posted, u.Query().Get("e"))
	}
	slices.Sort(posted)
	if want := []string{"apple_search", "no_filter", "other"}; !slices.Equal(posted, want) {
		t.Errorf("postbacks for %q, want %q", posted, want)
	}
	stored := map[string]string{}
	for _, c := range l.conversions(t, dev.DeviceID) {
		b, _ := json.Marshal(c.SharingFilter)
		stored[c.Name] = string(b)
	}
	if want := map[string]string{"no_filter": "null", "all": `["all"]`, "named": `["net_a"]`, "named_upper": `["other_int","NET_A"]`,
		"other": `["other_int","googleadwords_int"]`, "all_in_list": `["all"]`, "apple_search": `["Apple Search Ads"]`}; fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Errorf("stored filters %v, want %v", stored, want)
	}
}
