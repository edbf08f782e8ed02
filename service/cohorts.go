package service

import (
	"context"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
)

// PreviewCohort evaluates a definition over a project's users as of the
// project's time: its size and up to sample members. EINVALID, ENOTFOUND.
func (s *Service) PreviewCohort(ctx context.Context, project int64, def touchpoint.Condition, sample int) (*touchpoint.CohortPreview, error) {
	// The definition is the request's own: checked before the project is
	// looked for.
	if err := (&touchpoint.Cohort{Name: "preview", Definition: def}).Validate(); err != nil {
		return nil, err
	}
	now, err := s.ProjectTime(ctx, project)
	if err != nil {
		return nil, err
	}
	return cohort.Preview(ctx, s.Store, project, def, sample, now)
}

// ComputeCohort evaluates a cohort as of its project's time and stores the
// membership, with who entered and left since the last computation.
// ENOTFOUND.
func (s *Service) ComputeCohort(ctx context.Context, c *touchpoint.Cohort) (*touchpoint.Membership, error) {
	now, err := s.ProjectTime(ctx, c.Project)
	if err != nil {
		return nil, err
	}
	return cohort.Compute(ctx, s.Store, c.ID, now)
}

// RunCohortSync runs a sync now, whatever its cadence, and returns the
// run; it goes on if ctx ends (a caller who leaves does not cut a run in
// half).
func (s *Service) RunCohortSync(ctx context.Context, id int64) (*touchpoint.SyncRun, error) {
	return s.syncer.RunNow(context.WithoutCancel(ctx), id)
}

// CreateCohortSync stores a new sync of a cohort and lets the syncer know:
// a sync due now (cadence once, or a first run) starts at once.
func (s *Service) CreateCohortSync(ctx context.Context, sy *touchpoint.CohortSync) error {
	if err := s.Store.CreateCohortSync(ctx, sy); err != nil {
		return err
	}
	s.CohortSyncsChanged()
	return nil
}

// UpdateCohortSync changes a sync and lets the syncer know.
func (s *Service) UpdateCohortSync(ctx context.Context, id int64, upd touchpoint.CohortSyncUpdate) (*touchpoint.CohortSync, error) {
	sy, err := s.Store.UpdateCohortSync(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	s.CohortSyncsChanged()
	return sy, nil
}

// CohortSyncsChanged makes the syncer look for due syncs now (one was
// created, enabled or rescheduled).
func (s *Service) CohortSyncsChanged() { s.syncer.Wake() }
