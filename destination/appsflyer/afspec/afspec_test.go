package afspec_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
)

// TestFilesAreTheSnapshot: the files are byte for byte the blobs the
// README names.
func TestFilesAreTheSnapshot(t *testing.T) {
	readme, err := os.ReadFile("testdata/openapi/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{afspec.S2SFile, afspec.ImportFile, afspec.ExternalFile} {
		b, err := os.ReadFile(filepath.Join("testdata/openapi", name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", len(b))
		h.Write(b)
		blob := hex.EncodeToString(h.Sum(nil))
		if !strings.Contains(string(readme), "| `"+name+"` |") || !strings.Contains(string(readme), "`"+blob+"`") {
			t.Errorf("%s is blob %s, which the README does not give for it", name, blob)
		}
	}
}

// s2s is a valid S2S body of platform p, with changes (nil deletes).
func s2s(p touchpoint.Platform, change map[string]any) []byte {
	m := map[string]any{"appsflyer_id": "1700000000000-1234567890123456789", "customer_user_id": "u1",
		"eventName": "af_purchase", "eventValue": `{"af_revenue":"6","af_content_id":"15854"}`,
		"eventTime": "2019-05-15 12:17:01.123", "eventCurrency": "EUR", "os": "14.5.1", "ip": "192.0.2.1"}
	if p == touchpoint.IOS {
		m["idfa"], m["idfv"] = "9876F1AA-2983-3855-27BB-2C626772EFAB", "95C9BD22-4A4C-41C8-9548-ED07C5C8C145"
	} else {
		m["advertising_id"] = "9c9a82fb-d5de-4cd1-90c3-527441c11828"
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	write := func(k string, v any) {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:", k)
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "%q", v)
		default:
			fmt.Fprint(&b, v)
		}
	}
	for k, v := range change {
		if v != nil {
			m[k] = v
		} else {
			delete(m, k)
		}
	}
	for k, v := range m {
		write(k, v)
	}
	b.WriteString("}")
	return []byte(b.String())
}

type raw string // a member's JSON as is

func (r raw) String() string { return string(r) }

func TestS2SRequest(t *testing.T) {
	sp := afspec.MustLoad(t)
	for _, tc := range []struct {
		name   string
		p      touchpoint.Platform
		change map[string]any
		ok     bool
	}{
		{"android", touchpoint.Android, nil, true},
		{"ios", touchpoint.IOS, nil, true},
		{"ios: AppsFlyer's 7-digit id", touchpoint.IOS, map[string]any{"appsflyer_id": "1234567890123-1234567"}, true},
		{"no value", touchpoint.Android, map[string]any{"eventValue": ""}, true},
		{"negative revenue", touchpoint.Android, map[string]any{"eventValue": `{"af_revenue":"-6.5"}`}, true},
		{"sharing_filter all, as described", touchpoint.Android, map[string]any{"sharing_filter": "all"}, true},
		{"sharing_filter list", touchpoint.IOS, map[string]any{"sharing_filter": raw(`["googleadwords_int"]`)}, true},
		{"att and app_type", touchpoint.IOS, map[string]any{"att": raw("3"), "app_type": "app_clip"}, true},
		{"app_set_id", touchpoint.Android, map[string]any{"app_set_id": raw(`{"scope":1,"id":"f47ac10b-58cc-4372-a567-0e02b2c3d479"}`)}, true},

		{"no appsflyer_id", touchpoint.Android, map[string]any{"appsflyer_id": nil}, false},
		{"android: 7-digit id", touchpoint.Android, map[string]any{"appsflyer_id": "1234567890123-1234567"}, false},
		{"no eventName", touchpoint.IOS, map[string]any{"eventName": nil}, false},
		{"no eventValue", touchpoint.IOS, map[string]any{"eventValue": nil}, false},
		{"eventValue an object", touchpoint.Android, map[string]any{"eventValue": raw(`{"a":"b"}`)}, false},
		{"eventValue not an object", touchpoint.Android, map[string]any{"eventValue": "[1]"}, false},
		{"eventTime RFC 3339", touchpoint.Android, map[string]any{"eventTime": "2019-05-15T12:17:01Z"}, false},
		{"eventTime without ms", touchpoint.IOS, map[string]any{"eventTime": "2019-05-15 12:17:01"}, false},
		{"eventCurrency lower case", touchpoint.Android, map[string]any{"eventCurrency": "eur"}, false},
		{"eventCurrency unknown", touchpoint.IOS, map[string]any{"eventCurrency": "ABC"}, false},
		{"ios: idfa lower case", touchpoint.IOS, map[string]any{"idfa": "9876f1aa-2983-3855-27bb-2c626772efab"}, false},
		{"ios: advertising_id", touchpoint.IOS, map[string]any{"advertising_id": "9c9a82fb-d5de-4cd1-90c3-527441c11828"}, false},
		{"android: idfa", touchpoint.Android, map[string]any{"idfa": "9876F1AA-2983-3855-27BB-2C626772EFAB"}, false},
		{"android_id, unknown to v3", touchpoint.Android, map[string]any{"android_id": "a-1"}, false},
		{"ipv6", touchpoint.Android, map[string]any{"ip": "2001:db8::1"}, false},
		{"os a number", touchpoint.Android, map[string]any{"os": raw("14")}, false},
		{"sharing_filter other string", touchpoint.Android, map[string]any{"sharing_filter": "none"}, false},
		{"sharing_filter empty list", touchpoint.Android, map[string]any{"sharing_filter": raw(`[]`)}, false},
		{"att 4", touchpoint.IOS, map[string]any{"att": raw("4")}, false},
		{"app_set_id not a UUID", touchpoint.Android, map[string]any{"app_set_id": raw(`{"scope":1,"id":"x"}`)}, false},
		{"over 1 KB", touchpoint.Android, map[string]any{"customer_user_id": strings.Repeat("u", 1000)}, false},
	} {
		err := sp.S2SRequest(tc.p, s2s(tc.p, tc.change))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if err := sp.S2SRequest(touchpoint.Android, []byte(`{"appsflyer_id":`)); err == nil {
		t.Error("a body that is not JSON passed")
	}
}

func TestAnswers(t *testing.T) {
	sp := afspec.MustLoad(t)
	const js = "application/json"
	for _, tc := range []struct {
		name   string
		check  func(int, string, []byte) error
		status int
		ctype  string
		body   string
		ok     bool
	}{
		{"s2s ok", sp.S2SResponse, 200, js, `"OK"`, true},
		{"s2s 400", sp.S2SResponse, 400, js + "; charset=utf-8", `"Bad request: eventName is required"`, true},
		{"s2s 401", sp.S2SResponse, 401, js, `"Unauthorized"`, true},
		{"s2s 500", sp.S2SResponse, 500, js, `"Internal Server Error"`, true},
		{"s2s plain text", sp.S2SResponse, 200, "text/plain", `ok`, false},
		{"s2s not JSON", sp.S2SResponse, 400, js, `Bad request`, false},
		{"s2s an object", sp.S2SResponse, 400, js, `{"message":"Bad request"}`, false},
		{"s2s 404", sp.S2SResponse, 404, js, `"Not found"`, false},
		{"import ok", sp.ImportResponse, 200, js, `{"message":"The request was successful"}`, true},
		{"import 400", sp.ImportResponse, 400, js, `{"message":"Device list cannot be empty"}`, true},
		{"import 403", sp.ImportResponse, 403, js, `{"message":"Forbidden"}`, true},
		{"import messege", sp.ImportResponse, 400, js, `{"messege":"Invalid audience platform"}`, false},
		{"import 413", sp.ImportResponse, 413, js, `{"message":"too large"}`, false},
		{"create ok", sp.CreateResponse, 200, js, `{"message":{"audience_id":1,"import_key":"K"}}`, true},
		{"create 1000, as the example", sp.CreateResponse, 400, js, `{"error_code":1000,"message":{"errors":{"platform":"must be android or ios"}}}`, true},
		{"create 1001", sp.CreateResponse, 400, js, `{"error_code":1001,"message":"Audience already exists under your account"}`, true},
		{"create 1001 messege", sp.CreateResponse, 400, js, `{"error_code":1001,"messege":"Audience already exists under your account"}`, false},
		{"create 1003 object", sp.CreateResponse, 400, js, `{"error_code":1003,"message":{"errors":{}}}`, false},
		{"create 1000 string", sp.CreateResponse, 400, js, `{"error_code":1000,"message":"bad"}`, false},
		{"create unknown code", sp.CreateResponse, 400, js, `{"error_code":1234,"message":"bad"}`, false},
		{"create 403 as the import API", sp.CreateResponse, 403, js, `{"message":"Forbidden"}`, true},
	} {
		err := tc.check(tc.status, tc.ctype, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestConsentData(t *testing.T) {
	sp := afspec.MustLoad(t)
	for body, ok := range map[string]bool{
		`{"manual":{"gdpr_applies":true,"ad_user_data_enabled":false}}`:    true,
		`{"tcf":{"policy_version":4,"gdpr_applies":1,"tcstring":"CP..."}}`: true,
		`{"tcf":{"gdpr_applies":2}}`:                                       false,
		`{"manual":{"gdpr_applies":"yes"}}`:                                false,
		`{}`:                                                               false,
		`{"tcf":{"gdpr_applies":1},"manual":{"gdpr_applies":true}}`:        false,
	} {
		err := sp.S2SRequest(touchpoint.Android, s2s(touchpoint.Android, map[string]any{"consent_data": raw(body)}))
		if (err == nil) != ok {
			t.Errorf("consent_data %s: %v, want ok %v", body, err, ok)
		}
	}
}
