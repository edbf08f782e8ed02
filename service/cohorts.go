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

// CohortSyncsChanged makes the syncer look for due syncs now (one was
// created, enabled or rescheduled).
func (s *Service) CohortSyncsChanged() { s.syncer.Wake() }
