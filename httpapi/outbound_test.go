package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// urlField is one kind of outbound URL the admin API saves: save sends a
// request that saves url and returns the status, the error and a check
// that nothing was stored.
type urlField struct {
	name   string
	field  string // how the error names the field
	save   func(t *testing.T, url string) (int, httpapi.ErrorResponse)
	stored func(t *testing.T) string // what is stored now
}

// outboundFields returns every kind of outbound URL field of a server
// set up with an app, a partner, a project and a destination of each
// kind.
func outboundFields(t *testing.T, s *testServer) []urlField {
	t.Helper()
	s.setup(t)
	var p touchpoint.Project
	s.mustAPI(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "P"}, &p)
	ds := fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID)
	events := map[string]any{"name": "AF", "appsflyer_app_id": "com.example.game", "key": "dev"}
	cohort := map[string]any{"kind": "appsflyer-cohort", "name": "AF audiences", "appsflyer_app_id": "com.example.game",
		"api_token": "token", "platform": "android", "identifier": "gaid"}
	var ev, co touchpoint.Destination
	s.mustAPI(t, 201, "POST", ds, events, &ev)
	s.mustAPI(t, 201, "POST", ds, cohort, &co)
	with := func(body map[string]any, url string) map[string]any {
		out := map[string]any{"url": url}
		for k, v := range body {
			out[k] = v
		}
		return out
	}
	call := func(method, path string, body any) (int, httpapi.ErrorResponse) {
		var e httpapi.ErrorResponse
		return s.api(t, method, path, body, &e), e
	}
	partners := "/api/v1/apps/com.example.game/partners"
	template := func(url string) []any { return []any{map[string]any{"kind": "install_postback", "url": url}} }
	pids := 0
	listPartners := func(t *testing.T) string {
		var list struct{ Partners []touchpoint.Partner }
		s.mustAPI(t, 200, "GET", partners, nil, &list)
		return fmt.Sprint(list.Partners)
	}
	destinations := func(t *testing.T) string {
		var list struct{ Destinations []touchpoint.Destination }
		s.mustAPI(t, 200, "GET", ds, nil, &list)
		out := []string{}
		for _, d := range list.Destinations {
			out = append(out, fmt.Sprintf("%d:%s", d.ID, d.URL))
		}
		return strings.Join(out, " ")
	}
	return []urlField{
		{"postback template, new partner", "postbacks[0]: url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			pids++
			return call("POST", partners, map[string]any{"pid": fmt.Sprintf("net_%d", pids), "postbacks": template(url)})
		}, listPartners},
		{"postback template, partner update", "postbacks[0]: url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			return call("PATCH", partners+"/examplenet_int", map[string]any{"postbacks": template(url)})
		}, listPartners},
		{"analytics forward", "url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			return call("PUT", "/api/v1/apps/com.example.game/analytics-forward", map[string]any{"api_key": "k", "url": url})
		}, func(t *testing.T) string {
			var f touchpoint.AnalyticsForward
			if s.api(t, "GET", "/api/v1/apps/com.example.game/analytics-forward", nil, &f) != 200 {
				return "no forward"
			}
			return f.URL
		}},
		{"event stream, new", "url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			return call("POST", ds, with(events, url))
		}, destinations},
		{"event stream, update", "url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			return call("PATCH", fmt.Sprintf("%s/%d", ds, ev.ID), map[string]any{"url": url})
		}, destinations},
		{"cohort destination, new", "url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			// One cohort destination per app: each its own app.
			pids++
			body := with(cohort, url)
			body["appsflyer_app_id"] = fmt.Sprintf("com.example.app%d", pids)
			return call("POST", ds, body)
		}, destinations},
		{"cohort destination, update", "url", func(t *testing.T, url string) (int, httpapi.ErrorResponse) {
			return call("PATCH", fmt.Sprintf("%s/%d", ds, co.ID), map[string]any{"url": url})
		}, destinations},
	}
}

// TestOutboundURLsRefused: every kind of outbound URL is refused when
// saved if it names a forbidden host, in any spelling, this server's own
// address included: 400 naming the field and the reason, and nothing
// stored. Public hosts, and a URL left to its default, are saved.
func TestOutboundURLsRefused(t *testing.T) {
	s := startServer(t)
	fields := outboundFields(t, s)
	for _, bad := range []struct{ url, want string }{
		{"http://127.0.0.1:9", "127.0.0.1 is a loopback address"},
		{s.URL(), "127.0.0.1 is a loopback address"}, // this server, named: not its default
		{"http://10.0.0.7", "10.0.0.7 is a private address (RFC 1918)"},
		{"http://[::1]:8080", "::1 is a loopback address"},
		{"http://[::ffff:169.254.169.254]", "IPv4-mapped address of 169.254.169.254, a link-local address"},
		{"http://localhost:8080", "localhost is a name of this machine"},
		{"http://metrics.localhost", "a name of this machine"},
		{"http://2130706433", "unusual spelling"},
		{"http://0x7f.0.0.1", "unusual spelling"},
		{"http://127。0。0。1", "non-ASCII"},
		{"http://user@pb.example.net", "user info"},
	} {
		for _, f := range fields {
			before := f.stored(t)
			code, e := f.save(t, bad.url)
			if code != 400 || e.Code != "invalid" || !strings.HasPrefix(e.Error, fmt.Sprintf("%s %q: ", f.field, bad.url)) ||
				!strings.Contains(e.Error, bad.want) {
				t.Errorf("%s, %s: %d %+v; want 400 naming %s and saying %q", f.name, bad.url, code, e, f.field, bad.want)
			}
			if strings.Contains(bad.want, "address") && !strings.Contains(e.Error, "--allow-private-postback-hosts") {
				t.Errorf("%s, %s: %q does not say how to allow it", f.name, bad.url, e.Error)
			}
			if after := f.stored(t); after != before {
				t.Errorf("%s, %s: stored %q, was %q", f.name, bad.url, after, before)
			}
		}
	}
	for _, good := range []string{"https://api3.appsflyer.com", "http://pb.example.net:8080", "https://[2606:4700:4700::1111]"} {
		for _, f := range fields {
			if code, e := f.save(t, good); code/100 != 2 {
				t.Errorf("%s, %s: %d %+v", f.name, good, code, e)
			}
		}
	}
	// Left to its default: this server.
	for _, f := range fields[2:] {
		if code, e := f.save(t, ""); code/100 != 2 {
			t.Errorf("%s, default: %d %+v", f.name, code, e)
		}
	}
}

// TestOutboundFlag: --allow-private-postback-hosts lets every kind of
// outbound URL name private and loopback hosts, this server included;
// ambiguous spellings stay refused.
func TestOutboundFlag(t *testing.T) {
	s := startServer(t, func(s *httpapi.Server) { s.AllowPrivatePostbackHosts = true })
	fields := outboundFields(t, s)
	for _, url := range []string{"http://127.0.0.1:9", s.URL(), "http://10.0.0.7", "http://[::1]:8080", "http://localhost:8080",
		"http://[fd00::1]", "http://169.254.169.254"} {
		for _, f := range fields {
			if code, e := f.save(t, url); code/100 != 2 {
				t.Errorf("%s, %s: %d %+v", f.name, url, code, e)
			}
		}
	}
	for _, url := range []string{"http://127.1", "http://0177.0.0.1", "http://１２７.0.0.1"} {
		for _, f := range fields {
			if code, e := f.save(t, url); code != 400 || !strings.HasPrefix(e.Error, fmt.Sprintf("%s %q: ", f.field, url)) {
				t.Errorf("%s, %s: %d %+v; want 400", f.name, url, code, e)
			}
		}
	}
}
