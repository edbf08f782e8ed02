package storetest

import (
	"fmt"
	"slices"
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

var deliveryTests = []subtest{
	{"Delivery/WrittenFailed", func(t *testing.T, s touchpoint.Store, c *Clock) {
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
	{"Delivery/ClaimLeasesAndBounds", func(t *testing.T, s touchpoint.Store, c *Clock) {
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
	{"Delivery/FinishRetryGiveUp", func(t *testing.T, s touchpoint.Store, c *Clock) {
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
	{"Rates/PutFindFallback", func(t *testing.T, s touchpoint.Store, c *Clock) {
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
}
