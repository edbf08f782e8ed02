package service

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// MoveProjectTestClock sets a test-mode project's clock to *to, or, when
// to is nil, advances it by step: uploads are received, held attributions
// expire and cohort windows end by it (see touchpoint.Project.TestMode).
func (s *Service) MoveProjectTestClock(ctx context.Context, id int64, to *time.Time, step time.Duration) (*touchpoint.Project, error) {
	p, err := s.Store.FindProject(ctx, id)
	if err != nil {
		return nil, err
	}
	t, ok := clockTarget(p.TestClock, to, step)
	if !ok {
		return nil, p.NextTestClock(time.Time{})
	}
	return s.Store.SetProjectTestClock(ctx, id, t)
}
