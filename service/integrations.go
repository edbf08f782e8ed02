package service

import (
	"context"

	"github.com/touchpointhq/touchpoint"
)

// PutForward sets an app's analytics forward, its URL checked by the
// outbound rule.
func (s *Service) PutForward(ctx context.Context, f *touchpoint.AnalyticsForward) error {
	if err := s.CheckOutboundURL("url", f.URL); err != nil {
		return err
	}
	if err := s.Store.PutAnalyticsForward(ctx, f); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// DeleteForward removes an app's analytics forward.
func (s *Service) DeleteForward(ctx context.Context, app string) error {
	if err := s.Store.DeleteAnalyticsForward(ctx, app); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// CreateDestination adds a destination to a project, its URL checked by
// the outbound rule.
func (s *Service) CreateDestination(ctx context.Context, d *touchpoint.Destination) error {
	if err := s.CheckOutboundURL("url", d.URL); err != nil {
		return err
	}
	if err := s.Store.CreateDestination(ctx, d); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// Destination returns a destination of a project (ENOTFOUND when the id
// is another project's).
func (s *Service) Destination(ctx context.Context, project, id int64) (*touchpoint.Destination, error) {
	d, err := s.Store.FindDestination(ctx, id)
	if err == nil && d.Project != project {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "destination %d is not one of project %d", id, project)
	}
	return d, err
}

// UpdateDestination changes a destination, a new URL checked by the
// outbound rule.
func (s *Service) UpdateDestination(ctx context.Context, id int64, upd touchpoint.DestinationUpdate) (*touchpoint.Destination, error) {
	if upd.URL != nil {
		if err := s.CheckOutboundURL("url", *upd.URL); err != nil {
			return nil, err
		}
	}
	d, err := s.Store.UpdateDestination(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return d, nil
}

// DeleteDestination removes a destination.
func (s *Service) DeleteDestination(ctx context.Context, id int64) error {
	if err := s.Store.DeleteDestination(ctx, id); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}
