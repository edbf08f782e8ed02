package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/storetest"
)

// streamDelivery returns a pending event-stream delivery to url, owed for
// project 1 as destination/1 owes it.
func streamDelivery(url string) *touchpoint.Delivery {
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	return &touchpoint.Delivery{Project: 1, PID: "destination/1", Kind: touchpoint.KindEventStream, Source: "event/1",
		Method: "POST", URL: url, Body: `{"eventName":"purchase"}`, ContentType: "application/json", Host: host,
		Headers: map[string]string{"authentication": "dev-key"}, MaxTries: touchpoint.StreamTries, NextAt: storetest.Start}
}

// statusServer answers each request with the next status of the script
// (the last one once the script runs out) and counts the requests.
func statusServer(t *testing.T, body string, script ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		w.WriteHeader(script[min(n, len(script))-1])
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// checkQuickWaits checks the waits an outbox asked for: attempts attempts
// of each quick retries. Within an attempt the k-th wait (from 0) is
// Initial·2^k less up to half of it, at random.
func checkQuickWaits(t *testing.T, waits []time.Duration, attempts, each int) {
	t.Helper()
	if len(waits) != attempts*each {
		t.Fatalf("waits %v, want %d (%d in each of %d attempts)", waits, attempts*each, each, attempts)
	}
	for i, w := range waits {
		most := delivery.StreamPolicy.Quick.Initial << (i % each)
		if least := most - most/2; w < least || w > most {
			t.Errorf("wait %d of %v is %v, want %v to %v", i+1, waits, w, least, most)
		}
	}
}

// TestStreamQuickRetry: a 429 or a 503 is retried within the attempt, a
// moment later; the answer after it is the attempt's.
func TestStreamQuickRetry(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			db := newStore(t)
			srv, hits := statusServer(t, "ok", status, 200)
			d := streamDelivery(srv.URL + "/inappevent/id123")
			enqueue(t, db, d)
			c := &clock{t: storetest.Start}
			o := start(t, db, c, nil)
			got := waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State != touchpoint.DeliveryPending })
			if got.State != touchpoint.DeliverySucceeded || got.Tries != 1 || len(got.Attempts) != 1 {
				t.Fatalf("%s after %d tries, attempts %+v", got.State, got.Tries, got.Attempts)
			}
			a := got.Attempts[0]
			if a.N != 1 || a.Status != 200 || a.Body != "ok" || a.Error != "" || !a.Time.Equal(storetest.Start) || a.Latency <= 0 {
				t.Errorf("attempt %+v", a)
			}
			// One wait of 50 to 100 ms between the two sends.
			checkQuickWaits(t, o.recordedWaits(), 1, 1)
			o.settle(t, c.Now())
			if n, k := hits.Load(), o.claims(d.ID); n != 2 || k != 1 {
				t.Errorf("the server saw %d requests, the delivery was claimed %d times; want 2 and 1", n, k)
			}
		})
	}
}

// TestStreamBackoff: an attempt of three 5xx answers is one failed
// attempt; the next is due 30 s later, the one after a minute after it.
func TestStreamBackoff(t *testing.T) {
	db := newStore(t)
	srv, hits := statusServer(t, "busy", 500, 502, 503)
	d := streamDelivery(srv.URL + "/inappevent/id123")
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, nil)
	got := waitFor(t, db, d.ID, "tried", func(d *touchpoint.Delivery) bool { return d.Tries >= 1 })
	if got.State != touchpoint.DeliveryPending || got.Tries != 1 || len(got.Attempts) != 1 ||
		!got.NextAt.Equal(storetest.Start.Add(delivery.StreamPolicy.Backoff(1))) || !got.NextAt.Equal(storetest.Start.Add(30*time.Second)) {
		t.Fatalf("after the first attempt: %s, %d tries, due %s, attempts %+v", got.State, got.Tries, got.NextAt, got.Attempts)
	}
	if a := got.Attempts[0]; a.Status != 503 || a.Body != "busy" || a.Error != "" {
		t.Errorf("attempt %+v: want the last answer, 503", a)
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("the server saw %d requests in the attempt, want 3", n)
	}
	checkQuickWaits(t, o.recordedWaits(), 1, 2)
	// Not due before its time.
	c.Add(29 * time.Second)
	o.settle(t, c.Now())
	if n, k := hits.Load(), o.claims(d.ID); n != 3 || k != 1 {
		t.Fatalf("sent again %d times, claimed again %d times before the retry was due", n-3, k-1)
	}
	c.Add(time.Second)
	got = waitFor(t, db, d.ID, "tried twice", func(d *touchpoint.Delivery) bool { return d.Tries >= 2 })
	if due := storetest.Start.Add(30 * time.Second).Add(time.Minute); got.State != touchpoint.DeliveryPending || !got.NextAt.Equal(due) {
		t.Fatalf("after the second attempt: %s due %s, want pending due %s", got.State, got.NextAt, due)
	}
	if a := got.Attempts[1]; a.N != 2 || !a.Time.Equal(storetest.Start.Add(30*time.Second)) {
		t.Errorf("second attempt %+v", a)
	}
	if n := hits.Load(); n != 6 {
		t.Errorf("the server saw %d requests, want 6", n)
	}
	checkQuickWaits(t, o.recordedWaits(), 2, 2)
}

// TestStreamQuickBudget: no quick retry starts more than 4 s after the
// attempt began, by the outbox's clock. The server's answers take the
// clock forward: the budget spent is what the clock says, whatever the
// machine's speed; and each wait is at least 50 ms, then 100 ms, so the
// outcomes do not depend on the jitter.
func TestStreamQuickBudget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		takes []time.Duration // how long each answer takes
		sends int
	}{
		{"first answer at 3.96 s", []time.Duration{3960 * time.Millisecond}, 1},
		{"second answer at 3.91 s", []time.Duration{0, 3910 * time.Millisecond}, 2},
		{"first answer at 3.7 s", []time.Duration{3700 * time.Millisecond, 0}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newStore(t)
			c := &clock{t: storetest.Start}
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n := int(hits.Add(1)); n <= len(tc.takes) {
					c.Add(tc.takes[n-1])
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			d := streamDelivery(srv.URL + "/inappevent/id123")
			enqueue(t, db, d)
			o := start(t, db, c, nil)
			got := waitFor(t, db, d.ID, "tried", func(d *touchpoint.Delivery) bool { return d.Tries >= 1 })
			var spent time.Duration
			for _, d := range tc.takes {
				spent += d
			}
			if n := int(hits.Load()); n != tc.sends {
				t.Errorf("the server saw %d requests, want %d", n, tc.sends)
			}
			checkQuickWaits(t, o.recordedWaits(), 1, tc.sends-1)
			// The retry is due 30 s after the attempt ended.
			if due := storetest.Start.Add(spent + 30*time.Second); got.State != touchpoint.DeliveryPending || got.Attempts[0].Status != 503 || !got.NextAt.Equal(due) {
				t.Errorf("%s after %d answered, due %s; want pending, 503, due %s", got.State, got.Attempts[0].Status, got.NextAt, due)
			}
		})
	}
}

// TestStreamJitter: the quick retries' waits are jittered, each within
// its bounds. (Twenty waits drawn from 50 million nanoseconds are all
// the same only if the jitter is gone.)
func TestStreamJitter(t *testing.T) {
	db := newStore(t)
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		first := seen[r.URL.Path] == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	var ds []*touchpoint.Delivery
	for i := range 20 {
		ds = append(ds, streamDelivery(fmt.Sprintf("%s/inappevent/%d", srv.URL, i)))
	}
	enqueue(t, db, ds...)
	o := start(t, db, &clock{t: storetest.Start}, nil)
	for _, d := range ds {
		waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	waits := o.recordedWaits()
	checkQuickWaits(t, waits, len(ds), 1)
	if slices.Min(waits) == slices.Max(waits) {
		t.Errorf("waits %v: all the same, want them jittered", waits)
	}
}

// TestStreamBackoffSchedule checks the policy's numbers: 30 s after the
// first attempt, doubling, at most an hour apart, the tenth attempt
// within 4 hours of the first.
func TestStreamBackoffSchedule(t *testing.T) {
	p := delivery.StreamPolicy
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	var sum time.Duration
	for i, w := range want {
		n := i + 1
		if got := p.Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, w)
		}
		sum += p.Backoff(n)
	}
	if sum > 4*time.Hour || sum != 3*time.Hour+3*time.Minute+30*time.Second {
		t.Errorf("the tenth attempt is %s after the first, want 3h3m30s (within 4 h)", sum)
	}
	for _, n := range []int{10, 11, 20, 64} {
		if got := p.Backoff(n); got != time.Hour {
			t.Errorf("Backoff(%d) = %s, want 1h", n, got)
		}
	}
	if touchpoint.StreamTries != 10 {
		t.Errorf("StreamTries = %d", touchpoint.StreamTries)
	}
	errNoAnswer := testError("connection refused")
	for _, tc := range []struct {
		status       int
		err          error
		retry, quick bool
	}{
		{200, nil, false, false}, {302, nil, false, false}, {400, nil, false, false}, {401, nil, false, false},
		{404, nil, false, false}, {429, nil, true, true}, {500, nil, true, true}, {503, nil, true, true},
		{0, errNoAnswer, true, false},
	} {
		if got := p.Retry(tc.status, tc.err); got != tc.retry {
			t.Errorf("Retry(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.retry)
		}
		if got := p.Quick.When(tc.status, tc.err); got != tc.quick {
			t.Errorf("Quick.When(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.quick)
		}
	}
	if p.Quick.Tries != 3 || p.Quick.Initial != 100*time.Millisecond || p.Quick.Budget != 4*time.Second {
		t.Errorf("quick retries %+v", *p.Quick)
	}
	for _, k := range []touchpoint.DeliveryKind{touchpoint.KindEventStream, touchpoint.KindAnalyticsForward} {
		if got := delivery.Policies[k]; got.Backoff == nil || got.Quick == nil || got.Backoff(3) != 2*time.Minute {
			t.Errorf("%s does not have the stream policy", k)
		}
	}
	if delivery.Policies[touchpoint.KindInstallPostback].Quick != nil {
		t.Errorf("postbacks retry quickly")
	}
}

type testError string

func (e testError) Error() string { return string(e) }

// TestStreamRefused: a 4xx other than 429 is the destination refusing the
// event: failed at once, with the answer kept.
func TestStreamRefused(t *testing.T) {
	db := newStore(t)
	srv, hits := statusServer(t, `{"error":"bad eventTime"}`, 400)
	d := streamDelivery(srv.URL + "/inappevent/id123")
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, nil)
	got := waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State != touchpoint.DeliveryPending })
	if got.State != touchpoint.DeliveryFailed || got.Tries != 1 || len(got.Attempts) != 1 ||
		got.Reason != "the destination answered 400: not retried" {
		t.Fatalf("%s after %d tries: %q", got.State, got.Tries, got.Reason)
	}
	if a := got.Attempts[0]; a.Status != 400 || a.Body != `{"error":"bad eventTime"}` {
		t.Errorf("attempt %+v", a)
	}
	c.Add(5 * time.Hour)
	o.settle(t, c.Now())
	if n, k := hits.Load(), o.claims(d.ID); n != 1 || k != 1 {
		t.Errorf("the server saw %d requests, the delivery was claimed %d times; want 1 and 1", n, k)
	}
	if w := o.recordedWaits(); len(w) != 0 {
		t.Errorf("waits %v: a refusal is not retried quickly", w)
	}
	if d, _ := db.FindDelivery(context.Background(), d.ID); d.State != touchpoint.DeliveryFailed || d.Tries != 1 {
		t.Errorf("retried: %s after %d tries", d.State, d.Tries)
	}
}

// TestStreamGivesUp: an event with no answer is given up after
// touchpoint.StreamTries attempts, spaced by the backoff.
func TestStreamGivesUp(t *testing.T) {
	db := newStore(t)
	var hits atomic.Int32
	// Every connection is reset: no answer (not retried quickly).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	defer srv.Close()
	d := streamDelivery(srv.URL + "/inappevent/id123")
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, nil)
	var at []time.Time // when each attempt was due
	due := storetest.Start
	for n := 1; n <= touchpoint.StreamTries; n++ {
		at = append(at, due)
		got := waitFor(t, db, d.ID, fmt.Sprintf("tried %d times", n), func(d *touchpoint.Delivery) bool { return d.Tries >= n })
		if got.Tries != n {
			t.Fatalf("tried %d times, want %d", got.Tries, n)
		}
		if n < touchpoint.StreamTries {
			due = due.Add(delivery.StreamPolicy.Backoff(n))
			if got.State != touchpoint.DeliveryPending || !got.NextAt.Equal(due) {
				t.Fatalf("after %d tries: %s due %s, want pending due %s", n, got.State, got.NextAt, due)
			}
			c.Add(delivery.StreamPolicy.Backoff(n))
		}
	}
	got := waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
	if !strings.HasPrefix(got.Reason, "gave up after 10 tries: the last had no answer (") || len(got.Attempts) != touchpoint.StreamTries {
		t.Fatalf("reason %q with %d attempts", got.Reason, len(got.Attempts))
	}
	for i, a := range got.Attempts {
		if a.N != i+1 || !a.Time.Equal(at[i]) || a.Status != 0 || a.Error == "" {
			t.Errorf("attempt %d: %+v, want at %s", i+1, a, at[i])
		}
	}
	if last := got.Attempts[len(got.Attempts)-1].Time; last.Sub(storetest.Start) > 4*time.Hour {
		t.Errorf("the last attempt came %s after the first", last.Sub(storetest.Start))
	}
	c.Add(5 * time.Hour)
	o.settle(t, c.Now())
	if n, k := hits.Load(), o.claims(d.ID); n != touchpoint.StreamTries || k != touchpoint.StreamTries {
		t.Errorf("the server saw %d requests, the delivery was claimed %d times; want %d", n, k, touchpoint.StreamTries)
	}
	if w := o.recordedWaits(); len(w) != 0 {
		t.Errorf("waits %v: no answer is not retried quickly", w)
	}
}

// TestStreamGivesUpOnStatus: the same with 5xx answers, which are retried
// quickly within each attempt; the reason names the last answer.
func TestStreamGivesUpOnStatus(t *testing.T) {
	db := newStore(t)
	srv, hits := statusServer(t, "", 502)
	d := streamDelivery(srv.URL + "/inappevent/id123")
	d.MaxTries = 2 // two attempts keep the test short; the rule is the same
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, nil)
	waitFor(t, db, d.ID, "tried", func(d *touchpoint.Delivery) bool { return d.Tries >= 1 })
	c.Add(30 * time.Second)
	got := waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
	if got.Reason != "gave up after 2 tries: the last answered 502" || len(got.Attempts) != 2 {
		t.Errorf("reason %q with %d attempts", got.Reason, len(got.Attempts))
	}
	if n := hits.Load(); n != 6 {
		t.Errorf("the server saw %d requests, want 6 (3 per attempt)", n)
	}
	checkQuickWaits(t, o.recordedWaits(), 2, 2)
}

// TestStreamHeaders: a delivery's headers are sent; integrations and
// postbacks name themselves in User-Agent.
func TestStreamHeaders(t *testing.T) {
	db := newStore(t)
	type request struct {
		ua, auth, contentType, method, body string
	}
	var mu sync.Mutex
	seen := map[string]request{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.URL.Path] = request{r.Header.Get("User-Agent"), r.Header.Get("Authentication"), r.Header.Get("Content-Type"), r.Method, string(b)}
		mu.Unlock()
	}))
	defer srv.Close()
	stream := streamDelivery(srv.URL + "/stream")
	forward := streamDelivery(srv.URL + "/forward")
	forward.Kind, forward.App, forward.Project, forward.PID = touchpoint.KindAnalyticsForward, app, 0, "analytics-forward"
	forward.Headers = map[string]string{"Authorization": "Bearer x"}
	pb := postback(srv.URL + "/postback")
	enqueue(t, db, stream, forward, pb)
	start(t, db, &clock{t: storetest.Start}, nil)
	for _, d := range []*touchpoint.Delivery{stream, forward, pb} {
		waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := seen["/stream"], (request{"Touchpoint-Integration/1", "dev-key", "application/json", "POST", `{"eventName":"purchase"}`}); got != want {
		t.Errorf("event stream sent %+v, want %+v", got, want)
	}
	if got := seen["/forward"]; got.ua != "Touchpoint-Integration/1" || got.auth != "" {
		t.Errorf("analytics forward sent %+v", got)
	}
	if got := seen["/postback"]; got.ua != "Touchpoint-Postback/1" || got.auth != "" || got.method != "GET" {
		t.Errorf("postback sent %+v", got)
	}
	// The forward's own header went too.
	if d, _ := db.FindDelivery(context.Background(), forward.ID); d.Headers["Authorization"] != "Bearer x" {
		t.Errorf("forward headers %v", d.Headers)
	}
}

// TestStreamHeadersSent checks a header other than authentication reaches
// the server under its own name.
func TestStreamHeadersSent(t *testing.T) {
	db := newStore(t)
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
	}))
	defer srv.Close()
	d := streamDelivery(srv.URL + "/2/httpapi")
	d.Headers = map[string]string{"authentication": "dev-key", "X-Request-Source": "touchpoint"}
	enqueue(t, db, d)
	start(t, db, &clock{t: storetest.Start}, nil)
	select {
	case h := <-got:
		if h.Get("Authentication") != "dev-key" || h.Get("X-Request-Source") != "touchpoint" {
			t.Errorf("headers %v", h)
		}
	case <-time.After(liveness):
		t.Fatal("never sent")
	}
}
