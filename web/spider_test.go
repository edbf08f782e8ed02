package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/touchpointhq/touchpoint"
)

// The spider: every page the dashboard links to, reached from "/" by a
// signed-in browser on a server with something on every screen, must be a
// well-formed page (HTML, the Content-Security-Policy and nothing it would
// block, every control labelled, one heading), and must stay one when its
// query holds junk; every form, posted empty, must be refused in words and
// change nothing; and every form, as its page fills it with one field
// spoilt, must be refused in words or taken, never answered 5xx.

const (
	spiderApp  = "com.example.spider"
	spiderPID  = "spidernet_int"
	spiderGAID = "38400000-8cf0-11bd-b23e-10b96e4000ee"
)

// spiderSink answers 200 to everything and counts what it was sent: the
// partner's postbacks and the event stream.
type spiderSink struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newSpiderSink(t *testing.T) *spiderSink {
	k := &spiderSink{}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		k.mu.Lock()
		k.n++
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"OK"`)
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *spiderSink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

// spiderWorld is what seedSpider made.
type spiderWorld struct {
	project touchpoint.Project
	cohort  int64
	// lists are the JSON API listings that a form posted empty must not
	// change.
	lists []string
}

// seedSpider gives every screen content, through the JSON API and real
// traffic: an app with two partners (one with postbacks and a secret), an
// analytics forward to a project linked to the app, a click and an
// install, a purchase, events of four users, a computed cohort, an event
// stream and an Audiences destination, a sync that ran, a day of rates.
func seedSpider(t *testing.T, s *server, clk *clock) *spiderWorld {
	t.Helper()
	sink := newSpiderSink(t)
	w := &spiderWorld{}
	var app touchpoint.App
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": spiderApp, "platform": "android", "name": "Spider"}, &app)
	s.api(t, 201, "POST", "/api/v1/apps/"+spiderApp+"/partners", map[string]any{"pid": spiderPID, "postback_retries": 0,
		"postbacks": []any{
			map[string]any{"kind": "install_postback", "url": sink.URL + "/install?click=(clickid)&gaid=(advertiserId)"},
			map[string]any{"kind": "event_postback", "url": sink.URL + "/event?e=(event-name)&click=(clickid)", "send_revenue": true},
		}}, nil)
	s.api(t, 201, "POST", "/api/v1/apps/"+spiderApp+"/partners", map[string]any{"pid": "quietnet_int"}, nil)
	s.api(t, 201, "POST", "/api/v1/apps/"+spiderApp+"/partners/"+spiderPID+"/secrets?ttl-hours=48", nil, nil)
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Spider analytics", "apps": []string{spiderApp}}, &w.project)
	s.api(t, 200, "PUT", "/api/v1/apps/"+spiderApp+"/analytics-forward", map[string]any{"api_key": w.project.APIKey,
		"mode": "attribution-api", "style": "appsflyer"}, nil)
	api := fmt.Sprintf("/api/v1/projects/%d", w.project.ID)
	var stream touchpoint.Destination
	s.api(t, 201, "POST", api+"/destinations", map[string]any{"kind": "appsflyer-events", "name": "AF events",
		"appsflyer_app_id": spiderApp, "key": "devkey-0123456789abcdef", "url": sink.URL,
		"filter": map[string]any{"event_types": []string{"purchase"}}}, &stream)
	s.api(t, 200, "PUT", "/api/v1/exchange-rates/2026-03-10", map[string]any{"rates": map[string]float64{"EUR": 1.08}}, nil)
	// A test-mode app and project, whose settings have test clocks.
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.spidertest", "platform": "android", "name": "Spider (test)",
		"test_mode": true}, nil)
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Spider rehearsal", "test_mode": true}, nil)

	// A click through the partner's link, the install it wins, a purchase
	// with revenue, and an organic install.
	if code, body := s.send(t, "GET", "/c/"+spiderApp+"?pid="+spiderPID+"&c=launch&af_adset=set1&af_ad=ad1&clickid=k-1&advertising_id="+
		spiderGAID+"&af_cost_model=CPI&af_cost_value=0.5&af_cost_currency=USD", nil, ""); code != http.StatusFound {
		t.Fatalf("click: %d %s", code, body)
	}
	clk.Add(time.Minute)
	sdk := func(path string, body map[string]any) string {
		t.Helper()
		b, _ := json.Marshal(body)
		code, answer := s.send(t, "POST", "/sdk/v1/apps/"+spiderApp+path, http.Header{"Authorization": {"Bearer " + app.DevKey}}, string(b))
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, code, answer)
		}
		return answer
	}
	var launch struct {
		DeviceID string `json:"device_id"`
	}
	json.Unmarshal([]byte(sdk("/launches", map[string]any{"advertising_id": spiderGAID})), &launch)
	sdk("/events", map[string]any{"device_id": launch.DeviceID, "event_name": "af_purchase", "revenue": "9.99", "currency": "USD"})
	sdk("/launches", map[string]any{"advertising_id": "aaaaaaaa-0000-0000-0000-0000000000ee"})

	// Four users' events, two of whom bought.
	var events []map[string]any
	for i := 1; i <= 4; i++ {
		at := epoch.Add(-time.Duration(i) * 24 * time.Hour).UnixMilli()
		user := fmt.Sprintf("user-%d", i)
		events = append(events, map[string]any{"user_id": user, "device_id": fmt.Sprintf("device-%d", i), "event_type": "session_start",
			"platform": "Android", "country": "France", "adid": fmt.Sprintf("38400000-8cf0-11bd-b23e-10b96e4001%02d", i), "time": at,
			"user_properties": map[string]any{"$set": map[string]any{"tier": "gold", touchpoint.DefaultAppsFlyerIDProperty: "1764000000000-123456789012345678" + fmt.Sprint(i)}}})
		if i <= 2 {
			events = append(events, map[string]any{"user_id": user, "event_type": "purchase", "time": at + 60_000, "revenue": 4.99,
				"event_properties": map[string]any{"store": "google"}})
		}
	}
	body, _ := json.Marshal(map[string]any{"api_key": w.project.APIKey, "events": events})
	if code, answer := s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}}, string(body)); code != http.StatusOK {
		t.Fatalf("/2/httpapi: %d %s", code, answer)
	}

	// A cohort of the buyers, computed, and synced once to Audiences.
	var c touchpoint.Cohort
	s.api(t, 201, "POST", api+"/cohorts", map[string]any{"name": "Buyers", "definition": map[string]any{
		"event": map[string]any{"event_type": "purchase", "op": "at_least", "count": 1, "within_days": 30}}}, &c)
	w.cohort = c.ID
	s.api(t, 200, "POST", fmt.Sprintf("%s/cohorts/%d/compute", api, c.ID), nil, nil)
	var audiences touchpoint.Destination
	s.api(t, 201, "POST", api+"/destinations", map[string]any{"kind": "appsflyer-cohort", "name": "AF audiences",
		"appsflyer_app_id": spiderApp, "api_token": app.APIToken, "platform": "android", "identifier": "gaid"}, &audiences)
	var sy touchpoint.CohortSync
	s.api(t, 201, "POST", fmt.Sprintf("%s/cohorts/%d/syncs", api, c.ID), map[string]any{"destination_id": audiences.ID,
		"cadence": "daily", "batch_size": 100, "enabled": false}, &sy)
	s.api(t, 200, "POST", fmt.Sprintf("%s/cohorts/%d/syncs/%d/run", api, c.ID, sy.ID), nil, nil)

	// The postbacks (install, purchase), the analytics forward (two
	// installs) and the event stream (two purchases) are sent before the
	// pages are read, so that what the pages and listings show no longer
	// moves.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var app, project struct{ Deliveries []touchpoint.Delivery }
		s.api(t, 200, "GET", "/api/v1/deliveries?app_id="+spiderApp, nil, &app)
		s.api(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries?project_id=%d", w.project.ID), nil, &project)
		all := append(app.Deliveries, project.Deliveries...)
		sent := len(all) == 6 && !slices.ContainsFunc(all, func(d touchpoint.Delivery) bool { return d.State != touchpoint.DeliverySucceeded })
		if sent && sink.count() == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deliveries were not all sent: the sink got %d, deliveries %+v", sink.count(), all)
		}
		time.Sleep(10 * time.Millisecond)
	}

	w.lists = []string{"/api/v1/apps", "/api/v1/apps/" + spiderApp + "/partners",
		"/api/v1/apps/" + spiderApp + "/partners/" + spiderPID + "/secrets", "/api/v1/apps/" + spiderApp + "/analytics-forward",
		"/api/v1/projects", api + "/cohorts", api + "/destinations", fmt.Sprintf("%s/cohorts/%d/syncs", api, c.ID),
		"/api/v1/exchange-rates/2026-03-10", "/api/v1/deliveries?app_id=" + spiderApp,
		fmt.Sprintf("/api/v1/deliveries?project_id=%d", w.project.ID)}
	return w
}

// snapshot reads the world's listings.
func (w *spiderWorld) snapshot(t *testing.T, s *server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range w.lists {
		var raw json.RawMessage
		s.api(t, 200, "GET", p, nil, &raw)
		out[p] = string(raw)
	}
	return out
}

// spiderPage is what a page holds that the spider follows or checks.
type spiderPage struct {
	links []*url.URL
	// fragments are the parts of the page its script fetches
	// (data-fragment).
	fragments []*url.URL
	// getForms are the fields of each GET form, by its action's path;
	// postForms the POST forms.
	getForms  map[string][]string
	postForms []*spiderForm
}

// spiderForm is a POST form with the fields a browser would send as the
// page fills them (no submit button: the form's default action).
type spiderForm struct {
	action *url.URL
	fields url.Values
}

var (
	spiderTagRE     = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	spiderStyleRE   = regexp.MustCompile(`(?i)\sstyle\s*=`)
	spiderHandlerRE = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// checkSpiderPage checks a page's answer and reads what it links to.
// where names the request in failures. A fragment (a part of a page its
// script fetches) has no <h1> of its own. The page is read as a browser
// without scripts reads it: <noscript> holds markup, and its links count.
func checkSpiderPage(t *testing.T, where string, resp *http.Response, body string, fragment bool) *spiderPage {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q", where, ct)
		return &spiderPage{}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("%s: Content-Security-Policy %q", where, csp)
	}
	if strings.Contains(body, "Internal error") {
		t.Errorf("%s: the page says Internal error", where)
	}
	for _, tag := range spiderTagRE.FindAllString(body, -1) {
		if spiderStyleRE.MatchString(tag) {
			t.Errorf("%s: a style attribute, which the CSP blocks: %s", where, tag)
		}
		if spiderHandlerRE.MatchString(tag) {
			t.Errorf("%s: an inline event handler, which the CSP blocks: %s", where, tag)
		}
	}
	doc, err := html.ParseWithOptions(strings.NewReader(body), html.ParseOptionEnableScripting(false))
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return &spiderPage{}
	}
	base := resp.Request.URL
	page := &spiderPage{getForms: map[string][]string{}}
	labelFor := map[string]bool{}
	var controls []*html.Node
	h1 := 0
	var walk func(n *html.Node, form *html.Node, inLabel bool)
	walk = func(n *html.Node, form *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script:
				if attr(n, "src") == "" {
					t.Errorf("%s: an inline <script>, which the CSP blocks", where)
				}
			case atom.Style:
				t.Errorf("%s: an inline <style>, which the CSP blocks", where)
			case atom.H1:
				h1++
			case atom.Div, atom.Section:
				if f, ok := hasAttr(n, "data-fragment"); ok {
					if u, err := base.Parse(f); err == nil {
						page.fragments = append(page.fragments, u)
					} else {
						t.Errorf("%s: fragment %q: %v", where, f, err)
					}
				}
			case atom.A:
				if href, ok := hasAttr(n, "href"); ok {
					if u, err := base.Parse(href); err == nil {
						page.links = append(page.links, u)
					} else {
						t.Errorf("%s: link %q: %v", where, href, err)
					}
				}
			case atom.Label:
				if f := attr(n, "for"); f != "" {
					labelFor[f] = true
				}
				inLabel = true
			case atom.Form:
				form = n
				action, _ := base.Parse(attr(n, "action"))
				if action == nil {
					t.Errorf("%s: form action %q", where, attr(n, "action"))
				} else if strings.EqualFold(attr(n, "method"), "post") {
					page.postForms = append(page.postForms, &spiderForm{action: action, fields: url.Values{}})
				} else if _, ok := page.getForms[action.Path]; !ok {
					page.getForms[action.Path] = []string{}
				}
			case atom.Input, atom.Select, atom.Textarea:
				typ := strings.ToLower(attr(n, "type"))
				if n.DataAtom != atom.Input || !slices.Contains([]string{"hidden", "submit", "button", "reset", "image"}, typ) {
					if !inLabel && attr(n, "aria-label") == "" && attr(n, "aria-labelledby") == "" {
						controls = append(controls, n)
					}
				}
				name := attr(n, "name")
				switch {
				case form == nil || name == "":
				case !strings.EqualFold(attr(form, "method"), "post"):
					action, _ := base.Parse(attr(form, "action"))
					page.getForms[action.Path] = append(page.getForms[action.Path], name)
				case len(page.postForms) > 0:
					if v, ok := formValue(n); ok {
						page.postForms[len(page.postForms)-1].fields.Add(name, v)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, form, inLabel)
		}
	}
	walk(doc, nil, false)
	for _, c := range controls {
		if id := attr(c, "id"); id == "" || !labelFor[id] {
			t.Errorf("%s: <%s name=%q id=%q> has no label", where, c.Data, attr(c, "name"), id)
		}
	}
	want := 1
	if fragment {
		want = 0 // the page it is part of has the heading
	}
	if h1 != want {
		t.Errorf("%s: %d <h1>, want %d", where, h1, want)
	}
	return page
}

// formValue is what a browser sends of a control as the page fills it;
// false when it sends nothing (an unticked box, a button).
func formValue(n *html.Node) (string, bool) {
	switch n.DataAtom {
	case atom.Textarea:
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(c.Data)
		}
		return strings.TrimPrefix(b.String(), "\n"), true
	case atom.Select:
		first, chosen := "", ""
		found, selected := false, false
		var walk func(*html.Node)
		walk = func(o *html.Node) {
			for c := o.FirstChild; c != nil; c = c.NextSibling {
				if c.DataAtom == atom.Option {
					v, ok := hasAttr(c, "value")
					if !ok && c.FirstChild != nil {
						v = strings.TrimSpace(c.FirstChild.Data)
					}
					if !found {
						first, found = v, true
					}
					if _, ok := hasAttr(c, "selected"); ok && !selected {
						chosen, selected = v, true
					}
				}
				walk(c)
			}
		}
		walk(n)
		if selected {
			return chosen, true
		}
		return first, found
	}
	switch strings.ToLower(attr(n, "type")) {
	case "checkbox", "radio":
		if _, ok := hasAttr(n, "checked"); !ok {
			return "", false
		}
		v, ok := hasAttr(n, "value")
		if !ok {
			v = "on"
		}
		return v, true
	case "submit", "button", "reset", "image", "file":
		return "", false
	}
	return attr(n, "value"), true
}

func hasAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	v, _ := hasAttr(n, key)
	return v
}

// spiderGet opens a page with b's session, following redirects. dest is
// the Sec-Fetch-Dest a browser sends: "document" when it opens a page,
// "empty" when a page's script fetches a part of it; none for a client
// that is not a browser, which gets every page whole.
func spiderGet(t *testing.T, b *browser, path, dest string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	if dest != "" {
		req.Header.Set("Sec-Fetch-Dest", dest)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

// spiderSkip are the links the spider does not follow: signing out, and
// what is not a dashboard page (the API and SDK endpoints, the link
// handlers, the assets) that an empty state may point to.
func spiderSkip(u *url.URL) bool {
	for _, p := range []string{"/signout", "/api/", "/sdk/", "/c/", "/v/", "/2/", "/static/", "/attribution"} {
		if strings.HasPrefix(u.Path, p) {
			return true
		}
	}
	return false
}

// spiderEmptyPostSkip are the forms whose empty post is a legitimate
// action: it changes something by design.
var spiderEmptyPostSkip = regexp.MustCompile(`/(signout|retry|compute|run|delete|revoke|secrets)$`)

// spiderDocumented are query parameters that pages read but that no
// crawled link or form may carry (the timeline's cursors appear only
// past 50 events), by a pattern of their paths.
var spiderDocumented = map[string][]string{
	`/deliveries$`:       {"before", "state", "pid"},
	`/users/[0-9]+$`:     {"before", "after"},
	`/links$`:            {"pid", "kind", "base", "extra"},
	`/overview$`:         {"from", "to", "media_source", "campaign", "af_adset"},
	`/destinations/new$`: {"kind"},
}

// spiderJunk are the values each query parameter is set to.
var spiderJunk = []string{`'"<x>`, "-1", "99999999999999999999", "2026-13-45", strings.Repeat("<x>é", 2560)}

func TestSpider(t *testing.T) {
	s, clk := startServer(t)
	w := seedSpider(t, s, clk)
	b := signIn(t, s)
	host := func() string { u, _ := url.Parse(b.base); return u.Host }()

	// The crawl, as a browser without scripts that also fetches the parts
	// a page's script would: every same-origin link from "/", breadth
	// first.
	type visit struct {
		ref      string
		fragment bool
	}
	seen := map[visit]bool{{"/", false}: true}
	queue := []visit{{"/", false}}
	params := map[string]map[string]bool{} // by page path, the query parameters seen
	posts := map[string]string{}           // POST form actions, with the page they are on
	var forms []*spiderForm                // one of each action
	for len(queue) > 0 {
		if len(seen) > 400 {
			t.Fatalf("more than 400 pages: the dashboard links to an unbounded set of pages, e.g. %v", queue[:min(5, len(queue))])
		}
		at := queue[0]
		queue = queue[1:]
		dest := "document"
		if at.fragment {
			dest = "empty"
		}
		resp, body := spiderGet(t, b, at.ref, dest)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d (at %s)", at.ref, resp.StatusCode, resp.Request.URL)
			continue
		}
		page := checkSpiderPage(t, "GET "+at.ref, resp, body, at.fragment)
		final := resp.Request.URL
		if params[final.Path] == nil {
			params[final.Path] = map[string]bool{}
		}
		for p, fields := range page.getForms {
			if params[p] == nil {
				params[p] = map[string]bool{}
			}
			for _, f := range fields {
				params[p][f] = true
			}
		}
		for _, f := range page.postForms {
			if _, ok := posts[f.action.RequestURI()]; !ok {
				posts[f.action.RequestURI()] = final.RequestURI()
				forms = append(forms, f)
			}
		}
		for _, u := range page.links {
			if u.Host != host || spiderSkip(u) {
				continue
			}
			if params[u.Path] == nil {
				params[u.Path] = map[string]bool{}
			}
			for k := range u.Query() {
				params[u.Path][k] = true
			}
			u.Fragment = ""
			if v := (visit{u.RequestURI(), false}); !seen[v] {
				seen[v] = true
				queue = append(queue, v)
			}
		}
		for _, u := range page.fragments {
			if v := (visit{u.RequestURI(), true}); u.Host == host && !seen[v] {
				seen[v] = true
				queue = append(queue, v)
			}
		}
	}
	// The crawl reached every screen.
	proj := fmt.Sprintf("/projects/%d", w.project.ID)
	for _, want := range []string{"/apps/" + spiderApp + "/overview", "/apps/" + spiderApp + "/live", "/apps/" + spiderApp + "/explorer",
		"/apps/" + spiderApp + "/partners/" + spiderPID, "/apps/" + spiderApp + "/links", "/apps/" + spiderApp + "/deliveries",
		proj + "/charts/funnel", proj + "/users", proj + "/attributions/pending", fmt.Sprintf("%s/cohorts/%d", proj, w.cohort),
		proj + "/destinations", "/settings/apps/" + spiderApp, "/settings/rates", "/settings/apps/" + spiderApp + "/forward",
		"/settings/apps/com.example.spidertest", fmt.Sprintf("/settings/projects/%d", w.project.ID+1)} {
		if params[want] == nil {
			t.Errorf("the crawl did not reach %s", want)
		}
	}
	t.Logf("crawled %d pages, %d paths, %d forms", len(seen), len(params), len(posts))

	// Junk in every query parameter known to each page, alone and in
	// the queries the pages link to (a drill-down, a chart): refused in
	// words or ignored, never a 5xx, and never written back unescaped.
	for pattern, names := range spiderDocumented {
		for p := range params {
			if regexp.MustCompile(pattern).MatchString(p) {
				for _, n := range names {
					params[p][n] = true
				}
			}
		}
	}
	bases := map[string][]url.Values{} // by path, the queries to spoil
	for v := range seen {
		u, _ := url.Parse(v.ref)
		if len(bases[u.Path]) == 0 {
			bases[u.Path] = []url.Values{{}}
		}
		if u.RawQuery != "" && len(bases[u.Path]) < 4 {
			bases[u.Path] = append(bases[u.Path], u.Query())
		}
	}
	junked := 0
	for _, path := range slices.Sorted(maps.Keys(params)) {
		names := slices.Sorted(maps.Keys(params[path]))
		for _, q := range bases[path] {
			for _, name := range names {
				for _, junk := range spiderJunk {
					spoilt := maps.Clone(q)
					spoilt.Set(name, junk)
					where := fmt.Sprintf("GET %s?%s with %s=%.20q", path, q.Encode(), name, junk)
					resp, body := spiderGet(t, b, path+"?"+spoilt.Encode(), "")
					junked++
					checkJunkAnswer(t, where, resp, body)
				}
			}
		}
	}
	t.Logf("%d requests with junk", junked)

	// Every form posted empty but for its CSRF token: refused (or a no-op),
	// never a 5xx, and nothing made or changed.
	before := w.snapshot(t, s)
	spiderGet(t, b, "/settings", "") // the session's CSRF token
	actions := slices.Sorted(func(yield func(string) bool) {
		for a := range posts {
			if !yield(a) {
				return
			}
		}
	})
	posted := 0
	for _, action := range actions {
		u, _ := url.Parse(action)
		if spiderEmptyPostSkip.MatchString(u.Path) {
			continue
		}
		posted++
		resp, body := spiderPost(t, b, action, url.Values{"csrf": {b.csrf}})
		where := "POST " + action + " (from " + posts[action] + "), empty"
		if resp.StatusCode >= 500 {
			t.Errorf("%s: %d", where, resp.StatusCode)
		}
		checkSpiderPage(t, where, resp, body, false)
		after := w.snapshot(t, s)
		for _, l := range w.lists {
			if before[l] != after[l] {
				t.Errorf("%s: changed %s:\n%s\n%s", where, l, before[l], after[l])
			}
		}
		before = after
	}
	if posted < 10 {
		t.Errorf("only %d forms were posted empty", posted)
	}
	t.Logf("posted %d forms empty", posted)

	// Every form as its page fills it, one field at a time spoilt with
	// junk: refused in words or taken, never a 5xx, and never written back
	// unescaped. Last, since what is taken changes the world.
	spoilt := 0
	for _, f := range forms {
		if spiderSpoilSkip.MatchString(f.action.Path) {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(f.fields)) {
			if name == "csrf" {
				continue
			}
			for _, junk := range spiderJunk {
				fields := maps.Clone(f.fields)
				fields.Set(name, junk)
				fields.Set("csrf", b.csrf)
				resp, body := spiderPost(t, b, f.action.RequestURI(), fields)
				spoilt++
				where := fmt.Sprintf("POST %s (from %s) with %s=%.20q", f.action.RequestURI(), posts[f.action.RequestURI()], name, junk)
				checkJunkAnswer(t, where, resp, body)
			}
		}
	}
	t.Logf("posted %d spoilt forms", spoilt)
}

// checkJunkAnswer checks the answer to junk: no 5xx, the junk never
// written back unescaped, and a well-formed page, or part of one (what a
// page's script fetches, without the layout).
func checkJunkAnswer(t *testing.T, where string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %d", where, resp.StatusCode)
	}
	if strings.Contains(body, "<x>") {
		t.Errorf("%s: the page writes <x> unescaped", where)
	}
	checkSpiderPage(t, where, resp, body, !strings.HasPrefix(body, "<!doctype html>"))
}

// spiderSpoilSkip are the forms not posted with junk: signing out and
// deleting would end what the next forms work on.
var spiderSpoilSkip = regexp.MustCompile(`/(signout|delete)$`)

// spiderPost posts a form with b's session as a browser does, following
// the redirect of a form that was taken.
func spiderPost(t *testing.T, b *browser, path string, fields url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestSpiderSecretHours: a number of hours that overflows a duration into
// the allowed range (2⁵¹+36 hours wraps to 36 hours) is refused, by the
// form as by the API, and makes no secret.
func TestSpiderSecretHours(t *testing.T) {
	e := startPartnerEnv(t)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a"}, nil)
	path := "/apps/" + adsApp + "/partners/net_a"
	e.b.mustGet(path)
	for _, hours := range []string{"2251799813685284", "-2251799813685212"} {
		partnerRefused(t, e.b.post(path+"/secrets", url.Values{"ttl-hours": {hours}}), http.StatusBadRequest, "ttl-hours must be a whole number from 1 to 1440")
		e.s.api(t, 400, "POST", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets?ttl-hours="+hours, nil, nil)
	}
	var list struct{ Secrets []json.RawMessage }
	e.s.api(t, 200, "GET", "/api/v1/apps/"+adsApp+"/partners/net_a/secrets", nil, &list)
	if len(list.Secrets) != 0 {
		t.Errorf("refused lifetimes made secrets: %s", list.Secrets)
	}
}
