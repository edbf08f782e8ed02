package postback_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

// fuzzFacts fills every fact a macro reads from value, the times from
// unix (seconds; 0 is none) and the revenue from revenue.
func fuzzFacts(value string, unix int64, revenue int64, hide bool) *postback.Facts {
	var ts time.Time
	if unix != 0 {
		ts = time.Unix(unix%(1<<40), 0).UTC()
	}
	f := &postback.Facts{
		App:      &touchpoint.App{ID: value, Name: value},
		DeviceID: value,
		Launch: &touchpoint.Launch{IP: value, UA: value, DeviceModel: value, OSVersion: value, Language: value, AppVersion: value,
			SDKVersion: value, ClickTime: ts, InstallBeginTime: ts},
		InstallTime: ts,
		Attribution: touchpoint.Attribution{MediaSource: value, TouchID: 1, TouchType: touchpoint.Click, TouchTime: ts,
			MatchType: touchpoint.MatchIDMatching},
		Event:       &touchpoint.Conversion{Name: value, Value: value, Revenue: touchpoint.Amount(revenue), Currency: value, Time: ts},
		HideRevenue: hide,
		Rejection:   &touchpoint.Rejection{Reason: value, Value: value},
	}
	for typ := range f.IDs {
		f.IDs[typ].Raw = value
	}
	for _, p := range touchpoint.StringParams {
		*p.Field(&f.Attribution.Params) = value
	}
	return f
}

// macroRE is a macro as templates write it.
var macroRE = regexp.MustCompile(`\(([A-Za-z0-9_-]+)\)`)

// FuzzTemplate parses random postback templates and renders the ones it
// accepts with random facts. Parse refuses with EINVALID only; rendering
// never fails and a value never changes the request's shape: the URL
// still parses, with the template's scheme and host, no user info, and as
// many query parameters as the template has; a form body keeps its
// parameters, and a JSON body that is valid JSON with plain values in its
// macros is valid JSON with any.
func FuzzTemplate(f *testing.F) {
	f.Fuzz(func(t *testing.T, method, rawURL, body, contentType, value string, unix, revenue int64, hide bool) {
		c, err := postback.Parse(postback.Template{Method: method, URL: rawURL, Body: body, ContentType: contentType})
		if err != nil {
			if touchpoint.ErrorCode(err) != touchpoint.EINVALID || c != nil {
				t.Fatalf("Parse: %v, %v: want EINVALID and nothing else", c, err)
			}
			return
		}
		if c.Method != "GET" && c.Method != "POST" {
			t.Fatalf("method %q", c.Method)
		}
		plain := func(s string) string { return macroRE.ReplaceAllString(s, "x") }
		want, err := url.Parse(plain(c.URL))
		if err != nil {
			t.Fatalf("accepted URL %q does not parse: %v", c.URL, err)
		}

		gotURL, gotBody := c.Render(fuzzFacts(value, unix, revenue, hide))
		u, err := url.Parse(gotURL)
		if err != nil {
			t.Fatalf("rendered URL %q does not parse: %v", gotURL, err)
		}
		if u.Scheme != want.Scheme || u.Host != c.Host() || u.Host != want.Host || u.User != nil {
			t.Fatalf("rendered URL %q: scheme %q host %q, want %q %q", gotURL, u.Scheme, u.Host, want.Scheme, c.Host())
		}
		if got, want := paramCount(u.RawQuery), paramCount(want.RawQuery); got != want {
			t.Errorf("rendered URL %q has %d query parameters, the template %d", gotURL, got, want)
		}
		switch {
		case c.Method == "GET" && gotBody != nil:
			t.Errorf("a GET postback with a body %q", gotBody)
		case c.ContentType == postback.ContentJSON:
			if json.Valid([]byte(plain(c.Body))) && !json.Valid(gotBody) {
				t.Errorf("rendered JSON body %q is not valid JSON", gotBody)
			}
		case c.Method == "POST":
			if got, want := paramCount(string(gotBody)), paramCount(plain(c.Body)); got != want {
				t.Errorf("rendered form body %q has %d parameters, the template %d", gotBody, got, want)
			}
		}
	})
}

// paramCount is how many parameters a query or form body separates (a
// value that added one would have brought its own '&').
func paramCount(q string) int { return strings.Count(q, "&") }
