package touchpoint_test

import (
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestIntegrationURLs: what the store itself refuses of a forward's or a
// destination's URL, whoever saves it: a URL that is no http(s) base,
// user info, and hosts spelled ambiguously. Which hosts may be named is
// the server's rule (package outbound, applied by the admin API with its
// flag), so a private address passes here.
func TestIntegrationURLs(t *testing.T) {
	for url, want := range map[string]string{
		"":                                  "",
		"https://api2.amplitude.com":        "",
		"http://10.0.0.7:8080":              "",
		"http://[::1]:8080":                 "",
		"ftp://api2.amplitude.com":          "want an http or https base URL",
		"https://api2.amplitude.com/?a=1":   "want an http or https base URL",
		"http://user:pw@api2.amplitude.com": "want an http or https base URL",
		"http://127.1":                      "unusual spelling",
		"http://0x7f000001:80":              "unusual spelling",
		"http://127。0。0。1":                  "non-ASCII",
	} {
		f := &touchpoint.AnalyticsForward{App: "com.example.game", APIKey: "k", URL: url}
		f.Normalize()
		d := &touchpoint.Destination{Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF", AppsFlyerAppID: "com.example.game",
			APIToken: "t", Platform: touchpoint.Android, Identifier: touchpoint.MapGAID, URL: url}
		d.Normalize()
		for what, err := range map[string]error{"forward": f.Validate(), "destination": d.Validate()} {
			switch {
			case want == "" && err != nil:
				t.Errorf("%s %q: %v", what, url, err)
			case want != "" && (touchpoint.ErrorCode(err) != touchpoint.EINVALID || !strings.Contains(touchpoint.ErrorMessage(err), want) ||
				!strings.HasPrefix(touchpoint.ErrorMessage(err), "url ")):
				t.Errorf("%s %q: %v, want url refused: %s", what, url, err, want)
			}
		}
	}
}
