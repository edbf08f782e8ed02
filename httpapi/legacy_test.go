package httpapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/storetest"
)

// legacyValues is a form as amplitude-js posts it: client, e, v,
// upload_time and a checksum that matches.
func legacyValues(key string, events ...string) url.Values {
	f := analytics.LegacyForm{Client: key, Events: "[" + strings.Join(events, ",") + "]", Version: "2", UploadTime: "1795435200000"}
	return url.Values{"client": {f.Client}, "e": {f.Events}, "v": {f.Version}, "upload_time": {f.UploadTime}, "checksum": {analytics.LegacyChecksum(f)}}
}

// jsEvent is an event as amplitude-js builds it.
func jsEvent(device, eventType, uuid string, ts int64) string {
	return fmt.Sprintf(`{"device_id":%q,"user_id":null,"timestamp":%d,"event_id":1,"session_id":%d,"event_type":%q,"version_name":null,`+
		`"platform":"Web","os_name":"Chrome","os_version":"124","device_model":"Linux","device_manufacturer":null,"language":"en-US",`+
		`"api_properties":{},"event_properties":{"n":1},"user_properties":{},"uuid":%q,"library":{"name":"amplitude-js","version":"8.21.10"},`+
		`"sequence_number":1,"groups":{},"group_properties":{},"user_agent":"Mozilla/5.0","partner_id":null}`, device, ts, ts, eventType, uuid)
}

func multipartBody(t *testing.T, v url.Values) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range v {
		for _, x := range vs {
			mw.WriteField(k, x)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.String()
}

func TestLegacyUpload(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := startServer(t, withClock(storetest.NewClock(now).Now))
	p := s.createProject(t, nil)
	ts := now.Add(-time.Minute).UnixMilli()

	// The XMLHttpRequest upload (and sendBeacon with URLSearchParams: the
	// same body and type).
	v := legacyValues(p.APIKey, jsEvent("device-xhr", "Button Clicked", "uuid-1", ts), jsEvent("device-xhr", "Page Viewed", "uuid-2", ts+1))
	for range 2 { // sent twice: stored once
		status, body := post(t, s.URL()+"/", "application/x-www-form-urlencoded; charset=UTF-8", []byte(v.Encode()))
		if status != 200 || body != "success" {
			t.Fatalf("= %d %q, want 200 \"success\"", status, body)
		}
	}
	evs := s.deviceEvents(t, p, "device-xhr")
	if len(evs) != 2 {
		t.Fatalf("%d events stored, want 2: %v", len(evs), evs)
	}
	e := evs[0]
	if e["event_type"] != "Button Clicked" || e["time"] != float64(ts) || e["insert_id"] != "uuid-1" || e["library"] != "amplitude-js/8.21.10" ||
		e["language"] != "English" || e["platform"] != "Web" {
		t.Errorf("stored %v", e)
	}

	// sendBeacon with FormData: multipart.
	ct, body := multipartBody(t, legacyValues(p.APIKey, jsEvent("device-formdata", "a", "uuid-3", ts)))
	if status, got := post(t, s.URL()+"/", ct, []byte(body)); status != 200 || got != "success" {
		t.Fatalf("multipart = %d %q", status, got)
	}
	// The old Android SDK's body, labelled application/json.
	v = legacyValues(p.APIKey, `{"device_id":"device-android","event_type":"a","timestamp":`+fmt.Sprint(ts)+`}`)
	if status, got := post(t, s.URL()+"/", "application/json; charset=UTF-8", []byte(v.Encode())); status != 200 || got != "success" {
		t.Fatalf("application/json form = %d %q", status, got)
	}
	for _, d := range []string{"device-formdata", "device-android"} {
		if n := len(s.deviceEvents(t, p, d)); n != 1 {
			t.Errorf("%s has %d events, want 1", d, n)
		}
	}

	// Refusals: plain text, nothing stored.
	bad := legacyValues(p.APIKey, jsEvent("device-bad", "a", "uuid-9", ts))
	bad.Set("checksum", strings.Repeat("f", 32))
	noKey := legacyValues("", jsEvent("device-bad", "a", "uuid-9", ts))
	noKey.Del("client")
	throttled := make([]string, 31)
	for i := range throttled {
		throttled[i] = jsEvent("device-bad", "a", fmt.Sprint("t-", i), ts)
	}
	q := s.createProject(t, map[string]int{"http_eps": 1})
	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"no client", noKey.Encode(), 400, "invalid_api_key"},
		{"unknown client", legacyValues("nope", jsEvent("device-bad", "a", "uuid-9", ts)).Encode(), 400, "invalid_api_key"},
		{"bad checksum", bad.Encode(), 400, "bad_checksum"},
		{"no events", legacyValues(p.APIKey).Encode(), 400, "missing_event: e holds no event"},
		{"a faulty event", legacyValues(p.APIKey, `{"device_id":"device-bad","timestamp":1}`).Encode(), 400,
			`invalid_event: {"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]},"events_with_missing_fields":{"event_type":[0]}}`},
		{"a broken form", "e=%zz", 400, `invalid_request: the form could not be read: invalid URL escape "%zz"`},
		{"over the rate", legacyValues(q.APIKey, throttled...).Encode(), 429, "too_many_requests: "},
		{"over the body limit", "e=" + strings.Repeat("x", 4<<20), 413, "Request Entity Too Large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(t, s.URL()+"/", "application/x-www-form-urlencoded", []byte(tc.body))
			if status != tc.status || !strings.HasPrefix(got, tc.want) || (tc.want != "too_many_requests: " && got != tc.want) {
				t.Errorf("= %d %q\nwant %d %q", status, got, tc.status, tc.want)
			}
		})
	}
	if n := len(s.deviceEvents(t, p, "device-bad")) + len(s.deviceEvents(t, q, "device-bad")); n != 0 {
		t.Errorf("%d events stored from refused uploads", n)
	}
	// Only / itself: other paths are not the legacy endpoint.
	if status, _ := post(t, s.URL()+"/upload", "application/x-www-form-urlencoded", []byte(legacyValues(p.APIKey, jsEvent("device-bad", "a", "u", ts)).Encode())); status != 404 {
		t.Errorf("POST /upload = %d, want 404", status)
	}
}
