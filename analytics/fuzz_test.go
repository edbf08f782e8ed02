package analytics_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// The fuzz targets check what every decoder promises besides not
// panicking: a refusal is a 4xx and returns nothing else; what is accepted
// is storable (times in touchpoint.CheckTime's range and not ahead of the
// server's clock, properties and event data that encode as JSON, numbers
// finite, text valid UTF-8).

// fuzzEndpoint is HTTP V2 with a small event limit, so that short inputs
// reach the size check too.
var fuzzEndpoint = analytics.Endpoint{Path: "/2/httpapi", MaxBody: 1 << 20, MaxEvents: 4}

// FuzzDecodeUpload decodes random /2/httpapi and /batch bodies. Besides
// the shared properties: the answer does not depend on whether the key is
// looked up first (a known key decodes as no lookup does; an unknown one
// is refused as an invalid key whenever the body is otherwise accepted).
func FuzzDecodeUpload(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		req := analytics.Request{Endpoint: fuzzEndpoint, Now: testNow, RemoteIP: testRemoteIP}
		up, rej := analytics.DecodeUpload(body, req)
		checkUpload(t, up, rej, fuzzEndpoint.MaxEvents)

		req.KnownKey = func(string) (time.Time, bool) { return testNow, true }
		up2, rej2 := analytics.DecodeUpload(body, req)
		if !reflect.DeepEqual(up, up2) || !reflect.DeepEqual(rej, rej2) {
			t.Errorf("every key known: %+v %+v, want %+v %+v as without a lookup", up2, rej2, up, rej)
		}
		req.KnownKey = func(string) (time.Time, bool) { return testNow, false }
		up3, rej3 := analytics.DecodeUpload(body, req)
		checkUpload(t, up3, rej3, fuzzEndpoint.MaxEvents)
		if up3 != nil {
			t.Fatalf("no key known, yet accepted: %+v", up3)
		}
		if up != nil && !reflect.DeepEqual(rej3, analytics.InvalidAPIKey(up.APIKey)) {
			t.Errorf("no key known: %s, want the invalid key answer", rejectionJSON(t, rej3))
		}
	})
}

// checkUpload checks one answer of DecodeUpload.
func checkUpload(t *testing.T, up *analytics.Upload, rej *analytics.Rejection, maxEvents int) {
	t.Helper()
	if (up == nil) == (rej == nil) {
		t.Fatalf("upload %+v and rejection %+v: want exactly one", up, rej)
	}
	if rej != nil {
		if rej.Code != 400 && rej.Code != 413 || rej.Error == "" {
			t.Fatalf("rejection %+v: want a 400 or 413 with a message", rej)
		}
		if b, err := json.Marshal(rej); err != nil || !json.Valid(b) {
			t.Fatalf("rejection does not encode: %v", err)
		}
		return
	}
	if up.APIKey == "" || len(up.Events) == 0 || len(up.Events) > maxEvents {
		t.Fatalf("accepted an upload with key %q and %d events", up.APIKey, len(up.Events))
	}
	for i, e := range up.Events {
		checkEvent(t, i, e)
		if e.DeviceID == "" {
			t.Errorf("event %d has no device id", i)
		}
	}
}

// checkEvent checks that an accepted event is storable.
func checkEvent(t *testing.T, i int, e *touchpoint.IncomingEvent) {
	t.Helper()
	if err := touchpoint.CheckMillis("time", e.Time); err != nil {
		t.Errorf("event %d: time %d: %v", i, e.Time, err)
	}
	if e.Time > testNow.Add(touchpoint.MaxClockSkew).UnixMilli() {
		t.Errorf("event %d: time %d is ahead of the clock", i, e.Time)
	}
	if e.EventType == "" {
		t.Errorf("event %d has no event type", i)
	}
	for name, s := range map[string]string{"user_id": e.UserID, "device_id": e.DeviceID, "event_type": e.EventType,
		"insert_id": e.InsertID, "platform": e.Platform, "country": e.Country} {
		if !utf8.ValidString(s) {
			t.Errorf("event %d: %s %q is not valid UTF-8", i, name, s)
		}
	}
	if e.UserProperties != nil {
		if err := touchpoint.CheckUserProperties(e.UserProperties); err != nil {
			t.Errorf("event %d: user properties: %v", i, err)
		}
	}
	for name, m := range map[string]map[string]any{"user_properties": e.UserProperties, "groups": e.Groups, "group_properties": e.GroupProperties} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Errorf("event %d: %s do not encode: %v", i, name, err)
			continue
		}
		checkJSON(t, i, name, b)
	}
	if e.Kind != touchpoint.AttributionEvent && !bytes.HasPrefix(e.Data, []byte("{")) {
		t.Errorf("event %d: data %q is not an object", i, e.Data)
	}
	checkJSON(t, i, "data", e.Data)
}

// checkJSON checks that b is valid JSON, valid UTF-8, whose numbers are
// all finite float64s.
func checkJSON(t *testing.T, i int, name string, b []byte) {
	t.Helper()
	if !json.Valid(b) || !utf8.Valid(b) {
		t.Errorf("event %d: %s %q is not valid JSON", i, name, b)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("event %d: %s: %v", i, name, err)
		return
	}
	if n, ok := infinite(v); ok {
		t.Errorf("event %d: %s holds %s, which no float64 holds", i, name, n)
	}
}

// infinite returns a number in v that overflows float64.
func infinite(v any) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return string(v), true
		}
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return strconv.FormatFloat(v, 'g', -1, 64), true
		}
	case []any:
		for _, x := range v {
			if n, ok := infinite(x); ok {
				return n, true
			}
		}
	case map[string]any:
		for _, x := range v {
			if n, ok := infinite(x); ok {
				return n, true
			}
		}
	}
	return "", false
}

// FuzzDecodeLegacy decodes random legacy uploads (POST /, amplitude-js's
// form). sign sends the checksum the SDKs compute; otherwise checksum is
// sent as given.
func FuzzDecodeLegacy(f *testing.F) {
	f.Fuzz(func(t *testing.T, client, e, v, uploadTime, checksum string, sign bool) {
		form := analytics.LegacyForm{Client: client, Events: e, Version: v, UploadTime: uploadTime, Checksum: checksum}
		if sign {
			form.Checksum = analytics.LegacyChecksum(form)
		}
		req := analytics.Request{Now: testNow, RemoteIP: testRemoteIP, KnownKey: func(k string) (time.Time, bool) { return testNow, k == testKey }}
		up, lerr := analytics.DecodeLegacy(form, req)
		if (up == nil) == (lerr == nil) {
			t.Fatalf("upload %+v and error %v: want exactly one", up, lerr)
		}
		if lerr != nil {
			if lerr.Status != 400 && lerr.Status != 413 || lerr.Text == "" || !utf8.ValidString(lerr.Text) {
				t.Fatalf("refusal %d %q: want a 400 or 413 with a text", lerr.Status, lerr.Text)
			}
			return
		}
		if up.APIKey != testKey {
			t.Errorf("accepted key %q", up.APIKey)
		}
		checkUpload(t, up, nil, analytics.LegacyAPI.MaxEvents)
	})
}

// FuzzDecodeIdentify decodes random identification parameters of
// /identify: every accepted one changes properties of a named user or
// device, at the time of the request.
func FuzzDecodeIdentify(f *testing.F) {
	f.Fuzz(func(t *testing.T, identification string) {
		events, err := analytics.DecodeIdentify(identification, testNow)
		checkForm(t, events, err, analytics.MaxIdentifications)
		for i, e := range events {
			if e.Kind != touchpoint.IdentifyEvent || e.DeviceID == "" || e.Time != testNow.UnixMilli() {
				t.Errorf("identify %d: %+v", i, e)
			}
			checkEvent(t, i, withData(e))
		}
	})
}

// FuzzDecodeGroupIdentify decodes random identification parameters of
// /groupidentify: every accepted one names one group.
func FuzzDecodeGroupIdentify(f *testing.F) {
	f.Fuzz(func(t *testing.T, identification string) {
		events, err := analytics.DecodeGroupIdentify(identification, testNow)
		checkForm(t, events, err, analytics.MaxGroupIdentifies)
		for i, e := range events {
			if e.Kind != touchpoint.GroupIdentifyEvent || len(e.Groups) != 1 || e.Time != testNow.UnixMilli() {
				t.Errorf("group identify %d: %+v", i, e)
			}
			for typ, val := range e.Groups {
				if s, _ := val.(string); typ == "" || s == "" {
					t.Errorf("group identify %d: group %q %v", i, typ, val)
				}
			}
			checkEvent(t, i, withData(e))
		}
	})
}

// FuzzDecodeAttribution decodes random event parameters of /attribution:
// an accepted one has an advertising id of its platform, a time in range,
// and stored data without the raw ids.
func FuzzDecodeAttribution(f *testing.F) {
	f.Fuzz(func(t *testing.T, event string) {
		e, err := analytics.DecodeAttribution(event, testNow)
		if e == nil {
			checkForm(t, nil, err, 1)
			return
		}
		checkForm(t, []*touchpoint.IncomingEvent{e}, err, 1)
		if e.Kind != touchpoint.AttributionEvent || len(e.AdIDs.Keys()) == 0 {
			t.Errorf("attribution %+v: no advertising id", e)
		}
		checkEvent(t, 0, e)
		var stored map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &stored); err != nil {
			t.Fatalf("data %s: %v", e.Data, err)
		}
		for _, k := range []string{"idfa", "idfv", "adid", "android_app_set_id"} {
			if string(stored[k]) != "null" {
				t.Errorf("data keeps %s: %s", k, stored[k])
			}
		}
	})
}

// checkForm checks a form decoder's answer: events or an error, never
// both; the error is a FormError with a message.
func checkForm(t *testing.T, events []*touchpoint.IncomingEvent, err error, max int) {
	t.Helper()
	if (err == nil) == (len(events) == 0) {
		t.Fatalf("%d events and error %v: want exactly one", len(events), err)
	}
	if err != nil {
		var fe *analytics.FormError
		if !errors.As(err, &fe) || fe.Message == "" || !utf8.ValidString(fe.Message) {
			t.Fatalf("error %#v: want a FormError with a message", err)
		}
		return
	}
	if len(events) > max {
		t.Fatalf("%d events, over %d", len(events), max)
	}
}

// withData gives a form event (which has no stored data of its own) an
// empty object, so that checkEvent checks the rest.
func withData(e *touchpoint.IncomingEvent) *touchpoint.IncomingEvent {
	c := *e
	if c.Data == nil {
		c.Data = []byte("{}")
	}
	return &c
}
