package analytics_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// formError checks that err is a *FormError whose message holds want.
func formError(t *testing.T, err error, want string) {
	t.Helper()
	var fe *analytics.FormError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *analytics.FormError", err, err)
	}
	if !strings.Contains(fe.Message, want) {
		t.Errorf("message = %q, want it to hold %q", fe.Message, want)
	}
	if got, want := err.Error(), fe.Message; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// objectList is n copies of obj as a JSON array.
func objectList(obj string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(obj+",", n), ",") + "]"
}

func TestDecodeIdentify(t *testing.T) {
	nowMS := testNow.UnixMilli()
	for _, tc := range []struct {
		name  string
		param string
		want  []touchpoint.IncomingEvent // Kind, EventType and Time are checked for all
	}{
		{"object", `{"user_id":"user-1","user_properties":{"$set":{"plan":"pro","n":1}}}`, []touchpoint.IncomingEvent{
			{UserID: "user-1", DeviceID: analytics.DeviceIDForUser("user-1"),
				UserProperties: map[string]any{"$set": map[string]any{"plan": "pro", "n": json.Number("1")}}},
		}},
		{"object with spaces", " \n{\"device_id\":\"device-1\"}\t", []touchpoint.IncomingEvent{
			{DeviceID: "device-1"},
		}},
		{"array", `[{"user_id":"user-1","device_id":"device-1","user_properties":{"plan":"pro"}},
			{"device_id":"device-2","user_properties":{"$add":{"n":2}}},{"user_id":"user-3","groups":{"org":"acme"}}]`,
			[]touchpoint.IncomingEvent{
				{UserID: "user-1", DeviceID: "device-1", UserProperties: map[string]any{"plan": "pro"}},
				{DeviceID: "device-2", UserProperties: map[string]any{"$add": map[string]any{"n": json.Number("2")}}},
				{UserID: "user-3", DeviceID: analytics.DeviceIDForUser("user-3"), Groups: map[string]any{"org": "acme"}},
			}},
		{"short id dropped", `{"user_id":"abcd","device_id":"device-1"}`, []touchpoint.IncomingEvent{
			{DeviceID: "device-1"},
		}},
		{"invalid id dropped", `{"user_id":"Undefined","device_id":"device-1"}`, []touchpoint.IncomingEvent{
			{DeviceID: "device-1"},
		}},
		{"all-zero device id dropped", `{"user_id":"user-1","device_id":"00000000-0000"}`, []touchpoint.IncomingEvent{
			{UserID: "user-1", DeviceID: analytics.DeviceIDForUser("user-1")},
		}},
		{"null members", `{"user_id":"user-1","device_id":null,"groups":null,"user_properties":null}`, []touchpoint.IncomingEvent{
			{UserID: "user-1", DeviceID: analytics.DeviceIDForUser("user-1")},
		}},
		{"duplicate names", `{"user_id":"user-0","user_id":"user-1","user_properties":{"a":1,"a":2}}`, []touchpoint.IncomingEvent{
			{UserID: "user-1", DeviceID: analytics.DeviceIDForUser("user-1"), UserProperties: map[string]any{"a": json.Number("2")}},
		}},
		{"long id cut", `{"user_id":"` + strings.Repeat("u", 1500) + `"}`, []touchpoint.IncomingEvent{
			{UserID: strings.Repeat("u", analytics.MaxStringLength), DeviceID: analytics.DeviceIDForUser(strings.Repeat("u", analytics.MaxStringLength))},
		}},
		{"groups trimmed", `{"user_id":"user-1","groups":{"f":"6","a":"1","b":["1","2","3","4","5","6","7","8","9","10","11"],"c":"3","d":"4","e":"5"}}`,
			[]touchpoint.IncomingEvent{
				{UserID: "user-1", DeviceID: analytics.DeviceIDForUser("user-1"), Groups: map[string]any{
					"a": "1", "b": []any{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, "c": "3", "d": "4", "e": "5"}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := analytics.DecodeIdentify(tc.param, testNow)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(got), len(tc.want))
			}
			for i, e := range got {
				w := tc.want[i]
				if e.Kind != touchpoint.IdentifyEvent || e.EventType != "$identify" || e.Time != nowMS {
					t.Errorf("[%d] Kind, EventType, Time = %v, %q, %d, want %v, $identify, %d", i, e.Kind, e.EventType, e.Time,
						touchpoint.IdentifyEvent, nowMS)
				}
				if e.UserID != w.UserID || e.DeviceID != w.DeviceID {
					t.Errorf("[%d] ids = %q, %q, want %q, %q", i, e.UserID, e.DeviceID, w.UserID, w.DeviceID)
				}
				if !reflect.DeepEqual(e.UserProperties, w.UserProperties) {
					t.Errorf("[%d] UserProperties = %v, want %v", i, e.UserProperties, w.UserProperties)
				}
				if !reflect.DeepEqual(e.Groups, w.Groups) {
					t.Errorf("[%d] Groups = %v, want %v", i, e.Groups, w.Groups)
				}
			}
		})
	}
}

func TestDecodeIdentifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, param, want string
	}{
		{"missing", ``, "missing_event: the identification parameter is required"},
		{"blank", " \n ", "missing_event: the identification parameter is required"},
		{"bad JSON object", `{"user_id":"user-1"`, "missing_event: identification is not a JSON object or array of objects"},
		{"bad JSON array", `[{"user_id":"user-1"}`, "missing_event: identification is not a JSON array of objects"},
		{"trailing garbage", `{"user_id":"user-1"}x`, "missing_event: identification is not a JSON object or array of objects"},
		{"null", `null`, "missing_event: identification is not a JSON object or array of objects"},
		{"a string", `"user-1"`, "missing_event: identification is not a JSON object or array of objects"},
		{"a number", `12345`, "missing_event: identification is not a JSON object or array of objects"},
		{"array of numbers", `[1,2]`, "missing_event: identification is not a JSON array of objects"},
		{"empty array", `[]`, "missing_event: identification holds no object"},
		{"too many objects", objectList(`{"user_id":"user-1"}`, analytics.MaxIdentifications+1),
			fmt.Sprintf("identification holds %d objects: at most %d per request", analytics.MaxIdentifications+1, analytics.MaxIdentifications)},
		{"no id", `{"user_properties":{"a":1}}`, "missing_event: identification 0 needs a user_id or device_id of at least 5 characters"},
		{"ids too short", `{"user_id":"abcd","device_id":"dcba"}`, "missing_event: identification 0 needs a user_id or device_id"},
		{"four multi-byte characters", `{"user_id":"éééé"}`, "missing_event: identification 0 needs a user_id or device_id"},
		{"invalid ids", `{"user_id":"NULL","device_id":"none"}`, "missing_event: identification 0 needs a user_id or device_id"},
		{"all-zero device id", `{"device_id":"000000000"}`, "missing_event: identification 0 needs a user_id or device_id"},
		{"second object bad", `[{"user_id":"user-1"},{"user_id":"x"}]`, "missing_event: identification 1 needs a user_id or device_id"},
		{"null object in array", `[{"user_id":"user-1"},null]`, "missing_event: identification 1 needs a user_id or device_id"},
		{"user_id a number", `{"user_id":123456}`, "identification 0: user_id must be a string"},
		{"device_id an object", `{"user_id":"user-1","device_id":{}}`, "identification 0: device_id must be a string"},
		{"mixed user_properties", `{"user_id":"user-1","user_properties":{"$set":{"a":1},"b":2}}`,
			"identification 0: user_properties mixes operations"},
		{"unknown operation", `{"user_id":"user-1","user_properties":{"$increment":{"a":1}}}`,
			"identification 0: unknown user property operation $increment"},
		{"operation not an object", `{"user_id":"user-1","user_properties":{"$set":[1]}}`,
			"identification 0: $set must be an object of properties"},
		{"user_properties not an object", `{"user_id":"user-1","user_properties":[1]}`,
			"identification 0: user_properties must be an object"},
		{"user_properties too deep", `{"user_id":"user-1","user_properties":{"$set":` + nest(analytics.MaxPropertyDepth+1) + `}}`,
			"identification 0: user_properties is nested deeper than 40 levels"},
		{"groups not strings", `{"user_id":"user-1","groups":{"org":1}}`,
			"identification 0: groups must be an object of strings or lists of strings"},
		{"groups not an object", `{"user_id":"user-1","groups":"org"}`,
			"identification 0: groups must be an object of strings or lists of strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := analytics.DecodeIdentify(tc.param, testNow)
			if events != nil {
				t.Errorf("events = %v, want nil", events)
			}
			formError(t, err, tc.want)
		})
	}
	// The limit itself is allowed; user_properties at the depth limit too.
	events, err := analytics.DecodeIdentify(objectList(`{"user_id":"user-1"}`, analytics.MaxIdentifications), testNow)
	if err != nil {
		t.Fatalf("%d identifications: %v", analytics.MaxIdentifications, err)
	}
	if got, want := len(events), analytics.MaxIdentifications; got != want {
		t.Errorf("len(events) = %d, want %d", got, want)
	}
	if _, err := analytics.DecodeIdentify(`{"user_id":"user-1","user_properties":{"$set":`+nest(analytics.MaxPropertyDepth)+`}}`, testNow); err != nil {
		t.Errorf("user_properties at the depth limit: %v", err)
	}
}

func TestDecodeGroupIdentify(t *testing.T) {
	nowMS := testNow.UnixMilli()
	for _, tc := range []struct {
		name   string
		param  string
		groups []map[string]any
		props  []map[string]any
	}{
		{"object", `{"group_type":"org","group_value":"acme","group_properties":{"$set":{"size":10}}}`,
			[]map[string]any{{"org": "acme"}},
			[]map[string]any{{"$set": map[string]any{"size": json.Number("10")}}}},
		{"plain properties", `{"group_type":"org","group_value":"acme","group_properties":{"size":10}}`,
			[]map[string]any{{"org": "acme"}},
			[]map[string]any{{"size": json.Number("10")}}},
		{"no properties", `{"group_type":"org","group_value":"acme"}`,
			[]map[string]any{{"org": "acme"}},
			[]map[string]any{nil}},
		{"array", `[{"group_type":"org","group_value":"acme"},{"group_type":"team","group_value":"x","group_properties":{"$unset":{"a":"-"}}}]`,
			[]map[string]any{{"org": "acme"}, {"team": "x"}},
			[]map[string]any{nil, {"$unset": map[string]any{"a": "-"}}}},
		{"short values are fine", `{"group_type":"t","group_value":"v"}`,
			[]map[string]any{{"t": "v"}},
			[]map[string]any{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := analytics.DecodeGroupIdentify(tc.param, testNow)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if len(events) != len(tc.groups) {
				t.Fatalf("%d events, want %d", len(events), len(tc.groups))
			}
			for i, e := range events {
				if e.Kind != touchpoint.GroupIdentifyEvent || e.EventType != "$groupidentify" || e.Time != nowMS {
					t.Errorf("[%d] Kind, EventType, Time = %v, %q, %d, want %v, $groupidentify, %d", i, e.Kind, e.EventType, e.Time,
						touchpoint.GroupIdentifyEvent, nowMS)
				}
				if !reflect.DeepEqual(e.Groups, tc.groups[i]) {
					t.Errorf("[%d] Groups = %v, want %v", i, e.Groups, tc.groups[i])
				}
				if !reflect.DeepEqual(e.GroupProperties, tc.props[i]) {
					t.Errorf("[%d] GroupProperties = %v, want %v", i, e.GroupProperties, tc.props[i])
				}
			}
		})
	}
	events, err := analytics.DecodeGroupIdentify(objectList(`{"group_type":"org","group_value":"acme"}`, analytics.MaxGroupIdentifies), testNow)
	if err != nil {
		t.Fatalf("%d identifies: %v", analytics.MaxGroupIdentifies, err)
	}
	if got, want := len(events), analytics.MaxGroupIdentifies; got != want {
		t.Errorf("len(events) = %d, want %d", got, want)
	}
}

func TestDecodeGroupIdentifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, param, want string
	}{
		{"missing", ``, "missing_event: the identification parameter is required"},
		{"bad JSON", `{"group_type":`, "missing_event: identification is not a JSON object or array of objects"},
		{"bad JSON array", `[{"group_type":"org"},]`, "missing_event: identification is not a JSON array of objects"},
		{"empty array", `[]`, "missing_event: identification holds no object"},
		{"too many objects", objectList(`{"group_type":"org","group_value":"acme"}`, analytics.MaxGroupIdentifies+1),
			fmt.Sprintf("identification holds %d objects: at most %d per request", analytics.MaxGroupIdentifies+1, analytics.MaxGroupIdentifies)},
		{"no group_type", `{"group_value":"acme"}`, "missing_event: identification 0 needs group_type and group_value"},
		{"no group_value", `[{"group_type":"org","group_value":"acme"},{"group_type":"org"}]`, "missing_event: identification 1 needs group_type and group_value"},
		{"empty group_value", `{"group_type":"org","group_value":""}`, "missing_event: identification 0 needs group_type and group_value"},
		{"group_value a number", `{"group_type":"org","group_value":12}`, "identification 0: group_value must be a string"},
		{"group_type a list", `{"group_type":["org"],"group_value":"acme"}`, "identification 0: group_type must be a string"},
		{"mixed group_properties", `{"group_type":"org","group_value":"acme","group_properties":{"$set":{"a":1},"b":2}}`,
			"mixes operations"},
		{"group_properties not an object", `{"group_type":"org","group_value":"acme","group_properties":"x"}`,
			"identification 0: group_properties must be an object"},
		{"group_properties too deep", `{"group_type":"org","group_value":"acme","group_properties":` + nest(analytics.MaxPropertyDepth+2) + `}`,
			"identification 0: group_properties is nested deeper than 40 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := analytics.DecodeGroupIdentify(tc.param, testNow)
			if events != nil {
				t.Errorf("events = %v, want nil", events)
			}
			formError(t, err, tc.want)
		})
	}
}

// attributionData decodes an attribution event's stored form.
func attributionData(t *testing.T, e *touchpoint.IncomingEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("Data %s: %v", e.Data, err)
	}
	return m
}

// hashes are the sorted hex keys of ids, as amplitude_attribution_ids
// holds them.
func hashes(ids touchpoint.AdIDs) []any {
	var l []string
	for _, k := range ids.Keys() {
		l = append(l, k.String())
	}
	slices.Sort(l)
	var out []any
	for _, s := range l {
		out = append(out, s)
	}
	return out
}

func TestDecodeAttribution(t *testing.T) {
	nowMS := testNow.UnixMilli()
	for _, tc := range []struct {
		name  string
		event string
		ids   touchpoint.AdIDs
		time  int64
		props map[string]any
		keep  map[string]any // other members of the stored form
	}{
		{"ios idfa", `{"event_type":"[Adjust] Install","platform":"ios","idfa":"AEBE52E7-03EE-455A-B3C4-E57283966239",
			"user_properties":{"[Adjust] network":"Facebook"}}`,
			touchpoint.AdIDs{IDFA: "AEBE52E7-03EE-455A-B3C4-E57283966239"}, nowMS,
			map[string]any{"[Adjust] network": "Facebook"},
			map[string]any{"event_type": "[Adjust] Install", "platform": "ios"}},
		{"ios idfv and idfa", `{"event_type":"[Adjust] Install","platform":"ios","idfa":"IDFA-1","idfv":"IDFV-1"}`,
			touchpoint.AdIDs{IDFA: "IDFA-1", IDFV: "IDFV-1"}, nowMS, nil,
			map[string]any{"event_type": "[Adjust] Install", "platform": "ios"}},
		{"ios drops android ids", `{"event_type":"i","platform":"iOS","idfv":"IDFV-1","adid":"ADID-1","android_app_set_id":"SET-1"}`,
			touchpoint.AdIDs{IDFV: "IDFV-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "iOS"}},
		{"android adid", `{"event_type":"[AppsFlyer] Install","platform":"android","adid":"38400000-8cf0-11bd-b23e-10b96e40000d","android_id":"a1b2"}`,
			touchpoint.AdIDs{ADID: "38400000-8cf0-11bd-b23e-10b96e40000d"}, nowMS, nil,
			map[string]any{"event_type": "[AppsFlyer] Install", "platform": "android", "android_id": "a1b2"}},
		{"android both, drops ios ids", `{"event_type":"i","platform":"Android","adid":"ADID-1","android_app_set_id":"SET-1","idfa":"IDFA-1"}`,
			touchpoint.AdIDs{ADID: "ADID-1", AppSetID: "SET-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "Android"}},
		{"android app set id only", `{"event_type":"i","platform":"android","android_app_set_id":"SET-1","adid":null}`,
			touchpoint.AdIDs{AppSetID: "SET-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "android"}},
		{"time", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":1700000000123}`,
			touchpoint.AdIDs{IDFA: "IDFA-1"}, 1700000000123, nil,
			map[string]any{"event_type": "i", "platform": "ios"}},
		{"time zero", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":0}`,
			touchpoint.AdIDs{IDFA: "IDFA-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "ios"}},
		{"time null", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":null}`,
			touchpoint.AdIDs{IDFA: "IDFA-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "ios"}},
		{"unknown members kept", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","partner":{"x":[1]}}`,
			touchpoint.AdIDs{IDFA: "IDFA-1"}, nowMS, nil,
			map[string]any{"event_type": "i", "platform": "ios", "partner": map[string]any{"x": []any{1.0}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := analytics.DecodeAttribution(tc.event, testNow)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got, want := e.Kind, touchpoint.AttributionEvent; got != want {
				t.Errorf("Kind = %v, want %v", got, want)
			}
			if got, want := e.AdIDs, tc.ids; got != want {
				t.Errorf("AdIDs = %+v, want %+v", got, want)
			}
			if got, want := e.Time, tc.time; got != want {
				t.Errorf("Time = %d, want %d", got, want)
			}
			if !reflect.DeepEqual(e.UserProperties, tc.props) {
				t.Errorf("UserProperties = %v, want %v", e.UserProperties, tc.props)
			}
			want := map[string]any{
				"idfa": nil, "idfv": nil, "adid": nil, "android_app_set_id": nil,
				"amplitude_attribution_ids": hashes(tc.ids),
				"time":                      float64(tc.time),
			}
			for k, v := range tc.keep {
				want[k] = v
			}
			if got := attributionData(t, e); !reflect.DeepEqual(got, want) {
				t.Errorf("Data = %s\nwant %v", e.Data, want)
			}
			for _, id := range []string{tc.ids.IDFA, tc.ids.IDFV, tc.ids.ADID, tc.ids.AppSetID} {
				if id != "" && strings.Contains(string(e.Data), id) {
					t.Errorf("Data holds the ad id %q: %s", id, e.Data)
				}
			}
		})
	}
	// The hashes are those of the id kinds: the same value as idfa and as
	// idfv hash differently.
	a, err := analytics.DecodeAttribution(`{"event_type":"i","platform":"ios","idfa":"SAME-ID"}`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := analytics.DecodeAttribution(`{"event_type":"i","platform":"ios","idfv":"SAME-ID"}`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := attributionData(t, a)["amplitude_attribution_ids"], attributionData(t, b)["amplitude_attribution_ids"]
	if reflect.DeepEqual(ha, hb) {
		t.Errorf("idfa and idfv SAME-ID share hashes %v", ha)
	}
}

func TestDecodeAttributionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, event, want string
	}{
		{"missing", ``, "missing_event: the event parameter is required"},
		{"blank", "  \n", "missing_event: the event parameter is required"},
		{"bad JSON", `{"event_type":"i",`, "event is not a JSON object"},
		{"null", `null`, "event is not a JSON object"},
		{"array", `[{"event_type":"i","platform":"ios","idfa":"IDFA-1"}]`, "event is not a JSON object"},
		{"string", `"i"`, "event is not a JSON object"},
		{"no event_type", `{"platform":"ios","idfa":"IDFA-1"}`, "event_type is required"},
		{"empty event_type", `{"event_type":"","platform":"ios","idfa":"IDFA-1"}`, "event_type is required"},
		{"no platform", `{"event_type":"i","idfa":"IDFA-1"}`, "platform is required: ios or android"},
		{"unknown platform", `{"event_type":"i","platform":"web","idfa":"IDFA-1"}`, `platform "web": use ios or android`},
		{"ios without idfa or idfv", `{"event_type":"i","platform":"ios","adid":"ADID-1"}`, "an ios attribution needs idfa or idfv"},
		{"ios with empty idfa", `{"event_type":"i","platform":"ios","idfa":""}`, "an ios attribution needs idfa or idfv"},
		{"android without adid or app set id", `{"event_type":"i","platform":"android","idfa":"IDFA-1","android_id":"a1"}`,
			"an android attribution needs adid or android_app_set_id"},
		{"event_type a number", `{"event_type":1,"platform":"ios","idfa":"IDFA-1"}`, "event_type must be a string"},
		{"platform a bool", `{"event_type":"i","platform":true,"idfa":"IDFA-1"}`, "platform must be a string"},
		{"idfa a number", `{"event_type":"i","platform":"ios","idfa":123}`, "idfa must be a string"},
		{"time a string", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":"2025-03-01T12:00:00Z"}`, "time must be milliseconds since the epoch"},
		{"time a float", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":1700000000000.5}`, "time must be milliseconds since the epoch"},
		{"time negative", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","time":-1}`, "time must be milliseconds since the epoch"},
		{"mixed user_properties", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","user_properties":{"$set":{"a":1},"b":2}}`,
			"user_properties mixes operations"},
		{"user_properties not an object", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","user_properties":"x"}`,
			"user_properties must be an object"},
		{"user_properties too deep", `{"event_type":"i","platform":"ios","idfa":"IDFA-1","user_properties":` + nest(analytics.MaxPropertyDepth+2) + `}`,
			"user_properties is nested deeper than 40 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := analytics.DecodeAttribution(tc.event, testNow)
			if e != nil {
				t.Errorf("event = %+v, want nil", e)
			}
			formError(t, err, tc.want)
		})
	}
}
