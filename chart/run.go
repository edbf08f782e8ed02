package chart

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Query is a chart's query: *Segmentation, *Funnel, *Retention or *LTV.
type Query interface {
	// Kind names the chart: segmentation, funnel, retention, ltv.
	Kind() string
	run(ctx context.Context, src touchpoint.ChartSource, c Context) (any, error)
}

// Kinds are the charts' names, as the API's paths take them.
var Kinds = []string{"segmentation", "funnel", "retention", "ltv"}

// New returns an empty query of a kind, for decoding; nil for an unknown
// kind.
func New(kind string) Query {
	switch kind {
	case "segmentation":
		return &Segmentation{}
	case "funnel":
		return &Funnel{}
	case "retention":
		return &Retention{}
	case "ltv":
		return &LTV{}
	}
	return nil
}

func (*Segmentation) Kind() string { return "segmentation" }
func (*Funnel) Kind() string       { return "funnel" }
func (*Retention) Kind() string    { return "retention" }
func (*LTV) Kind() string          { return "ltv" }

// Run computes a chart: a *SegmentationResult, *FunnelResult,
// *RetentionResult or *LTVResult. EINVALID: a query that does not hold
// together; ENOTFOUND: no project.
func Run(ctx context.Context, src touchpoint.ChartSource, c Context, q Query) (any, error) {
	if c.Location == nil {
		c.Location = time.UTC
	}
	return q.run(ctx, src, c)
}
