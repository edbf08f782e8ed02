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

func TestInstalls(t *testing.T) {
	storetest.RunInstalls(t, func(t *testing.T, now func() time.Time) storetest.InstallStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestNodesWriteFirstLaunchOnce: two nodes, each its own pool on one
// database, write first launches of one device at once, round after
// round: retries of one launch (the same key) and other decisions on the
// same device (other keys, the same advertising id in another letter
// case). Each round writes one install and one device; every other write
// comes back a Duplicate of it or Stale.
func TestNodesWriteFirstLaunchOnce(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	nodes := []*postgres.DB{open(t, dbURL, clock.Now), open(t, dbURL, clock.Now)}
	const game = "com.example.game"
	storetest.MustCreateApp(t, nodes[0], game)
	const rounds, writers = 20, 8
	for round := range rounds {
		gaid := fmt.Sprintf("GAID-%d", round)
		ws := make([]*touchpoint.LaunchWrite, writers)
		for i := range ws {
			key, raw := fmt.Sprintf("r%d", round), gaid
			if i%2 == 1 {
				key, raw = fmt.Sprintf("r%d-%d", round, i), "gaid-"+fmt.Sprint(round)
			}
			at := storetest.Start.Add(time.Duration(round)*time.Minute + time.Duration(i)*time.Millisecond)
			d := &touchpoint.Device{App: game, ID: fmt.Sprintf("dev-%d-%d", round, i), InstallTime: at,
				Attribution: touchpoint.OrganicAttribution(), FirstLaunch: at, LastLaunch: at, Launches: 1}
			d.IDs[touchpoint.GAID] = touchpoint.DeviceID{Raw: raw}
			in := &touchpoint.Install{App: game, DeviceID: d.ID, Type: touchpoint.TypeInstall, Time: at, Attribution: d.Attribution}
			ws[i] = &touchpoint.LaunchWrite{Key: key, Device: d, Install: in}
		}
		start := make(chan struct{})
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = nodes[i%2].WriteLaunches(ctx, []*touchpoint.LaunchWrite{w})
			}()
		}
		close(start)
		wg.Wait()
		var won *touchpoint.LaunchWrite
		for i, w := range ws {
			if errs[i] != nil {
				t.Fatalf("round %d, write %d: %v", round, i, errs[i])
			}
			if w.Duplicate == 0 && !w.Stale {
				if won != nil {
					t.Fatalf("round %d: both %s and %s were written", round, won.Device.ID, w.Device.ID)
				}
				won = w
			}
		}
		if won == nil {
			t.Fatalf("round %d: nothing was written", round)
		}
		for _, w := range ws {
			if w.Duplicate != 0 && (w.Duplicate != won.Install.ID || w.Key != won.Key) {
				t.Errorf("round %d: %s (key %s) is a duplicate of %d; written: %d (key %s)",
					round, w.Device.ID, w.Key, w.Duplicate, won.Install.ID, won.Key)
			}
		}
	}
	// Later launches of one device decided on one version, written at
	// once: one moves the device, the others are Stale. The device has no
	// ids, so that only its row's version keeps them apart.
	bare := &touchpoint.Device{App: game, ID: "dev-bare", Attribution: touchpoint.OrganicAttribution(),
		FirstLaunch: storetest.Start, LastLaunch: storetest.Start, Launches: 1}
	if err := nodes[0].WriteLaunches(ctx, []*touchpoint.LaunchWrite{{Device: bare}}); err != nil {
		t.Fatal(err)
	}
	seen, err := nodes[1].FindDevice(ctx, game, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	later := make([]*touchpoint.LaunchWrite, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range later {
		next := *seen
		next.Launches, next.LastLaunch = seen.Launches+1, seen.LastLaunch.Add(time.Duration(i+1)*time.Second)
		later[i] = &touchpoint.LaunchWrite{Seen: seen, Version: seen.Launches, Device: &next}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = nodes[i%2].WriteLaunches(ctx, later[i:i+1])
		}()
	}
	close(start)
	wg.Wait()
	moved := 0
	for i, w := range later {
		if errs[i] != nil {
			t.Fatalf("later launch %d: %v", i, errs[i])
		}
		if !w.Stale {
			moved++
		}
	}
	if d, err := nodes[1].FindDevice(ctx, game, seen.ID); err != nil {
		t.Fatal(err)
	} else if moved != 1 || d.Launches != seen.Launches+1 {
		t.Fatalf("%d later launches moved the device (now %d launches); want 1", moved, d.Launches)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var installs, devices, keys int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM installs), (SELECT count(*) FROM devices),
		(SELECT count(*) FROM launch_keys)`).Scan(&installs, &devices, &keys); err != nil {
		t.Fatal(err)
	}
	if installs != rounds || devices != rounds+1 || keys != rounds {
		t.Fatalf("%d installs, %d devices, %d launch keys; want %d, %d and %d", installs, devices, keys, rounds, rounds+1, rounds)
	}
	rows, err := nodes[1].Report(ctx, touchpoint.ReportFilter{App: game, From: storetest.Start.Truncate(24 * time.Hour),
		To: storetest.Start.Add(24 * time.Hour)})
	if err != nil || len(rows) != 1 || rows[0].OrganicInstalls != rounds {
		t.Fatalf("Report = %+v, %v; want %d organic installs", rows, err, rounds)
	}
}
