package delivery_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/storetest"
)

// logBuffer is a log destination the test reads while the outbox writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines logged so far that contain every one of parts.
func (b *logBuffer) lines(parts ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		ok := l != ""
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// always500 is a destination that always fails.
func always500(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "down for maintenance")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLogGivenUp: a delivery given up is logged once, at WARN, with what
// an operator needs to find it and its partner.
func TestLogGivenUp(t *testing.T) {
	db := newStore(t)
	srv := always500(t)
	d := postback(srv.URL + "/pb?clickid=secret")
	d.MaxTries = 2
	enqueue(t, db, d)
	c := &clock{t: storetest.Start}
	logs := &logBuffer{}
	o := start(t, db, c, func(o *delivery.Outbox) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	waitFor(t, db, d.ID, "tried", func(d *touchpoint.Delivery) bool { return d.Tries >= 1 })
	c.Add(delivery.DefaultPostbackInterval)
	waitFor(t, db, d.ID, "given up", func(d *touchpoint.Delivery) bool { return d.State == touchpoint.DeliveryFailed })
	o.stop() // every result recorded, and so logged

	given := logs.lines("given up")
	if len(given) != 1 {
		t.Fatalf("%d given-up lines, want 1; logs:\n%s", len(given), strings.Join(logs.lines(), "\n"))
	}
	for _, want := range []string{"level=WARN", fmt.Sprintf("id=%d ", d.ID), "app=" + app, "pid=examplenet_int",
		"host=" + d.Host, "tries=2", "status=500", `reason="gave up after 2 tries: the last answered 500"`} {
		if !strings.Contains(given[0], want) {
			t.Errorf("%q lacks %q", given[0], want)
		}
	}
	if n := len(logs.lines("keeps failing")); n != 0 {
		t.Errorf("%d keeps-failing lines after 2 tries, want none", n)
	}
}

// TestLogKeepsFailing: from a delivery's third failed try in a row, its
// partner keeps failing: logged at most once per partner every ten
// minutes by the outbox's clock, however many of its deliveries fail.
func TestLogKeepsFailing(t *testing.T) {
	db := newStore(t)
	srv := always500(t)
	var ds []*touchpoint.Delivery
	for i, pid := range []string{"examplenet_int", "examplenet_int", "othernet_int"} {
		d := postback(fmt.Sprintf("%s/pb?i=%d", srv.URL, i))
		d.PID, d.MaxTries, d.RetryInterval = pid, 20, time.Minute
		ds = append(ds, d)
	}
	enqueue(t, db, ds...)
	c := &clock{t: storetest.Start}
	logs := &logBuffer{}
	o := start(t, db, c, func(o *delivery.Outbox) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	tried := func(n int) {
		for _, d := range ds {
			waitFor(t, db, d.ID, fmt.Sprintf("tried %d times", n), func(d *touchpoint.Delivery) bool { return d.Tries >= n })
		}
	}
	// Tries 1 to 5, a minute apart: from the third, every one fails a
	// third time or more, within ten minutes of the first warning.
	for n := 1; n <= 5; n++ {
		tried(n)
		c.Add(time.Minute)
	}
	// The sixth try, ten minutes after the third: warned again.
	c.Add(7 * time.Minute)
	tried(6)
	o.stop()

	for pid, want := range map[string][]string{"examplenet_int": {"tries=3", "tries=6"}, "othernet_int": {"tries=3", "tries=6"}} {
		lines := logs.lines("keeps failing", "pid="+pid+" ")
		if len(lines) != len(want) {
			t.Fatalf("%s: %d keeps-failing lines, want %d:\n%s", pid, len(lines), len(want), strings.Join(lines, "\n"))
		}
		for i, l := range lines {
			if !strings.Contains(l, "level=WARN") || !strings.Contains(l, want[i]) || !strings.Contains(l, "status=500") {
				t.Errorf("%s line %d: %q, want WARN with %s and status=500", pid, i, l, want[i])
			}
		}
	}
	if n := len(logs.lines("given up")); n != 0 {
		t.Errorf("%d given-up lines, want none", n)
	}
}
