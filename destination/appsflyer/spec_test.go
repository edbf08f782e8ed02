package appsflyer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
)

// The bodies the destinations send, checked against AppsFlyer's OpenAPI
// files (package afspec, which says how it handles the files' defects).

// decimalRE is af_revenue as the S2S file describes it: digits, a decimal
// point at most, negative values preceded by "-".
var decimalRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// TestStreamBodiesMatchSpec builds an event for every branch of what the
// stream sends (each platform; revenue or not, in each currency form;
// with and without a customer user id; each device id kind, including
// the other platform's and malformed ones; IPv4, IPv6 or no ip; an OS
// version or none; properties that must be dropped to fit) and checks
// every body it would send against the S2S file.
func TestStreamBodiesMatchSpec(t *testing.T) {
	sp := afspec.MustLoad(t)
	const gaid, idfa, idfv = "38400000-8cf0-11bd-b23e-10b96e40000d", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "A1B2C3D4-0000-1111-2222-333344445555"
	platforms := map[touchpoint.Platform]string{touchpoint.Android: "com.example.game", touchpoint.IOS: "id123456789"}
	revenues := []string{``, `"revenue":4.99,`, `"revenue":-3.5,`, `"revenue":1e+21,`, `"revenue":2.5e-7,`,
		`"revenue":4.99,"currency":"eur",`, `"revenue":4.99,"event_properties":{"af_currency":"ABC","sku":"gem"},`,
		`"revenue":10,"event_properties":{"currency":"JPY","big":"` + strings.Repeat("x", 1000) + `"},`,
		`"event_properties":{"af_revenue":"1e2","currency":"chf"},`, `"event_properties":{"af_revenue":"n/a"},`}
	ids := []string{``, `"adid":"` + gaid + `",`, `"adid":"amz-1","os_name":"Fire OS",`, `"oaid":"oaid-1","amazon_aid":"amz-2",`,
		`"android_id":"a-1",`, `"idfa":"` + strings.ToLower(idfa) + `",`, `"idfv":"` + idfv + `",`,
		`"idfa":"` + idfa + `","idfv":"` + strings.ToLower(idfv) + `","adid":"` + gaid + `",`, `"idfa":"not-a-uuid",`}
	ips := []string{``, `"ip":"203.0.113.7",`, `"ip":"2001:db8::1",`}
	oses := []string{``, `"os_version":"17.2",`}
	users := []string{"", "user-42"}
	n := 0
	for p, appID := range platforms {
		s := appsflyer.NewStream(destination(func(d *touchpoint.Destination) { d.AppsFlyerAppID = appID }), self)
		for _, rev := range revenues {
			for _, id := range ids {
				for _, ip := range ips {
					for _, os := range oses {
						for _, user := range users {
							data := "{" + rev + id + ip + os + `"event_type":"purchase"}`
							e := event(data, map[string]any{"plan": "pro"}, map[string]any{"org": "acme"})
							e.UserID = user
							d := sent(t, s.Delivery(e))
							n++
							if err := sp.S2SRequest(p, []byte(d.Body)); err != nil {
								t.Errorf("%s, %s, user %q: %v\n%s", p, data, user, err, d.Body)
								continue
							}
							_, value := body(t, d)
							if r, ok := value["af_revenue"]; ok && !decimalRE.MatchString(fmt.Sprint(r)) {
								t.Errorf("%s, %s: af_revenue %v is not a plain decimal", p, data, r)
							}
						}
					}
				}
			}
		}
	}
	// A user with no AppsFlyer id: no valid body, so none is sent.
	for p, appID := range platforms {
		s := appsflyer.NewStream(destination(func(d *touchpoint.Destination) { d.AppsFlyerAppID = appID }), self)
		d := s.Delivery(bare(`{"event_type":"purchase","os_version":"17"}`, map[string]any{"plan": "pro"}, nil))
		if d == nil || d.State != touchpoint.DeliveryFailed {
			t.Errorf("%s: a user with no AppsFlyer id: %+v, want a failed delivery", p, d)
		} else if err := sp.S2SRequest(p, []byte(d.Body)); err == nil {
			t.Errorf("%s: the spec takes a body with no appsflyer_id: %s", p, d.Body)
		}
	}
	t.Logf("%d bodies checked", n)
}

// TestCurrenciesAreTheSpecs: the codes the stream sends as eventCurrency
// are exactly the file's enum.
func TestCurrenciesAreTheSpecs(t *testing.T) {
	got, want := appsflyer.Currencies(), afspec.MustLoad(t).Currencies()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("currencies %v\nwant the file's %v", got, want)
	}
}

// TestAudienceBodiesMatchSpec: the create call and the add, remove and
// overwrite imports, for each platform and identifier mapping, against the
// Audiences files.
func TestAudienceBodiesMatchSpec(t *testing.T) {
	sp := afspec.MustLoad(t)
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		io.WriteString(w, `{"message":{"audience_id":7,"import_key":"K"}}`)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		platform   touchpoint.Platform
		appID      string
		identifier string
		ids        []string
	}{
		{touchpoint.Android, "com.example.game", touchpoint.MapGAID, []string{"38400000-8cf0-11bd-b23e-10b96e40000d", "38400000-8cf0-11bd-b23e-10b96e40000e"}},
		{touchpoint.Android, "com.example.game", touchpoint.MapUserID, []string{"user-1", "user-2"}},
		{touchpoint.Android, "com.example.game", touchpoint.MapCUID, []string{"cuid-1"}},
		{touchpoint.IOS, "id123456789", touchpoint.MapIDFA, []string{"6D92078A-8246-4BA4-AE5B-76104861E7DC"}},
		{touchpoint.IOS, "id123456789", touchpoint.MapUserID, []string{"user-1"}},
		{touchpoint.IOS, "id123456789", touchpoint.MapCUID, []string{"cuid-1", "cuid-2", "cuid-3"}},
	} {
		d := &touchpoint.Destination{ID: 5, Project: 1, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF",
			AppsFlyerAppID: tc.appID, APIToken: "tok", Platform: tc.platform, Identifier: tc.identifier, URL: srv.URL, Enabled: true}
		if err := d.Validate(); err != nil {
			t.Fatalf("destination %+v: %v", d, err)
		}
		a := appsflyer.NewAudiences(d, self, srv.Client())
		for _, name := range []string{"Payers " + "abcdefghij", cohort.AudienceName(strings.Repeat("Lapsed payers ", 20), "abcdefghij")} {
			bodies = bodies[:0]
			if _, _, err := a.Create(context.Background(), name); err != nil || len(bodies) != 1 {
				t.Fatalf("create: %v, %d requests", err, len(bodies))
			}
			if err := sp.CreateRequest([]byte(bodies[0])); err != nil {
				t.Errorf("%s create %q: %v\n%s", tc.platform, name, err, bodies[0])
			}
		}
		for _, action := range []string{touchpoint.AudienceAdd, touchpoint.AudienceRemove, touchpoint.AudienceOverwrite} {
			body := a.ImportBody("K", tc.ids)
			if err := sp.ImportRequest(action, body); err != nil {
				t.Errorf("%s %s by %s: %v\n%s", tc.platform, action, tc.identifier, err, body)
			}
		}
	}
	// The checks can fail: a row with two identifiers to remove, no
	// app_id, an empty platform, a name of one character.
	for _, bad := range []struct{ action, body string }{
		{"remove", `{"import_key":"K","platform":"android","devices":[{"app_id":"a.b","gaid":"g","cuid":"c"}]}`},
		{"add", `{"import_key":"K","platform":"android","devices":[{"gaid":"g"}]}`},
		{"add", `{"import_key":"K","platform":"","devices":[{"app_id":"a.b","gaid":"g"}]}`},
		{"", `{"import_key":"K","platform":"android","devices":[{"app_id":"a.b","gaid":"g"}]}`},
	} {
		if err := sp.ImportRequest(bad.action, []byte(bad.body)); err == nil {
			t.Errorf("%s %s passed", bad.action, bad.body)
		}
	}
	if err := sp.CreateRequest([]byte(`{"audience_name":"a","platform":"android","connections":[]}`)); err == nil {
		t.Error("a name of one character passed")
	}
}
