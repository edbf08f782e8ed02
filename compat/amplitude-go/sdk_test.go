// Package compat runs the official Amplitude SDK for Go
// (github.com/amplitude/analytics-go, pinned in go.mod) against a real
// Touchpoint server: with a good key every event arrives once, on HTTP V2
// and on /batch; with a wrong key the SDK gives up at once (its Flush
// returns, each event sent once), which it does only when the answer is
// "Invalid API key: <key>".
package compat_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amplitude/analytics-go/amplitude"
	"github.com/touchpointhq/touchpoint/compat/compattest"
)

// testLogger sends the SDK's warnings and errors to the test's log.
type testLogger struct{ t *testing.T }

func (l testLogger) Debugf(string, ...any) {}
func (l testLogger) Infof(string, ...any)  {}
func (l testLogger) Warnf(format string, args ...any) {
	l.t.Logf("SDK warning: "+format, args...)
}
func (l testLogger) Errorf(format string, args ...any) {
	l.t.Logf("SDK error: "+format, args...)
}

// results collects the SDK's callbacks: one per event, once the SDK is
// done with it (sent and answered, or dropped).
type results struct {
	mu   sync.Mutex
	list []amplitude.ExecuteResult
	got  chan struct{}
}

func newResults() *results { return &results{got: make(chan struct{}, 10000)} }

func (r *results) add(res amplitude.ExecuteResult) {
	r.mu.Lock()
	r.list = append(r.list, res)
	r.mu.Unlock()
	r.got <- struct{}{}
}

// wait waits for n callbacks (the SDK calls them on goroutines of their
// own after Flush), for at most 30 s, and returns them.
func (r *results) wait(t *testing.T, n int) []amplitude.ExecuteResult {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-r.got:
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%d callbacks of %d: %+v", len(r.list), n, r.list)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]amplitude.ExecuteResult(nil), r.list...)
}

// newClient is an SDK client that sends to url with key.
func newClient(t *testing.T, key, url string, batch bool, r *results) amplitude.Client {
	cfg := amplitude.NewConfig(key)
	cfg.ServerURL = url
	cfg.UseBatch = batch
	cfg.FlushQueueSize = 10
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.Logger = testLogger{t}
	cfg.ExecuteCallback = r.add
	return amplitude.NewClient(cfg)
}

// flush calls Flush, failing the test if it has not returned within 30 s
// (on an answer it does not understand, the SDK resends at once and Flush
// never returns).
func flush(t *testing.T, c amplitude.Client) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		c.Flush()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Flush has not returned after 30 s: the SDK keeps sending")
	}
}

func TestAmplitudeGoSDK(t *testing.T) {
	const n = 35
	for _, tc := range []struct {
		name, path, endpoint string
		batch                bool
	}{
		{"HTTP V2", "/2/httpapi", "/2/httpapi", false},
		{"batch", "/batch", "/batch", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compattest.Start(t)
			p := s.CreateProject(t, "Go")
			r := newResults()
			c := newClient(t, p.APIKey, s.URL()+tc.path, tc.batch, r)
			user := amplitude.EventOptions{UserID: "go-user-1", DeviceID: "go-device-1"}
			for i := range n {
				c.Track(amplitude.Event{EventType: "Go Event", EventOptions: user, EventProperties: map[string]any{"i": i}})
			}
			id := amplitude.Identify{}
			id.Set("plan", "gold").Add("logins", 1)
			c.Identify(id, user)
			c.Revenue(amplitude.Revenue{Price: 3.5, Quantity: 2, ProductID: "sku-go", Currency: "EUR"}, user)
			flush(t, c)
			defer c.Shutdown()

			var want []string
			for _, res := range r.wait(t, n+2) {
				if res.Code != 200 {
					t.Errorf("%s: the SDK got %d %s", res.Event.EventType, res.Code, res.Message)
				}
				if res.Event.EventType != amplitude.IdentifyEventType {
					want = append(want, res.Event.InsertID)
				}
			}
			events := s.Events(t, p, "go-user-1", "")
			compattest.ExactlyOnce(t, events, func(e map[string]any) string { return fmt.Sprint(e["insert_id"]) }, want)
			if got := s.Ingested(t, tc.endpoint); got != n+2 {
				t.Errorf("the server acknowledged %d events, the SDK sent %d", got, n+2)
			}
			for _, e := range events {
				if !strings.HasPrefix(fmt.Sprint(e["library"]), "amplitude-go/") {
					t.Errorf("library %v", e["library"])
				}
				if e["event_type"] == amplitude.RevenueEventType && (e["revenue"] != 7.0 || e["currency"] != "EUR" || e["productId"] != "sku-go") {
					t.Errorf("revenue event %v", e)
				}
			}
			if u, _ := s.FindUser(t, p, "go-user-1", ""); u.UserProperties["plan"] != "gold" || u.UserProperties["logins"] != 1.0 {
				t.Errorf("user properties %v", u.UserProperties)
			}
		})
	}

	// A key of no project: the SDK drops the events after one request
	// per batch, and Flush returns. (With a plain "Invalid API key" it
	// resent at once and without end: 12,400 requests in 3 s.)
	t.Run("wrong key", func(t *testing.T) {
		s := compattest.Start(t)
		s.CreateProject(t, "Go")
		r := newResults()
		const key = "0123456789abcdef0123456789abcdef"
		c := newClient(t, key, s.URL()+"/2/httpapi", false, r)
		const events = 25 // three batches of at most 10
		for i := range events {
			c.Track(amplitude.Event{EventType: "Go Event", EventOptions: amplitude.EventOptions{DeviceID: "go-device-bad"},
				EventProperties: map[string]any{"i": i}})
		}
		flush(t, c)
		defer c.Shutdown()
		for _, res := range r.wait(t, events) {
			if res.Code != 400 || res.Message != "Invalid API key" {
				t.Errorf("the SDK got %d %q, want 400 and its own \"Invalid API key\"", res.Code, res.Message)
			}
		}
		refused, accepted := s.Requests(t, "POST /2/httpapi", 400), s.Requests(t, "POST /2/httpapi", 200)
		if refused < 3 || refused > events || accepted != 0 {
			t.Errorf("%d uploads refused and %d accepted: want 3 to %d (each event sent once) and none accepted", refused, accepted, events)
		}
	})
}
