package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// The Audiences API's receiving end (AppsFlyer's Audiences import API documentation), driven as a
// cohort sync drives AppsFlyer: over HTTP, with an app's API token.

const (
	audAndroid = "com.example.aud"
	audIOS     = "id123456789"
)

// Import answers, word for word.
const (
	msgOK             = "The request was successful"
	msgNotUnderstood  = "We couldn\u2019t understand one or more of your device IDs"
	msgNoAudience     = "Audience does not exist under your account"
	msgEmpty          = "Device list cannot be empty"
	msgPlatform       = "Invalid audience platform, this audience is already configured for Android/iOS. To use a different platform, please create a new audience in the UI"
	msgNoAppIDFormat  = "%d or more of your rows do not contain an app id. You must attach an app id to each row."
	msgNoIDFormat     = "%d or more of your rows does not contain a valid unique identifier"
	msgMultiFormat    = "%d or more of devices to remove contain more than one identifier per device"
	msgTooManyFormat  = "Cannot process more than %d devices per request (%d devices counted in this request)"
	forbiddenJSON     = `{"message":"Forbidden"}`
	audienceNameError = "should be between 2 and 100 characters"
)

// audClock is the store's clock, moved by the test.
type audClock struct{ ms atomic.Int64 }

func (c *audClock) now() time.Time { return time.UnixMilli(c.ms.Load()).UTC() }

func (c *audClock) advance(d time.Duration) time.Time {
	return time.UnixMilli(c.ms.Add(d.Milliseconds())).UTC()
}

// audServer is a server with an Android and an iOS app and their tokens.
type audServer struct {
	*testServer
	clock        *audClock
	android, ios string // the apps' API tokens
}

func startAudiences(t *testing.T) *audServer {
	t.Helper()
	clock := &audClock{}
	clock.ms.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixMilli())
	s := startServer(t, withClock(clock.now))
	var a, i touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": audAndroid, "platform": "android", "name": "Aud"}, &a)
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": audIOS, "platform": "ios", "name": "Aud iOS"}, &i)
	if a.APIToken == "" || i.APIToken == "" || a.APIToken == i.APIToken || a.APIToken == token {
		t.Fatalf("api tokens %q and %q", a.APIToken, i.APIToken)
	}
	return &audServer{testServer: s, clock: clock, android: a.APIToken, ios: i.APIToken}
}

// call POSTs body ([]byte as is, anything else as JSON) with auth as the
// whole Authorization header ("" sends none); it returns the status and
// the body, after checking the answer is one AppsFlyer's OpenAPI files
// describe (but for an unknown action's 404: no route there).
func (s *audServer) call(t *testing.T, path, auth string, body any) (int, string) {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest("POST", s.URL()+path, bytes.NewReader(b))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	sp := afspec.MustLoad(t)
	check := sp.ImportResponse
	if strings.HasPrefix(path, "/api/audiences-external-api/") {
		check = sp.CreateResponse
	}
	if resp.StatusCode != http.StatusNotFound {
		if err := check(resp.StatusCode, resp.Header.Get("Content-Type"), raw); err != nil {
			t.Errorf("%s: the answer %d %s is not AppsFlyer's: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}

// create creates an audience and checks the answer's shape.
func (s *audServer) create(t *testing.T, tok, name, platform string) (int64, string) {
	t.Helper()
	code, raw := s.call(t, "/api/audiences-external-api/audience", "Bearer "+tok, map[string]any{"audience_name": name, "platform": platform})
	var resp map[string]map[string]any
	if code != 200 || json.Unmarshal([]byte(raw), &resp) != nil || len(resp) != 1 || len(resp["message"]) != 2 {
		t.Fatalf("create %q %s: %d %s", name, platform, code, raw)
	}
	id, ok1 := resp["message"]["audience_id"].(float64)
	key, ok2 := resp["message"]["import_key"].(string)
	if !ok1 || !ok2 || id <= 0 || id != float64(int64(id)) || key == "" {
		t.Fatalf("create %q %s: %s", name, platform, raw)
	}
	return int64(id), key
}

// imp sends an import and returns the status and the message of the
// answer, which must be {"message": "..."}.
func (s *audServer) imp(t *testing.T, tok, action, key, platform string, devices any) (int, string) {
	t.Helper()
	code, raw := s.call(t, "/api/audiences-import-api/v2/"+action, "Bearer "+tok,
		map[string]any{"import_key": key, "platform": platform, "devices": devices})
	var resp map[string]any
	if err := json.Unmarshal([]byte(raw), &resp); err != nil || len(resp) != 1 {
		t.Fatalf("%s: %d %s is not {\"message\": ...}", action, code, raw)
	}
	msg, ok := resp["message"].(string)
	if !ok {
		t.Fatalf("%s: %d %s is not {\"message\": \"...\"}", action, code, raw)
	}
	return code, msg
}

// mustImport is imp that fails the test unless the import succeeds.
func (s *audServer) mustImport(t *testing.T, tok, action, key, platform string, devices any) {
	t.Helper()
	if code, msg := s.imp(t, tok, action, key, platform, devices); code != 200 || msg != msgOK {
		t.Fatalf("%s: %d %q", action, code, msg)
	}
}

// audience reads an audience through the admin API.
func (s *audServer) audience(t *testing.T, app string, id int64) touchpoint.Audience {
	t.Helper()
	var a touchpoint.Audience
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d", app, id), nil, &a)
	return a
}

// page reads a page of members.
func (s *audServer) page(t *testing.T, app string, id int64, q url.Values) httpapi.AudienceMemberPage {
	t.Helper()
	var p httpapi.AudienceMemberPage
	var raw json.RawMessage
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?%s", app, id, q.Encode()), nil, &raw)
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Members == nil {
		t.Fatalf("members is not a list: %s", raw)
	}
	return p
}

// members returns every member as "identifier:value", in the order the
// API gives them, in pages of 1000.
func (s *audServer) members(t *testing.T, app string, id int64) []string {
	t.Helper()
	var out []string
	q := url.Values{}
	for range 100 {
		p := s.page(t, app, id, q)
		for _, m := range p.Members {
			out = append(out, m.Identifier+":"+m.Value)
		}
		if p.Next == "" {
			return out
		}
		q.Set("cursor", p.Next)
	}
	t.Fatal("members: no end of pages")
	return nil
}

// snapshot is an audience and its members, to show a refused import
// changed nothing.
type snapshot struct {
	Audience touchpoint.Audience
	Members  []touchpoint.AudienceMember
}

func (s *audServer) snapshot(t *testing.T, app string, id int64) snapshot {
	t.Helper()
	return snapshot{s.audience(t, app, id), s.page(t, app, id, url.Values{"limit": {"10000"}}).Members}
}

// audRow is a device row: pairs of field and value.
func audRow(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// audUUID is a UUID-formed identifier, the form of IDFAs, IDFVs and GAIDs.
func audUUID(prefix, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", prefix, i)
}

func TestAudienceCreate(t *testing.T) {
	s := startAudiences(t)
	const path = "/api/audiences-external-api/audience"
	t.Run("created", func(t *testing.T) {
		id, key := s.create(t, s.android, "  Lapsed payers  ", "android")
		a := s.audience(t, audAndroid, id)
		if a.ID != id || a.App != audAndroid || a.Name != "Lapsed payers" || a.Platform != touchpoint.Android ||
			a.ImportKey != key || a.Size != 0 || !a.CreatedAt.Equal(s.clock.now()) || !a.UpdatedAt.Equal(s.clock.now()) {
			t.Fatalf("created %+v", a)
		}
		id2, key2 := s.create(t, s.android, "Lapsed payers iOS", "ios")
		if id2 == id || key2 == key {
			t.Fatalf("second audience %d %q like the first", id2, key2)
		}
		if a := s.audience(t, audAndroid, id2); a.Platform != touchpoint.IOS {
			t.Fatalf("ios audience %+v", a)
		}
		// Names of 2 and of 100 characters, counted as characters.
		s.create(t, s.android, "ab", "android")
		s.create(t, s.android, strings.Repeat("x", 100), "android")
		s.create(t, s.android, strings.Repeat("é", 100), "android")
		// Another app may use a name this app uses.
		s.create(t, s.ios, "Lapsed payers", "ios")
	})

	var before struct{ Audiences []touchpoint.Audience }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+audAndroid+"/audiences", nil, &before)
	tooShort := `{"error_code":1000,"message":{"errors":{"audience_name":"` + audienceNameError + `"}}}`
	badPlatform := `{"error_code":1000,"message":{"errors":{"platform":"must be android or ios"}}}`
	for _, tc := range []struct {
		name   string
		auth   string
		body   any
		status int
		want   string
	}{
		{"no token", "", audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"wrong token", "Bearer wrong", audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"empty token", "Bearer ", audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"admin token", "Bearer " + token, audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"not Bearer", "Basic " + s.android, audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"bare token", s.android, audRow("audience_name", "Fresh", "platform", "android"), 403, forbiddenJSON},
		{"forbidden before the body", "Bearer wrong", []byte("{not json"), 403, forbiddenJSON},
		{"platform web", "Bearer " + s.android, audRow("audience_name", "Fresh", "platform", "web"), 400, badPlatform},
		{"platform capitalised", "Bearer " + s.android, audRow("audience_name", "Fresh", "platform", "Android"), 400, badPlatform},
		{"no platform", "Bearer " + s.android, audRow("audience_name", "Fresh"), 400, badPlatform},
		{"name of 1", "Bearer " + s.android, audRow("audience_name", "a", "platform", "android"), 400, tooShort},
		{"name of 1 in spaces", "Bearer " + s.android, audRow("audience_name", "   a   ", "platform", "android"), 400, tooShort},
		{"name of 101", "Bearer " + s.android, audRow("audience_name", strings.Repeat("x", 101), "platform", "android"), 400, tooShort},
		{"name of 101 runes", "Bearer " + s.android, audRow("audience_name", strings.Repeat("é", 101), "platform", "ios"), 400, tooShort},
		{"no name", "Bearer " + s.android, audRow("platform", "android"), 400,
			`{"error_code":1000,"message":{"errors":{"audience_name":"missing required key"}}}`},
		{"name and platform", "Bearer " + s.android, audRow("audience_name", "", "platform", "windows"), 400,
			`{"error_code":1000,"message":{"errors":{"audience_name":"` + audienceNameError + `","platform":"must be android or ios"}}}`},
		{"exists", "Bearer " + s.android, audRow("audience_name", "Lapsed payers", "platform", "android"), 400,
			`{"error_code":1001,"message":"Audience already exists under your account"}`},
		{"exists, in spaces, other platform", "Bearer " + s.android, audRow("audience_name", " Lapsed payers ", "platform", "ios"), 400,
			`{"error_code":1001,"message":"Audience already exists under your account"}`},
		{"connections", "Bearer " + s.android, audRow("audience_name", "Fresh", "platform", "android",
			"connections", []any{audRow("integration_id", 12), audRow("integration_id", "34", "split_ratio", 50)}), 400,
			`{"error_code":1003,"message":"The following integrations are invalid: 12, 34"}`},
		{"not JSON", "Bearer " + s.android, []byte("{not json"), 400,
			`{"error_code":1000,"message":{"errors":{"body":"must be a JSON object"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, raw := s.call(t, path, tc.auth, tc.body)
			if code != tc.status || !sameJSON(t, raw, tc.want) {
				t.Errorf("%d %s, want %d %s", code, raw, tc.status, tc.want)
			}
		})
	}
	// No refusal created anything.
	var after struct{ Audiences []touchpoint.Audience }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+audAndroid+"/audiences", nil, &after)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("refusals changed the list:\n%+v\n%+v", before, after)
	}
	// connections: [] is no connection.
	code, raw := s.call(t, path, "Bearer "+s.android, audRow("audience_name", "No connections", "platform", "android", "connections", []any{}))
	if code != 200 {
		t.Fatalf("empty connections: %d %s", code, raw)
	}
}

// TestAudienceImportRefusals sends each refusal to an audience with
// members and checks the answer word for word and that nothing changed.
func TestAudienceImportRefusals(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Refusals", "android")
	g1, g2 := audUUID(1, 1), audUUID(1, 2)
	s.mustImport(t, s.android, "add", key, "android", []any{
		audRow("app_id", audAndroid, "gaid", g1),
		audRow("app_id", audAndroid, "oaid", "oaid-1"),
	})
	s.clock.advance(time.Minute)
	before := s.snapshot(t, audAndroid, id)
	if before.Audience.Size != 2 || len(before.Members) != 2 {
		t.Fatalf("before %+v", before)
	}
	ok := audRow("app_id", audAndroid, "gaid", g2)
	oks := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = audRow("app_id", audAndroid, "gaid", audUUID(2, i))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		tok      string
		action   string
		key      string
		platform string
		devices  any
		status   int
		msg      string
	}{
		{"platform ios", s.android, "add", key, "ios", []any{ok}, 400, msgPlatform},
		{"platform ios, remove", s.android, "remove", key, "ios", []any{ok}, 400, msgPlatform},
		{"no platform", s.android, "add", key, "", []any{ok}, 400, msgPlatform},
		{"platform ANDROID", s.android, "overwrite", key, "ANDROID", []any{ok}, 400, msgPlatform},
		{"no app id", s.android, "add", key, "android", []any{ok, audRow("gaid", audUUID(3, 1)), audRow("oaid", "o-3", "app_id", "")}, 400,
			fmt.Sprintf(msgNoAppIDFormat, 2)},
		{"blank app id", s.android, "add", key, "android", []any{audRow("app_id", "   ", "gaid", audUUID(3, 2))}, 400,
			fmt.Sprintf(msgNoAppIDFormat, 1)},
		{"no app id, remove", s.android, "remove", key, "android", []any{audRow("gaid", g1)}, 400, fmt.Sprintf(msgNoAppIDFormat, 1)},
		{"no app id, overwrite", s.android, "overwrite", key, "android", []any{audRow("gaid", g1)}, 400, fmt.Sprintf(msgNoAppIDFormat, 1)},
		{"no identifier", s.android, "add", key, "android", []any{ok, audRow("app_id", audAndroid)}, 400, fmt.Sprintf(msgNoIDFormat, 1)},
		{"empty identifiers", s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "gaid", "", "oaid", "  ")}, 400,
			fmt.Sprintf(msgNoIDFormat, 1)},
		{"iOS identifiers only", s.android, "add", key, "android", []any{
			audRow("app_id", audAndroid, "idfa", audUUID(4, 1)),
			audRow("app_id", audAndroid, "idfv", audUUID(4, 2)),
			audRow("app_id", audAndroid, "emails", "a@example.com", "phone", "15551234567", "phone_e164", "+15551234567"),
			ok,
		}, 400, fmt.Sprintf(msgNoIDFormat, 3)},
		{"empty list", s.android, "add", key, "android", []any{}, 400, msgEmpty},
		{"no list", s.android, "add", key, "android", nil, 400, msgEmpty},
		{"empty overwrite", s.android, "overwrite", key, "android", []any{}, 400, msgEmpty},
		{"empty remove", s.android, "remove", key, "android", []any{}, 400, msgEmpty},
		{"10001 devices", s.android, "add", key, "android", oks(10001), 400, fmt.Sprintf(msgTooManyFormat, 10000, 10001)},
		{"10001 devices, overwrite", s.android, "overwrite", key, "android", oks(10001), 400, fmt.Sprintf(msgTooManyFormat, 10000, 10001)},
		{"gaid not a UUID", s.android, "add", key, "android", []any{ok, audRow("app_id", audAndroid, "gaid", "not-a-gaid")}, 400, msgNotUnderstood},
		{"gaid without dashes", s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "gaid", strings.ReplaceAll(audUUID(5, 1), "-", ""))}, 400, msgNotUnderstood},
		{"idfa not a UUID", s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "gaid", g2, "idfa", "nope")}, 400, msgNotUnderstood},
		{"number value", s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "gaid", g2, "oaid", 123)}, 400, msgNotUnderstood},
		{"list value", s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "gaid", g2, "imei", []string{"1"})}, 400, msgNotUnderstood},
		{"gaid not a UUID, overwrite", s.android, "overwrite", key, "android", []any{audRow("app_id", audAndroid, "gaid", "x")}, 400, msgNotUnderstood},
		{"two identifiers to remove", s.android, "remove", key, "android", []any{
			audRow("app_id", audAndroid, "gaid", g1),
			audRow("app_id", audAndroid, "gaid", g2, "oaid", "oaid-1"),
			audRow("app_id", audAndroid, "cuid", "c", "emails", "e@example.com"),
		}, 400, fmt.Sprintf(msgMultiFormat, 2)},
		{"unknown import key", s.android, "add", "no-such-key", "android", []any{ok}, 400, msgNoAudience},
		{"no import key", s.android, "add", "", "android", []any{ok}, 400, "import_key is required"},
		{"wrong token", "wrong", "add", key, "android", []any{ok}, 403, "Forbidden"},
		{"the other app's token", s.ios, "add", key, "android", []any{ok}, 400, msgNoAudience},
		{"the other app's token, remove", s.ios, "remove", key, "android", []any{audRow("app_id", audAndroid, "gaid", g1)}, 400, msgNoAudience},
		{"the other app's token, overwrite", s.ios, "overwrite", key, "android", []any{ok}, 400, msgNoAudience},
		{"unknown action", s.android, "replace", key, "android", []any{ok}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := s.imp(t, tc.tok, tc.action, tc.key, tc.platform, tc.devices)
			if code != tc.status || (tc.msg != "" && msg != tc.msg) {
				t.Errorf("%d %q, want %d %q", code, msg, tc.status, tc.msg)
			}
			if after := s.snapshot(t, audAndroid, id); !reflect.DeepEqual(after, before) {
				t.Errorf("the refusal changed the audience:\n%+v\nwas\n%+v", after, before)
			}
		})
	}

	// A missing, empty or wrong token is refused whatever the body.
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token, "Basic " + s.android, s.android} {
		code, raw := s.call(t, "/api/audiences-import-api/v2/add", auth, []byte("{not json"))
		if code != 403 || !sameJSON(t, raw, forbiddenJSON) {
			t.Errorf("auth %q: %d %s", auth, code, raw)
		}
	}
	if after := s.snapshot(t, audAndroid, id); !reflect.DeepEqual(after, before) {
		t.Errorf("the refusals changed the audience:\n%+v\nwas\n%+v", after, before)
	}
}

// TestAudienceAcrossApps: an app's token reaches its own audiences only,
// and the admin API shows an app its own audiences only.
func TestAudienceAcrossApps(t *testing.T) {
	s := startAudiences(t)
	aID, aKey := s.create(t, s.android, "Android only", "android")
	bID, bKey := s.create(t, s.ios, "iOS only", "ios")
	s.mustImport(t, s.android, "add", aKey, "android", []any{audRow("app_id", audAndroid, "gaid", audUUID(1, 1))})
	s.mustImport(t, s.ios, "add", bKey, "ios", []any{audRow("app_id", audIOS, "idfv", audUUID(2, 1))})
	aBefore, bBefore := s.snapshot(t, audAndroid, aID), s.snapshot(t, audIOS, bID)

	// B's token cannot import into A's audience, under either platform.
	for _, action := range []string{"add", "remove", "overwrite"} {
		for _, p := range []string{"android", "ios"} {
			if code, msg := s.imp(t, s.ios, action, aKey, p, []any{audRow("app_id", audAndroid, "gaid", audUUID(1, 1))}); code != 400 || msg != msgNoAudience {
				t.Errorf("B %s into A's audience as %s: %d %q", action, p, code, msg)
			}
			if code, msg := s.imp(t, s.android, action, bKey, p, []any{audRow("app_id", audIOS, "idfv", audUUID(2, 1))}); code != 400 || msg != msgNoAudience {
				t.Errorf("A %s into B's audience as %s: %d %q", action, p, code, msg)
			}
		}
	}
	if a, b := s.snapshot(t, audAndroid, aID), s.snapshot(t, audIOS, bID); !reflect.DeepEqual(a, aBefore) || !reflect.DeepEqual(b, bBefore) {
		t.Fatalf("refused imports changed an audience:\n%+v\n%+v", a, b)
	}

	// Each app's list holds its own audiences.
	for app, want := range map[string]int64{audAndroid: aID, audIOS: bID} {
		var list struct{ Audiences []touchpoint.Audience }
		s.mustAPI(t, 200, "GET", "/api/v1/apps/"+app+"/audiences", nil, &list)
		if len(list.Audiences) != 1 || list.Audiences[0].ID != want || list.Audiences[0].App != app || list.Audiences[0].Size != 1 {
			t.Errorf("%s's audiences: %+v", app, list.Audiences)
		}
	}
	// A third app, with none, lists none: [] rather than null.
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.none", "platform": "android", "name": "None"}, nil)
	var raw json.RawMessage
	s.mustAPI(t, 200, "GET", "/api/v1/apps/com.example.none/audiences", nil, &raw)
	if !sameJSON(t, string(raw), `{"audiences":[]}`) {
		t.Errorf("no audiences: %s", raw)
	}

	// Another app's audience id is not found on the admin routes.
	for _, path := range []string{
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d", audIOS, aID),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members", audIOS, aID),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?identifier=gaid&value=%s", audIOS, aID, audUUID(1, 1)),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d", audAndroid, bID),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members", audAndroid, bID),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d", "com.example.none", aID),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d", audAndroid, bID+100),
		fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members", audAndroid, bID+100),
		"/api/v1/apps/com.example.nothing/audiences",
	} {
		var e httpapi.ErrorResponse
		if code := s.api(t, "GET", path, nil, &e); code != 404 || e.Code != touchpoint.ENOTFOUND {
			t.Errorf("GET %s: %d %+v", path, code, e)
		}
	}
	var e httpapi.ErrorResponse
	if code := s.api(t, "GET", "/api/v1/apps/"+audAndroid+"/audiences/abc", nil, &e); code != 400 {
		t.Errorf("audience id abc: %d %+v", code, e)
	}
	// The admin routes want the admin token, not an app's.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/apps/%s/audiences", s.URL(), audAndroid), nil)
	req.Header.Set("Authorization", "Bearer "+s.android)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("admin list with the app's API token: %d", resp.StatusCode)
	}
}

// TestAudienceAddRemoveOverwrite follows an Android audience through
// imports: size counts distinct identifiers.
func TestAudienceAddRemoveOverwrite(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Payers", "android")
	created := s.clock.now()
	g := func(i int) string { return audUUID(0xa, i) }

	t1 := s.clock.advance(time.Minute)
	first := []any{
		audRow("app_id", audAndroid, "gaid", g(1)),
		audRow("app_id", audAndroid, "gaid", g(2), "oaid", "oaid-2"),
		audRow("app_id", audAndroid, "imei", "356938035643809"),
		audRow("app_id", audAndroid, "cuid", "user-1"),
		audRow("app_id", audAndroid, "braze_id", "braze-1", "amplitude_id", "amp-1"),
	}
	s.mustImport(t, s.android, "add", key, "android", first)
	a := s.audience(t, audAndroid, id)
	if a.Size != 7 || !a.UpdatedAt.Equal(t1) || !a.CreatedAt.Equal(created) {
		t.Fatalf("after the first add %+v, want size 7 updated at %s", a, t1)
	}
	want := []string{"amplitude_id:amp-1", "braze_id:braze-1", "cuid:user-1", "gaid:" + g(1), "gaid:" + g(2), "imei:356938035643809", "oaid:oaid-2"}
	if got := s.members(t, audAndroid, id); !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	var list struct{ Audiences []touchpoint.Audience }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+audAndroid+"/audiences", nil, &list)
	if len(list.Audiences) != 1 || list.Audiences[0].Size != 7 || !list.Audiences[0].UpdatedAt.Equal(t1) {
		t.Fatalf("list %+v", list.Audiences)
	}

	// The same ids again: the size stays, members keep when they came.
	t2 := s.clock.advance(time.Minute)
	s.mustImport(t, s.android, "add", key, "android", first)
	if a := s.audience(t, audAndroid, id); a.Size != 7 || !a.UpdatedAt.Equal(t2) {
		t.Fatalf("after the same add %+v", a)
	}
	p := s.page(t, audAndroid, id, url.Values{})
	for _, m := range p.Members {
		if !m.AddedAt.Equal(t1) || m.AppID != audAndroid {
			t.Errorf("member %+v, want added at %s", m, t1)
		}
	}
	// Duplicates within a request count once; new ones add.
	s.clock.advance(time.Minute)
	s.mustImport(t, s.android, "add", key, "android", []any{
		audRow("app_id", audAndroid, "gaid", g(1)),
		audRow("app_id", audAndroid, "gaid", g(3)),
		audRow("app_id", audAndroid, "gaid", g(3)),
	})
	if a := s.audience(t, audAndroid, id); a.Size != 8 {
		t.Fatalf("after adding g3 twice: size %d, want 8", a.Size)
	}

	// Remove by one identifier: that identifier goes, the row's others stay.
	s.clock.advance(time.Minute)
	s.mustImport(t, s.android, "remove", key, "android", []any{
		audRow("app_id", audAndroid, "gaid", g(2)),
		audRow("app_id", audAndroid, "braze_id", "braze-1"),
	})
	want = []string{"amplitude_id:amp-1", "cuid:user-1", "gaid:" + g(1), "gaid:" + g(3), "imei:356938035643809", "oaid:oaid-2"}
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != 6 || !slices.Equal(got, want) {
		t.Fatalf("after remove: size %d members %v, want 6 %v", a.Size, got, want)
	}
	// Removing what is not there changes nothing but updated_at.
	t5 := s.clock.advance(time.Minute)
	s.mustImport(t, s.android, "remove", key, "android", []any{audRow("app_id", audAndroid, "gaid", g(2)), audRow("app_id", audAndroid, "cuid", "nobody")})
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != 6 || !slices.Equal(got, want) || !a.UpdatedAt.Equal(t5) {
		t.Fatalf("after removing absent ids: %+v %v", a, got)
	}

	// Overwrite replaces everything.
	t6 := s.clock.advance(time.Minute)
	over := []any{audRow("app_id", audAndroid, "braze_id", "braze-9"), audRow("app_id", audAndroid, "gaid", g(1)), audRow("app_id", audAndroid, "gaid", g(9))}
	s.mustImport(t, s.android, "overwrite", key, "android", over)
	want = []string{"braze_id:braze-9", "gaid:" + g(1), "gaid:" + g(9)}
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != 3 || !slices.Equal(got, want) || !a.UpdatedAt.Equal(t6) {
		t.Fatalf("after overwrite: %+v %v, want 3 %v", a, got, want)
	}
	for _, m := range s.page(t, audAndroid, id, url.Values{}).Members {
		if !m.AddedAt.Equal(t6) {
			t.Errorf("overwritten member %+v, want added at %s", m, t6)
		}
	}
	// The same overwrite again keeps the size.
	s.mustImport(t, s.android, "overwrite", key, "android", over)
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != 3 || !slices.Equal(got, want) {
		t.Fatalf("after the same overwrite: %+v %v", a, got)
	}
	// Removing the rest empties it.
	s.mustImport(t, s.android, "remove", key, "android", over)
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != 0 || len(got) != 0 {
		t.Fatalf("after removing all: %+v %v", a, got)
	}
}

// TestAudienceIOS: iOS audiences take IDFA and IDFV rows, not GAIDs.
func TestAudienceIOS(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.ios, "iOS payers", "ios")
	idfa, idfv := audUUID(0x1fa, 1), audUUID(0x1f5, 1)
	s.mustImport(t, s.ios, "add", key, "ios", []any{
		audRow("app_id", audIOS, "idfa", idfa),
		audRow("app_id", audIOS, "idfv", idfv),
		audRow("app_id", audIOS, "cuid", "user-1"),
		audRow("app_id", audIOS, "amplitude_id", "amp-1"),
	})
	want := []string{"amplitude_id:amp-1", "cuid:user-1", "idfa:" + idfa, "idfv:" + idfv}
	if a, got := s.audience(t, audIOS, id), s.members(t, audIOS, id); a.Size != 4 || a.Platform != touchpoint.IOS || !slices.Equal(got, want) {
		t.Fatalf("after add: %+v %v", a, got)
	}
	before := s.snapshot(t, audIOS, id)
	for _, tc := range []struct {
		name    string
		action  string
		plat    string
		devices []any
		msg     string
	}{
		{"gaid only", "add", "ios", []any{audRow("app_id", audIOS, "gaid", audUUID(3, 1))}, fmt.Sprintf(msgNoIDFormat, 1)},
		{"gaid and oaid and imei rows", "add", "ios", []any{
			audRow("app_id", audIOS, "gaid", audUUID(3, 1)),
			audRow("app_id", audIOS, "oaid", "o"),
			audRow("app_id", audIOS, "imei", "356938035643809"),
			audRow("app_id", audIOS, "idfv", audUUID(3, 2)),
		}, fmt.Sprintf(msgNoIDFormat, 3)},
		{"gaid only, overwrite", "overwrite", "ios", []any{audRow("app_id", audIOS, "gaid", audUUID(3, 1))}, fmt.Sprintf(msgNoIDFormat, 1)},
		{"android", "add", "android", []any{audRow("app_id", audIOS, "idfa", audUUID(3, 3))}, msgPlatform},
		{"idfa not a UUID", "add", "ios", []any{audRow("app_id", audIOS, "idfa", "idfa-1")}, msgNotUnderstood},
		{"idfv not a UUID", "add", "ios", []any{audRow("app_id", audIOS, "idfv", audUUID(3, 4)+"0")}, msgNotUnderstood},
		{"idfa and idfv to remove", "remove", "ios", []any{audRow("app_id", audIOS, "idfa", idfa, "idfv", idfv)}, fmt.Sprintf(msgMultiFormat, 1)},
		{"no app id", "add", "ios", []any{audRow("idfa", audUUID(3, 5))}, fmt.Sprintf(msgNoAppIDFormat, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, msg := s.imp(t, s.ios, tc.action, key, tc.plat, tc.devices); code != 400 || msg != tc.msg {
				t.Errorf("%d %q, want 400 %q", code, msg, tc.msg)
			}
			if after := s.snapshot(t, audIOS, id); !reflect.DeepEqual(after, before) {
				t.Errorf("the refusal changed the audience:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
	// Remove by the IDFA alone.
	s.mustImport(t, s.ios, "remove", key, "ios", []any{audRow("app_id", audIOS, "idfa", idfa)})
	want = []string{"amplitude_id:amp-1", "cuid:user-1", "idfv:" + idfv}
	if a, got := s.audience(t, audIOS, id), s.members(t, audIOS, id); a.Size != 3 || !slices.Equal(got, want) {
		t.Fatalf("after removing the idfa: %+v %v", a, got)
	}
}

// TestAudienceDeviceLimit: 10,000 devices a request, not one more.
func TestAudienceDeviceLimit(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Big", "android")
	devices := make([]any, touchpoint.MaxAudienceDevices+1)
	for i := range devices {
		devices[i] = audRow("app_id", audAndroid, "gaid", audUUID(0xb, i))
	}
	if code, msg := s.imp(t, s.android, "add", key, "android", devices); code != 400 || msg != fmt.Sprintf(msgTooManyFormat, 10000, 10001) {
		t.Fatalf("10001: %d %q", code, msg)
	}
	if a := s.audience(t, audAndroid, id); a.Size != 0 {
		t.Fatalf("after 10001 refused: size %d", a.Size)
	}
	s.mustImport(t, s.android, "add", key, "android", devices[:10000])
	if a := s.audience(t, audAndroid, id); a.Size != 10000 {
		t.Fatalf("after 10000: size %d", a.Size)
	}
	if got := s.members(t, audAndroid, id); len(got) != 10000 || got[0] != "gaid:"+audUUID(0xb, 0) || got[9999] != "gaid:"+audUUID(0xb, 9999) {
		t.Fatalf("%d members, %v ... ", len(got), got[:1])
	}
	// An overwrite of 10000; then a remove of 10001 refused leaves them.
	if code, msg := s.imp(t, s.android, "overwrite", key, "android", devices[1:]); code != 200 || msg != msgOK {
		t.Fatalf("overwrite with 10000: %d %q", code, msg)
	}
	if code, msg := s.imp(t, s.android, "remove", key, "android", devices); code != 400 || msg != fmt.Sprintf(msgTooManyFormat, 10000, 10001) {
		t.Fatalf("remove 10001: %d %q", code, msg)
	}
	if a := s.audience(t, audAndroid, id); a.Size != 10000 {
		t.Fatalf("after the overwrite and a refused remove: size %d", a.Size)
	}
	s.mustImport(t, s.android, "remove", key, "android", devices[1:])
	if a := s.audience(t, audAndroid, id); a.Size != 0 {
		t.Fatalf("after removing 10000: size %d", a.Size)
	}
}

// TestAudienceMembers pages members, narrowed to an identifier or not,
// and looks one up.
func TestAudienceMembers(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Paged", "android")
	var gaids, oaids, cuids []string
	var devices []any
	for i := range 25 {
		gaids = append(gaids, audUUID(0x6a1d, i))
		devices = append(devices, audRow("app_id", audAndroid, "gaid", gaids[i]))
	}
	for i := range 7 {
		oaids = append(oaids, "oaid-"+strconv.Itoa(i))
		devices = append(devices, audRow("app_id", audAndroid, "oaid", oaids[i]))
	}
	for i := range 3 {
		cuids = append(cuids, "user:"+strconv.Itoa(i)) // a colon in the value
		devices = append(devices, audRow("app_id", "com.example.other", "cuid", cuids[i]))
	}
	added := s.clock.advance(time.Second)
	s.mustImport(t, s.android, "add", key, "android", devices)

	// gaids in pages of 10: 10, 10, 5.
	var got []string
	q := url.Values{"identifier": {"gaid"}, "limit": {"10"}}
	for i, n := range []int{10, 10, 5} {
		p := s.page(t, audAndroid, id, q)
		if len(p.Members) != n {
			t.Fatalf("page %d: %d members, want %d", i, len(p.Members), n)
		}
		for _, m := range p.Members {
			if m.Identifier != "gaid" || m.AppID != audAndroid || !m.AddedAt.Equal(added) {
				t.Fatalf("page %d: member %+v", i, m)
			}
			got = append(got, m.Value)
		}
		last := p.Members[len(p.Members)-1]
		if i < 2 && p.Next != "gaid:"+last.Value {
			t.Fatalf("page %d: next_cursor %q, want gaid:%s", i, p.Next, last.Value)
		}
		if i == 2 && p.Next != "" {
			t.Fatalf("last page: next_cursor %q", p.Next)
		}
		q.Set("cursor", p.Next)
	}
	if !slices.Equal(got, gaids) { // made in order
		t.Fatalf("gaids paged %v, want %v", got, gaids)
	}
	// A full last page has no next page... or an empty one.
	p := s.page(t, audAndroid, id, url.Values{"identifier": {"oaid"}, "limit": {"7"}})
	if len(p.Members) != 7 || p.Next != "" {
		t.Fatalf("oaids in one page of 7: %d, next %q", len(p.Members), p.Next)
	}
	// The raw answer: next_cursor left out at the end, fields named.
	var raw json.RawMessage
	s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?identifier=cuid&limit=1", audAndroid, id), nil, &raw)
	wantRaw := fmt.Sprintf(`{"members":[{"identifier":"cuid","value":"user:0","app_id":"com.example.other","added_at":%q}],"next_cursor":"cuid:user:0"}`,
		added.Format(time.RFC3339Nano))
	if !sameJSON(t, string(raw), wantRaw) {
		t.Fatalf("page of one cuid: %s, want %s", raw, wantRaw)
	}
	// A cursor whose value holds a colon.
	p = s.page(t, audAndroid, id, url.Values{"identifier": {"cuid"}, "cursor": {"cuid:user:0"}})
	if len(p.Members) != 2 || p.Members[0].Value != "user:1" || p.Members[1].Value != "user:2" || p.Next != "" {
		t.Fatalf("cuids after user:0: %+v", p)
	}

	// All identifiers, in pages of 10, ordered by identifier then value.
	var all []string
	for _, c := range cuids {
		all = append(all, "cuid:"+c)
	}
	for _, g := range gaids {
		all = append(all, "gaid:"+g)
	}
	for _, o := range oaids {
		all = append(all, "oaid:"+o)
	}
	got = nil
	q = url.Values{"limit": {"10"}}
	pages := 0
	for {
		p := s.page(t, audAndroid, id, q)
		pages++
		for _, m := range p.Members {
			got = append(got, m.Identifier+":"+m.Value)
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("no end of pages")
		}
		q.Set("cursor", p.Next)
	}
	if pages != 4 || !slices.Equal(got, all) {
		t.Fatalf("%d pages %v, want 4 %v", pages, got, all)
	}
	// The default page holds them all.
	if p := s.page(t, audAndroid, id, url.Values{}); len(p.Members) != 35 || p.Next != "" {
		t.Fatalf("default page: %d members, next %q", len(p.Members), p.Next)
	}
	// An identifier with no members: an empty page.
	if p := s.page(t, audAndroid, id, url.Values{"identifier": {"imei"}}); len(p.Members) != 0 || p.Next != "" {
		t.Fatalf("imeis: %+v", p)
	}

	// Looking up one value: one member or none.
	p = s.page(t, audAndroid, id, url.Values{"identifier": {"gaid"}, "value": {gaids[7]}})
	if len(p.Members) != 1 || p.Members[0].Identifier != "gaid" || p.Members[0].Value != gaids[7] ||
		p.Members[0].AppID != audAndroid || !p.Members[0].AddedAt.Equal(added) || p.Next != "" {
		t.Fatalf("gaid %s: %+v", gaids[7], p)
	}
	p = s.page(t, audAndroid, id, url.Values{"identifier": {"cuid"}, "value": {"user:2"}})
	if len(p.Members) != 1 || p.Members[0].AppID != "com.example.other" {
		t.Fatalf("cuid user:2: %+v", p)
	}
	for _, q := range []url.Values{
		{"identifier": {"gaid"}, "value": {audUUID(0x6a1d, 99)}},
		{"identifier": {"oaid"}, "value": {gaids[7]}}, // the value under another identifier
		{"identifier": {"gaid"}, "value": {"oaid-1"}},
	} {
		s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?%s", audAndroid, id, q.Encode()), nil, &raw)
		if !sameJSON(t, string(raw), `{"members":[]}`) {
			t.Fatalf("%v: %s", q, raw)
		}
	}
	// Removed, it is no longer found.
	s.mustImport(t, s.android, "remove", key, "android", []any{audRow("app_id", audAndroid, "gaid", gaids[7])})
	if p := s.page(t, audAndroid, id, url.Values{"identifier": {"gaid"}, "value": {gaids[7]}}); len(p.Members) != 0 {
		t.Fatalf("removed gaid found: %+v", p)
	}
	if p := s.page(t, audAndroid, id, url.Values{"identifier": {"gaid"}, "limit": {"100"}}); len(p.Members) != 24 ||
		slices.ContainsFunc(p.Members, func(m touchpoint.AudienceMember) bool { return m.Value == gaids[7] }) {
		t.Fatalf("gaids after removing one: %d", len(p.Members))
	}

	// Bad queries.
	for _, q := range []string{"identifier=email", "identifier=app_id", "value=" + gaids[0], "limit=0", "limit=10001", "limit=ten"} {
		var e httpapi.ErrorResponse
		if code := s.api(t, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?%s", audAndroid, id, q), nil, &e); code != 400 || e.Code != touchpoint.EINVALID {
			t.Errorf("?%s: %d %+v", q, code, e)
		}
	}
}

// TestAudienceConcurrentImports: imports racing on one audience keep its
// size equal to its members.
func TestAudienceConcurrentImports(t *testing.T) {
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Raced", "android")
	const workers, each = 6, 500
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			devices := make([]any, each)
			for i := range devices {
				devices[i] = audRow("app_id", audAndroid, "gaid", audUUID(0xc, w*each/2+i)) // half shared with the next
			}
			b, _ := json.Marshal(map[string]any{"import_key": key, "platform": "android", "devices": devices})
			req, _ := http.NewRequest("POST", s.URL()+"/api/audiences-import-api/v2/add", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+s.android)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(raw), msgOK) {
				err = fmt.Errorf("worker %d: %d %s", w, resp.StatusCode, raw)
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	want := (workers + 1) * each / 2
	if a, got := s.audience(t, audAndroid, id), s.members(t, audAndroid, id); a.Size != int64(want) || len(got) != want {
		t.Fatalf("size %d, %d members, want %d", a.Size, len(got), want)
	}
}

// TestAudienceExtraFields: the device row schema leaves its properties
// open, so rows with fields of their own are taken (each body checked
// against AppsFlyer's file first); what is kept is the known identifiers.
func TestAudienceExtraFields(t *testing.T) {
	sp := afspec.MustLoad(t)
	s := startAudiences(t)
	id, key := s.create(t, s.android, "Extras", "android")
	g := audUUID(0xe, 1)
	body := map[string]any{"import_key": key, "platform": "android", "devices": []any{
		audRow("app_id", audAndroid, "gaid", g, "colour", "red", "score", 12, "meta", map[string]any{"a": []int{1}}),
		audRow("app_id", audAndroid, "cuid", "user-1", "device_model", nil),
	}}
	b, _ := json.Marshal(body)
	if err := sp.ImportRequest("add", b); err != nil {
		t.Fatalf("the test's body is not the spec's: %v", err)
	}
	if code, raw := s.call(t, "/api/audiences-import-api/v2/add", "Bearer "+s.android, b); code != 200 || !sameJSON(t, raw, `{"message":"The request was successful"}`) {
		t.Fatalf("add: %d %s", code, raw)
	}
	if got, want := s.members(t, audAndroid, id), []string{"cuid:user-1", "gaid:" + g}; !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	// A known field that is not a string is still not understood.
	if code, msg := s.imp(t, s.android, "add", key, "android", []any{audRow("app_id", audAndroid, "cuid", "c", "gaid", 5)}); code != 400 || msg != msgNotUnderstood {
		t.Errorf("a number gaid: %d %q", code, msg)
	}
	// A body over 16 MB is a bad request, as the file answers them.
	big := []byte(`{"import_key":"` + key + `","platform":"android","devices":[{"app_id":"` + strings.Repeat("x", 16<<20) + `"}]}`)
	if code, raw := s.call(t, "/api/audiences-import-api/v2/add", "Bearer "+s.android, big); code != 400 || !sameJSON(t, raw, `{"message":"The request body is larger than 16 MB"}`) {
		t.Errorf("16 MB body: %d %.200s", code, raw)
	}
}
