package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// clickCaps counts each capped partner's attributable clicks per UTC day
// (by the app's clock), to flag the clicks over its daily cap. A count
// starts from the day's clicks in the report aggregates, so a restart does
// not reset it. Clicks rejected by click signing do not count toward a cap
// (spec §2). Each server counts its own clicks: servers sharing one store
// each allow the cap (a limit of running several; one server is exact).
type clickCaps struct {
	mu     sync.Mutex
	counts map[capKey]*capCount
}

type capKey struct {
	app, pid string
	day      int64 // Unix days
}

type capCount struct {
	once sync.Once
	n    atomic.Int64
	err  error
}

// overCap counts a click and reports whether it is over the partner's cap.
func (s *Server) overCap(ctx context.Context, p *touchpoint.Partner, t *touchpoint.Touch) (bool, error) {
	if p == nil || p.DailyClickCap <= 0 || t.Kind != touchpoint.Click || t.Rejected {
		return false, nil
	}
	day := t.Time.UTC().Truncate(24 * time.Hour)
	k := capKey{t.App, t.PID, day.Unix() / 86400}
	c := &s.caps
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[capKey]*capCount{}
	}
	cc := c.counts[k]
	if cc == nil {
		cc = &capCount{}
		c.counts[k] = cc
		// Days gone by are forgotten.
		for old := range c.counts {
			if old.day < k.day-1 {
				delete(c.counts, old)
			}
		}
	}
	c.mu.Unlock()
	cc.once.Do(func() {
		rows, err := s.Store.Report(ctx, touchpoint.ReportFilter{App: t.App, From: day, To: day.Add(24 * time.Hour), GroupBy: []string{"media_source"}})
		if err != nil {
			cc.err = err
			return
		}
		for _, r := range rows {
			if r.Group["media_source"] == t.PID {
				cc.n.Store(r.Clicks)
			}
		}
	})
	if cc.err != nil {
		c.mu.Lock()
		delete(c.counts, k) // try again on the next click
		c.mu.Unlock()
		return false, cc.err
	}
	return cc.n.Add(1) > p.DailyClickCap, nil
}
