package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// The app of the partners, links and deliveries tests.
const (
	adsApp  = "com.example.ads"
	adsGAID = "38400000-8cf0-11bd-b23e-10b96e4000aa"
)

// partnerEnv is a server with the app adsApp, and a signed-in browser.
type partnerEnv struct {
	s      *server
	clk    *clock
	b      *browser
	devKey string
}

func startPartnerEnv(t *testing.T) *partnerEnv {
	t.Helper()
	s, clk := startServer(t)
	var app struct {
		DevKey string `json:"dev_key"`
	}
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": adsApp, "platform": "android", "name": "Ads Game"}, &app)
	return &partnerEnv{s: s, clk: clk, b: signIn(t, s), devKey: app.DevKey}
}

// partner reads a partner through the JSON API.
func (e *partnerEnv) partner(t *testing.T, pid string) touchpoint.Partner {
	t.Helper()
	var p touchpoint.Partner
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/partners/"+url.PathEscape(pid), nil, &p)
	return p
}

// installVia sends a click of pid with query, and an hour later the first
// launch of the device it names (adsGAID).
func (e *partnerEnv) installVia(t *testing.T, pid, query string) {
	t.Helper()
	if code, body := e.s.send(t, "GET", "/c/"+adsApp+"?pid="+pid+"&advertising_id="+adsGAID+"&"+query, nil, ""); code != http.StatusFound {
		t.Fatalf("click: %d %s", code, body)
	}
	e.clk.Add(time.Hour)
	b, _ := json.Marshal(map[string]any{"advertising_id": adsGAID})
	code, body := e.s.send(t, "POST", "/sdk/v1/apps/"+adsApp+"/launches", http.Header{"Authorization": {"Bearer " + e.devKey}}, string(b))
	if code != http.StatusOK || !strings.Contains(body, `"type":"install"`) {
		t.Fatalf("launch: %d %s", code, body)
	}
}

// partnerSink is a partner's postback endpoint: it records each request
// and answers with the status and body set.
type partnerSink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []string // path?query of each request
	status int
	body   string
}

func newPartnerSink(t *testing.T) *partnerSink {
	k := &partnerSink{status: 200}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.got = append(k.got, r.URL.RequestURI())
		w.WriteHeader(k.status)
		fmt.Fprint(w, k.body)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *partnerSink) answer(status int, body string) {
	k.mu.Lock()
	k.status, k.body = status, body
	k.mu.Unlock()
}

// wait waits until the sink has n requests and returns them.
func (k *partnerSink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		k.mu.Lock()
		got := append([]string(nil), k.got...)
		k.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("the sink got %d requests, want %d: %q", len(got), n, got)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// partnerRefused checks a refused form: the status, the error in words,
// and the page drawn again.
func partnerRefused(t *testing.T, p page, status int, words ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d:\n%s", p.URL, p.Status, status, p.Body)
	}
	if !strings.Contains(p.Body, `class="error" role="alert"`) {
		t.Errorf("%s: the refusal shows no error", p.URL)
	}
	p.mustContain(t, words...)
}

// samePartner compares partners but for their pid and times.
func samePartner(a, b touchpoint.Partner) bool {
	a.PID, b.PID = "", ""
	a.CreatedAt, b.CreatedAt, a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// partnerSettings is the edit form with every field, changed from the
// defaults.
func partnerSettings() url.Values {
	return url.Values{"click_signing": {"report-only"}, "click_lookback": {"10d"}, "view_through_lookback": {"12h"},
		"probabilistic_window": {"6h"}, "daily_click_cap": {"100"}, "in_app_postback_window": {"30d"},
		"postback_retries": {"2"}, "postback_retry_minutes": {"30"}, "restricted": {"on"}, "send_all_installs": {"on"},
		"allow_ip_ua": {"on"}}
}

func TestPartnerForms(t *testing.T) {
	e := startPartnerEnv(t)
	base := "/apps/" + adsApp + "/partners"

	// No partner yet: the page says what to do.
	e.b.mustGet(base, "has no partner yet", `action="`+base+`"`)

	// Created through the form, as the JSON API creates the same body.
	p := e.b.post(base, url.Values{"pid": {"net_form"}, "click_signing": {"report-only"}, "click_lookback": {"10d"},
		"view_through_lookback": {""}, "probabilistic_window": {""}, "daily_click_cap": {"50"}, "in_app_postback_window": {"lifetime"},
		"postback_retries": {"4"}, "postback_retry_minutes": {"15"}, "send_all_installs": {"on"}})
	if p.Status != http.StatusOK || p.URL != base+"/net_form" {
		t.Fatalf("create: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Partner net_form created")
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_json", "click_signing": "report-only",
		"click_lookback": "10d", "daily_click_cap": 50, "send_all_installs": true}, nil)
	form, api := e.partner(t, "net_form"), e.partner(t, "net_json")
	if !samePartner(form, api) {
		t.Errorf("the form made %+v\nthe JSON API %+v", form, api)
	}
	if form.ClickLookback != 10*touchpoint.Day || form.ViewThroughLookback != touchpoint.Day || form.Retries != 4 || form.RetryMinutes != 15 {
		t.Errorf("created %+v", form)
	}
	list := e.b.mustGet(base, `href="`+base+`/net_form"`, `href="`+base+`/net_json"`)
	if !regexp.MustCompile(`(?s)net_form</a></td>.*?report-only.*?<td>10d</td>\s*<td>1d</td>\s*<td class="num">50</td>\s*<td class="num">0</td>`).MatchString(list.Body) {
		t.Errorf("the list does not show net_form's settings:\n%s", list.Body)
	}

	// A create form with a bad window is refused with its values, and
	// creates nothing.
	p = e.b.post(base, url.Values{"pid": {"net_bad"}, "click_lookback": {"45d"}, "daily_click_cap": {"7"}})
	partnerRefused(t, p, http.StatusBadRequest, "click_lookback 45d is out of range", `value="net_bad"`, `value="45d"`, `value="7"`)
	e.s.api(t, 404, "GET", "/api/v1/apps/"+adsApp+"/partners/net_bad", nil, nil)
	p = e.b.post(base, url.Values{"pid": {"net_form"}})
	partnerRefused(t, p, http.StatusConflict, "net_form")

	// Edited: every setting, as PATCH would set it.
	p = e.b.post(base+"/net_form", partnerSettings())
	if p.Status != http.StatusOK || p.URL != base+"/net_form" {
		t.Fatalf("edit: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Partner net_form saved.", `value="10d"`, `value="12h"`, `value="6h"`, `value="30d"`, `value="100"`)
	e.s.api(t, 200, "PATCH", "/api/v1/apps/"+adsApp+"/partners/net_json", map[string]any{"click_signing": "report-only",
		"click_lookback": "10d", "view_through_lookback": "12h", "probabilistic_window": "6h", "daily_click_cap": 100,
		"in_app_postback_window": "30d", "postback_retries": 2, "postback_retry_minutes": 30, "restricted": true,
		"send_all_installs": true, "allow_ip_ua": true}, nil)
	form, api = e.partner(t, "net_form"), e.partner(t, "net_json")
	if !samePartner(form, api) || form.ViewThroughLookback != 12*touchpoint.Hour || !form.Restricted || form.InAppWindow != touchpoint.PostbackWindow(30*touchpoint.Day) {
		t.Errorf("the form set %+v\nPATCH %+v", form, api)
	}
	// An unticked box is false.
	f := partnerSettings()
	f.Del("restricted")
	e.b.post(base+"/net_form", f)
	if e.partner(t, "net_form").Restricted {
		t.Error("restricted stayed on once unticked")
	}

	// A bad window is refused with the values sent, and changes nothing.
	before := e.partner(t, "net_form")
	f = partnerSettings()
	f.Set("click_lookback", "31d")
	f.Set("daily_click_cap", "5")
	p = e.b.post(base+"/net_form", f)
	partnerRefused(t, p, http.StatusBadRequest, "click_lookback 31d is out of range: it must be between 1d and 30d", `value="31d"`, `value="5"`)
	f.Set("click_lookback", "ten days")
	partnerRefused(t, e.b.post(base+"/net_form", f), http.StatusBadRequest, `window &#34;ten days&#34;: want a whole number of hours or days`)
	f.Set("click_lookback", "10d")
	f.Set("daily_click_cap", "-1")
	partnerRefused(t, e.b.post(base+"/net_form", f), http.StatusBadRequest, "daily_click_cap -1")
	// Signing cannot be enabled before a secret exists.
	f = partnerSettings()
	f.Set("click_signing", "enabled")
	partnerRefused(t, e.b.post(base+"/net_form", f), http.StatusConflict, "no active secret")
	if after := e.partner(t, "net_form"); !reflect.DeepEqual(before, after) {
		t.Errorf("refused forms changed the partner:\n%+v\n%+v", before, after)
	}

	// Deleted.
	p = e.b.post(base+"/net_form/delete", url.Values{})
	if p.Status != http.StatusOK || p.URL != base {
		t.Fatalf("delete: %d at %s", p.Status, p.URL)
	}
	p.mustContain(t, "Partner net_form deleted")
	e.s.api(t, 404, "GET", "/api/v1/apps/"+adsApp+"/partners/net_form", nil, nil)
	if p := e.b.get(base + "/net_form"); p.Status != http.StatusNotFound {
		t.Errorf("a deleted partner's page: %d", p.Status)
	}
	// The page carries its confirmation.
	e.b.mustGet(base+"/net_json", `action="`+base+`/net_json/delete" data-confirm=`)
}

var secretShown = regexp.MustCompile(`data-copy-label="the secret">([^<]+)</code>`)

func TestPartnerSecrets(t *testing.T) {
	e := startPartnerEnv(t)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a"}, nil)
	path := "/apps/" + adsApp + "/partners/net_a"
	e.b.mustGet(path, "No secret yet")

	// The answer to the POST shows the secret, once.
	p := e.b.post(path+"/secrets", url.Values{"ttl-hours": {"48"}})
	if p.Status != http.StatusOK {
		t.Fatalf("create secret: %d:\n%s", p.Status, p.Body)
	}
	m := secretShown.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the new secret is not shown:\n%s", p.Body)
	}
	secret := m[1]
	var list struct {
		Secrets []struct {
			ID        string     `json:"id"`
			Secret    string     `json:"secret"`
			ExpiresAt time.Time  `json:"expires_at"`
			RevokedAt *time.Time `json:"revoked_at"`
			Active    bool       `json:"active"`
		} `json:"secrets"`
	}
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets", nil, &list)
	if len(list.Secrets) != 1 || !list.Secrets[0].Active || !list.Secrets[0].ExpiresAt.Equal(epoch.Add(48*time.Hour)) {
		t.Fatalf("secrets %+v", list.Secrets)
	}
	id := list.Secrets[0].ID
	p.mustContain(t, "Secret "+id+" created", "<code>"+id+"</code>", "2026-03-12 12:00:00 UTC")
	// It is the key that signs: a link signed with it passes.
	signed, err := link.SignURL(e.s.URL()+"/c/"+adsApp+"?pid=net_a&clickid=k-1", secret, epoch.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Result, Reason string }
	e.s.api(t, 200, "POST", "/api/v1/links/test", map[string]any{"url": signed}, &res)
	if res.Result != "passed" {
		t.Errorf("a link signed with the shown secret: %+v", res)
	}

	// Never shown again: the page lists its id only.
	p = e.b.mustGet(path, "<code>"+id+"</code>", "active")
	if strings.Contains(p.Body, secret) {
		t.Fatal("the secret is shown again")
	}

	// A bad lifetime is refused in words and makes nothing.
	partnerRefused(t, e.b.post(path+"/secrets", url.Values{"ttl-hours": {"0"}}), http.StatusBadRequest, "ttl-hours must be a whole number from 1 to 1440", `value="0"`)
	partnerRefused(t, e.b.post(path+"/secrets", url.Values{"ttl-hours": {"a day"}}), http.StatusBadRequest, "is not a whole number of hours")
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets", nil, &list)
	if len(list.Secrets) != 1 {
		t.Fatalf("refused secrets were made: %+v", list.Secrets)
	}

	// Revoked through its form, which asks first.
	revoke := path + "/secrets/" + id + "/revoke"
	p.mustContain(t, `action="`+revoke+`" data-confirm="Revoke secret `+id)
	p = e.b.post(revoke, url.Values{})
	if p.Status != http.StatusOK || p.URL != path {
		t.Fatalf("revoke: %d at %s", p.Status, p.URL)
	}
	p.mustContain(t, "Secret "+id+" revoked", "revoked 2026-03-10 12:00:00 UTC")
	if strings.Contains(p.Body, `action="`+revoke+`"`) {
		t.Error("a revoked secret can be revoked again")
	}
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets", nil, &list)
	if len(list.Secrets) != 1 || list.Secrets[0].Active || list.Secrets[0].RevokedAt == nil {
		t.Fatalf("after revoke: %+v", list.Secrets)
	}
	if p := e.b.post(path+"/secrets/nope/revoke", url.Values{}); p.Status != http.StatusNotFound {
		t.Errorf("revoking an unknown secret: %d", p.Status)
	}
}

// previewOf returns the preview of the n-th postback (from 1) of a
// partner's page, as text.
func previewOf(t *testing.T, p page, n int) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<legend>Postback ` + fmt.Sprint(n) + `</legend>.*?<strong>Preview</strong>[^<]*</p>\s*<pre class="copyable">([^<]*)</pre>`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("postback %d has no preview:\n%s", n, p.Body)
	}
	return html.UnescapeString(m[1])
}

func TestPartnerPostbacks(t *testing.T) {
	e := startPartnerEnv(t)
	sk := newPartnerSink(t)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a"}, nil)
	path := "/apps/" + adsApp + "/partners/net_a"

	// No install yet: no preview, and how to make one.
	p := e.b.mustGet(path, "No install yet", "/c/"+adsApp+"?pid=net_a&amp;clickid=test-1", "/sdk/v1/apps/"+adsApp+"/launches")

	// Added through the empty row.
	install := sk.URL + "/install?click=(clickid)&gaid=(advertiserId)&c=(campaign)&pid=(pid)&ts=(install-unix-ts)"
	p = e.b.post(path+"/postbacks", url.Values{"rows": {"1"}, "pb0_new": {"1"}, "pb0_kind": {"install_postback"},
		"pb0_method": {"GET"}, "pb0_url": {install}})
	if p.Status != http.StatusOK || p.URL != path {
		t.Fatalf("add: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Postbacks of net_a saved.", "<legend>Postback 1</legend>", "<legend>Add a postback</legend>")
	if got := e.partner(t, "net_a").Templates; len(got) != 1 || got[0].URL != install || got[0].Kind != touchpoint.KindInstallPostback {
		t.Fatalf("templates %+v", got)
	}

	// A second, for events; the empty new row is left out.
	event := sk.URL + "/event?e=(event-name)&click=(clickid)"
	p = e.b.post(path+"/postbacks", url.Values{"rows": {"3"},
		"pb0_kind": {"install_postback"}, "pb0_method": {"GET"}, "pb0_url": {install},
		"pb1_kind": {"event_postback"}, "pb1_method": {"GET"}, "pb1_url": {event}, "pb1_send_revenue": {"on"},
		"pb2_new": {"1"}, "pb2_kind": {"install_postback"}, "pb2_method": {"GET"}})
	p.mustContain(t, "Postbacks of net_a saved.")
	tpls := e.partner(t, "net_a").Templates
	if len(tpls) != 2 || tpls[1].URL != event || !tpls[1].SendRevenue {
		t.Fatalf("templates %+v", tpls)
	}

	// A bad template is refused with the rows sent, numbered as shown,
	// and changes nothing.
	p = e.b.post(path+"/postbacks", url.Values{"rows": {"3"},
		"pb0_kind": {"install_postback"}, "pb0_method": {"GET"}, "pb0_url": {install}, "pb0_remove": {"on"},
		"pb1_kind": {"event_postback"}, "pb1_method": {"GET"}, "pb1_url": {event},
		"pb2_new": {"1"}, "pb2_kind": {"event_postback"}, "pb2_event_name": {"af_purchase"}, "pb2_method": {"GET"},
		"pb2_url": {sk.URL + "/p?x=(clickId)"}})
	partnerRefused(t, p, http.StatusBadRequest, "Postback 2: unknown macro (clickId); known macros:", `value="af_purchase"`,
		`value="`+html.EscapeString(sk.URL+"/p?x=(clickId)")+`"`)
	if got := e.partner(t, "net_a").Templates; !reflect.DeepEqual(got, tpls) {
		t.Fatalf("a refused form changed the templates: %+v", got)
	}

	// A real install: the preview is the request the outbox sends.
	e.installVia(t, "net_a", "c=spring+sale&clickid=k-1")
	got := sk.wait(t, 1)
	p = e.b.mustGet(path, "Previews below fill the macros from the app's latest install")
	if preview := previewOf(t, p, 1); preview != sk.URL+got[0] {
		t.Errorf("the preview %s\nthe postback sent %s", preview, sk.URL+got[0])
	}
	want := fmt.Sprintf("/install?click=k-1&gaid=%s&c=spring+sale&pid=net_a&ts=%d", adsGAID, epoch.Add(time.Hour).Unix())
	if got[0] != want {
		t.Errorf("postback %s, want %s", got[0], want)
	}
	// The event postback's preview has its event macros empty.
	if preview := previewOf(t, p, 2); preview != sk.URL+"/event?e=&click=k-1" {
		t.Errorf("the event postback's preview %s", preview)
	}

	// Removed.
	p = e.b.post(path+"/postbacks", url.Values{"rows": {"3"},
		"pb0_kind": {"install_postback"}, "pb0_method": {"GET"}, "pb0_url": {install}, "pb0_remove": {"on"},
		"pb1_kind": {"event_postback"}, "pb1_method": {"GET"}, "pb1_url": {event},
		"pb2_new": {"1"}, "pb2_kind": {"install_postback"}, "pb2_method": {"GET"}})
	p.mustContain(t, "Postbacks of net_a saved.")
	if got := e.partner(t, "net_a").Templates; len(got) != 1 || got[0].Kind != touchpoint.KindEventPostback {
		t.Fatalf("after removing: %+v", got)
	}
}
