package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var leaseTests = []part[touchpoint.LeaseStore]{
	{"Lease/OneHolderAtATime", func(t *testing.T, s touchpoint.LeaseStore, c *Clock) {
		now := c.Now()
		acquire := func(holder string, now time.Time, d time.Duration) bool {
			t.Helper()
			ok, err := s.AcquireLease(ctxb(), "purge-touches", holder, now, now.Add(d))
			if err != nil {
				t.Fatalf("AcquireLease(%s): %v", holder, err)
			}
			return ok
		}
		if !acquire("a", now, time.Minute) {
			t.Fatal("a free lease was refused")
		}
		if acquire("b", now.Add(30*time.Second), time.Minute) {
			t.Fatal("b took a lease a holds")
		}
		// The holder extends its own lease.
		if !acquire("a", now.Add(50*time.Second), time.Minute) {
			t.Fatal("a could not extend its lease")
		}
		if acquire("b", now.Add(70*time.Second), time.Minute) {
			t.Fatal("b took a lease a extended to 1m50s")
		}
		// Another lease name is another lease.
		if ok, err := s.AcquireLease(ctxb(), "expire-attributions", "b", now, now.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("another lease: %v, %v", ok, err)
		}
		// Run out: anyone may take it.
		if !acquire("b", now.Add(110*time.Second), time.Minute) {
			t.Fatal("b could not take a lease that ran out")
		}
		if acquire("a", now.Add(120*time.Second), time.Minute) {
			t.Fatal("a took back a lease b holds")
		}
	}},
	{"Lease/Release", func(t *testing.T, s touchpoint.LeaseStore, c *Clock) {
		now := c.Now()
		if ok, err := s.AcquireLease(ctxb(), "l", "a", now, now.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("AcquireLease: %v, %v", ok, err)
		}
		// Releasing someone else's lease changes nothing.
		if err := s.ReleaseLease(ctxb(), "l", "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AcquireLease(ctxb(), "l", "b", now, now.Add(time.Hour)); ok {
			t.Fatal("b's release freed a's lease")
		}
		if err := s.ReleaseLease(ctxb(), "l", "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.AcquireLease(ctxb(), "l", "b", now, now.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("after a released it, b: %v, %v", ok, err)
		}
	}},
	{"Lease/Invalid", func(t *testing.T, s touchpoint.LeaseStore, c *Clock) {
		now := c.Now()
		for _, tc := range []struct {
			name, holder string
			until        time.Time
		}{{"", "a", now.Add(time.Minute)}, {"l", "", now.Add(time.Minute)}, {"l", "a", now}} {
			if _, err := s.AcquireLease(ctxb(), tc.name, tc.holder, now, tc.until); code(err) != touchpoint.EINVALID {
				t.Errorf("AcquireLease(%q, %q, %v): %v, want EINVALID", tc.name, tc.holder, tc.until.Sub(now), err)
			}
		}
	}},
	{"Lease/Concurrent", func(t *testing.T, s touchpoint.LeaseStore, c *Clock) {
		// Many holders asking at once: exactly one gets it.
		now := c.Now()
		var mu sync.Mutex
		var won []string
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := string(rune('a' + i))
				ok, err := s.AcquireLease(ctxb(), "race", holder, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won = append(won, holder)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("holders that got the lease: %v, want exactly one", won)
		}
	}},
}
