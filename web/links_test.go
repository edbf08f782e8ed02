package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/link"
)

var builtLink = regexp.MustCompile(`<pre class="copyable" id="built-link">([^<]*)</pre>`)

// linkOf returns the link a builder page shows, as text.
func linkOf(t *testing.T, p page) string {
	t.Helper()
	m := builtLink.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s shows no link:\n%s", p.URL, p.Body)
	}
	return html.UnescapeString(m[1])
}

func TestLinkBuilder(t *testing.T) {
	e := startPartnerEnv(t)
	path := "/apps/" + adsApp + "/links"

	// No partner: nothing to build, and where to add one.
	p := e.b.mustGet(path, "has no partner yet", `href="/apps/`+adsApp+`/partners"`)
	if builtLink.MatchString(p.Body) {
		t.Error("a link was built without a partner")
	}

	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a"}, nil)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_b"}, nil)

	// The first partner's bare link at once.
	p = e.b.mustGet(path)
	if got, want := linkOf(t, p), e.s.URL()+"/c/"+adsApp+"?pid=net_a"; got != want {
		t.Errorf("bare link %s, want %s", got, want)
	}

	// A network's placeholders stay intact, braces and all; other values
	// are escaped.
	q := url.Values{"pid": {"net_b"}, "kind": {"click"}, "c": {"spring sale"}, "af_c_id": {"{campaign_id}"},
		"clickid": {"{click_id}"}, "advertising_id": {"{advertising_id}"}, "af_sub1": {"a&b"},
		"af_cost_model": {"CPI"}, "af_cost_value": {"0.5"}, "af_dp": {"game://level/3"}, "extra": {"my_param={sub_id}\n"}}
	p = e.b.mustGet(path+"?"+q.Encode(), "clickid={click_id}", `value="{click_id}"`, `value="spring sale"`)
	want := e.s.URL() + "/c/" + adsApp + "?pid=net_b&c=spring+sale&af_c_id={campaign_id}&clickid={click_id}" +
		"&advertising_id={advertising_id}&af_sub1=a%26b&af_cost_model=CPI&af_cost_value=0.5&af_dp=game%3A%2F%2Flevel%2F3&my_param={sub_id}"
	built := linkOf(t, p)
	if built != want {
		t.Errorf("link %s\nwant %s", built, want)
	}
	// It is a link the server reads: filled in by a network, it is a click
	// of net_b with those values.
	filled := strings.NewReplacer("{campaign_id}", "cid-1", "{click_id}", "k-42", "{advertising_id}", adsGAID, "{sub_id}", "s").Replace(built)
	if code, body := e.s.send(t, "GET", strings.TrimPrefix(filled, e.s.URL()), nil, ""); code != http.StatusFound {
		t.Fatalf("the built link, filled in: %d %s", code, body)
	}
	var touches struct {
		Touches []struct {
			PID    string            `json:"pid"`
			Params map[string]string `json:"params"`
			Extra  []struct{ Key, Value string }
			Notes  []string `json:"notes"`
		} `json:"touches"`
	}
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/touches?device_id="+adsGAID, nil, &touches)
	if len(touches.Touches) != 1 {
		t.Fatalf("touches %+v", touches.Touches)
	}
	tc := touches.Touches[0]
	if tc.PID != "net_b" || tc.Params["clickid"] != "k-42" || tc.Params["c"] != "spring sale" || tc.Params["af_c_id"] != "cid-1" ||
		tc.Params["af_sub1"] != "a&b" || tc.Params["af_dp"] != "game://level/3" || tc.Params["af_cost_value"] != "0.5" ||
		len(tc.Extra) != 1 || tc.Extra[0].Key != "my_param" || tc.Extra[0].Value != "s" || len(tc.Notes) != 0 {
		t.Errorf("the click recorded: %+v", tc)
	}

	// An impression link.
	p = e.b.mustGet(path + "?pid=net_a&kind=impression")
	if got := linkOf(t, p); got != e.s.URL()+"/v/"+adsApp+"?pid=net_a" {
		t.Errorf("impression link %s", got)
	}
	// Bad input is said in words.
	partnerRefused(t, e.b.get(path+"?pid=net_a&kind=view"), http.StatusBadRequest, "kind &#34;view&#34;: want click or impression")
	partnerRefused(t, e.b.get(path+"?pid=net_a&extra=novalue"), http.StatusBadRequest, "other parameters: &#34;novalue&#34; is not key=value")
}

// testLink posts a link to the tester and returns the verdict shown.
func testLink(t *testing.T, e *partnerEnv, u string) page {
	t.Helper()
	e.b.get("/apps/" + adsApp + "/links")
	return e.b.post("/apps/"+adsApp+"/links/test", url.Values{"url": {u}})
}

func TestLinkTester(t *testing.T) {
	e := startPartnerEnv(t)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a"}, nil)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_b"}, nil)
	var sec struct {
		Secret string `json:"secret"`
	}
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets", nil, &sec)
	raw := e.s.URL() + "/c/" + adsApp + "?pid=net_a&clickid=k-1&c=spring"
	signed, err := link.SignURL(raw, sec.Secret, epoch.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	verdict := regexp.MustCompile(`<p class="(notice|error)" role="status" id="verdict">([^<]*)</p>`)
	for _, tc := range []struct {
		name, url, class, want string
	}{
		{"signed", signed, "notice", "Passed: the signature matches an active secret of net_a, and the link has not expired."},
		{"unsigned", raw, "error", "Failed (missing_signature): the link has no signature parameter."},
		{"tampered", strings.Replace(signed, "clickid=k-1", "clickid=k-2", 1), "error", "Failed (invalid_signature): the signature matches none of net_a"},
		{"no secret", strings.Replace(signed, "pid=net_a", "pid=net_b", 1), "error", "Failed (no_active_secrets): net_b has no active signing secret"},
	} {
		p := testLink(t, e, tc.url)
		if p.Status != http.StatusOK {
			t.Fatalf("%s: %d:\n%s", tc.name, p.Status, p.Body)
		}
		m := verdict.FindStringSubmatch(p.Body)
		if m == nil || m[1] != tc.class || !strings.HasPrefix(html.UnescapeString(m[2]), tc.want) {
			t.Errorf("%s: verdict %q, want %s %q", tc.name, m, tc.class, tc.want)
		}
		// The JSON API agrees.
		var res struct{ Result, Reason string }
		e.s.api(t, 200, "POST", "/api/v1/links/test", map[string]any{"url": tc.url}, &res)
		if (res.Result == "passed") != (tc.class == "notice") {
			t.Errorf("%s: the JSON API says %+v", tc.name, res)
		}
	}

	// Past its expires, the signed link fails.
	e.clk.Add(2 * time.Hour)
	testLink(t, e, signed).mustContain(t, "Failed (click_expired)")

	// What is not a link of this server is refused in words.
	partnerRefused(t, testLink(t, e, "https://example.com/landing?pid=net_a"), http.StatusBadRequest, "want a link of this server")
	partnerRefused(t, testLink(t, e, e.s.URL()+"/c/"+adsApp+"?c=x"), http.StatusBadRequest, "pid is required")
	partnerRefused(t, testLink(t, e, ""), http.StatusBadRequest, "paste a link to test")
}
