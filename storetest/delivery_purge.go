package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The outbox's retention (touchpoint.DeliveryStore.PurgeDeliveries).

const oneDay = 24 * time.Hour

// claimAll claims every delivery due at now, for lease.
func claimAll(t *testing.T, s DeliveryStore, now time.Time, lease time.Duration) map[int64]*touchpoint.Delivery {
	t.Helper()
	got, err := s.ClaimDeliveries(ctxb(), touchpoint.Claim{Now: now, Lease: lease, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*touchpoint.Delivery{}
	for _, d := range got {
		byID[d.ID] = d
	}
	return byID
}

// result is a claimed delivery's attempt at at, answered status, leaving
// it in state (pending: due again at next).
func result(d *touchpoint.Delivery, at time.Time, status int, state touchpoint.DeliveryState, next time.Time) *touchpoint.DeliveryResult {
	r := &touchpoint.DeliveryResult{Delivery: d, State: state, NextAt: next,
		Attempt: &touchpoint.Attempt{N: d.Tries + 1, Time: at, Status: status, Latency: time.Millisecond}}
	if state == touchpoint.DeliveryFailed {
		r.Reason = fmt.Sprintf("the destination answered %d: not retried", status)
	}
	return r
}

func mustFinish(t *testing.T, s DeliveryStore, rs ...*touchpoint.DeliveryResult) {
	t.Helper()
	if err := s.FinishDeliveries(ctxb(), rs); err != nil {
		t.Fatal(err)
	}
}

func mustEnqueue(t *testing.T, s DeliveryStore, ds ...*touchpoint.Delivery) {
	t.Helper()
	if err := s.EnqueueDeliveries(ctxb(), ds); err != nil {
		t.Fatal(err)
	}
}

func attemptNs(d *touchpoint.Delivery) []int {
	var ns []int
	for _, a := range d.Attempts {
		ns = append(ns, a.N)
	}
	return ns
}

// testPurgeKeepsPending: a purge removes the finished deliveries last
// updated before its cut, with their attempts, and the attempts made
// before it; pending deliveries of any age stay, claimed or not, and so
// does everything newer.
func testPurgeKeepsPending(t *testing.T, s DeliveryStore, c *Clock) {
	MustCreateApp(t, s, "com.example.game")
	mk := func(i int, due time.Time) *touchpoint.Delivery {
		d := newDelivery("a.example.net", i)
		d.NextAt = due
		return d
	}
	cut := Start.Add(30 * oneDay)
	succeeded, failed, retrying, inFlight := mk(1, Start), mk(2, Start), mk(3, Start), mk(4, Start)
	written := mk(5, Start) // written failed, never sent
	written.State, written.Reason = touchpoint.DeliveryFailed, "not sent: no id"
	due := mk(6, Start.Add(100*oneDay)) // pending, never tried
	retried, refailed := mk(7, Start), mk(8, Start)
	mustEnqueue(t, s, succeeded, failed, retrying, inFlight, written, due, retried, refailed)
	// inFlight's sender holds it past the purge; the others are finished
	// at once.
	first := claimAll(t, s, Start, 365*oneDay)
	if len(first) != 6 {
		t.Fatalf("claimed %d deliveries, want 6", len(first))
	}
	mustFinish(t, s,
		result(first[succeeded.ID], Start, 200, touchpoint.DeliverySucceeded, time.Time{}),
		result(first[failed.ID], Start, 404, touchpoint.DeliveryFailed, time.Time{}),
		result(first[retrying.ID], Start, 503, touchpoint.DeliveryPending, Start.Add(60*oneDay)),
		result(first[retried.ID], Start, 404, touchpoint.DeliveryFailed, time.Time{}),
		result(first[refailed.ID], Start, 404, touchpoint.DeliveryFailed, time.Time{}))
	// refailed is retried the next day and fails again: last updated
	// then, long before the cut.
	c.Add(oneDay)
	if _, err := s.RetryDelivery(ctxb(), refailed.ID, c.Now()); err != nil {
		t.Fatal(err)
	}
	got := claimAll(t, s, c.Now(), time.Minute)
	mustFinish(t, s, result(got[refailed.ID], c.Now(), 404, touchpoint.DeliveryFailed, time.Time{}))
	// straddle is tried an hour before the cut, in the cut's week, and
	// stays pending: its attempt goes.
	c.Add(29*oneDay - time.Hour)
	straddle := mk(13, c.Now())
	mustEnqueue(t, s, straddle)
	got = claimAll(t, s, c.Now(), time.Minute)
	mustFinish(t, s, result(got[straddle.ID], c.Now(), 503, touchpoint.DeliveryPending, Start.Add(60*oneDay)))
	// boundary finishes at the cut itself, with an attempt made then.
	c.Add(time.Hour)
	boundary := mk(9, c.Now())
	mustEnqueue(t, s, boundary)
	got = claimAll(t, s, c.Now(), time.Minute)
	mustFinish(t, s, result(got[boundary.ID], c.Now(), 200, touchpoint.DeliverySucceeded, time.Time{}))
	// retried is retried after the cut and succeeds: kept, but its first
	// attempt, made before the cut, goes.
	c.Add(5 * oneDay)
	if _, err := s.RetryDelivery(ctxb(), retried.ID, c.Now()); err != nil {
		t.Fatal(err)
	}
	got = claimAll(t, s, c.Now(), time.Minute)
	mustFinish(t, s, result(got[retried.ID], c.Now(), 200, touchpoint.DeliverySucceeded, time.Time{}))
	c.Add(5 * oneDay)
	fresh, freshDone := mk(10, c.Now().Add(oneDay)), mk(11, c.Now())
	mustEnqueue(t, s, fresh, freshDone)
	got = claimAll(t, s, c.Now(), time.Minute)
	mustFinish(t, s, result(got[freshDone.ID], c.Now(), 200, touchpoint.DeliverySucceeded, time.Time{}))
	everyID := []int64{succeeded.ID, failed.ID, retrying.ID, inFlight.ID, written.ID, due.ID, retried.ID, refailed.ID,
		straddle.ID, boundary.ID, fresh.ID, freshDone.ID}

	healthBefore, err := s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", Start, Start.Add(2*oneDay))
	if err != nil || healthBefore.Attempts != 6 || healthBefore.GivenUp != 3 {
		t.Fatalf("health before the purge %+v, %v; want 6 attempts, 3 given up", healthBefore, err)
	}
	n, err := s.PurgeDeliveries(ctxb(), cut)
	if err != nil || n != 4 {
		t.Fatalf("PurgeDeliveries = %d, %v; want 4 (succeeded, failed, written failed, failed again)", n, err)
	}
	for _, id := range []int64{succeeded.ID, failed.ID, written.ID, refailed.ID} {
		if d, err := s.FindDelivery(ctxb(), id); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindDelivery of purged %d = %+v, %v; want ENOTFOUND", id, d, err)
		}
	}
	if _, err := s.RetryDelivery(ctxb(), failed.ID, c.Now()); code(err) != touchpoint.ENOTFOUND {
		t.Errorf("retrying a purged delivery: %v, want ENOTFOUND", err)
	}
	kept := []int64{freshDone.ID, fresh.ID, boundary.ID, straddle.ID, retried.ID, due.ID, inFlight.ID, retrying.ID}
	if list, next, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{}); err != nil || !slices.Equal(deliveryIDs(list), kept) || next != 0 {
		t.Fatalf("after the purge, deliveries %v, %v; want %v", deliveryIDs(list), err, kept)
	}
	find := func(id int64) *touchpoint.Delivery {
		t.Helper()
		d, err := s.FindDelivery(ctxb(), id)
		if err != nil {
			t.Fatalf("FindDelivery(%d): %v", id, err)
		}
		return d
	}
	// Pending deliveries stay as they were, but for the attempts made
	// before the cut.
	if d := find(retrying.ID); d.State != touchpoint.DeliveryPending || d.Tries != 1 || len(d.Attempts) != 0 ||
		!d.NextAt.Equal(Start.Add(60*oneDay)) {
		t.Errorf("a pending delivery tried before the cut: %+v", d)
	}
	if d := find(straddle.ID); d.State != touchpoint.DeliveryPending || d.Tries != 1 || len(d.Attempts) != 0 {
		t.Errorf("a pending delivery tried an hour before the cut: %+v", d)
	}
	if d := find(inFlight.ID); d.State != touchpoint.DeliveryPending || d.Lease != first[inFlight.ID].Lease || d.Tries != 0 {
		t.Errorf("a delivery in flight: %+v", d)
	}
	if d := find(due.ID); d.State != touchpoint.DeliveryPending || !d.NextAt.Equal(Start.Add(100*oneDay)) {
		t.Errorf("a delivery due later: %+v", d)
	}
	if d := find(retried.ID); d.State != touchpoint.DeliverySucceeded || d.Tries != 2 || !slices.Equal(attemptNs(d), []int{2}) {
		t.Errorf("a delivery retried after the cut: %+v, attempts %v; want its second attempt only", d, attemptNs(d))
	}
	if d := find(boundary.ID); d.State != touchpoint.DeliverySucceeded || !slices.Equal(attemptNs(d), []int{1}) || !d.Attempts[0].Time.Equal(cut) {
		t.Errorf("a delivery finished at the cut: %+v", d)
	}
	if d := find(freshDone.ID); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 {
		t.Errorf("a delivery finished after the cut: %+v", d)
	}
	// Health over the purged days counts nothing; after the cut, every
	// attempt still there.
	h, err := s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", Start, Start.Add(2*oneDay))
	if err != nil || h.Attempts != 0 || h.GivenUp != 0 || h.Backlog != 5 {
		t.Errorf("health over the purged days %+v, %v; want no attempts, none given up, a backlog of 5", h, err)
	}
	h, err = s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", cut, c.Now().Add(time.Hour))
	if err != nil || h.Attempts != 3 || h.Succeeded != 3 || h.Backlog != 5 {
		t.Errorf("health since the cut %+v, %v; want 3 attempts, each a success, a backlog of 5", h, err)
	}
	if n, err := s.PurgeDeliveries(ctxb(), cut); err != nil || n != 0 {
		t.Errorf("purging again = %d, %v; want 0", n, err)
	}
	// The claim held through the purge still finishes its delivery.
	mustFinish(t, s, result(first[inFlight.ID], c.Now(), 200, touchpoint.DeliverySucceeded, time.Time{}))
	if d := find(inFlight.ID); d.State != touchpoint.DeliverySucceeded || len(d.Attempts) != 1 {
		t.Errorf("the delivery in flight, finished after the purge: %+v", d)
	}
	// New deliveries get new ids, never a purged one's.
	later := mk(12, c.Now())
	mustEnqueue(t, s, later)
	if later.ID <= slices.Max(everyID) {
		t.Errorf("a new delivery got id %d, not above every id given before (%v)", later.ID, everyID)
	}
}

// testPurgeInBatches: a purge removes more deliveries than one of its
// batches holds, but the newest delivery of all (ids are never given
// again), which goes once a newer one exists.
func testPurgeInBatches(t *testing.T, s DeliveryStore, c *Clock) {
	MustCreateApp(t, s, "com.example.game")
	const n = 2345
	ds := make([]*touchpoint.Delivery, n)
	for i := range ds {
		ds[i] = newDelivery(fmt.Sprintf("h%d.example.net", i%5), i)
	}
	mustEnqueue(t, s, ds...)
	got := claimAll(t, s, Start, time.Minute)
	if len(got) != n {
		t.Fatalf("claimed %d, want %d", len(got), n)
	}
	var rs []*touchpoint.DeliveryResult
	for _, d := range got {
		rs = append(rs, result(d, Start, 200, touchpoint.DeliverySucceeded, time.Time{}))
	}
	mustFinish(t, s, rs...)
	c.Add(40 * oneDay)
	purged, err := s.PurgeDeliveries(ctxb(), Start.Add(30*oneDay))
	if err != nil || purged != n-1 {
		t.Fatalf("PurgeDeliveries = %d, %v; want %d: all but the newest", purged, err, n-1)
	}
	last := ds[n-1]
	if list, _, err := s.ListDeliveries(ctxb(), touchpoint.DeliveryFilter{}); err != nil || !slices.Equal(deliveryIDs(list), []int64{last.ID}) {
		t.Fatalf("after the purge, deliveries %v, %v; want the newest, %d", deliveryIDs(list), err, last.ID)
	}
	for _, d := range []*touchpoint.Delivery{ds[0], ds[1000], ds[n-2]} {
		if _, err := s.FindDelivery(ctxb(), d.ID); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("FindDelivery of purged %d: %v, want ENOTFOUND", d.ID, err)
		}
	}
	h, err := s.DeliveryHealth(ctxb(), "com.example.game", "examplenet_int", Start, Start.Add(time.Hour))
	if err != nil || h.Attempts != 0 {
		t.Fatalf("health over the purged hour %+v, %v; want no attempts", h, err)
	}
	next := newDelivery("a.example.net", n)
	mustEnqueue(t, s, next)
	if next.ID <= last.ID {
		t.Fatalf("a new delivery got id %d, not above the newest before it (%d)", next.ID, last.ID)
	}
	if purged, err := s.PurgeDeliveries(ctxb(), Start.Add(30*oneDay)); err != nil || purged != 1 {
		t.Fatalf("PurgeDeliveries once a newer delivery exists = %d, %v; want 1", purged, err)
	}
	if d, err := s.FindDelivery(ctxb(), last.ID); code(err) != touchpoint.ENOTFOUND {
		t.Fatalf("FindDelivery of the once newest = %+v, %v; want ENOTFOUND", d, err)
	}
	again := newDelivery("a.example.net", n+1)
	mustEnqueue(t, s, again)
	if again.ID <= next.ID {
		t.Fatalf("a new delivery got id %d, not above %d", again.ID, next.ID)
	}
}

// PurgeRace purges old deliveries through purger while sender, a store
// over the same data (the same store, or another node over one database),
// retries given-up deliveries among them and finishes claimed ones at the
// same time. A retry comes before the purge and keeps its delivery,
// pending, or after it and answers ENOTFOUND: every retry that succeeded
// left a pending delivery, and every delivery purged is one whose retry
// found nothing. Deliveries finished meanwhile stay, with their attempts.
func PurgeRace(t *testing.T, purger, sender DeliveryStore, c *Clock) {
	t.Helper()
	if _, err := purger.FindApp(ctxb(), "com.example.game"); code(err) == touchpoint.ENOTFOUND {
		MustCreateApp(t, purger, "com.example.game")
	}
	// More given-up deliveries than a batch of the purge holds: retries,
	// newest first, meet the purge's batches, oldest first.
	const given, flying = 2000, 100
	var ds []*touchpoint.Delivery
	for i := range given + flying {
		ds = append(ds, newDelivery(fmt.Sprintf("h%d.example.net", i%7), i))
	}
	mustEnqueue(t, sender, ds...)
	got := claimAll(t, sender, Start, 365*oneDay)
	if len(got) != given+flying {
		t.Fatalf("claimed %d, want %d", len(got), given+flying)
	}
	var rs []*touchpoint.DeliveryResult
	for _, d := range ds[:given] {
		rs = append(rs, result(got[d.ID], Start, 404, touchpoint.DeliveryFailed, time.Time{}))
	}
	mustFinish(t, sender, rs...)
	c.Add(40 * oneDay)
	newest := newDelivery("z.example.net", 0)
	newest.NextAt = c.Now().Add(oneDay)
	mustEnqueue(t, sender, newest)

	start := make(chan struct{})
	halfway := make(chan struct{}) // the purge starts once half the retries are made
	done := make(chan struct{})
	var wg sync.WaitGroup
	retryErrs := make([]error, given)
	var finishErr, purgeErr error
	var purged int64
	wg.Go(func() { // retries, newest first
		<-start
		for i := given - 1; i >= 0; i-- {
			if i == given/2 {
				close(halfway)
			}
			_, retryErrs[i] = sender.RetryDelivery(ctxb(), ds[i].ID, c.Now())
		}
	})
	wg.Go(func() { // the senders' results, one at a time
		<-start
		for _, d := range ds[given:] {
			if finishErr = sender.FinishDeliveries(ctxb(), []*touchpoint.DeliveryResult{
				result(got[d.ID], c.Now(), 200, touchpoint.DeliverySucceeded, time.Time{})}); finishErr != nil {
				return
			}
		}
	})
	go func() {
		wg.Wait()
		close(done)
	}()
	var purges sync.WaitGroup
	purges.Go(func() { // purges until both are done, and once more
		<-halfway
		for {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			n, err := purger.PurgeDeliveries(ctxb(), Start.Add(30*oneDay))
			if err != nil {
				purgeErr = err
				return
			}
			purged += n
			if finished {
				return
			}
		}
	})
	close(start)
	purges.Wait()
	<-done
	if purgeErr != nil || finishErr != nil {
		t.Fatalf("purge: %v; finish: %v", purgeErr, finishErr)
	}
	var notFound int64
	for i, d := range ds[:given] {
		found, err := purger.FindDelivery(ctxb(), d.ID)
		switch {
		case retryErrs[i] == nil:
			if err != nil || found.State != touchpoint.DeliveryPending {
				t.Errorf("delivery %d was retried, then is %+v, %v; want it pending", d.ID, found, err)
			}
		case code(retryErrs[i]) == touchpoint.ENOTFOUND:
			notFound++
			if code(err) != touchpoint.ENOTFOUND {
				t.Errorf("the retry of delivery %d found nothing, then FindDelivery = %+v, %v", d.ID, found, err)
			}
		default:
			t.Errorf("retrying delivery %d: %v", d.ID, retryErrs[i])
		}
	}
	if purged != notFound {
		t.Errorf("purged %d deliveries, %d retries found nothing; want as many", purged, notFound)
	}
	for _, d := range ds[given:] {
		if found, err := purger.FindDelivery(ctxb(), d.ID); err != nil || found.State != touchpoint.DeliverySucceeded || len(found.Attempts) != 1 {
			t.Errorf("delivery %d, finished during the purge: %+v, %v", d.ID, found, err)
		}
	}
	t.Logf("%d of %d retries came after the purge", notFound, given)
}
