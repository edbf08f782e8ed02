package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func newDelivery(host string, i int) *touchpoint.Delivery {
	return &touchpoint.Delivery{App: "com.example.game", PID: "examplenet_int", Kind: touchpoint.KindInstallPostback,
		Source: fmt.Sprintf("install/%d", i), Method: "GET", URL: fmt.Sprintf("https://%s/pb?i=%d", host, i), Host: host,
		MaxTries: 5, RetryInterval: 15 * time.Minute, NextAt: Start}
}

func deliveryIDs(ds []*touchpoint.Delivery) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// DeliveryStore is what the delivery cases need: the outbox, and apps to
// owe deliveries for.
type DeliveryStore interface {
	touchpoint.AppStore
	touchpoint.DeliveryStore
}

// RunDeliveries runs the delivery cases against stores from open.
func RunDeliveries(t *testing.T, open func(t *testing.T, now func() time.Time) DeliveryStore) {
	runParts(t, deliveryTests, open)
}

var deliveryTests = []part[DeliveryStore]{
	{"Delivery/WrittenFailed", func(t *testing.T, s DeliveryStore, c *Clock) {
		// A delivery handed in failed, with a reason, is kept so, never
		// claimed; one handed in failed without a reason is pending.
		MustCreateApp(t, s, "com.example.game")
		failed, noReason := newDelivery("a.example.net", 1), newDelivery("a.example.net", 2)
		failed.State, failed.Reason = touchpoint.DeliveryFailed, "not sent: no id"
		noReason.State = touchpoint.DeliveryFailed
		if err := s.EnqueueDeliveries(ctxb(), []*touchpoint.Delivery{failed, noReason}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if err != nil || !slices.Equal(deliveryIDs(got), []int64{noReason.ID}) {
			t.Fatalf("claimed %v, %v; want only %d", deliveryIDs(got), err, noReason.ID)
		}
		d, err := s.FindDelivery(ctxb(), failed.ID)
		if err != nil || d.State != touchpoint.DeliveryFailed || d.Reason != "not sent: no id" || d.Tries != 0 || len(d.Attempts) != 0 {
			t.Fatalf("FindDelivery = %+v, %v", d, err)
		}
		list, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{App: "com.example.game", State: touchpoint.DeliveryFailed, Limit: 10})
		if err != nil || !slices.Equal(deliveryIDs(list), []int64{failed.ID}) {
			t.Fatalf("failed deliveries %v, %v", deliveryIDs(list), err)
		}
	}},
	{"Delivery/ClaimLeasesAndBounds", func(t *testing.T, s DeliveryStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		var ds []*touchpoint.Delivery
		for i := range 6 {
			ds = append(ds, newDelivery([]string{"a.example.net", "b.example.net"}[i%2], i))
		}
		later := newDelivery("a.example.net", 9)
		later.NextAt = Start.Add(time.Hour)
		if err := s.EnqueueDeliveries(ctxb(), append(ds, later)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10, PerHost: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Two per host, oldest first; not the one due later.
		if want := []int64{ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID}; !slices.Equal(deliveryIDs(got), want) {
			t.Fatalf("claimed %v, want %v", deliveryIDs(got), want)
		}
		if got[0].Lease == 0 || got[0].State != touchpoint.DeliveryPending || got[0].URL != ds[0].URL {
			t.Fatalf("claimed %+v", got[0])
		}
		// Leased deliveries are not claimed again until the lease lapses;
		// a host with PerHost in flight gets none.
		again, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start.Add(30 * time.Second), Lease: time.Minute, Limit: 10,
			PerHost: 2, InFlight: map[string]int{"a.example.net": 2}})
		if want := []int64{ds[5].ID}; !slices.Equal(deliveryIDs(again), want) {
			t.Fatalf("second claim %v, want %v", deliveryIDs(again), want)
		}
		lapsed, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start.Add(2 * time.Minute), Lease: time.Minute, Limit: 1})
		if want := []int64{ds[0].ID}; !slices.Equal(deliveryIDs(lapsed), want) {
			t.Fatalf("after the lease lapsed %v, want %v", deliveryIDs(lapsed), want)
		}
		// The first claim's result no longer applies.
		stale := &touchpoint.DeliveryResult{Delivery: got[0], State: touchpoint.DeliverySucceeded,
			Attempt: &touchpoint.Attempt{N: 1, Time: Start, Status: 200}}
		if err := s.FinishDeliveries(ctxb(), []*touchpoint.DeliveryResult{stale}); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.FindDelivery(ctxb(), ds[0].ID); d.State != touchpoint.DeliveryPending || len(d.Attempts) != 0 {
			t.Fatalf("a lapsed claim's result was recorded: %+v", d)
		}
	}},
	{"Delivery/FinishRetryGiveUp", func(t *testing.T, s DeliveryStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		ds := []*touchpoint.Delivery{newDelivery("a.example.net", 0), newDelivery("a.example.net", 1), newDelivery("a.example.net", 2)}
		if err := s.EnqueueDeliveries(ctxb(), ds); err != nil {
			t.Fatal(err)
		}
		got, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if len(got) != 3 {
			t.Fatalf("claimed %d", len(got))
		}
		a := func(status int, lat time.Duration) *touchpoint.Attempt {
			return &touchpoint.Attempt{N: 1, Time: Start, Status: status, Latency: lat, Body: "b"}
		}
		err := s.FinishDeliveries(ctxb(), []*touchpoint.DeliveryResult{
			{Delivery: got[0], Attempt: a(200, 10*time.Millisecond), State: touchpoint.DeliverySucceeded},
			{Delivery: got[1], Attempt: a(503, 30*time.Millisecond), State: touchpoint.DeliveryPending, NextAt: Start.Add(15 * time.Minute)},
			{Delivery: got[2], Attempt: a(404, 20*time.Millisecond), State: touchpoint.DeliveryFailed, Reason: "the destination answered 404: not retried"},
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.FindDelivery(ctxb(), ds[1].ID)
		if err != nil || d.State != touchpoint.DeliveryPending || d.Tries != 1 || !d.NextAt.Equal(Start.Add(15*time.Minute)) ||
			len(d.Attempts) != 1 || d.Attempts[0].Status != 503 || d.Attempts[0].Latency != 30*time.Millisecond || d.Attempts[0].Body != "b" {
			t.Fatalf("retry scheduled: %+v %v", d, err)
		}
		if more, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start.Add(14 * time.Minute), Lease: time.Minute, Limit: 10}); len(more) != 0 {
			t.Fatalf("claimed %v before the retry was due", deliveryIDs(more))
		}
		failed, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{App: "com.example.game", State: touchpoint.DeliveryFailed})
		if err != nil || !slices.Equal(deliveryIDs(failed), []int64{ds[2].ID}) || failed[0].Reason == "" {
			t.Fatalf("failed: %v %v", deliveryIDs(failed), err)
		}
		h, err := s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", Start, Start.Add(time.Hour))
		if err != nil || h.Attempts != 3 || h.Succeeded != 1 || h.Backlog != 1 || h.GivenUp != 1 || h.P50Ms != 20 || h.P99Ms != 30 {
			t.Fatalf("health %+v %v", h, err)
		}
		r, err := s.RetryDelivery(ctxb(), ds[2].ID, Start.Add(time.Minute))
		if err != nil || r.State != touchpoint.DeliveryPending || r.MaxTries != 6 || r.Reason != "" {
			t.Fatalf("RetryDelivery = %+v, %v", r, err)
		}
		if _, err := s.RetryDelivery(ctxb(), ds[0].ID, Start); code(err) != touchpoint.ECONFLICT {
			t.Fatalf("retrying a succeeded delivery: %v", err)
		}
		if _, err := s.FindDelivery(ctxb(), 999999); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindDelivery unknown: %v", err)
		}
		page, next, _ := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{Limit: 2})
		if !slices.Equal(deliveryIDs(page), []int64{ds[2].ID, ds[1].ID}) || next != ds[1].ID {
			t.Fatalf("page %v next %d", deliveryIDs(page), next)
		}
	}},
	{"Delivery/ConcurrentClaims", func(t *testing.T, s DeliveryStore, c *Clock) {
		// Two senders claiming from one store at once: every delivery is
		// handed out once, each claim under a token of its own, and each
		// sender's results are recorded.
		MustCreateApp(t, s, "com.example.game")
		const n = 300
		var ds []*touchpoint.Delivery
		for i := range n {
			ds = append(ds, newDelivery(fmt.Sprintf("h%d.example.net", i%7), i))
		}
		if err := s.EnqueueDeliveries(ctxb(), ds); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		claimed := map[int64]int{}    // times each delivery was handed out
		claimOf := map[int64]string{} // the claim each token was handed out by
		start := make(chan struct{})
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for sender := range 2 {
			wg.Go(func() {
				<-start
				for i := 0; ; i++ {
					got, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 9, PerHost: 3})
					if err != nil || len(got) == 0 {
						errs <- err
						return
					}
					claim := fmt.Sprintf("sender %d claim %d", sender, i)
					mu.Lock()
					for _, d := range got {
						claimed[d.ID]++
						if other, ok := claimOf[d.Lease]; d.Lease == 0 || ok && other != claim {
							mu.Unlock()
							errs <- fmt.Errorf("%s handed out delivery %d under token %d, which %s had", claim, d.ID, d.Lease, other)
							return
						}
						claimOf[d.Lease] = claim
					}
					mu.Unlock()
					var rs []*touchpoint.DeliveryResult
					for _, d := range got {
						rs = append(rs, &touchpoint.DeliveryResult{Delivery: d, State: touchpoint.DeliverySucceeded,
							Attempt: &touchpoint.Attempt{N: 1, Time: Start, Status: 200}})
					}
					if err := s.FinishDeliveries(ctxb(), rs); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(claimed) != n {
			t.Fatalf("%d of %d deliveries claimed", len(claimed), n)
		}
		for id, times := range claimed {
			if times != 1 {
				t.Errorf("delivery %d claimed %d times", id, times)
			}
		}
		done, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{State: touchpoint.DeliverySucceeded, Limit: 2 * n})
		if err != nil || len(done) != n {
			t.Fatalf("%d deliveries succeeded, %v; want %d", len(done), err, n)
		}
		h, err := s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", Start, Start.Add(time.Minute))
		if err != nil || h.Attempts != n || h.Succeeded != n || h.Backlog != 0 {
			t.Fatalf("health %+v, %v; want %d attempts, every one a success", h, err, n)
		}
	}},
	{"Delivery/TestClockBringsRetriesNearer", func(t *testing.T, s DeliveryStore, c *Clock) {
		// Retries wait on the real clock: moving a test app's clock
		// forward brings its pending deliveries nearer by as much, and
		// no other app's.
		test := &touchpoint.App{ID: "com.example.test", Platform: touchpoint.Android, Name: "Test", TestMode: true,
			StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, "com.example.test"), Windows: touchpoint.DefaultWindows()}
		if err := s.CreateApp(ctxb(), test); err != nil {
			t.Fatal(err)
		}
		MustCreateApp(t, s, "com.example.game")
		mk := func(app string, i int, due time.Time) *touchpoint.Delivery {
			d := newDelivery("a.example.net", i)
			d.App, d.NextAt = app, due
			return d
		}
		retry, live, sent := mk(test.ID, 1, Start.Add(time.Hour)), mk("com.example.game", 2, Start.Add(time.Hour)), mk(test.ID, 3, Start)
		if err := s.EnqueueDeliveries(ctxb(), []*touchpoint.Delivery{retry, live, sent}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if err != nil || !slices.Equal(deliveryIDs(got), []int64{sent.ID}) {
			t.Fatalf("claimed %v, %v; want %d", deliveryIDs(got), err, sent.ID)
		}
		if err := s.FinishDeliveries(ctxb(), []*touchpoint.DeliveryResult{{Delivery: got[0], State: touchpoint.DeliverySucceeded,
			Attempt: &touchpoint.Attempt{N: 1, Time: Start, Status: 200}}}); err != nil {
			t.Fatal(err)
		}
		nextAt := func(id int64) time.Time {
			t.Helper()
			d, err := s.FindDelivery(ctxb(), id)
			if err != nil {
				t.Fatal(err)
			}
			return d.NextAt
		}
		if _, err := s.SetTestClock(ctxb(), test.ID, Start.Add(40*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := nextAt(retry.ID); !got.Equal(Start.Add(20 * time.Minute)) {
			t.Fatalf("after 40 minutes on the test clock, the retry is due at %s, want %s", got, Start.Add(20*time.Minute))
		}
		if more, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10}); len(more) != 0 {
			t.Fatalf("claimed %v before the retry was due", deliveryIDs(more))
		}
		// A refused move changes nothing.
		if _, err := s.SetTestClock(ctxb(), test.ID, Start.Add(30*time.Minute)); code(err) != touchpoint.EINVALID {
			t.Fatalf("moving the clock back: %v, want EINVALID", err)
		}
		if _, err := s.SetTestClock(ctxb(), test.ID, Start.Add(70*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := nextAt(retry.ID); !got.Equal(Start.Add(-10 * time.Minute)) {
			t.Fatalf("after 70 minutes on the test clock, the retry is due at %s, want %s", got, Start.Add(-10*time.Minute))
		}
		if got := nextAt(live.ID); !got.Equal(Start.Add(time.Hour)) {
			t.Fatalf("another app's delivery moved to %s", got)
		}
		if d, _ := s.FindDelivery(ctxb(), sent.ID); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 1 {
			t.Fatalf("a sent delivery changed: %+v", d)
		}
		got, err = s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if err != nil || !slices.Equal(deliveryIDs(got), []int64{retry.ID}) {
			t.Fatalf("claimed %v, %v; want the retry %d", deliveryIDs(got), err, retry.ID)
		}
	}},
	{"Delivery/ReleaseListBacklog", func(t *testing.T, s DeliveryStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreateApp(t, s, "com.example.other")
		a := newDelivery("a.example.net", 1)
		a.Method, a.Body, a.ContentType = "POST", "{\"v\":\"caf\u00e9\"}", "application/json"
		a.Headers = map[string]string{"Authorization": "Bearer k1"}
		b := newDelivery("b.example.net", 2)
		b.PID = "othernet_int"
		p := &touchpoint.Delivery{Project: 7, PID: "destination/1", Kind: touchpoint.KindEventStream, Source: "event/1",
			Method: "POST", URL: "https://c.example.net/batch", Body: "[]", Host: "c.example.net", MaxTries: touchpoint.StreamTries,
			Note: "no exchange rate for XTS"}
		o := newDelivery("a.example.net", 3)
		o.App = "com.example.other"
		// A batch naming an unknown app is refused whole.
		unknown := newDelivery("a.example.net", 4)
		unknown.App = "com.example.none"
		if err := s.EnqueueDeliveries(ctxb(), []*touchpoint.Delivery{newDelivery("a.example.net", 5), unknown}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("a delivery of an unknown app: %v, want ENOTFOUND", err)
		}
		if list, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("a refused batch wrote %v, %v", deliveryIDs(list), err)
		}
		if err := s.EnqueueDeliveries(ctxb(), []*touchpoint.Delivery{a, b, p, o}); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindDelivery(ctxb(), a.ID)
		if err != nil || got.Body != a.Body || got.Headers["Authorization"] != "Bearer k1" || len(got.Headers) != 1 ||
			got.ContentType != "application/json" || got.Method != "POST" || got.RetryInterval != 15*time.Minute || got.MaxTries != 5 ||
			!got.CreatedAt.Equal(Start) || !got.NextAt.Equal(Start) || got.App != "com.example.game" {
			t.Fatalf("FindDelivery = %+v, %v; want %+v", got, err, a)
		}
		if got, err := s.FindDelivery(ctxb(), p.ID); err != nil || got.App != "" || got.Project != 7 || got.Headers != nil ||
			got.Note != p.Note || got.Kind != touchpoint.KindEventStream || got.MaxTries != touchpoint.StreamTries {
			t.Fatalf("a project's delivery: %+v, %v", got, err)
		}
		backlog := func() []touchpoint.Backlog {
			t.Helper()
			bl, err := s.DeliveryBacklog(ctxb())
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(bl, func(x, y touchpoint.Backlog) int {
				return strings.Compare(x.App+"\x00"+x.PID, y.App+"\x00"+y.PID)
			})
			return bl
		}
		want := []touchpoint.Backlog{{App: "", PID: "destination/1", Pending: 1}, {App: "com.example.game", PID: "examplenet_int", Pending: 1},
			{App: "com.example.game", PID: "othernet_int", Pending: 1}, {App: "com.example.other", PID: "examplenet_int", Pending: 1}}
		if got := backlog(); !slices.Equal(got, want) {
			t.Fatalf("backlog %v, want %v", got, want)
		}
		claimed, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if err != nil || len(claimed) != 4 {
			t.Fatalf("claimed %v, %v", deliveryIDs(claimed), err)
		}
		byID := map[int64]*touchpoint.Delivery{}
		for _, d := range claimed {
			byID[d.ID] = d
		}
		// A release (no attempt) gives the delivery back at once, untried;
		// releasing again under the claim that ended changes nothing.
		rs := []*touchpoint.DeliveryResult{{Delivery: byID[a.ID]}, {Delivery: byID[b.ID], State: touchpoint.DeliverySucceeded,
			Attempt: &touchpoint.Attempt{N: 1, Time: Start, Status: 204, Body: "ok\x00"}}}
		if err := s.FinishDeliveries(ctxb(), rs); err != nil {
			t.Fatal(err)
		}
		again, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10})
		if err != nil || !slices.Equal(deliveryIDs(again), []int64{a.ID}) || again[0].Tries != 0 || again[0].Lease == byID[a.ID].Lease {
			t.Fatalf("after a release, claimed %v, %v; want %d untried under a new claim", deliveryIDs(again), err, a.ID)
		}
		if err := s.FinishDeliveries(ctxb(), rs[:1]); err != nil {
			t.Fatal(err)
		}
		if more, _ := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: Start, Lease: time.Minute, Limit: 10}); len(more) != 0 {
			t.Fatalf("a stale release gave back %v", deliveryIDs(more))
		}
		if d, _ := s.FindDelivery(ctxb(), b.ID); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].Body != "ok\x00" {
			t.Fatalf("finished delivery %+v", d)
		}
		want = slices.Delete(want, 2, 3)
		if got := backlog(); !slices.Equal(got, want) {
			t.Fatalf("backlog %v, want %v", got, want)
		}
		// Filters.
		c.Add(time.Hour)
		late := newDelivery("a.example.net", 6)
		if err := s.EnqueueDeliveries(ctxb(), []*touchpoint.Delivery{late}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    touchpoint.DeliveryFilter
			want []int64
		}{
			{touchpoint.DeliveryFilter{}, []int64{late.ID, o.ID, p.ID, b.ID, a.ID}},
			{touchpoint.DeliveryFilter{Project: 7}, []int64{p.ID}},
			{touchpoint.DeliveryFilter{App: "com.example.game"}, []int64{late.ID, b.ID, a.ID}},
			{touchpoint.DeliveryFilter{App: "com.example.other"}, []int64{o.ID}},
			{touchpoint.DeliveryFilter{PID: "othernet_int"}, []int64{b.ID}},
			{touchpoint.DeliveryFilter{Kind: touchpoint.KindEventStream}, []int64{p.ID}},
			{touchpoint.DeliveryFilter{State: touchpoint.DeliverySucceeded}, []int64{b.ID}},
			{touchpoint.DeliveryFilter{From: Start.Add(time.Hour)}, []int64{late.ID}},
			{touchpoint.DeliveryFilter{To: Start.Add(time.Hour)}, []int64{o.ID, p.ID, b.ID, a.ID}},
			{touchpoint.DeliveryFilter{App: "com.example.game", PID: "examplenet_int", Before: late.ID}, []int64{a.ID}},
		} {
			got, next, err := s.ListDeliveries(ctxb(), tc.f)
			if err != nil || !slices.Equal(deliveryIDs(got), tc.want) || next != 0 {
				t.Errorf("ListDeliveries(%+v) = %v next %d, %v; want %v", tc.f, deliveryIDs(got), next, err, tc.want)
			}
		}
		if _, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{App: "com.example.none"}); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("deliveries of an unknown app: %v, want ENOTFOUND", err)
		}
		if _, err := s.DeliveryHealth(ctxb(), "com.example.none", "examplenet_int", Start, Start.Add(time.Hour)); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("health of an unknown app: %v, want ENOTFOUND", err)
		}
		if _, err := s.RetryDelivery(ctxb(), 999999, Start); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("retrying an unknown delivery: %v, want ENOTFOUND", err)
		}
	}},
	// Retention (delivery_purge.go).
	{"Delivery/PurgeKeepsPending", testPurgeKeepsPending},
	{"Delivery/PurgeInBatches", testPurgeInBatches},
	{"Delivery/PurgeRacesRetryAndFinish", func(t *testing.T, s DeliveryStore, c *Clock) { PurgeRace(t, s, s, c) }},
}

var rateTests = []part[touchpoint.RateStore]{
	{"Rates/PutFindFallback", func(t *testing.T, s touchpoint.RateStore, c *Clock) {
		day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		if err := s.PutExchangeRates(ctxb(), &touchpoint.ExchangeRates{Day: day.Add(13 * time.Hour), Rates: map[string]float64{"EUR": 1.08, "JPY": 0.0066}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.FindExchangeRates(ctxb(), day)
		if err != nil || !r.Day.Equal(day) || r.Rates["EUR"] != 1.08 || r.Rates["JPY"] != 0.0066 {
			t.Fatalf("FindExchangeRates = %+v, %v", r, err)
		}
		for _, tc := range []struct {
			at   time.Time
			want float64
			on   time.Time
		}{
			{day.Add(23 * time.Hour), 1.08, day},
			{day.AddDate(0, 0, 7).Add(time.Hour), 1.08, day}, // the latest within 7 days
			{day.AddDate(0, 0, 8), 0, time.Time{}},           // too old
			{day.Add(-time.Second), 0, time.Time{}},          // none before
		} {
			rate, on, err := s.USDRate(ctxb(), "EUR", tc.at)
			if rate != tc.want || !on.Equal(tc.on) || (tc.want == 0) != (code(err) == touchpoint.ENOTFOUND) {
				t.Errorf("USDRate(EUR, %s) = %v on %s, %v; want %v on %s", tc.at, rate, on, err, tc.want, tc.on)
			}
		}
		// A day's table is replaced whole.
		if err := s.PutExchangeRates(ctxb(), &touchpoint.ExchangeRates{Day: day, Rates: map[string]float64{"GBP": 1.27}}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.FindExchangeRates(ctxb(), day); len(r.Rates) != 1 || r.Rates["GBP"] != 1.27 {
			t.Fatalf("after replacing: %+v", r)
		}
		for _, bad := range []map[string]float64{{}, {"eur": 1}, {"EUR": 0}, {"EUR": -1}, {"USD": 2}} {
			if err := s.PutExchangeRates(ctxb(), &touchpoint.ExchangeRates{Day: day, Rates: bad}); code(err) != touchpoint.EINVALID {
				t.Errorf("PutExchangeRates(%v): %v, want EINVALID", bad, err)
			}
		}
		if r, _ := s.FindExchangeRates(ctxb(), day); len(r.Rates) != 1 {
			t.Fatalf("a refused table changed the day: %+v", r)
		}
		if _, err := s.FindExchangeRates(ctxb(), day.AddDate(0, 0, 1)); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindExchangeRates of an empty day: %v", err)
		}
	}},
	{"Rates/PerCurrencyAndDay", func(t *testing.T, s touchpoint.RateStore, c *Clock) {
		d0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		d1 := d0.AddDate(0, 0, 1)
		odd := math.Nextafter(1.08, 2) // a rate with every bit of a float64 in use
		if err := s.PutExchangeRates(ctxb(), &touchpoint.ExchangeRates{Day: d0, Rates: map[string]float64{"EUR": 1.08, "JPY": 0.0066, "USD": 1}}); err != nil {
			t.Fatal(err)
		}
		// A day is the UTC day: 01:00 at UTC+3 is the day before's 22:00.
		r := &touchpoint.ExchangeRates{Day: time.Date(2026, 11, 22, 1, 0, 0, 0, time.FixedZone("UTC+3", 3*3600)), Rates: map[string]float64{"EUR": odd}}
		if err := s.PutExchangeRates(ctxb(), r); err != nil {
			t.Fatal(err)
		}
		if !r.Day.Equal(d1) {
			t.Fatalf("put for the day of %s, want %s", r.Day, d1)
		}
		if got, err := s.FindExchangeRates(ctxb(), d1.Add(23*time.Hour)); err != nil || !got.Day.Equal(d1) || len(got.Rates) != 1 || got.Rates["EUR"] != odd {
			t.Fatalf("FindExchangeRates(%s) = %+v, %v", d1, got, err)
		}
		// Each currency falls back on its own: the latest day that has it.
		for _, tc := range []struct {
			currency string
			at       time.Time
			want     float64
			on       time.Time
		}{
			{"EUR", d1.Add(12 * time.Hour), odd, d1},
			{"EUR", d0.Add(12 * time.Hour), 1.08, d0},
			{"JPY", d1.Add(12 * time.Hour), 0.0066, d0},
			{"USD", d1, 1, d0},
			{"JPY", d0.AddDate(0, 0, 8), 0, time.Time{}},
			{"GBP", d1, 0, time.Time{}},
			{"eur", d1, 0, time.Time{}},
		} {
			rate, on, err := s.USDRate(ctxb(), tc.currency, tc.at)
			if rate != tc.want || !on.Equal(tc.on) || (tc.want == 0) != (code(err) == touchpoint.ENOTFOUND) || (err != nil && tc.want != 0) {
				t.Errorf("USDRate(%s, %s) = %v on %s, %v; want %v on %s", tc.currency, tc.at, rate, on, err, tc.want, tc.on)
			}
		}
		// A refused table leaves the day as it was.
		if err := s.PutExchangeRates(ctxb(), &touchpoint.ExchangeRates{Day: d1, Rates: map[string]float64{"GBP": 1.27, "EUR": math.Inf(1)}}); code(err) != touchpoint.EINVALID {
			t.Fatalf("an infinite rate: %v, want EINVALID", err)
		}
		if _, _, err := s.USDRate(ctxb(), "GBP", d1); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("a refused table's rate was kept: %v", err)
		}
	}},
}
