// Package service is Touchpoint's application layer: what a launch, a
// conversion, a click or an analytics upload does, whoever asks (the HTTP
// API, the CLI's server-side work, background jobs, the dashboard).
// Callers parse their own wire formats into touchpoint values, call one
// method, and present its result; the rules live here, the storage behind
// touchpoint.Store.
package service

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/batch"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/delivery"
)

// Service is the application. Set the exported fields, then Open; Close
// when done.
type Service struct {
	Store  touchpoint.Store
	Logger *slog.Logger
	// MaxBatch bounds the writes of one commit; CommitLinger is the
	// longest a commit waits for concurrent writes to join it (see package
	// batch). Zero: package batch's defaults.
	MaxBatch     int
	CommitLinger time.Duration
	// AllowPrivatePostbackHosts lifts the outbound rule (package outbound)
	// for the URLs saved through the service: postback templates,
	// analytics forwards and destinations may name private, loopback and
	// other non-public hosts (tests and closed networks).
	AllowPrivatePostbackHosts bool
	// Self is the base URL integrations send to when they name no other
	// (this server's own API); the HTTP server sets it once it listens.
	Self string
	// SelfAddr is the address of Self: the outbound rule lets requests
	// marked delivery.ToSelf reach it.
	SelfAddr netip.AddrPort
	// ObserveTouchCommit, when set, observes every commit of touches
	// (metrics).
	ObserveTouchCommit func(n int, d time.Duration, err error)

	// The background work (Tasks). PostbackConcurrency bounds concurrent
	// sends to one host and PostbackTimeout one send, PostbackLease (zero:
	// the outbox's default) is how long a claim of deliveries lasts (package delivery);
	// PostbackSent, when set, is told of every attempt (metrics).
	// CohortSyncBackoff is the first wait before a sync request is tried
	// again (package cohort). The periods: zero is the default, negative
	// leaves the task out.
	PostbackConcurrency int
	PostbackTimeout     time.Duration
	PostbackLease       time.Duration
	PostbackSent        func(d *touchpoint.Delivery, a *touchpoint.Attempt, state touchpoint.DeliveryState)
	CohortSyncBackoff   time.Duration
	CohortSyncInterval  time.Duration
	CatalogRefresh      time.Duration
	PurgeInterval       time.Duration
	// DeliveryRetention is how long finished deliveries (sent or given up)
	// and delivery attempts are kept before purge-deliveries removes them
	// (zero: DefaultDeliveryRetention; negative: forever). Pending ones
	// are kept whatever their age.
	DeliveryRetention time.Duration

	touches     *batch.Committer[*touchpoint.Touch]
	launches    *batch.Committer[*touchpoint.LaunchWrite]
	conversions *batch.Committer[*touchpoint.ConversionWrite]
	events      *batch.Committer[*touchpoint.EventUpload]
	limiter     *analytics.Limiter
	caps        clickCaps
	catalog     atomic.Pointer[catalog]
	catalogSeq  atomic.Uint64 // reloads begun (catalog.seq)
	outbox      *delivery.Outbox
	syncer      *cohort.Syncer
	feed        feed // the live feed (feed.go)
}

// Open loads the catalog and starts the committers.
func (s *Service) Open(ctx context.Context) error {
	s.Logger = cmp.Or(s.Logger, slog.Default())
	if err := s.ReloadCatalog(ctx); err != nil {
		return err
	}
	// A commit that fails for any reason but the store's being unable to
	// write at all is split until the requests at fault fail alone: one
	// bad request never fails another's (package batch). A request still
	// waiting when the committers have closed (the shutdown grace is
	// over) wrote nothing: unavailable, as when the store cannot write.
	isolate := func(err error) bool { return touchpoint.ErrorCode(err) != touchpoint.EUNAVAILABLE }
	closed := touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the server is shutting down: nothing was written; retry")
	// A store that takes concurrent writers (a database server) says how
	// many commits of each kind may run at once (but analytics events').
	writers := 1
	if w, ok := s.Store.(interface{ Writers() int }); ok {
		writers = w.Writers()
	}
	s.touches = batch.New(s.Store.RecordTouches, batch.Options{Max: s.MaxBatch, Linger: s.CommitLinger,
		OnCommit: s.ObserveTouchCommit, Isolate: isolate, Closed: closed, Writers: writers})
	s.launches = batch.New(s.Store.WriteLaunches, batch.Options{Max: s.MaxBatch, Linger: s.CommitLinger, Isolate: isolate, Closed: closed,
		Writers: writers})
	s.conversions = batch.New(s.Store.WriteConversions, batch.Options{Max: s.MaxBatch, Linger: s.CommitLinger, Isolate: isolate,
		Closed: closed, Writers: writers})
	// An upload holds up to 2,000 events: a commit takes at most 64 of
	// them. One at a time whatever the store: analytics writes take turns
	// in every store (ids, merges), so more writers would only make
	// smaller commits.
	s.events = batch.New(s.Store.RecordEvents, batch.Options{Max: 64, Linger: s.CommitLinger, Isolate: isolate, Closed: closed})
	s.limiter = analytics.NewLimiter()
	s.openWorkers()
	return nil
}

// Close commits what the committers hold and stops them; writes asked of
// the service afterwards fail as unavailable.
func (s *Service) Close() {
	if s.touches == nil {
		return
	}
	s.touches.Close()
	s.launches.Close()
	s.conversions.Close()
	s.events.Close()
}

// Now is the time of an app: its test clock in test mode, else the
// store's clock.
func (s *Service) Now(app *touchpoint.App) time.Time {
	return app.Now(s.Store.Now)
}

// AppNow is the time of the app with this id (the store's clock when no
// such app is configured).
func (s *Service) AppNow(appID string) time.Time {
	if a := s.App(appID); a != nil {
		return s.Now(a.App)
	}
	return s.Store.Now()
}
