package service

import (
	"context"

	"github.com/touchpointhq/touchpoint/chart"
)

// Chart computes a chart of a project in its time zone, at its time (a
// test-mode project's clock). EINVALID, ENOTFOUND.
func (s *Service) Chart(ctx context.Context, project int64, q chart.Query) (any, error) {
	p, err := s.Store.FindProject(ctx, project)
	if err != nil {
		return nil, err
	}
	return chart.Run(ctx, s.Store, chart.Context{Project: p.ID, Location: p.Location(), Now: s.ProjectNow(p)}, q)
}
