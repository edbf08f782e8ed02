package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// sink is a partner's postback endpoint: it records each request and
// answers with the status of its path's queue (200 when empty).
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []string // path?query of each request
	status map[string][]int
}

func newSink(t *testing.T) *sink {
	s := &sink{status: map[string][]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.got = append(s.got, r.URL.RequestURI())
		if q := s.status[r.URL.Path]; len(q) > 0 {
			s.status[r.URL.Path] = q[1:]
			w.WriteHeader(q[0])
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// waitRequests waits until the sink has n requests.
func (s *sink) waitRequests(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.requests()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("sink got %d requests, want %d: %q", len(got), n, got)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPostbacksEndToEnd: a partner with install and in-app templates, a
// click, a launch, events; the postbacks reach the partner with their
// macros filled, a 5xx is retried when the app's clock has moved 15
// minutes, and the deliveries API shows every attempt.
func TestPostbacksEndToEnd(t *testing.T) {
	a := startSDKApp(t, func(s *httpapi.Server) { s.AllowPrivatePostbackHosts = true })
	sk := newSink(t)
	sk.status["/event"] = []int{503}
	templates := []map[string]any{
		{"kind": "install_postback", "url": sk.URL + "/install?clickid=(clickid)&gaid=(advertiserId)&ts=(install-unix-ts)&mt=(match-type)&c=(campaign)"},
		{"kind": "event_postback", "send_revenue": true, "url": sk.URL + "/event?e=(event-name)&m=(monetary)&cur=(currency)&v=(event-value)"},
	}
	var p touchpoint.Partner
	a.mustAPI(t, 200, "PATCH", "/api/v1/apps/"+appID+"/partners/net_a", map[string]any{"postbacks": templates,
		"send_all_installs": false}, &p)
	if len(p.Templates) != 2 || p.Retries != touchpoint.DefaultPostbackRetries || p.InAppWindow != 0 {
		t.Fatalf("partner %+v", p.Postbacks)
	}
	// net_b sends all installs but has no template: nothing for it.
	a.mustAPI(t, 200, "PATCH", "/api/v1/apps/"+appID+"/partners/net_b", map[string]any{"send_all_installs": true}, nil)

	gaid := "38400000-8cf0-11bd-b23e-10b96e40000d"
	a.click(t, "pid=net_a&c=spring+sale&clickid=k-1&advertising_id="+gaid)
	a.advance(t, "2h")
	l := a.launch(t, map[string]any{"advertising_id": gaid, "launch_id": "l-1"})
	got := sk.waitRequests(t, 1)
	installTS := T0.Add(2 * time.Hour).Unix()
	if want := fmt.Sprintf("/install?clickid=k-1&gaid=%s&ts=%d&mt=uid&c=spring+sale", gaid, installTS); got[0] != want {
		t.Errorf("install postback %s\nwant %s", got[0], want)
	}
	// A retried launch sends nothing again.
	a.launch(t, map[string]any{"advertising_id": gaid, "launch_id": "l-1"})

	var er httpapi.EventResponse
	if code := a.sdk(t, "/events", map[string]any{"device_id": l.DeviceID, "event_id": "e-1", "event_name": "af_purchase",
		"event_value": map[string]any{"sku": "gem"}, "revenue": "4.99", "currency": "USD"}, &er); code != 200 {
		t.Fatalf("event = %d", code)
	}
	got = sk.waitRequests(t, 2) // the first try, answered 503
	// The retry is due 15 minutes later on the app's clock.
	time.Sleep(100 * time.Millisecond)
	if n := len(sk.requests()); n != 2 {
		t.Fatalf("%d requests before the retry was due", n)
	}
	// The retry waits: the partner's backlog is one.
	if _, metrics := a.get(t, "/metrics"); !strings.Contains(metrics, `touchpoint_delivery_backlog{app="com.example.game",pid="net_a"} 1`) {
		t.Errorf("metrics lack the backlog")
	}
	a.advance(t, "15m")
	got = sk.waitRequests(t, 3)
	want := "/event?e=af_purchase&m=4.99&cur=USD&v=%7B%22sku%22%3A%22gem%22%7D"
	if got[1] != want || got[2] != want {
		t.Errorf("in-app postbacks %q, want %s twice", got[1:], want)
	}

	// The deliveries API: the event postback with its two attempts.
	var page httpapi.DeliveryPage
	a.mustAPI(t, 200, "GET", "/api/v1/deliveries?app_id="+appID+"&kind=event_postback", nil, &page)
	if len(page.Deliveries) != 1 {
		t.Fatalf("deliveries %+v", page.Deliveries)
	}
	var d touchpoint.Delivery
	waitState := func(id int64, state touchpoint.DeliveryState) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			a.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries/%d", id), nil, &d)
			if d.State == state || time.Now().After(deadline) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitState(page.Deliveries[0].ID, touchpoint.DeliverySucceeded)
	if d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 2 || d.Attempts[0].Status != 503 || d.Attempts[1].Status != 200 ||
		!strings.HasPrefix(d.Source, "conversion/") || d.PID != "net_a" {
		t.Errorf("delivery %+v", d)
	}
	var h touchpoint.DeliveryHealth
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/partners/net_a/postback-health", nil, &h)
	if h.Attempts != 3 || h.Succeeded != 2 || h.Backlog != 0 || h.P99Ms <= 0 {
		t.Errorf("health %+v", h)
	}
	// A succeeded delivery cannot be retried; an unknown one is not found.
	a.mustAPI(t, 409, "POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", d.ID), nil, nil)
	a.mustAPI(t, 404, "GET", "/api/v1/deliveries/999999", nil, nil)
	a.mustAPI(t, 400, "GET", "/api/v1/deliveries?state=lost", nil, nil)

	// Metrics count the attempts.
	_, metrics := a.get(t, "/metrics")
	if !strings.Contains(metrics, `touchpoint_delivery_attempts_total{app="com.example.game",kind="event_postback",pid="net_a",state="pending"} 1`) ||
		!strings.Contains(metrics, `touchpoint_delivery_attempts_total{app="com.example.game",kind="event_postback",pid="net_a",state="succeeded"} 1`) {
		t.Errorf("metrics lack the attempts")
	}
}

// TestPostbackTemplatesRefused: bad templates are refused when saved, with
// a message that says what to fix, and change nothing.
func TestPostbackTemplatesRefused(t *testing.T) {
	a := startSDKApp(t) // private hosts not allowed
	for _, tc := range []struct {
		tpl  map[string]any
		want string
	}{
		{map[string]any{"kind": "install_postback", "url": "https://pb.example.net/?x=(clickId)"}, "unknown macro (clickId); known macros:"},
		{map[string]any{"kind": "install_postback", "url": "ftp://pb.example.net/"}, "scheme must be http or https"},
		{map[string]any{"kind": "install_postback", "url": "not a url"}, "scheme must be http or https"},
		{map[string]any{"kind": "install_postback", "url": "http://127.0.0.1:9/pb"}, "127.0.0.1 is a loopback address"},
		{map[string]any{"kind": "install_postback", "url": "http://localhost/pb"}, "localhost is a name of this machine"},
		{map[string]any{"kind": "install", "url": "https://pb.example.net/"}, `kind "install"`},
	} {
		var e httpapi.ErrorResponse
		code := a.api(t, "PATCH", "/api/v1/apps/"+appID+"/partners/net_a", map[string]any{"postbacks": []any{tc.tpl}}, &e)
		if code != 400 || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%v: %d %q, want 400 with %q", tc.tpl, code, e.Error, tc.want)
		}
	}
	var p touchpoint.Partner
	a.mustAPI(t, 200, "GET", "/api/v1/apps/"+appID+"/partners/net_a", nil, &p)
	if len(p.Templates) != 0 {
		t.Errorf("a refused template was saved: %+v", p.Templates)
	}
	// A public host is fine.
	a.mustAPI(t, 200, "PATCH", "/api/v1/apps/"+appID+"/partners/net_a", map[string]any{"postbacks": []any{
		map[string]any{"kind": "install_postback", "url": "https://pb.example.net/i?c=(clickid)"}}}, nil)
}

// TestPostbackCurrency: (monetary) is in USD at the rate of the event's
// day; with no rate, the original value and currency go, and the delivery
// says why.
func TestPostbackCurrency(t *testing.T) {
	a := startSDKApp(t, func(s *httpapi.Server) { s.AllowPrivatePostbackHosts = true })
	sk := newSink(t)
	a.mustAPI(t, 200, "PATCH", "/api/v1/apps/"+appID+"/partners/net_a", map[string]any{"postbacks": []any{
		map[string]any{"kind": "event_postback", "send_revenue": true, "url": sk.URL + "/e?m=(monetary)&o=(orig-monetary)&c=(currency)"}}}, nil)
	var rates touchpoint.ExchangeRates
	a.mustAPI(t, 200, "PUT", "/api/v1/exchange-rates/2026-11-02", map[string]any{"rates": map[string]any{"EUR": 1.1}}, &rates)
	a.mustAPI(t, 200, "GET", "/api/v1/exchange-rates/2026-11-02", nil, &rates)
	if rates.Rates["EUR"] != 1.1 {
		t.Fatalf("rates %+v", rates)
	}
	a.mustAPI(t, 400, "PUT", "/api/v1/exchange-rates/2026-11-02", map[string]any{"rates": map[string]any{"EUR": -1}}, nil)
	a.mustAPI(t, 400, "PUT", "/api/v1/exchange-rates/yesterday", map[string]any{"rates": map[string]any{"EUR": 1}}, nil)
	a.mustAPI(t, 404, "GET", "/api/v1/exchange-rates/2026-11-03", nil, nil)

	gaid := "38400000-8cf0-11bd-b23e-10b96e40000e"
	a.click(t, "pid=net_a&advertising_id="+gaid)
	a.advance(t, "1h")
	l := a.launch(t, map[string]any{"advertising_id": gaid})
	for i, ev := range []map[string]any{{"revenue": "10", "currency": "EUR"}, {"revenue": "5.5", "currency": "GBP"}} {
		ev["device_id"], ev["event_name"], ev["event_id"] = l.DeviceID, "af_purchase", fmt.Sprint("e", i)
		if code := a.sdk(t, "/events", ev, nil); code != 200 {
			t.Fatalf("event %v = %d", ev, code)
		}
	}
	got := sk.waitRequests(t, 2)
	slices.Sort(got) // sent concurrently
	if got[0] != "/e?m=11&o=10&c=USD" || got[1] != "/e?m=5.5&o=5.5&c=GBP" {
		t.Errorf("postbacks %q", got)
	}
	var page httpapi.DeliveryPage
	a.mustAPI(t, 200, "GET", "/api/v1/deliveries?app_id="+appID, nil, &page)
	if len(page.Deliveries) != 2 || page.Deliveries[1].Note != "" ||
		page.Deliveries[0].Note != "no USD exchange rate for GBP on 2026-11-02: (monetary) carries the value in GBP" {
		t.Errorf("notes %q / %q", page.Deliveries[0].Note, page.Deliveries[1].Note)
	}
}
