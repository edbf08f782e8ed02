package analytics_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

const (
	testKey      = "key-1"
	testRemoteIP = "203.0.113.7"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testRequest() analytics.Request {
	return analytics.Request{
		Endpoint: analytics.HTTPAPI,
		Now:      testNow,
		RemoteIP: testRemoteIP,
		KnownKey: func(k string) (time.Time, bool) { return testNow, k == testKey },
	}
}

// upload is a body with the test key and the events given as JSON.
func upload(events ...string) string {
	return `{"api_key":"` + testKey + `","events":[` + strings.Join(events, ",") + `]}`
}

// events returns n valid events.
func events(n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf(`{"event_type":"e","user_id":"user-%d"}`, i)
	}
	return l
}

// rejectionJSON is r as Amplitude's answer body.
func rejectionJSON(t *testing.T, r *analytics.Rejection) string {
	t.Helper()
	if r == nil {
		return "<nil>"
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustDecode(t *testing.T, body string, req analytics.Request) *analytics.Upload {
	t.Helper()
	up, rej := analytics.DecodeUpload([]byte(body), req)
	if rej != nil {
		t.Fatalf("DecodeUpload(%.200s) refused: %s", body, rejectionJSON(t, rej))
	}
	if up == nil {
		t.Fatalf("DecodeUpload(%.200s) = nil, nil", body)
	}
	return up
}

// mustDecodeOne decodes an upload of one event and returns it.
func mustDecodeOne(t *testing.T, event string) *touchpoint.IncomingEvent {
	t.Helper()
	up := mustDecode(t, upload(event), testRequest())
	if got, want := len(up.Events), 1; got != want {
		t.Fatalf("len(Events) = %d, want %d", got, want)
	}
	return up.Events[0]
}

// data decodes an event's stored form, numbers as json.Number.
func data(t *testing.T, e *touchpoint.IncomingEvent) map[string]any {
	t.Helper()
	if !json.Valid(e.Data) {
		t.Fatalf("Data is not valid JSON: %s", e.Data)
	}
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("Data %s: %v", e.Data, err)
	}
	return m
}

// nest returns an object nested depth levels, the outermost counting as
// one: nest(1) is {}, nest(2) is {"a":{}}.
func nest(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
}

// nestArrays returns an object whose value is depth-1 nested arrays.
func nestArrays(depth int) string {
	return `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + "}"
}

func TestDecodeUploadRejections(t *testing.T) {
	const ok = `{"event_type":"click","user_id":"user-1"}`
	for _, tc := range []struct {
		name      string
		body      string
		maxEvents int // 0: HTTPAPI's
		want      string
	}{
		{"empty body", ``, 0, `{"code":400,"error":"Missing request body"}`},
		{"whitespace body", " \n\t\r ", 0, `{"code":400,"error":"Missing request body"}`},

		{"syntax error in events", `{"api_key":"key-1","events":[{"event_type":}]}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"syntax error in event value", `{"api_key":"key-1","events":[{"event_type":"a","user_id":"user-1","event_properties":{"a":tru}}]}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"syntax error after a non-object event", `{"api_key":"key-1","events":[1,}]}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"unterminated object", `{"api_key":"key-1","events":[` + ok + `]`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"unterminated events", `{"api_key":"key-1","events":[` + ok, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"trailing garbage", upload(ok) + `x`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"trailing comma", upload(ok) + `,`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"second object after the first", upload(ok) + ` {}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"top-level array", `[` + ok + `]`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"top-level string", `"api_key"`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"top-level null", `null`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"not JSON", `api_key=key-1`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"syntax error in options", `{"api_key":"key-1","events":[` + ok + `],"options":{"min_id_length":}}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"syntax error in unknown member", `{"api_key":"key-1","events":[` + ok + `],"request_metadata":{"sdk":[}}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},
		{"syntax error beats missing key", `{"events":[}`, 0, `{"code":400,"error":"Invalid JSON request body"}`},

		{"missing api_key", `{"events":[` + ok + `]}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"empty api_key", `{"api_key":"","events":[` + ok + `]}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"api_key not a string", `{"api_key":12345,"events":[` + ok + `]}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"missing api_key and events", `{}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"missing events", `{"api_key":"key-1"}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"events"}`},
		{"empty events", `{"api_key":"key-1","events":[]}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"events"}`},
		{"missing events before unknown key", `{"api_key":"nope"}`, 0, `{"code":400,"error":"Request missing required field","missing_field":"events"}`},

		{"unknown api key", `{"api_key":"nope","events":[` + ok + `]}`, 0, `{"code":400,"error":"Invalid API key: nope"}`},
		{"unknown api key before invalid events", `{"api_key":"nope","events":{}}`, 0, `{"code":400,"error":"Invalid API key: nope"}`},
		{"unknown api key before invalid fields", `{"api_key":"nope","events":[{"user_id":"user-1"}]}`, 0, `{"code":400,"error":"Invalid API key: nope"}`},

		{"events an object", `{"api_key":"key-1","events":` + ok + `}`, 0, `{"code":400,"error":"Invalid event JSON"}`},
		{"events a string", `{"api_key":"key-1","events":"[]"}`, 0, `{"code":400,"error":"Invalid event JSON"}`},
		{"event a number", `{"api_key":"key-1","events":[1]}`, 0, `{"code":400,"error":"Invalid event JSON"}`},
		{"event an array", `{"api_key":"key-1","events":[[` + ok + `]]}`, 0, `{"code":400,"error":"Invalid event JSON"}`},
		{"event a string after a valid one", upload(ok, `"click"`), 0, `{"code":400,"error":"Invalid event JSON"}`},
		{"event null", upload(ok, `null`), 0, `{"code":400,"error":"Invalid event JSON"}`},

		{"more events than the endpoint takes", upload(ok, ok, ok), 2, `{"code":413,"error":"Payload too large"}`},
		{"2001 events on /2/httpapi", upload(events(2001)...), 0, `{"code":413,"error":"Payload too large"}`},
		{"too many events beats invalid fields", upload(`{}`, `{}`, `{}`), 2, `{"code":413,"error":"Payload too large"}`},

		{"no event_type", upload(`{"user_id":"user-1"}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[0]}}`},
		{"empty event_type", upload(`{"event_type":"","user_id":"user-1"}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[0]}}`},
		{"null event_type", upload(`{"event_type":null,"user_id":"user-1"}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[0]}}`},
		{"no id", upload(ok, `{"event_type":"click"}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"user_id":[1]}}`},
		{"null ids", upload(`{"event_type":"click","user_id":null,"device_id":null}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"user_id":[0]}}`},
		{"empty event", upload(`{}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"event_type":[0],"user_id":[0]}}`},
		{"user_id too short and no device_id", upload(`{"event_type":"click","user_id":"abcd"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_id":[0]}}`},
		{"device_id too short and no user_id", upload(`{"event_type":"click","device_id":"abcd"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"device_id":[0]}}`},
		{"both ids too short", upload(`{"event_type":"click","user_id":"abcd","device_id":"dcba"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"device_id":[0],"user_id":[0]}}`},
		{"invalid and missing", upload(`{"event_type":"click","user_id":"abc"}`, `{"user_id":"user-1"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_id":[0]},"events_with_missing_fields":{"event_type":[1]}}`},

		{"time ISO string", upload(`{"event_type":"click","user_id":"user-1","time":"2025-03-01T12:00:00Z"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time numeric string", upload(`{"event_type":"click","user_id":"user-1","time":"1740830400000"}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time float", upload(`{"event_type":"click","user_id":"user-1","time":1740830400000.5}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time exponent", upload(`{"event_type":"click","user_id":"user-1","time":1.7408304e12}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time seconds as float", upload(`{"event_type":"click","user_id":"user-1","time":1740830400.123}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time negative", upload(`{"event_type":"click","user_id":"user-1","time":-1}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},
		{"time beyond int64", upload(`{"event_type":"click","user_id":"user-1","time":99999999999999999999}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[0]}}`},

		{"user_properties mixes operations and plain keys", upload(`{"event_type":"$identify","user_id":"user-1","user_properties":{"$set":{"a":1},"b":2}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_properties":[0]}}`},
		{"user_properties mix on a plain event", upload(`{"event_type":"click","user_id":"user-1","user_properties":{"b":2,"$add":{"n":1}}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_properties":[0]}}`},
		{"user_properties unknown operation", upload(`{"event_type":"$identify","user_id":"user-1","user_properties":{"$increment":{"a":1}}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_properties":[0]}}`},
		{"user_properties operation not an object", upload(`{"event_type":"$identify","user_id":"user-1","user_properties":{"$set":"a"}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_properties":[0]}}`},
		{"event_properties too deep", upload(`{"event_type":"click","user_id":"user-1","event_properties":` + nest(42) + `}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"event_properties":[0]}}`},
		{"event_properties arrays too deep", upload(`{"event_type":"click","user_id":"user-1","event_properties":` + nestArrays(42) + `}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"event_properties":[0]}}`},
		{"event_properties far too deep", upload(`{"event_type":"click","user_id":"user-1","event_properties":` + nest(100) + `}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"event_properties":[0]}}`},
		{"user_properties too deep", upload(`{"event_type":"$identify","user_id":"user-1","user_properties":{"$set":` + nest(41) + `}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_properties":[0]}}`},
		{"group_properties too deep", upload(`{"event_type":"$groupidentify","user_id":"user-1","groups":{"org":"acme"},"group_properties":` + nest(42) + `}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"group_properties":[0]}}`},
		{"deep after a string with an escaped backslash", upload(`{"event_type":"click","user_id":"user-1","event_properties":{"s":"x\\","d":` + nest(41) + `}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"event_properties":[0]}}`},

		{"$groupidentify without groups", upload(`{"event_type":"$groupidentify","user_id":"user-1","group_properties":{"$set":{"a":1}}}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"groups":[0]}}`},
		{"$groupidentify with empty groups", upload(`{"event_type":"$groupidentify","user_id":"user-1","groups":{}}`), 0,
			`{"code":400,"error":"Request missing required field","events_with_missing_fields":{"groups":[0]}}`},
		{"$groupidentify mixing group_properties", upload(`{"event_type":"$groupidentify","user_id":"user-1","groups":{"org":"acme"},"group_properties":{"$set":{"a":1},"b":2}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"group_properties":[0]}}`},
		{"group value not a string", upload(`{"event_type":"click","user_id":"user-1","groups":{"org":5}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"groups":[0]}}`},
		{"group value list not of strings", upload(`{"event_type":"click","user_id":"user-1","groups":{"org":["a",1]}}`), 0,
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"groups":[0]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := testRequest()
			if tc.maxEvents != 0 {
				req.Endpoint.MaxEvents = tc.maxEvents
			}
			up, rej := analytics.DecodeUpload([]byte(tc.body), req)
			if up != nil {
				t.Errorf("Upload = %+v, want nil", up)
			}
			if got := rejectionJSON(t, rej); got != tc.want {
				t.Errorf("rejection = %s\nwant        %s", got, tc.want)
			}
		})
	}
}

func TestDecodeUploadFieldTypes(t *testing.T) {
	for _, tc := range []struct {
		field, value string
	}{
		// strings
		{"device_id", `12345678`},
		{"insert_id", `123`},
		{"platform", `true`},
		{"os_name", `{}`},
		{"language", `["en"]`},
		{"ip", `127001`},
		{"idfa", `1`},
		{"currency", `1.5`},
		{"productId", `42`},
		// integers
		{"quantity", `1.5`},
		{"quantity", `"2"`},
		{"event_id", `"3"`},
		{"event_id", `1e3`},
		{"session_id", `true`},
		{"session_id", `1740830400000.5`},
		// numbers
		{"price", `"9.99"`},
		{"revenue", `"10"`},
		{"location_lat", `"52.5"`},
		{"location_lng", `[13.4]`},
		// objects
		{"event_properties", `[]`},
		{"event_properties", `"a=b"`},
		{"user_properties", `[{"a":1}]`},
		{"groups", `"org"`},
		{"group_properties", `1`},
		{"plan", `"free"`},
		{"ingestion_metadata", `[]`},
		// bools
		{"$skip_user_properties_sync", `"true"`},
		{"$skip_user_properties_sync", `1`},
	} {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			// The ids are chosen so that a wrong device_id leaves a user_id.
			event := `{"event_type":"click","user_id":"user-1","` + tc.field + `":` + tc.value + `}`
			_, rej := analytics.DecodeUpload([]byte(upload(`{"event_type":"ok","user_id":"user-2"}`, event)), testRequest())
			want := `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"` + tc.field + `":[1]}}`
			if got := rejectionJSON(t, rej); got != want {
				t.Errorf("rejection = %s\nwant        %s", got, want)
			}
		})
	}
	// The right types pass.
	e := mustDecodeOne(t, `{"event_type":"click","user_id":"user-1","device_id":"device-1","insert_id":"i-1","platform":"iOS",
		"quantity":2,"event_id":7,"session_id":-1,"price":-1.5,"revenue":3,"location_lat":52.5,"location_lng":-13,
		"event_properties":{},"groups":{"org":"acme"},"group_properties":{"a":1},"plan":{"branch":"main"},
		"ingestion_metadata":{"source_name":"x"},"$skip_user_properties_sync":false}`)
	if got, want := e.InsertID, "i-1"; got != want {
		t.Errorf("InsertID = %q, want %q", got, want)
	}
}

func TestDecodeUploadWrongIDTypes(t *testing.T) {
	// A user_id of the wrong type is invalid, even when the device_id is
	// fine.
	_, rej := analytics.DecodeUpload([]byte(upload(`{"event_type":"click","user_id":12345,"device_id":"device-1"}`)), testRequest())
	want := `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_id":[0]}}`
	if got := rejectionJSON(t, rej); got != want {
		t.Errorf("rejection = %s\nwant        %s", got, want)
	}
	// An event_type of the wrong type is invalid.
	_, rej = analytics.DecodeUpload([]byte(upload(`{"event_type":5,"user_id":"user-1"}`)), testRequest())
	if rej == nil {
		t.Fatal("event_type 5 accepted")
	}
	if got, want := rej.Error, analytics.ErrInvalidFields; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
	if got, want := rej.EventsWithInvalidFields["event_type"], []int{0}; !reflect.DeepEqual(got, want) {
		t.Errorf("events_with_invalid_fields[event_type] = %v, want %v", got, want)
	}
}

func TestDecodeUploadIndexes(t *testing.T) {
	body := upload(
		`{"event_type":"ok","user_id":"user-0"}`,                 // 0: fine
		`{"user_id":"user-1"}`,                                   // 1: no event_type
		`{"event_type":"a","user_id":"user-2","time":-5}`,        // 2: negative time
		`{"event_type":"a","user_id":"user-3","time":"today"}`,   // 3: time a string
		`{"device_id":"device-4"}`,                               // 4: no event_type
		`{"event_type":"a"}`,                                     // 5: no id
		`{"event_type":"a","user_id":"abc"}`,                     // 6: id too short
		`{"event_type":"ok","device_id":"device-7"}`,             // 7: fine
		`{"event_type":"a","user_id":"user-8","time":1.5}`,       // 8: time a float
		`{"event_type":"a","user_id":"user-9","time":-1000}`,     // 9: negative time
		`{"event_type":"a","user_id":"user-10","price":"1"}`,     // 10: price a string
		`{"event_type":"a","user_id":"null","device_id":"0000"}`, // 11: both ids invalid
		`{"user_id":"x"}`,                                        // 12: id too short, no event_type
	)
	_, rej := analytics.DecodeUpload([]byte(body), testRequest())
	if rej == nil {
		t.Fatal("accepted")
	}
	if got, want := rej.Code, 400; got != want {
		t.Errorf("Code = %d, want %d", got, want)
	}
	if got, want := rej.Error, analytics.ErrInvalidFields; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
	if got, want := rej.MissingField, ""; got != want {
		t.Errorf("MissingField = %q, want %q", got, want)
	}
	wantInvalid := map[string][]int{
		"time":      {2, 3, 8, 9},
		"user_id":   {6, 11, 12},
		"device_id": {11},
		"price":     {10},
	}
	wantMissing := map[string][]int{
		"event_type": {1, 4, 12},
		"user_id":    {5},
	}
	if !reflect.DeepEqual(rej.EventsWithInvalidFields, wantInvalid) {
		t.Errorf("events_with_invalid_fields = %v, want %v", rej.EventsWithInvalidFields, wantInvalid)
	}
	if !reflect.DeepEqual(rej.EventsWithMissingFields, wantMissing) {
		t.Errorf("events_with_missing_fields = %v, want %v", rej.EventsWithMissingFields, wantMissing)
	}
}

var invalidIDs = []string{
	"anonymous", "nil", "none", "null", "n/a", "na", "undefined", "unknown", "",
	"00000000-0000-0000-0000-000000000000", "{}", "lmy47d", "0", "-1",
}

func TestDecodeUploadInvalidIDs(t *testing.T) {
	// min_id_length 0: the ids are refused for being in the list, not for
	// being short.
	opts := `,"options":{"min_id_length":0}}`
	for _, id := range invalidIDs {
		for _, v := range []string{id, strings.ToUpper(id), strings.ToUpper(id[:min(1, len(id))]) + id[min(1, len(id)):]} {
			q, _ := json.Marshal(v)
			t.Run(v, func(t *testing.T) {
				body := func(event string) string { return strings.TrimSuffix(upload(event), "}") + opts }

				_, rej := analytics.DecodeUpload([]byte(body(`{"event_type":"a","user_id":`+string(q)+`}`)), testRequest())
				want := `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"user_id":[0]}}`
				if got := rejectionJSON(t, rej); got != want {
					t.Errorf("user_id alone: rejection = %s\nwant %s", got, want)
				}
				_, rej = analytics.DecodeUpload([]byte(body(`{"event_type":"a","device_id":`+string(q)+`}`)), testRequest())
				want = `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"device_id":[0]}}`
				if got := rejectionJSON(t, rej); got != want {
					t.Errorf("device_id alone: rejection = %s\nwant %s", got, want)
				}

				// With a valid other id, the invalid one is dropped.
				up := mustDecode(t, body(`{"event_type":"a","user_id":`+string(q)+`,"device_id":"device-1"}`), testRequest())
				e := up.Events[0]
				if e.UserID != "" || e.DeviceID != "device-1" {
					t.Errorf("ids = %q, %q, want \"\", device-1", e.UserID, e.DeviceID)
				}
				if _, ok := data(t, e)["user_id"]; ok {
					t.Errorf("Data keeps the invalid user_id: %s", e.Data)
				}
				up = mustDecode(t, body(`{"event_type":"a","user_id":"user-1","device_id":`+string(q)+`}`), testRequest())
				e = up.Events[0]
				if got, want := e.DeviceID, analytics.DeviceIDForUser("user-1"); got != want {
					t.Errorf("DeviceID = %q, want %q (made from the user id)", got, want)
				}
				if got, want := data(t, e)["device_id"], analytics.DeviceIDForUser("user-1"); got != want {
					t.Errorf("Data device_id = %v, want %v", got, want)
				}
			})
		}
	}
}

func TestDecodeUploadIDs(t *testing.T) {
	for _, tc := range []struct {
		name         string
		event        string
		opts         string // the options member, after events
		userID       string
		deviceID     string // "*" : made from the user id
		wantRejected string // the field of events_with_invalid_fields
	}{
		{"both valid", `"user_id":"user-1","device_id":"device-1"`, ``, "user-1", "device-1", ""},
		{"exactly five characters", `"user_id":"abcde","device_id":"vwxyz"`, ``, "abcde", "vwxyz", ""},
		{"five multi-byte characters", `"user_id":"ééééé"`, ``, "ééééé", "*", ""},
		{"short user_id dropped", `"user_id":"abcd","device_id":"device-1"`, ``, "", "device-1", ""},
		{"short device_id dropped", `"user_id":"user-1","device_id":"abcd"`, ``, "user-1", "*", ""},
		{"four multi-byte characters too short", `"user_id":"éééé"`, ``, "", "", "user_id"},
		{"all-zero device_id dropped", `"user_id":"user-1","device_id":"00000000"`, ``, "user-1", "*", ""},
		{"all-zero uuid-like device_id dropped", `"user_id":"user-1","device_id":"0000-0000-0000"`, ``, "user-1", "*", ""},
		{"all-zero device_id alone", `"device_id":"0000000000"`, ``, "", "", "device_id"},
		{"all-zero user_id is a user id", `"user_id":"00000000"`, ``, "00000000", "*", ""},
		{"device_id with zeros and a digit", `"device_id":"00000001"`, ``, "", "00000001", ""},
		{"min_id_length lowers the minimum", `"user_id":"abc"`, `,"options":{"min_id_length":3}`, "abc", "*", ""},
		{"min_id_length 1", `"user_id":"a","device_id":"b"`, `,"options":{"min_id_length":1}`, "a", "b", ""},
		{"min_id_length raises the minimum", `"user_id":"user-1234"`, `,"options":{"min_id_length":10}`, "", "", "user_id"},
		{"min_id_length raises: device kept", `"user_id":"user-1234","device_id":"device-12345"`, `,"options":{"min_id_length":10}`, "", "device-12345", ""},
		{"min_id_length among other options", `"user_id":"abc"`, `,"options":{"x":[1,{"y":2}],"min_id_length":3,"z":null}`, "abc", "*", ""},
		{"min_id_length as a string is ignored", `"user_id":"abc"`, `,"options":{"min_id_length":"3"}`, "", "", "user_id"},
		{"min_id_length negative is ignored", `"user_id":"abc"`, `,"options":{"min_id_length":-1}`, "", "", "user_id"},
		{"options not an object is ignored", `"user_id":"abc"`, `,"options":3`, "", "", "user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.TrimSuffix(upload(`{"event_type":"a",`+tc.event+`}`), "}") + tc.opts + "}"
			up, rej := analytics.DecodeUpload([]byte(body), testRequest())
			if tc.wantRejected != "" {
				want := `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"` + tc.wantRejected + `":[0]}}`
				if got := rejectionJSON(t, rej); got != want {
					t.Errorf("rejection = %s\nwant        %s", got, want)
				}
				return
			}
			if rej != nil {
				t.Fatalf("refused: %s", rejectionJSON(t, rej))
			}
			e := up.Events[0]
			wantDevice := tc.deviceID
			if wantDevice == "*" {
				wantDevice = analytics.DeviceIDForUser(tc.userID)
			}
			if got, want := e.UserID, tc.userID; got != want {
				t.Errorf("UserID = %q, want %q", got, want)
			}
			if got, want := e.DeviceID, wantDevice; got != want {
				t.Errorf("DeviceID = %q, want %q", got, want)
			}
			m := data(t, e)
			if uid, ok := m["user_id"]; tc.userID == "" && ok {
				t.Errorf("Data user_id = %v, want none", uid)
			} else if tc.userID != "" && uid != tc.userID {
				t.Errorf("Data user_id = %v, want %q", uid, tc.userID)
			}
			if got, want := m["device_id"], wantDevice; got != want {
				t.Errorf("Data device_id = %v, want %q", got, want)
			}
		})
	}
}

func TestDeviceIDForUser(t *testing.T) {
	h := sha256.Sum256([]byte("user-1"))
	if got, want := analytics.DeviceIDForUser("user-1"), hex.EncodeToString(h[:16]); got != want {
		t.Errorf("DeviceIDForUser(user-1) = %q, want %q", got, want)
	}
	if analytics.DeviceIDForUser("user-1") == analytics.DeviceIDForUser("user-2") {
		t.Error("two users share a device id")
	}
}

func TestDecodeUploadStoredForm(t *testing.T) {
	up := mustDecode(t, `{"api_key":"key-1","client_upload_time":"2025-03-01T12:00:00.000Z",
		"events":[{"event_type":"click","custom":{"a":[1,2]},"user_properties":{"$set":{"plan":"pro"}},
			"time":1700000000000,"device_id":"device-1","app_version":"1.2.3","user_id":"user-1",
			"insert_id":"ins-1","event_properties":{"button":"buy","n":1.50},"library":"amplitude-ts/2.0.0",
			"unknown_number":12,"unknown_bool":true,"unknown_null":null}],
		"request_metadata":{"sdk":{"metrics":{}}}}`, testRequest())
	if got, want := up.APIKey, testKey; got != want {
		t.Errorf("APIKey = %q, want %q", got, want)
	}
	e := up.Events[0]
	const prefix = `{"user_id":"user-1","device_id":"device-1","time":1700000000000,`
	if !bytes.HasPrefix(e.Data, []byte(prefix)) {
		t.Errorf("Data = %s, want it to start with %s", e.Data, prefix)
	}
	m := data(t, e)
	want := map[string]any{
		"user_id":          "user-1",
		"device_id":        "device-1",
		"time":             json.Number("1700000000000"),
		"event_type":       "click",
		"custom":           map[string]any{"a": []any{json.Number("1"), json.Number("2")}},
		"app_version":      "1.2.3",
		"insert_id":        "ins-1",
		"event_properties": map[string]any{"button": "buy", "n": json.Number("1.50")},
		"library":          "amplitude-ts/2.0.0",
		"unknown_number":   json.Number("12"),
		"unknown_bool":     true,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Data = %s\nwant %v", e.Data, want)
	}
	if got, want := e.Kind, touchpoint.TrackEvent; got != want {
		t.Errorf("Kind = %v, want %v", got, want)
	}
	if got, want := e.EventType, "click"; got != want {
		t.Errorf("EventType = %q, want %q", got, want)
	}
	if got, want := e.Time, int64(1700000000000); got != want {
		t.Errorf("Time = %d, want %d", got, want)
	}
	if got, want := e.InsertID, "ins-1"; got != want {
		t.Errorf("InsertID = %q, want %q", got, want)
	}
	wantProps := map[string]any{"$set": map[string]any{"plan": "pro"}}
	if !reflect.DeepEqual(e.UserProperties, wantProps) {
		t.Errorf("UserProperties = %v, want %v", e.UserProperties, wantProps)
	}

	// Without user_id, the stored form starts with the device_id.
	e = mustDecodeOne(t, `{"event_type":"click","device_id":"device-1","time":1700000000005}`)
	if got, want := string(e.Data), `{"device_id":"device-1","time":1700000000005,"event_type":"click"}`; got != want {
		t.Errorf("Data = %s, want %s", got, want)
	}
	// Only ids and time.
	e = mustDecodeOne(t, `{"device_id":"device-1","time":1700000000005,"event_type":null,"event_type":"x"}`)
	if got, want := string(e.Data), `{"device_id":"device-1","time":1700000000005,"event_type":"x"}`; got != want {
		t.Errorf("Data = %s, want %s", got, want)
	}
}

func TestDecodeUploadEvents(t *testing.T) {
	up := mustDecode(t, upload(events(5)...), testRequest())
	if got, want := len(up.Events), 5; got != want {
		t.Fatalf("len(Events) = %d, want %d", got, want)
	}
	for i, e := range up.Events {
		if got, want := e.UserID, fmt.Sprintf("user-%d", i); got != want {
			t.Errorf("Events[%d].UserID = %q, want %q", i, got, want)
		}
	}
	// The endpoint's maximum is allowed.
	up = mustDecode(t, upload(events(analytics.HTTPAPI.MaxEvents)...), testRequest())
	if got, want := len(up.Events), 2000; got != want {
		t.Errorf("len(Events) = %d, want %d", got, want)
	}
	req := testRequest()
	req.Endpoint = analytics.BatchAPI
	up = mustDecode(t, upload(events(2000)...), req)
	if got, want := len(up.Events), 2000; got != want {
		t.Errorf("batch: len(Events) = %d, want %d", got, want)
	}
	// Without KnownKey, any key is accepted.
	req = testRequest()
	req.KnownKey = nil
	up = mustDecode(t, `{"api_key":"anything","events":[{"event_type":"a","user_id":"user-1"}]}`, req)
	if got, want := up.APIKey, "anything"; got != want {
		t.Errorf("APIKey = %q, want %q", got, want)
	}
	// Members in any order, escaped names, surrounding whitespace.
	up = mustDecode(t, "\n {\"events\" : [ {\"event\\u005ftype\":\"a\", \"user_id\" : \"user-1\"} ] , \"api_key\":\"key\\u002d1\"}\n\t", testRequest())
	if got, want := up.Events[0].EventType, "a"; got != want {
		t.Errorf("EventType = %q, want %q", got, want)
	}
}

func TestDecodeUploadTime(t *testing.T) {
	nowMS := testNow.UnixMilli()
	for _, tc := range []struct {
		name  string
		time  string // the member, or ""
		want  int64
		wantS string
	}{
		{"absent", ``, nowMS, ""},
		{"null", `,"time":null`, nowMS, ""},
		{"zero", `,"time":0`, nowMS, ""},
		{"given", `,"time":1700000000123`, 1700000000123, ""},
		{"2000", `,"time":946684800000`, 946684800000, ""},
		// A device clock ahead of ours: believed up to an hour, beyond it
		// the event is taken when it was received.
		{"aheadWithinSkew", fmt.Sprintf(`,"time":%d`, nowMS+3_599_000), nowMS + 3_599_000, ""},
		{"aheadBeyondSkew", fmt.Sprintf(`,"time":%d`, nowMS+3_601_000), nowMS, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1"`+tc.time+`}`)
			if got, want := e.Time, tc.want; got != want {
				t.Errorf("Time = %d, want %d", got, want)
			}
			if got, want := data(t, e)["time"], json.Number(fmt.Sprint(tc.want)); got != want {
				t.Errorf("Data time = %v, want %v", got, want)
			}
		})
	}
}

// TestDecodeUploadTimeRefused: times before 2000 or after the year 9999
// are a broken clock; the event is refused as Amplitude refuses an invalid
// field, naming it, so SDKs drop that event and send the rest again.
func TestDecodeUploadTimeRefused(t *testing.T) {
	for _, time := range []string{`1`, `946684799999`, `-5`, `253402300800000`, `9223372036854775807`} {
		body := `{"api_key":"key-1","events":[{"event_type":"a","user_id":"user-1"},{"event_type":"a","user_id":"user-1","time":` + time + `}]}`
		_, rej := analytics.DecodeUpload([]byte(body), testRequest())
		if rej == nil {
			t.Errorf("time %s accepted", time)
			continue
		}
		if got, want := fmt.Sprint(rej.EventsWithInvalidFields), "map[time:[1]]"; rej.Code != 400 || got != want {
			t.Errorf("time %s: %d %v, want 400 %s", time, rej.Code, got, want)
		}
	}
}

// TestDecodeUploadNumbersOutOfRange: a price or revenue JSON can write
// but float64 cannot hold, or a price × quantity that overflows, is an
// invalid field, never an infinite revenue.
func TestDecodeUploadNumbersOutOfRange(t *testing.T) {
	for _, tc := range []struct{ members, field string }{
		{`"revenue":1e999`, "revenue"},
		{`"price":-1e400,"quantity":2,"revenue":1`, "price"},
		{`"price":1e300,"quantity":9000000000000000000,"revenue":1`, "price"},
		{`"location_lat":1e309`, "location_lat"},
	} {
		body := `{"api_key":"key-1","events":[{"event_type":"a","user_id":"user-1",` + tc.members + `}]}`
		_, rej := analytics.DecodeUpload([]byte(body), testRequest())
		if rej == nil {
			t.Errorf("%s accepted", tc.members)
			continue
		}
		if got, want := fmt.Sprint(rej.EventsWithInvalidFields), "map["+tc.field+":[0]]"; got != want {
			t.Errorf("%s: invalid fields %s, want %s", tc.members, got, want)
		}
	}
}

func TestDecodeUploadRemoteIP(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"$remote", testRemoteIP},
		{"198.51.100.1", "198.51.100.1"},
		{"$REMOTE", "$REMOTE"},
	} {
		e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","ip":"`+tc.ip+`"}`)
		if got := data(t, e)["ip"]; got != tc.want {
			t.Errorf("ip %q stored as %v, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestDecodeUploadLanguage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"en-US", "English"},
		{"en", "English"},
		{"en_GB", "English"},
		{"fr-FR", "French"},
		{"de", "German"},
		{"pt-BR", "Portuguese"},
		{"EN-us", "English"},
		{"zh-Hant-TW", "Chinese"},
		{"es-419", "Spanish"},
		{"tlh", "Klingon"},
		{"i-klingon", "Klingon"},
		{"English", "English"},
		{"und", "und"},
		{"und-US", "und-US"},
		{"zz", "zz"},
		{"x-private", "x-private"},
		{"not a language", "not a language"},
		{"", ""},
	} {
		e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","language":"`+tc.in+`"}`)
		if got := data(t, e)["language"]; got != tc.want {
			t.Errorf("language %q stored as %v, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeUploadLongStrings(t *testing.T) {
	max := analytics.MaxStringLength
	for _, tc := range []struct {
		name string
		in   string // the string's characters
		want string
	}{
		{"ascii at the limit", strings.Repeat("a", max), strings.Repeat("a", max)},
		{"ascii over the limit", strings.Repeat("a", max+1), strings.Repeat("a", max)},
		{"far over", strings.Repeat("abc", 2000), strings.Repeat("abc", 2000)[:max]},
		{"two-byte runes at the limit", strings.Repeat("é", max), strings.Repeat("é", max)},
		{"two-byte runes over", strings.Repeat("é", max+300), strings.Repeat("é", max)},
		{"three-byte runes over", strings.Repeat("日", 1500), strings.Repeat("日", max)},
		{"four-byte runes at the limit", strings.Repeat("😀", max), strings.Repeat("😀", max)},
		{"four-byte runes over", strings.Repeat("😀", max+1), strings.Repeat("😀", max)},
		{"mixed", strings.Repeat("a", max-1) + "日本", strings.Repeat("a", max-1) + "日"},
		{"with escapes", strings.Repeat("\n\"", 600), strings.Repeat("\n\"", 512)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := json.Marshal(tc.in)
			e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","city":`+string(q)+
				`,"event_properties":{"s":`+string(q)+`,"l":[`+string(q)+`],"o":{"deep":`+string(q)+`}}}`)
			m := data(t, e)
			check := func(where string, got any) {
				t.Helper()
				s, ok := got.(string)
				if !ok {
					t.Fatalf("%s = %v, not a string", where, got)
				}
				if s != tc.want {
					t.Errorf("%s has %d characters (%d bytes), want %d characters (%d bytes)", where,
						utf8.RuneCountInString(s), len(s), utf8.RuneCountInString(tc.want), len(tc.want))
				}
			}
			check("city", m["city"])
			props := m["event_properties"].(map[string]any)
			check("event_properties.s", props["s"])
			check("event_properties.l[0]", props["l"].([]any)[0])
			check("event_properties.o.deep", props["o"].(map[string]any)["deep"])
		})
	}
	// event_type is cut too.
	e := mustDecodeOne(t, `{"event_type":"`+strings.Repeat("é", 1100)+`","user_id":"user-1"}`)
	if got, want := e.EventType, strings.Repeat("é", max); got != want {
		t.Errorf("EventType has %d characters, want %d", utf8.RuneCountInString(got), max)
	}
}

func TestDecodeUploadRevenue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members string
		want    any // Data's revenue; nil: none
	}{
		{"all three", `"price":2.5,"quantity":3,"revenue":100`, json.Number("7.5")},
		{"refund", `"price":-4,"quantity":2,"revenue":1`, json.Number("-8")},
		{"revenue alone", `"revenue":12.5`, json.Number("12.5")},
		{"price and revenue", `"price":2.5,"revenue":9`, json.Number("9")},
		{"quantity and revenue", `"quantity":4,"revenue":9`, json.Number("9")},
		// "price: required for revenue data if the revenue field isn't
		// sent": price alone is revenue, quantity 1 unless sent.
		{"price and quantity", `"price":2.5,"quantity":3`, json.Number("7.5")},
		{"price alone", `"price":-4`, json.Number("-4")},
		{"quantity alone", `"quantity":3`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecodeOne(t, `{"event_type":"buy","user_id":"user-1",`+tc.members+`}`)
			m := data(t, e)
			got, ok := m["revenue"]
			if tc.want == nil {
				if ok {
					t.Errorf("revenue = %v, want none", got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("revenue = %v, want %v (Data %s)", got, tc.want, e.Data)
			}
		})
	}
	// price and quantity are kept as sent.
	e := mustDecodeOne(t, `{"event_type":"buy","user_id":"user-1","price":2.5,"quantity":3,"revenue":100}`)
	m := data(t, e)
	if got, want := m["price"], json.Number("2.5"); got != want {
		t.Errorf("price = %v, want %v", got, want)
	}
	if got, want := m["quantity"], json.Number("3"); got != want {
		t.Errorf("quantity = %v, want %v", got, want)
	}
}

func TestDecodeUploadGroups(t *testing.T) {
	values := make([]string, 12)
	for i := range values {
		values[i] = fmt.Sprintf("v%02d", i)
	}
	vq, _ := json.Marshal(values)
	e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","groups":{"g":"7","f":"6","e":`+string(vq)+
		`,"d":"4","c":"3","b":"2","a":"1"}}`)
	// The first five group types by name, the first ten values.
	var ten []any
	for _, v := range values[:analytics.MaxGroupValues] {
		ten = append(ten, v)
	}
	want := map[string]any{"a": "1", "b": "2", "c": "3", "d": "4", "e": ten}
	if !reflect.DeepEqual(e.Groups, want) {
		t.Errorf("Groups = %v, want %v", e.Groups, want)
	}
	if got := data(t, e)["groups"]; !reflect.DeepEqual(got, want) {
		t.Errorf("Data groups = %v, want %v", got, want)
	}
	// Few groups are kept as they are.
	e = mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","groups":{"org":"acme","team":["x","y"]}}`)
	want = map[string]any{"org": "acme", "team": []any{"x", "y"}}
	if !reflect.DeepEqual(e.Groups, want) {
		t.Errorf("Groups = %v, want %v", e.Groups, want)
	}
	if got := data(t, e)["groups"]; !reflect.DeepEqual(got, want) {
		t.Errorf("Data groups = %v, want %v", got, want)
	}
}

func TestDecodeUploadKinds(t *testing.T) {
	for _, tc := range []struct {
		event string
		kind  touchpoint.EventKind
	}{
		{`{"event_type":"click","user_id":"user-1"}`, touchpoint.TrackEvent},
		{`{"event_type":"$identify","user_id":"user-1","user_properties":{"$set":{"a":1}}}`, touchpoint.IdentifyEvent},
		{`{"event_type":"$groupidentify","user_id":"user-1","groups":{"org":"acme"},"group_properties":{"$set":{"size":10}}}`, touchpoint.GroupIdentifyEvent},
		{`{"event_type":"$Identify","user_id":"user-1"}`, touchpoint.TrackEvent},
		{`{"event_type":"[Amplitude] Revenue","user_id":"user-1"}`, touchpoint.TrackEvent},
	} {
		e := mustDecodeOne(t, tc.event)
		if got, want := e.Kind, tc.kind; got != want {
			t.Errorf("%s: Kind = %v, want %v", tc.event, got, want)
		}
	}
	e := mustDecodeOne(t, `{"event_type":"$groupidentify","user_id":"user-1","groups":{"org":"acme"},"group_properties":{"$set":{"size":10}}}`)
	wantGroups := map[string]any{"org": "acme"}
	if !reflect.DeepEqual(e.Groups, wantGroups) {
		t.Errorf("Groups = %v, want %v", e.Groups, wantGroups)
	}
	wantProps := map[string]any{"$set": map[string]any{"size": json.Number("10")}}
	if !reflect.DeepEqual(e.GroupProperties, wantProps) {
		t.Errorf("GroupProperties = %v, want %v", e.GroupProperties, wantProps)
	}
	// group_properties on other events are stored, not decoded, and not
	// checked for operations.
	e = mustDecodeOne(t, `{"event_type":"click","user_id":"user-1","group_properties":{"$set":{"a":1},"b":2}}`)
	if e.GroupProperties != nil {
		t.Errorf("GroupProperties = %v, want nil", e.GroupProperties)
	}
}

func TestDecodeUploadAdIDs(t *testing.T) {
	e := mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","idfa":"IDFA-1","idfv":"IDFV-1","adid":"ADID-1",
		"android_app_set_id":"SET-1","android_id":"AID-1","event_properties":{"idfa":"nested"}}`)
	want := touchpoint.AdIDs{IDFA: "IDFA-1", IDFV: "IDFV-1", ADID: "ADID-1", AppSetID: "SET-1"}
	if got := e.AdIDs; got != want {
		t.Errorf("AdIDs = %+v, want %+v", got, want)
	}
	// Ad ids nested in properties are not ad ids.
	e = mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","event_properties":{"idfa":"x","adid":"y"}}`)
	if got, want := e.AdIDs, (touchpoint.AdIDs{}); got != want {
		t.Errorf("AdIDs = %+v, want none", got)
	}
}

func TestDecodeUploadUserProperties(t *testing.T) {
	e := mustDecodeOne(t, `{"event_type":"$identify","user_id":"user-1","user_properties":
		{"$set":{"big":12345678901234567890,"f":1.10,"s":"x","l":[1,"a"]},"$add":{"n":-3}}}`)
	want := map[string]any{
		"$set": map[string]any{"big": json.Number("12345678901234567890"), "f": json.Number("1.10"), "s": "x",
			"l": []any{json.Number("1"), "a"}},
		"$add": map[string]any{"n": json.Number("-3")},
	}
	if !reflect.DeepEqual(e.UserProperties, want) {
		t.Errorf("UserProperties = %#v, want %#v", e.UserProperties, want)
	}
	if _, ok := data(t, e)["user_properties"]; ok {
		t.Errorf("Data keeps user_properties: %s", e.Data)
	}
	// Plain keys on a track event.
	e = mustDecodeOne(t, `{"event_type":"click","user_id":"user-1","user_properties":{"plan":"pro","age":30}}`)
	want = map[string]any{"plan": "pro", "age": json.Number("30")}
	if !reflect.DeepEqual(e.UserProperties, want) {
		t.Errorf("UserProperties = %#v, want %#v", e.UserProperties, want)
	}
	// None.
	e = mustDecodeOne(t, `{"event_type":"click","user_id":"user-1","user_properties":null}`)
	if e.UserProperties != nil {
		t.Errorf("UserProperties = %v, want nil", e.UserProperties)
	}
}

func TestDecodeUploadDuplicateNames(t *testing.T) {
	up := mustDecode(t, `{"api_key":"other","api_key":"key-1","events":[{"event_type":"a","event_type":"b",
		"user_id":"user-1","custom":1,"custom":2,"event_properties":{"x":1,"x":{"y":1,"y":2}},
		"user_properties":{"$set":{"p":1,"p":2}},"groups":{"org":"a","org":"b"}}],
		"options":{"min_id_length":3,"min_id_length":5}}`, testRequest())
	e := up.Events[0]
	if got, want := e.EventType, "b"; got != want {
		t.Errorf("EventType = %q, want %q (the last)", got, want)
	}
	if !json.Valid(e.Data) {
		t.Errorf("Data is not valid JSON: %s", e.Data)
	}
	if got, want := e.UserProperties, (map[string]any{"$set": map[string]any{"p": json.Number("2")}}); !reflect.DeepEqual(got, want) {
		t.Errorf("UserProperties = %v, want %v", got, want)
	}
	if got, want := e.Groups, (map[string]any{"org": "b"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Groups = %v, want %v", got, want)
	}
	// Also when strings are cut (the properties are re-encoded).
	long := strings.Repeat("z", 2000)
	e = mustDecodeOne(t, `{"event_type":"a","user_id":"user-1","event_properties":{"x":"`+long+`","x":"`+long+`"}}`)
	if !json.Valid(e.Data) {
		t.Errorf("Data is not valid JSON: %.200s", e.Data)
	}
	if got, want := data(t, e)["event_properties"], (map[string]any{"x": long[:analytics.MaxStringLength]}); !reflect.DeepEqual(got, want) {
		t.Errorf("event_properties = %.100v, want %.100v", got, want)
	}
}

func TestDecodeUploadPropertyDepth(t *testing.T) {
	// The property object is level 1: its values may nest
	// MaxPropertyDepth more.
	for _, tc := range []struct {
		name  string
		event string
		ok    bool
	}{
		{"event_properties at the limit", `"event_properties":` + nest(analytics.MaxPropertyDepth+1), true},
		{"event_properties over the limit", `"event_properties":` + nest(analytics.MaxPropertyDepth+2), false},
		{"arrays at the limit", `"event_properties":` + nestArrays(analytics.MaxPropertyDepth+1), true},
		{"arrays over the limit", `"event_properties":` + nestArrays(analytics.MaxPropertyDepth+2), false},
		{"brackets inside strings do not count", `"event_properties":{"s":"` + strings.Repeat("{[", 60) + `"}`, true},
		{"escaped quote does not end the string", `"event_properties":{"s":"\"` + strings.Repeat("[", 60) + `"}`, true},
		{"wide is fine", `"event_properties":{` + strings.TrimSuffix(strings.Repeat(`"a":{"b":{}},`, 100), ",") + `}`, true},
		{"user_properties at the limit", `"user_properties":{"$set":` + nest(analytics.MaxPropertyDepth) + `}`, true},
		{"user_properties over the limit", `"user_properties":{"$set":` + nest(analytics.MaxPropertyDepth+1) + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := analytics.DecodeUpload([]byte(upload(`{"event_type":"a","user_id":"user-1",`+tc.event+`}`)), testRequest())
			if tc.ok && rej != nil {
				t.Errorf("refused: %s", rejectionJSON(t, rej))
			}
			if !tc.ok && (rej == nil || rej.Error != analytics.ErrInvalidFields) {
				t.Errorf("rejection = %s, want %q", rejectionJSON(t, rej), analytics.ErrInvalidFields)
			}
		})
	}
}

func TestDecodeUploadFaultReportedOnce(t *testing.T) {
	body := `{"api_key":"k","events":[{"event_type":5,"user_id":"user-1"},{"user_id":7,"event_type":"a"},` +
		`{"device_id":"device-1","event_type":"a","custom":"` + strings.Repeat("é", 2000) + `"}]}`
	_, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: time.Unix(1, 0)})
	if rej == nil {
		t.Fatal("accepted")
	}
	got, _ := json.Marshal(rej)
	want := `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"event_type":[0],"user_id":[1]}}`
	if string(got) != want {
		t.Errorf("= %s\nwant %s", got, want)
	}
	up, rej := analytics.DecodeUpload([]byte(`{"api_key":"k","events":[{"device_id":"device-1","event_type":"a","custom":"`+strings.Repeat("é", 2000)+`"}]}`),
		analytics.Request{Endpoint: analytics.HTTPAPI, Now: time.Unix(1, 0)})
	if rej != nil {
		t.Fatal(rej)
	}
	var m map[string]any
	json.Unmarshal(up.Events[0].Data, &m)
	if s, _ := m["custom"].(string); utf8.RuneCountInString(s) != analytics.MaxStringLength {
		t.Errorf("an unknown member's string has %d characters", utf8.RuneCountInString(s))
	}
}

// TestDecodeUploadUnknownKeyIsCheap: an upload whose key belongs to no
// project is answered without decoding its events, wherever the key is in
// the body: it costs a scan, a few allocations, not one per event.
func TestDecodeUploadUnknownKeyIsCheap(t *testing.T) {
	evs := strings.Join(events(2000), ",")
	for name, body := range map[string]string{
		"key first": `{"api_key":"bogus-key","events":[` + evs + `]}`,
		"key last":  `{"events":[` + evs + `],"api_key":"bogus-key"}`,
	} {
		var rej *analytics.Rejection
		allocs := testing.AllocsPerRun(3, func() { _, rej = analytics.DecodeUpload([]byte(body), testRequest()) })
		if got, want := rejectionJSON(t, rej), `{"code":400,"error":"Invalid API key: bogus-key"}`; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
		if allocs > 100 {
			t.Errorf("%s: %.0f allocations to refuse an unknown key: the events were decoded", name, allocs)
		}
		// The same body with a good key decodes every event.
		good := strings.Replace(body, "bogus-key", testKey, 1)
		if allocs := testing.AllocsPerRun(1, func() { analytics.DecodeUpload([]byte(good), testRequest()) }); allocs < 2000 {
			t.Errorf("%s: a good key's upload took %.0f allocations: is the comparison meaningful?", name, allocs)
		}
	}
	// Broken JSON after an unknown key is still broken JSON, as before.
	_, rej := analytics.DecodeUpload([]byte(`{"api_key":"bogus-key","events":[{"event_type":"e"}`), testRequest())
	if got, want := rejectionJSON(t, rej), `{"code":400,"error":"Invalid JSON request body"}`; got != want {
		t.Errorf("broken JSON: %s, want %s", got, want)
	}
}
