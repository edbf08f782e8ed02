package service

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
)

// ProjectByAPIKey returns the project of an analytics API key (from the
// store's memory: no query per upload).
func (s *Service) ProjectByAPIKey(key string) (*touchpoint.Project, error) {
	return s.Store.ProjectByAPIKey(key)
}

// ProjectNow is the time of a project: its test clock in test mode, else
// the store's clock (also for no project). Uploads are received, their
// insert ids remembered and attribution events held by it.
func (s *Service) ProjectNow(p *touchpoint.Project) time.Time {
	if p == nil {
		return s.Store.Now()
	}
	return p.Now(s.Store.Now)
}

// ProjectTime is the time of the project with this id (see ProjectNow).
// ENOTFOUND.
func (s *Service) ProjectTime(ctx context.Context, id int64) (time.Time, error) {
	p, err := s.Store.FindProject(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	return s.ProjectNow(p), nil
}

// PendingAttributions summarises a project's held attribution events at
// its time. ENOTFOUND.
func (s *Service) PendingAttributions(ctx context.Context, project int64) (*touchpoint.PendingAttributions, error) {
	now, err := s.ProjectTime(ctx, project)
	if err != nil {
		return nil, err
	}
	return s.Store.PendingAttributions(ctx, project, now)
}

// Rate is the project limit an upload's events count against: the events
// per second each device and each user may send, counted across uploads.
type Rate int

// Rates.
const (
	// Unlimited: not rate limited (group identifies, attribution events).
	Unlimited Rate = iota
	// HTTPRate is the project's HTTP API limit (HTTP V2, the legacy
	// upload, identifies).
	HTTPRate
	// BatchRate is the project's Batch API limit.
	BatchRate
)

// Upload is a batch of a project's analytics events to store.
type Upload struct {
	Project  *touchpoint.Project
	Received time.Time
	Events   []*touchpoint.IncomingEvent
	Rate     Rate
}

// Ingest stores an upload's events, committed before it returns, and
// streams them to the project's enabled destinations. An upload over its
// rate is refused whole (the Throttled answer, nothing stored); one that
// fails to be stored counts for nothing against the rate. An EINVALID
// error is the upload's own data, not worth retrying; other errors mean
// nothing was stored and a retry is safe.
func (s *Service) Ingest(ctx context.Context, up *Upload) (*analytics.Throttled, error) {
	p := up.Project
	// Rates are counted by the server's clock, not the project's: a
	// test-mode project's clock stands still, and its window would never
	// roll over.
	now := s.Store.Now()
	var eps int
	switch up.Rate {
	case HTTPRate:
		eps = p.Limits.HTTPEPS
	case BatchRate:
		eps = p.Limits.BatchEPS
	}
	if eps > 0 {
		if t := s.limiter.Allow(p.ID, eps, up.Events, now); t != nil {
			return t, nil
		}
	}
	stored := &touchpoint.EventUpload{Project: p.ID, Received: up.Received, Events: up.Events, Streams: s.catalog.Load().streams[p.ID]}
	if err := s.events.Add(stored); err != nil {
		if eps > 0 {
			s.limiter.Refund(p.ID, up.Events, now) // not stored: counts for nothing
		}
		return nil, err
	}
	return nil, nil
}
