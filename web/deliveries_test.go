package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// waitDelivery waits until the app's only delivery is in state, through
// the JSON API, and returns it with its attempts.
func (e *partnerEnv) waitDelivery(t *testing.T, state touchpoint.DeliveryState) touchpoint.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct{ Deliveries []touchpoint.Delivery }
		e.s.api(t, 200, "GET", "/api/v1/deliveries?app_id="+adsApp, nil, &page)
		if len(page.Deliveries) == 1 {
			var d touchpoint.Delivery
			e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/deliveries/%d", page.Deliveries[0].ID), nil, &d)
			if d.State == state {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery came to %s: %+v", state, page.Deliveries)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliveries(t *testing.T) {
	e := startPartnerEnv(t)
	sk := newPartnerSink(t)
	sk.answer(500, "sink is down")
	path := "/apps/" + adsApp + "/deliveries"

	// Nothing yet: what makes deliveries.
	e.b.mustGet(path, "No deliveries yet", `href="/apps/`+adsApp+`/partners"`)

	// A partner whose postback fails once and is not retried.
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_a", "postback_retries": 0,
		"postbacks": []any{map[string]any{"kind": "install_postback", "url": sk.URL + "/install?click=(clickid)"}}}, nil)
	e.s.api(t, 201, "POST", "/api/v1/apps/"+adsApp+"/partners", map[string]any{"pid": "net_b"}, nil)
	e.installVia(t, "net_a", "clickid=k-1")
	sk.wait(t, 1)
	d := e.waitDelivery(t, touchpoint.DeliveryFailed)
	id := fmt.Sprint(d.ID)
	e.clk.Add(time.Minute) // the ranges end now, exclusive

	// The list shows it given up, with its answer; the health counts it.
	p := e.b.mustGet(path, `href="`+path+`/`+id+`"`, "given up", "<strong>500</strong> <code>sink is down</code>",
		`action="`+path+`/`+id+`/retry"`, "Last 24 hours", "Last 7 days")
	health := regexp.MustCompile(`(?s)<h2>Last 24 hours</h2>.*?net_a</a></td>\s*<td class="num">1</td>\s*<td class="num">0</td>\s*` +
		`<td class="num"><span class="bad">1</span></td>\s*<td class="num">0.0%</td>\s*<td class="num"><span class="bad">1</span></td>\s*<td class="num">0</td>`)
	if !health.MatchString(p.Body) {
		t.Errorf("the health of net_a does not show 1 failed attempt and 1 given up:\n%s", p.Body)
	}
	if !regexp.MustCompile(`(?s)net_b</a></td>\s*<td class="num">0</td>`).MatchString(p.Body) {
		t.Error("net_b has no health row")
	}
	// Filtered: none sent, none of net_b.
	e.b.mustGet(path+"?state=succeeded", "No sent deliveries", "Show all states")
	e.b.mustGet(path+"?state=all&pid=net_b", "No deliveries to net_b.")
	e.b.mustGet(path+"?state=all&pid=net_a", `href="`+path+`/`+id+`"`)

	// The detail: the request and every attempt.
	e.b.mustGet(path+"/"+id, "Given up: ", "install_postback", "install/", sk.URL+"/install?click=k-1",
		"<span class=\"bad\">500</span>", "<code>sink is down</code>", `action="`+path+`/`+id+`/retry"`, "1 / 1")

	// Retried: due again at once, and sent.
	sk.answer(200, "ok")
	p = e.b.post(path+"/"+id+"/retry", url.Values{})
	if p.Status != http.StatusOK || p.URL != path+"/"+id {
		t.Fatalf("retry: %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	p.mustContain(t, "Delivery "+id+" is due again now, with 1 more try.")
	sk.wait(t, 2)
	d = e.waitDelivery(t, touchpoint.DeliverySucceeded)
	if len(d.Attempts) != 2 || d.Attempts[0].Status != 500 || d.Attempts[1].Status != 200 {
		t.Fatalf("attempts %+v", d.Attempts)
	}
	p = e.b.mustGet(path+"/"+id, "<span class=\"ok\">sent</span>", "<span class=\"ok\">200</span>", "<code>ok</code>", "2 / 2")
	if regexp.MustCompile(`action="[^"]*/retry"`).MatchString(p.Body) {
		t.Error("a sent delivery offers a retry")
	}
	e.b.mustGet(path, "No given-up deliveries: every delivery went through")

	// A sent delivery cannot be retried: said in words, nothing changes.
	partnerRefused(t, e.b.post(path+"/"+id+"/retry", url.Values{}), http.StatusConflict, "only a failed delivery can be retried")
	if d2 := e.waitDelivery(t, touchpoint.DeliverySucceeded); d2.MaxTries != d.MaxTries {
		t.Errorf("a refused retry changed the delivery: %+v", d2)
	}

	// Another app's delivery, or none, is not found here; a bad filter is
	// said in words.
	e.s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.other", "platform": "android", "name": "Other"}, nil)
	if p := e.b.get("/apps/com.example.other/deliveries/" + id); p.Status != http.StatusNotFound {
		t.Errorf("another app's delivery: %d", p.Status)
	}
	if p := e.b.get(path + "/999999"); p.Status != http.StatusNotFound {
		t.Errorf("an unknown delivery: %d", p.Status)
	}
	if p := e.b.get(path + "?state=lost"); p.Status != http.StatusBadRequest {
		t.Errorf("state=lost: %d", p.Status)
	} else {
		p.mustContain(t, "state &#34;lost&#34;: want failed (given up), pending, succeeded or all")
	}
}
