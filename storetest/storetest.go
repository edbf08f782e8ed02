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

type subtest = part[touchpoint.Store]

// part is a named case on a store of type S: the whole Store, or one of
// its interfaces, so that a store being built interface by interface runs
// the cases of the interfaces it has (RunLeases).
type part[S any] struct {
	name string
	run  func(t *testing.T, s S, c *Clock)
}

// whole adapts cases of one interface to the whole store's.
func whole[S any](parts []part[S], as func(touchpoint.Store) S) []subtest {
	out := make([]subtest, len(parts))
	for i, p := range parts {
		out[i] = subtest{p.name, func(t *testing.T, s touchpoint.Store, c *Clock) { p.run(t, as(s), c) }}
	}
	return out
}

// runParts runs cases on fresh stores.
func runParts[S any](t *testing.T, parts []part[S], open func(t *testing.T, now func() time.Time) S) {
	for _, tc := range parts {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(Start)
			tc.run(t, open(t, c.Now), c)
		})
	}
}

// RunApps runs the app cases against stores from open.
func RunApps(t *testing.T, open func(t *testing.T, now func() time.Time) touchpoint.AppStore) {
	runParts(t, appTests, open)
}

// PartnerStore is what the partner cases need: partners, and apps to hold
// them.
type PartnerStore interface {
	touchpoint.AppStore
	touchpoint.PartnerStore
}

// RunPartners runs the partner cases against stores from open.
func RunPartners(t *testing.T, open func(t *testing.T, now func() time.Time) PartnerStore) {
	runParts(t, partnerTests, open)
}

// RunRates runs the exchange rate cases against stores from open.
func RunRates(t *testing.T, open func(t *testing.T, now func() time.Time) touchpoint.RateStore) {
	runParts(t, rateTests, open)
}

// IntegrationStore is what the integration cases need: forwards and
// destinations, and the apps and projects that hold them.
type IntegrationStore interface {
	touchpoint.AppStore
	touchpoint.ProjectStore
	touchpoint.IntegrationStore
}

// RunIntegrations runs the forward and destination cases against stores
// from open.
func RunIntegrations(t *testing.T, open func(t *testing.T, now func() time.Time) IntegrationStore) {
	runParts(t, integrationTests, open)
}

// RunLeases runs the lease cases against stores from open.
func RunLeases(t *testing.T, open func(t *testing.T, now func() time.Time) touchpoint.LeaseStore) {
	runParts(t, leaseTests, open)
}

// Run runs the whole suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	var tests []subtest
	tests = append(tests, whole(appTests, func(s touchpoint.Store) touchpoint.AppStore { return s })...)
	tests = append(tests, whole(partnerTests, func(s touchpoint.Store) PartnerStore { return s })...)
	tests = append(tests, whole(touchTests, func(s touchpoint.Store) TouchStore { return s })...)
	tests = append(tests, whole(installTests, func(s touchpoint.Store) InstallStore { return s })...)
	tests = append(tests, whole(installTouchTests, func(s touchpoint.Store) ReportStore { return s })...)
	tests = append(tests, whole(installReportTests, func(s touchpoint.Store) InstallStore { return s })...)
	tests = append(tests, whole(reportTests, func(s touchpoint.Store) ReportStore { return s })...)
	tests = append(tests, whole(deliveryTests, func(s touchpoint.Store) DeliveryStore { return s })...)
	tests = append(tests, whole(rateTests, func(s touchpoint.Store) touchpoint.RateStore { return s })...)
	tests = append(tests, whole(analyticsTests, func(s touchpoint.Store) AnalyticsStore { return s })...)
	tests = append(tests, whole(chartTests, func(s touchpoint.Store) ChartStore { return s })...)
	tests = append(tests, whole(integrationTests, func(s touchpoint.Store) IntegrationStore { return s })...)
	tests = append(tests, streamTests...)
	tests = append(tests, whole(cohortTests, func(s touchpoint.Store) CohortStore { return s })...)
	tests = append(tests, whole(cohortSyncTests, func(s touchpoint.Store) CohortSyncStore { return s })...)
	tests = append(tests, whole(audienceTests, func(s touchpoint.Store) AudienceStore { return s })...)
	tests = append(tests, whole(leaseTests, func(s touchpoint.Store) touchpoint.LeaseStore { return s })...)
	tests = append(tests, whole(projectTests, func(s touchpoint.Store) ProjectStore { return s })...)
	runParts(t, tests, newStore)
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
