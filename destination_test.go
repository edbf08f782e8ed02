package touchpoint_test

import (
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestDestinationAppsFlyerAppID: an iOS app's id in AppsFlyer carries its
// "id" prefix (AppsFlyer answers 200 to S2S events of an id without it and
// records nothing), and a cohort destination's id matches its platform.
func TestDestinationAppsFlyerAppID(t *testing.T) {
	events := func(id string) *touchpoint.Destination {
		return &touchpoint.Destination{Name: "AF", AppsFlyerAppID: id, Key: "dev-key"}
	}
	cohort := func(id string, p touchpoint.Platform, identifier string) *touchpoint.Destination {
		return &touchpoint.Destination{Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF", AppsFlyerAppID: id,
			APIToken: "tok", Platform: p, Identifier: identifier}
	}
	for _, tc := range []struct {
		name string
		d    *touchpoint.Destination
		want string // "": valid; else in the error
	}{
		{"events, iOS", events("id123456789"), ""},
		{"events, Android", events("com.example.game"), ""},
		{"events, iOS without its prefix", events("123456789"),
			`appsflyer_app_id "123456789": an iOS app's id in AppsFlyer starts with "id", as in id123456789; without it AppsFlyer answers 200 and records nothing`},
		{"events, iOS id too short", events("id123"), `appsflyer_app_id "id123" is not an iOS app's id in AppsFlyer`},
		{"cohort, iOS", cohort("id123456789", touchpoint.IOS, touchpoint.MapIDFA), ""},
		{"cohort, Android", cohort("com.example.game", touchpoint.Android, touchpoint.MapGAID), ""},
		{"cohort, iOS without its prefix", cohort("123456789", touchpoint.IOS, touchpoint.MapIDFA), `starts with "id", as in id123456789`},
		{"cohort, iOS with a package name", cohort("com.example.game", touchpoint.IOS, touchpoint.MapIDFA),
			`appsflyer_app_id "com.example.game" is not an iOS app's id in AppsFlyer`},
		{"cohort, Android with an iOS id", cohort("id123456789", touchpoint.Android, touchpoint.MapGAID),
			`appsflyer_app_id "id123456789" is an iOS app's id, but platform is android`},
	} {
		tc.d.Normalize()
		err := tc.d.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (touchpoint.ErrorCode(err) != touchpoint.EINVALID || !strings.Contains(touchpoint.ErrorMessage(err), tc.want)):
			t.Errorf("%s: %v, want EINVALID with %q", tc.name, err, tc.want)
		}
	}
	for id, want := range map[string]touchpoint.Platform{"id123456789": touchpoint.IOS, "com.example.game": touchpoint.Android,
		"id.co.bank.app": touchpoint.Android, "identity.app": touchpoint.Android} {
		if got := touchpoint.AppsFlyerAppPlatform(id); got != want {
			t.Errorf("AppsFlyerAppPlatform(%q) = %s, want %s", id, got, want)
		}
	}
}

// TestDestinationAppsFlyerIDProperty: an events destination reads the
// AppsFlyer id from the forward's property unless told another; a cohort
// destination has none.
func TestDestinationAppsFlyerIDProperty(t *testing.T) {
	d := &touchpoint.Destination{Name: "AF", AppsFlyerAppID: "com.example.game", Key: "k"}
	d.Normalize()
	if d.AppsFlyerIDProperty != "[AppsFlyer] appsflyer_id" {
		t.Errorf("default property %q", d.AppsFlyerIDProperty)
	}
	d = &touchpoint.Destination{Name: "AF", AppsFlyerAppID: "com.example.game", Key: "k", AppsFlyerIDProperty: "af_id"}
	if d.Normalize(); d.AppsFlyerIDProperty != "af_id" {
		t.Errorf("set property %q", d.AppsFlyerIDProperty)
	}
	c := &touchpoint.Destination{Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF", AppsFlyerAppID: "com.example.game",
		APIToken: "tok", Platform: touchpoint.Android, Identifier: touchpoint.MapGAID}
	if c.Normalize(); c.AppsFlyerIDProperty != "" || c.Validate() != nil {
		t.Errorf("cohort destination %+v: %v", c, c.Validate())
	}
}

// TestSyncBatchSize: a sync's batch is 1 to 10,000 devices, what one
// Audiences import request may carry.
func TestSyncBatchSize(t *testing.T) {
	for size, ok := range map[int]bool{1: true, touchpoint.MaxAudienceDevices: true, touchpoint.MaxAudienceDevices + 1: false, -1: false} {
		s := &touchpoint.CohortSync{Cohort: 1, Destination: 2, BatchSize: size}
		s.Normalize()
		err := s.Validate()
		if (err == nil) != ok {
			t.Errorf("batch_size %d: %v, want ok %v", size, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "1 to 10000 devices") {
			t.Errorf("batch_size %d: %v", size, err)
		}
	}
	s := &touchpoint.CohortSync{Cohort: 1, Destination: 2}
	if s.Normalize(); s.BatchSize != touchpoint.DefaultSyncBatch || s.Validate() != nil {
		t.Errorf("default batch %d", s.BatchSize)
	}
}
