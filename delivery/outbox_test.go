package delivery_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

const app = "com.example.game"

// clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(path)
	db.Clock = func() time.Time { return storetest.Start }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	return db
}

func newStore(t *testing.T) *sqlite.DB {
	db := openStore(t, filepath.Join(t.TempDir(), "t.db"))
	t.Cleanup(func() { db.Close() })
	storetest.MustCreateApp(t, db, app)
	return db
}

// postback returns a pending postback to url.
func postback(url string) *touchpoint.Delivery {
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	return &touchpoint.Delivery{App: app, PID: "examplenet_int", Kind: touchpoint.KindInstallPostback, Source: "install/1",
		Method: "GET", URL: url, Host: host, MaxTries: delivery.DefaultPostbackTries,
		RetryInterval: delivery.DefaultPostbackInterval, NextAt: storetest.Start}
}

// start runs an outbox on the store until the returned stop is called.
func start(t *testing.T, db touchpoint.DeliveryStore, c *clock, tune func(*delivery.Outbox)) (stop func()) {
	t.Helper()
	o := &delivery.Outbox{Store: db, Client: delivery.NewClient(time.Second, true), Now: c.Now,
		Timeout: time.Second, Poll: 5 * time.Millisecond}
	if tune != nil {
		tune(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls a delivery until ok, or fails the test after 10 s.
func waitFor(t *testing.T, db touchpoint.DeliveryStore, id int64, what string, ok func(*touchpoint.Delivery) bool) *touchpoint.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := db.FindDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d never %s: %+v", id, what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func enqueue(t *testing.T, db touchpoint.DeliveryStore, ds ...*touchpoint.Delivery) {
	t.Helper()
	if err := db.EnqueueDeliveries(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
}

func TestSuccess(t *testing.T) {
	db := newStore(t)
	var hits atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Query().Get("clickid") != "abc 1" {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		fmt.Fprint(w, "ok "+strings.Repeat("x", 1000))
	}))
	defer sink.Close()
	d := postback(sink.URL + "/pb?clickid=abc+1")
	enqueue(t, db, d)
	start(t, db, &clock{t: storetest.Start}, nil)
	got := waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	if got.Tries != 1 || len(got.Attempts) != 1 {
		t.Fatalf("tries %d, attempts %+v", got.Tries, got.Attempts)
	}
	a := got.Attempts[0]
	if a.Status != 200 || len(a.Body) != touchpoint.MaxAttemptBody || !strings.HasPrefix(a.Body, "ok x") || a.Error != "" ||
		!a.Time.Equal(storetest.Start) || a.Latency <= 0 {
		t.Errorf("attempt %+v", a)
	}
	time.Sleep(50 * time.Millisecond)
	if hits.Load() != 1 {
		t.Errorf("sent %d times", hits.Load())
	}
}

// TestPolicy runs every branch of the postback policy: 5xx and no answer
// are retried 15 minutes apart up to 5 tries in all; 2xx and 3xx succeed;
// 4xx is given up at once.
func TestPolicy(t *testing.T) {
	db := newStore(t)
	c := &clock{t: storetest.Start}
	var calls sync.Map // path → *atomic.Int32
	count := func(path string) int32 {
		v, _ := calls.LoadOrStore(path, new(atomic.Int32))
		return v.(*atomic.Int32).Load()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := calls.LoadOrStore(r.URL.Path, new(atomic.Int32))
		n := v.(*atomic.Int32).Add(1)
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(500)
		case "/503-then-ok":
			if n < 3 {
				w.WriteHeader(503)
			}
		case "/404":
			w.WriteHeader(404)
			fmt.Fprint(w, "no such campaign")
		case "/302":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/reset":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}))
	defer srv.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downURL := "http://" + down.Addr().String() + "/down"
	down.Close()

	ds := map[string]*touchpoint.Delivery{}
	for _, p := range []string{"/500", "/503-then-ok", "/404", "/302", "/slow", "/reset"} {
		ds[p] = postback(srv.URL + p)
	}
	ds["/down"] = postback(downURL)
	for _, d := range ds {
		enqueue(t, db, d)
	}
	start(t, db, c, func(o *delivery.Outbox) { o.Timeout = 100 * time.Millisecond })
	tried := func(n int) func(*touchpoint.Delivery) bool {
		return func(d *touchpoint.Delivery) bool { return d.Tries >= n }
	}
	// First tries.
	for _, d := range ds {
		waitFor(t, db, d.ID, "tried", tried(1))
	}
	if d := waitFor(t, db, ds["/404"].ID, "failed", tried(1)); d.State != touchpoint.DeliveryFailed ||
		d.Reason != "the destination answered 404: not retried" || d.Attempts[0].Body != "no such campaign" {
		t.Errorf("404: %+v", d)
	}
	if d := waitFor(t, db, ds["/302"].ID, "tried", tried(1)); d.State != touchpoint.DeliverySucceeded || d.Attempts[0].Status != 302 {
		t.Errorf("302: %+v", d)
	}
	for _, p := range []string{"/500", "/503-then-ok", "/slow", "/reset", "/down"} {
		d := waitFor(t, db, ds[p].ID, "tried", tried(1))
		if d.State != touchpoint.DeliveryPending || !d.NextAt.Equal(storetest.Start.Add(15*time.Minute)) {
			t.Errorf("%s after one try: %s due %s, want pending at +15m", p, d.State, d.NextAt)
		}
	}
	if d, _ := db.FindDelivery(context.Background(), ds["/slow"].ID); !strings.HasPrefix(d.Attempts[0].Error, "timeout") {
		t.Errorf("slow: %+v", d.Attempts[0])
	}
	// Not due before its time.
	c.Add(14 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if n := count("/500"); n != 1 {
		t.Fatalf("/500 sent %d times before the retry was due", n)
	}
	for try := 2; try <= 5; try++ {
		c.Add(time.Minute)
		for _, p := range []string{"/500", "/slow", "/reset", "/down"} {
			waitFor(t, db, ds[p].ID, fmt.Sprintf("tried %d times", try), tried(try))
		}
		c.Add(14 * time.Minute)
	}
	if d := waitFor(t, db, ds["/503-then-ok"].ID, "succeeded", tried(3)); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 3 {
		t.Errorf("503 then ok: %+v", d)
	}
	for p, want := range map[string]string{
		"/500":   "gave up after 5 tries: the last answered 500",
		"/slow":  "gave up after 5 tries: the last had no answer (timeout: no answer within 100ms)",
		"/reset": "gave up after 5 tries: the last had no answer (",
		"/down":  "gave up after 5 tries: the last had no answer (",
	} {
		d := waitFor(t, db, ds[p].ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
		if !strings.HasPrefix(d.Reason, want) || len(d.Attempts) != 5 {
			t.Errorf("%s: %q with %d attempts, want %q", p, d.Reason, len(d.Attempts), want)
		}
		for i, a := range d.Attempts {
			if want := storetest.Start.Add(time.Duration(i) * 15 * time.Minute); !a.Time.Equal(want) {
				t.Errorf("%s attempt %d at %s, want %s", p, a.N, a.Time, want)
			}
		}
	}
	c.Add(time.Hour)
	time.Sleep(50 * time.Millisecond)
	if n := count("/500"); n != 5 {
		t.Errorf("/500 sent %d times, want 5", n)
	}

	// An admin retries a given-up delivery: five more tries.
	d, err := db.RetryDelivery(context.Background(), ds["/500"].ID, c.Now())
	if err != nil || d.State != touchpoint.DeliveryPending {
		t.Fatalf("retry: %+v %v", d, err)
	}
	waitFor(t, db, d.ID, "tried again", tried(6))
	if _, err := db.RetryDelivery(context.Background(), ds["/302"].ID, c.Now()); touchpoint.ErrorCode(err) != touchpoint.ECONFLICT {
		t.Errorf("retrying a succeeded delivery: %v", err)
	}
}

// TestPerHost checks that one slow host gets at most PerHost sends at once
// while another host's deliveries go through.
func TestPerHost(t *testing.T) {
	db := newStore(t)
	var now, peak atomic.Int32
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		now.Add(-1)
	}))
	defer slow.Close()
	defer close(release)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fast.Close()
	var slowDs, fastDs []*touchpoint.Delivery
	for i := 0; i < 20; i++ {
		slowDs = append(slowDs, postback(fmt.Sprintf("%s/s?i=%d", slow.URL, i)))
	}
	enqueue(t, db, slowDs...)
	for i := 0; i < 20; i++ {
		fastDs = append(fastDs, postback(fmt.Sprintf("%s/f?i=%d", fast.URL, i)))
	}
	enqueue(t, db, fastDs...)
	start(t, db, &clock{t: storetest.Start}, func(o *delivery.Outbox) { o.PerHost, o.Timeout = 3, 5*time.Second })
	for _, d := range fastDs {
		waitFor(t, db, d.ID, "delivered past the slow host", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	time.Sleep(50 * time.Millisecond)
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency to the slow host %d, want 3", p)
	}
}

// TestRestart stops the outbox with deliveries due and under way, opens
// the store again and starts a new one: every delivery is sent exactly
// once.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := openStore(t, path)
	storetest.MustCreateApp(t, db, app)
	var mu sync.Mutex
	seen := map[string]int{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		seen[r.URL.Query().Get("i")]++
		mu.Unlock()
	}))
	defer sink.Close()
	const n = 300
	var ds []*touchpoint.Delivery
	for i := 0; i < n; i++ {
		ds = append(ds, postback(fmt.Sprintf("%s/pb?i=%d", sink.URL, i)))
	}
	enqueue(t, db, ds...)
	c := &clock{t: storetest.Start}
	stop := start(t, db, c, func(o *delivery.Outbox) { o.PerHost, o.Batch = 4, 16 })
	waitFor(t, db, ds[20].ID, "sent", func(d *touchpoint.Delivery) bool { return d.Tries > 0 })
	stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := len(seen)
	mu.Unlock()
	if before == n {
		t.Fatal("everything was sent before the stop: the test proves nothing")
	}
	db = openStore(t, path)
	t.Cleanup(func() { db.Close() }) // after the outbox stops (cleanups run last first)
	start(t, db, c, nil)
	for _, d := range ds {
		waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < n; i++ {
		if k := seen[fmt.Sprint(i)]; k != 1 {
			t.Errorf("delivery %d sent %d times", i, k)
		}
	}
}
