package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T, now func() time.Time) storetest.DeliveryStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestNodesClaimDeliveriesOnce: two nodes, each its own pool on one
// database, claim 500 deliveries at once with four senders each. Every
// delivery is claimed exactly once; the deliveries of a claim a node never
// finishes (it died) are claimed again, by the other node, once the lease
// ends, and the dead claim's late results are then dropped.
func TestNodesClaimDeliveriesOnce(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	nodes := []*postgres.DB{open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)}
	storetest.MustCreateApp(t, nodes[0], "com.example.game")
	const n = 500
	var ds []*touchpoint.Delivery
	for i := range n {
		host := fmt.Sprintf("h%d.example.net", i%13)
		ds = append(ds, &touchpoint.Delivery{App: "com.example.game", PID: "examplenet_int", Kind: touchpoint.KindInstallPostback,
			Source: fmt.Sprintf("install/%d", i), Method: "GET", URL: "https://" + host + "/pb", Host: host, MaxTries: 5,
			RetryInterval: 15 * time.Minute, NextAt: storetest.Start})
	}
	if err := nodes[1].EnqueueDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}

	const lease = time.Minute
	claim := touchpoint.Claim{Now: storetest.Start, Lease: lease, Limit: 16, PerHost: 4}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var claims [][]*touchpoint.Delivery // every claim, of either node
	start := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for _, node := range nodes {
		for range 4 {
			wg.Go(func() {
				<-start
				for {
					got, err := node.ClaimDeliveries(ctx, claim)
					if err != nil || len(got) == 0 {
						errs <- err
						return
					}
					mu.Lock()
					for _, d := range got {
						claimed[d.ID]++
					}
					claims = append(claims, got)
					mu.Unlock()
				}
			})
		}
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

	// Every claim but the first is finished; the first one's node died.
	succeed := func(ds []*touchpoint.Delivery) []*touchpoint.DeliveryResult {
		var rs []*touchpoint.DeliveryResult
		for _, d := range ds {
			rs = append(rs, &touchpoint.DeliveryResult{Delivery: d, State: touchpoint.DeliverySucceeded,
				Attempt: &touchpoint.Attempt{N: d.Tries + 1, Time: storetest.Start, Status: 200}})
		}
		return rs
	}
	dead := claims[0]
	for i, c := range claims[1:] {
		if err := nodes[i%2].FinishDeliveries(ctx, succeed(c)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := nodes[0].ClaimDeliveries(ctx, touchpoint.Claim{Now: storetest.Start.Add(lease - time.Millisecond), Lease: lease, Limit: n}); err != nil || len(got) != 0 {
		t.Fatalf("before the dead claim's lease ends, claimed %d, %v", len(got), err)
	}
	again, err := nodes[1].ClaimDeliveries(ctx, touchpoint.Claim{Now: storetest.Start.Add(lease), Lease: lease, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]bool{}
	for _, d := range dead {
		want[d.ID] = true
	}
	if len(again) != len(dead) {
		t.Fatalf("after the lease, claimed %d deliveries, want the dead claim's %d", len(again), len(dead))
	}
	for _, d := range again {
		if !want[d.ID] || d.Lease == dead[0].Lease {
			t.Fatalf("after the lease, claimed delivery %d under token %d; want the dead claim's deliveries under a new token", d.ID, d.Lease)
		}
	}
	// The dead node's results arrive late: they are dropped.
	if err := nodes[0].FinishDeliveries(ctx, succeed(dead)); err != nil {
		t.Fatal(err)
	}
	if d, err := nodes[0].FindDelivery(ctx, dead[0].ID); err != nil || d.State != touchpoint.DeliveryPending || len(d.Attempts) != 0 {
		t.Fatalf("a lapsed claim's result was recorded: %+v, %v", d, err)
	}
	if err := nodes[1].FinishDeliveries(ctx, succeed(again)); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var succeeded, attempts, attempted int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries WHERE state = 'succeeded' AND lease = 0),
		(SELECT count(*) FROM delivery_attempts), (SELECT count(DISTINCT delivery_id) FROM delivery_attempts)`).Scan(&succeeded, &attempts, &attempted); err != nil {
		t.Fatal(err)
	}
	if succeeded != n || attempts != n || attempted != n {
		t.Fatalf("%d deliveries succeeded, %d attempts of %d deliveries recorded; want %d each", succeeded, attempts, attempted, n)
	}
}
