package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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

// liveness bounds every wait for the outbox to do something. It only
// turns a hang into a failure: no test measures how long anything took.
const liveness = 30 * time.Second

// running is an outbox under test. Its store is watched, so a test can
// wait until the outbox has looked for due deliveries and know what it
// claimed, and its waits are recorded instead of waited.
type running struct {
	touchpoint.DeliveryStore
	cancel context.CancelFunc // stops the outbox
	wait   func()             // waits for it to stop
	stop   func()             // both

	mu         sync.Mutex
	begun      int             // claims begun
	ended      []claim         // claims ended, in order
	claimed    map[int64]int   // claims of each delivery
	waits      []time.Duration // waits asked for, in order
	failFinish int             // FinishDeliveries calls left to fail
}

// claim is a claim the outbox made: its number and its time.
type claim struct {
	n   int
	now time.Time
}

func (r *running) ClaimDeliveries(ctx context.Context, c touchpoint.Claim) ([]*touchpoint.Delivery, error) {
	r.mu.Lock()
	r.begun++
	n := r.begun
	r.mu.Unlock()
	ds, err := r.DeliveryStore.ClaimDeliveries(ctx, c)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, claim{n, c.Now})
	for _, d := range ds {
		r.claimed[d.ID]++
	}
	return ds, err
}

func (r *running) FinishDeliveries(ctx context.Context, rs []*touchpoint.DeliveryResult) error {
	r.mu.Lock()
	fail := r.failFinish > 0
	if fail {
		r.failFinish--
	}
	r.mu.Unlock()
	if fail {
		return errors.New("disk I/O error")
	}
	return r.DeliveryStore.FinishDeliveries(ctx, rs)
}

// finishFailing reports whether FinishDeliveries is still to fail.
func (r *running) finishFailing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failFinish > 0
}

// sleep is the outbox's Sleep: it records the wait and returns at once.
func (r *running) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

// recordedWaits returns the waits the outbox asked for so far.
func (r *running) recordedWaits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.waits)
}

// claims returns how many times the outbox claimed a delivery.
func (r *running) claims(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.claimed[id]
}

// settle waits until the outbox has looked for due deliveries once more,
// begun after the call and at the clock's time now or later: whatever was
// due by then is claimed, and what it did not claim was not due.
func (r *running) settle(t *testing.T, now time.Time) {
	t.Helper()
	r.mu.Lock()
	after := r.begun
	r.mu.Unlock()
	deadline := time.Now().Add(liveness)
	for {
		r.mu.Lock()
		done := slices.ContainsFunc(r.ended, func(c claim) bool { return c.n > after && !c.now.Before(now) })
		r.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox did not look for due deliveries at %s within %s", now, liveness)
		}
		time.Sleep(time.Millisecond)
	}
}

// start runs an outbox on the store until stopped (at the latest when the
// test ends). Its timeouts are generous: only TestTimeout lets one lapse.
func start(t *testing.T, db touchpoint.DeliveryStore, c *clock, tune func(*delivery.Outbox)) *running {
	t.Helper()
	r := &running{DeliveryStore: db, claimed: map[int64]int{}}
	o := &delivery.Outbox{Store: r, Client: delivery.NewClient(liveness, true), Now: c.Now, Sleep: r.sleep,
		Timeout: liveness, Poll: 5 * time.Millisecond}
	if tune != nil {
		tune(o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	r.cancel = cancel
	r.wait = func() {
		once.Do(func() {
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	r.stop = func() {
		cancel()
		r.wait()
	}
	t.Cleanup(r.stop)
	return r
}

// waitFor polls a delivery until ok, or fails the test after liveness.
func waitFor(t *testing.T, db touchpoint.DeliveryStore, id int64, what string, ok func(*touchpoint.Delivery) bool) *touchpoint.Delivery {
	t.Helper()
	deadline := time.Now().Add(liveness)
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
	c := &clock{t: storetest.Start}
	o := start(t, db, c, nil)
	got := waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	if got.Tries != 1 || len(got.Attempts) != 1 {
		t.Fatalf("tries %d, attempts %+v", got.Tries, got.Attempts)
	}
	a := got.Attempts[0]
	if a.Status != 200 || len(a.Body) != touchpoint.MaxAttemptBody || !strings.HasPrefix(a.Body, "ok x") || a.Error != "" ||
		!a.Time.Equal(storetest.Start) || a.Latency <= 0 {
		t.Errorf("attempt %+v", a)
	}
	// Once succeeded, it is not claimed again.
	o.settle(t, c.Now())
	if n, k := hits.Load(), o.claims(d.ID); n != 1 || k != 1 {
		t.Errorf("sent %d times, claimed %d times; want once", n, k)
	}
	if w := o.recordedWaits(); len(w) != 0 {
		t.Errorf("waits %v, want none", w)
	}
}

// TestPolicy runs every branch of the postback policy: 5xx and no answer
// are retried 15 minutes apart up to 5 tries in all; 2xx and 3xx succeed;
// 4xx is given up at once. (A timeout, no answer too: TestTimeout.)
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
	for _, p := range []string{"/500", "/503-then-ok", "/404", "/302", "/reset"} {
		ds[p] = postback(srv.URL + p)
	}
	ds["/down"] = postback(downURL)
	for _, d := range ds {
		enqueue(t, db, d)
	}
	o := start(t, db, c, nil)
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
	for _, p := range []string{"/500", "/503-then-ok", "/reset", "/down"} {
		d := waitFor(t, db, ds[p].ID, "tried", tried(1))
		if d.State != touchpoint.DeliveryPending || !d.NextAt.Equal(storetest.Start.Add(15*time.Minute)) {
			t.Errorf("%s after one try: %s due %s, want pending at +15m", p, d.State, d.NextAt)
		}
	}
	// Not due before its time.
	c.Add(14 * time.Minute)
	o.settle(t, c.Now())
	if n, k := count("/500"), o.claims(ds["/500"].ID); n != 1 || k != 1 {
		t.Fatalf("/500 sent %d times, claimed %d times before the retry was due; want once", n, k)
	}
	for try := 2; try <= 5; try++ {
		c.Add(time.Minute)
		for _, p := range []string{"/500", "/reset", "/down"} {
			waitFor(t, db, ds[p].ID, fmt.Sprintf("tried %d times", try), tried(try))
		}
		c.Add(14 * time.Minute)
	}
	if d := waitFor(t, db, ds["/503-then-ok"].ID, "succeeded", tried(3)); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 3 {
		t.Errorf("503 then ok: %+v", d)
	}
	for p, want := range map[string]string{
		"/500":   "gave up after 5 tries: the last answered 500",
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
	// Given up: never claimed again.
	c.Add(time.Hour)
	o.settle(t, c.Now())
	if n, k := count("/500"), o.claims(ds["/500"].ID); n != 5 || k != 5 {
		t.Errorf("/500 sent %d times, claimed %d times; want 5", n, k)
	}
	// Postbacks are not retried within an attempt: the outbox never waited.
	if w := o.recordedWaits(); len(w) != 0 {
		t.Errorf("waits %v, want none", w)
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

// TestTimeout: a destination that never answers is given up on after the
// outbox's Timeout: no answer, retried by the policy, and the attempt
// says why. The server answers nothing until the request is abandoned,
// so the timeout lapses however busy the machine is.
func TestTimeout(t *testing.T) {
	db := newStore(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	d := postback(srv.URL + "/slow")
	d.MaxTries = 2
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	start(t, db, c, func(o *delivery.Outbox) { o.Timeout = 50 * time.Millisecond })
	got := waitFor(t, db, d.ID, "tried", func(d *touchpoint.Delivery) bool { return d.Tries >= 1 })
	if got.State != touchpoint.DeliveryPending || !got.NextAt.Equal(storetest.Start.Add(15*time.Minute)) {
		t.Errorf("after one try: %s due %s, want pending at +15m", got.State, got.NextAt)
	}
	if a := got.Attempts[0]; a.Status != 0 || a.Error != "timeout: no answer within 50ms" {
		t.Errorf("attempt %+v, want a timeout", a)
	}
	c.Add(15 * time.Minute)
	got = waitFor(t, db, d.ID, "failed", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
	if want := "gave up after 2 tries: the last had no answer (timeout: no answer within 50ms)"; got.Reason != want || len(got.Attempts) != 2 {
		t.Errorf("%q with %d attempts, want %q", got.Reason, len(got.Attempts), want)
	}
	// At most one request an attempt. (Fewer can reach the server: a
	// request may time out before it is read.)
	if n := hits.Load(); n > 2 {
		t.Errorf("the server saw %d requests, want at most 2", n)
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
	start(t, db, &clock{t: storetest.Start}, func(o *delivery.Outbox) { o.PerHost = 3 })
	for _, d := range fastDs {
		waitFor(t, db, d.ID, "delivered past the slow host", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	// The slow host holds every send it gets: PerHost of them, then no more.
	for deadline := time.Now().Add(liveness); now.Load() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the slow host got %d sends at once, want 3", now.Load())
		}
	}
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
	const n, before, perHost = 300, 20, 4
	// The first requests are answered; the ones after wait until the
	// outbox is told to stop, so the stop comes with sends under way and
	// most deliveries never sent, however fast or slow the machine is.
	var mu sync.Mutex
	seen := map[string]int{}
	var held atomic.Int32
	gate := make(chan struct{})
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		k := len(seen)
		seen[r.URL.Query().Get("i")]++
		mu.Unlock()
		if k >= before {
			held.Add(1)
			<-gate
		}
	}))
	defer sink.Close()
	var ds []*touchpoint.Delivery
	for i := 0; i < n; i++ {
		ds = append(ds, postback(fmt.Sprintf("%s/pb?i=%d", sink.URL, i)))
	}
	enqueue(t, db, ds...)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, func(o *delivery.Outbox) { o.PerHost, o.Batch = perHost, 16 })
	for deadline := time.Now().Add(liveness); held.Load() < perHost; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends under way, want %d", held.Load(), perHost)
		}
	}
	o.cancel()
	close(gate)
	o.wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sent := len(seen)
	mu.Unlock()
	if sent == n {
		t.Fatal("everything was sent before the stop: the test proves nothing")
	}
	db = openStore(t, path)
	t.Cleanup(func() { db.Close() }) // after the outbox stops (cleanups run last first)
	start(t, db, c, nil)
	for _, d := range ds {
		waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < n; i++ {
		if k := seen[fmt.Sprint(i)]; k != 1 {
			t.Errorf("delivery %d sent %d times", i, k)
		}
	}
}

// TestFinishRetries: results the store fails to record are recorded again
// 50 ms later, then 100, 200 and 400 ms; after the fifth failure they are
// left to their leases, and the deliveries are sent again once the leases
// lapse (at least once).
func TestFinishRetries(t *testing.T) {
	db := newStore(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	backoff := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}

	// Two failures: recorded at the third try.
	d := postback(srv.URL + "/pb?i=1")
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	o := start(t, db, c, func(o *delivery.Outbox) { o.Store.(*running).failFinish = 2 })
	got := waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	if w := o.recordedWaits(); !slices.Equal(w, backoff[:2]) {
		t.Errorf("waits %v, want %v", w, backoff[:2])
	}
	if n := hits.Load(); n != 1 || got.Tries != 1 || len(got.Attempts) != 1 {
		t.Errorf("sent %d times, %d tries recorded; want 1 and 1", n, got.Tries)
	}
	o.stop()

	// Five failures: the results are dropped and the delivery stays
	// claimed until its lease lapses.
	hits.Store(0)
	d = postback(srv.URL + "/pb?i=2")
	enqueue(t, db, d)
	o = start(t, db, c, func(o *delivery.Outbox) {
		o.Store.(*running).failFinish = 5
		o.Logger = slog.New(slog.DiscardHandler)
	})
	for deadline := time.Now().Add(liveness); len(o.recordedWaits()) < len(backoff) || o.finishFailing(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waits %v: the outbox did not try to record five times", o.recordedWaits())
		}
	}
	if w := o.recordedWaits(); !slices.Equal(w, backoff) {
		t.Errorf("waits %v, want %v", w, backoff)
	}
	o.settle(t, c.Now())
	if got, _ := db.FindDelivery(context.Background(), d.ID); got.State != touchpoint.DeliveryPending || got.Tries != 0 || o.claims(d.ID) != 1 {
		t.Errorf("%s with %d tries, claimed %d times: want pending, untried, claimed once (leased)", got.State, got.Tries, o.claims(d.ID))
	}
	c.Add(time.Hour)
	got = waitFor(t, db, d.ID, "succeeded", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliverySucceeded })
	if n := hits.Load(); n != 2 || got.Tries != 1 || o.claims(d.ID) != 2 {
		t.Errorf("sent %d times, %d tries recorded, claimed %d times; want sent again once the lease lapsed", n, got.Tries, o.claims(d.ID))
	}
}
