package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/task"
)

// Defaults of the background work's periods.
const (
	DefaultCatalogRefresh     = 10 * time.Second
	DefaultCohortSyncInterval = 5 * time.Second
	DefaultPurgeInterval      = time.Hour
	// DefaultDeliveryRetention is how long finished deliveries and
	// attempts are kept: the dashboard shows 7 days of delivery health,
	// and a given-up postback can be retried for as long as it is kept.
	DefaultDeliveryRetention = 30 * 24 * time.Hour
)

// Tasks is the application's background work, for a task runner (package
// task), beside the store's:
//
//   - outbox: sends due postbacks, forwards and streamed events (a worker;
//     deliveries are claimed row by row, so every server runs one);
//   - cohort-syncs: runs the cohort syncs that are due, each claimed by one
//     server, every CohortSyncInterval and at once when one is created;
//   - reload-catalog: rereads apps, partners and integrations every
//     CatalogRefresh, so changes made through another server apply here
//     within that time;
//   - expire-attributions: drops the attribution events held for 72 hours
//     of their project's time and forgets insert ids past 7 days of it,
//     every minute, in one server at a time (a lease);
//   - purge-touches: drops touches older than the longest lookback
//     window, every PurgeInterval, in one server at a time (a lease);
//   - purge-deliveries: removes the finished deliveries and the attempts
//     older than DeliveryRetention (PurgeDeliveries), every
//     PurgeInterval, in one server at a time (a lease).
//
// A negative period leaves a task out, and so does a negative
// DeliveryRetention (deliveries kept forever).
func (s *Service) Tasks() []task.Task {
	var tasks []task.Task
	add := func(t task.Task) {
		if t.Loop || t.Period > 0 {
			tasks = append(tasks, t)
		}
	}
	add(task.Task{Name: "outbox", Loop: true, Run: s.outbox.Run})
	add(task.Task{Name: "cohort-syncs", Period: cmp.Or(s.CohortSyncInterval, DefaultCohortSyncInterval),
		Wake: s.syncer.Woken(), Run: s.syncer.RunDue})
	add(task.Task{Name: "expire-attributions", Period: time.Minute, Jitter: 5 * time.Second, Lease: 2 * time.Minute,
		Run: s.ExpireAttributions})
	add(task.Task{Name: "reload-catalog", Period: cmp.Or(s.CatalogRefresh, DefaultCatalogRefresh),
		Jitter: cmp.Or(s.CatalogRefresh, DefaultCatalogRefresh) / 10, Run: s.ReloadCatalog})
	purge := cmp.Or(s.PurgeInterval, DefaultPurgeInterval)
	add(task.Task{Name: "purge-touches", Period: purge, Jitter: purge / 10, Lease: 2 * purge, Run: s.PurgeTouches})
	if s.DeliveryRetention >= 0 {
		add(task.Task{Name: "purge-deliveries", Period: purge, Jitter: purge / 10, Lease: 2 * purge, Run: s.PurgeDeliveries})
	}
	return tasks
}

// ExpireAttributions drops, project by project, the attribution events
// held past the hold and the insert ids past the dedup window, each
// project by its own time (a test-mode project's clock is not the
// server's).
func (s *Service) ExpireAttributions(ctx context.Context) error {
	ps, err := s.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if _, err := s.Store.ExpireAttributions(ctx, p.ID, s.ProjectNow(p)); err != nil {
			errs = append(errs, fmt.Errorf("project %d: %w", p.ID, err))
		}
	}
	return errors.Join(errs...)
}

// PurgeTouches drops the touches older than the longest lookback window:
// no launch can be attributed to them any more.
func (s *Service) PurgeTouches(ctx context.Context) error {
	n, err := s.Store.PurgeTouches(ctx, s.Store.Now().Add(-touchpoint.MaxClickLookback.Duration()))
	if n > 0 {
		s.Logger.Info("purged touches older than the longest lookback window", "touches", n)
	}
	return err
}

// PurgeDeliveries removes the finished deliveries last updated, and the
// attempts made, more than DeliveryRetention ago by the server's clock
// (deliveries and attempts are stamped with it, whatever an app's test
// clock says); pending deliveries stay until they are sent or given up.
func (s *Service) PurgeDeliveries(ctx context.Context) error {
	retention := cmp.Or(s.DeliveryRetention, DefaultDeliveryRetention)
	if retention < 0 {
		return nil // kept forever
	}
	n, err := s.Store.PurgeDeliveries(ctx, s.Store.Now().Add(-retention))
	if n > 0 {
		s.Logger.Info("purged finished deliveries past their retention", "deliveries", n, "retention", retention)
	}
	return err
}

// openWorkers builds the outbox and the syncer that Tasks runs.
func (s *Service) openWorkers() {
	s.outbox = &delivery.Outbox{Store: s.Store, Now: s.Store.Now, PerHost: s.PostbackConcurrency, Timeout: s.PostbackTimeout,
		Lease: s.PostbackLease, Logger: s.Logger, Sent: s.PostbackSent,
		Client: delivery.NewClient(cmp.Or(s.PostbackTimeout, 10*time.Second), s.AllowPrivatePostbackHosts, s.SelfAddr)}
	// Cohort syncs send big batches: a minute for each request.
	s.syncer = &cohort.Syncer{Store: s.Store, Client: delivery.NewClient(time.Minute, s.AllowPrivatePostbackHosts, s.SelfAddr),
		Self: s.Self, Now: s.Store.Now, ProjectNow: s.ProjectTime, Logger: s.Logger, Backoff: s.CohortSyncBackoff}
}
