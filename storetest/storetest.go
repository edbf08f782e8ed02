// Package storetest is the conformance suite every touchpoint.Store
// implementation runs: one named subtest per behaviour, each on a fresh
// store.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Factory opens a fresh, empty store whose clock is now. It registers its
// own cleanup.
type Factory func(t *testing.T, now func() time.Time) touchpoint.Store

// Clock is a settable clock for the suite.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Start is the time every suite clock starts at.
var Start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type subtest struct {
	name string
	run  func(t *testing.T, s touchpoint.Store, c *Clock)
}

// Run runs the whole suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	var tests []subtest
	tests = append(tests, appTests...)
	tests = append(tests, partnerTests...)
	tests = append(tests, touchTests...)
	tests = append(tests, installTests...)
	tests = append(tests, deliveryTests...)
	tests = append(tests, analyticsTests...)
	tests = append(tests, chartTests...)
	tests = append(tests, integrationTests...)
	tests = append(tests, cohortTests...)
	tests = append(tests, cohortSyncTests...)
	tests = append(tests, audienceTests...)
	tests = append(tests, leaseTests...)
	tests = append(tests, projectClockTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(Start)
			tc.run(t, newStore(t, c.Now), c)
		})
	}
}

func code(err error) string { return touchpoint.ErrorCode(err) }

// MustCreateApp creates an Android app with default windows.
func MustCreateApp(tb testing.TB, s touchpoint.AppStore, id string) *touchpoint.App {
	tb.Helper()
	a := &touchpoint.App{ID: id, Platform: touchpoint.Android, Name: "Game", StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, id), Windows: touchpoint.DefaultWindows()}
	if err := s.CreateApp(ctxb(), a); err != nil {
		tb.Fatalf("CreateApp(%s): %v", id, err)
	}
	return a
}

// MustCreatePartner creates a partner with default settings.
func MustCreatePartner(tb testing.TB, s touchpoint.PartnerStore, app, pid string) *touchpoint.Partner {
	tb.Helper()
	p := &touchpoint.Partner{AppID: app, PID: pid}
	if err := s.CreatePartner(ctxb(), p); err != nil {
		tb.Fatalf("CreatePartner(%s, %s): %v", app, pid, err)
	}
	return p
}
