package service_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/service"
	"github.com/touchpointhq/touchpoint/task"
)

// TestPurgeDeliveriesTask: purge-deliveries, run as serve's runner runs
// it (its lease, the store's clock), removes the deliveries finished more
// than DeliveryRetention ago by that clock, and keeps pending ones of any
// age and the finished ones within the retention; a negative retention
// leaves the task out.
func TestPurgeDeliveriesTask(t *testing.T) {
	const day = 24 * time.Hour
	ctx := context.Background()
	f := newFixture(t, nil)
	mk := func(i int, due time.Time) *touchpoint.Delivery {
		return &touchpoint.Delivery{App: appID, PID: pid, Kind: touchpoint.KindInstallPostback, Source: "install/" + strconv.Itoa(i),
			Method: "GET", URL: "https://a.example.net/pb", Host: "a.example.net", MaxTries: 3, NextAt: due}
	}
	start := f.db.Now()
	sent, waiting := mk(1, start), mk(2, start.Add(90*day))
	if err := f.db.EnqueueDeliveries(ctx, []*touchpoint.Delivery{sent, waiting}); err != nil {
		t.Fatal(err)
	}
	claimed, err := f.db.ClaimDeliveries(ctx, touchpoint.Claim{Now: start, Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	if err := f.db.FinishDeliveries(ctx, []*touchpoint.DeliveryResult{{Delivery: claimed[0], State: touchpoint.DeliverySucceeded,
		Attempt: &touchpoint.Attempt{N: 1, Time: start, Status: 200}}}); err != nil {
		t.Fatal(err)
	}

	f.svc.DeliveryRetention = 45 * day
	runner := &task.Runner{Tasks: f.svc.Tasks(), Leases: f.db, Holder: "node-1", Clock: f.db}
	run := func() {
		t.Helper()
		if err := runner.RunOnce(ctx, "purge-deliveries"); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(id int64) bool {
		t.Helper()
		_, err := f.db.FindDelivery(ctx, id)
		if err != nil && touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}
	// 40 days on, within the retention: nothing goes.
	f.advance(40 * day)
	later := mk(3, f.db.Now().Add(day))
	if err := f.db.EnqueueDeliveries(ctx, []*touchpoint.Delivery{later}); err != nil {
		t.Fatal(err)
	}
	run()
	if !exists(sent.ID) || !exists(waiting.ID) {
		t.Fatal("a purge within the retention removed a delivery")
	}
	// 46 days on: the delivery sent goes, the pending one stays.
	f.advance(6 * day)
	run()
	if exists(sent.ID) || !exists(waiting.ID) || !exists(later.ID) {
		t.Fatalf("after 46 days: sent %v, pending %v, later %v; want only the sent delivery gone",
			exists(sent.ID), exists(waiting.ID), exists(later.ID))
	}

	// The default retention is 30 days; a negative one keeps everything.
	if f.svc.DeliveryRetention = 0; !hasTask(f.svc.Tasks(), "purge-deliveries") {
		t.Error("purge-deliveries is not among the tasks by default")
	}
	if f.svc.DeliveryRetention = -1; hasTask(f.svc.Tasks(), "purge-deliveries") {
		t.Error("purge-deliveries is among the tasks with a negative retention")
	}
	if service.DefaultDeliveryRetention != 30*day {
		t.Errorf("DefaultDeliveryRetention = %s", service.DefaultDeliveryRetention)
	}
}

func hasTask(ts []task.Task, name string) bool {
	return slices.ContainsFunc(ts, func(t task.Task) bool { return t.Name == name })
}
