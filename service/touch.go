package service

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// Touch is what a click or an impression of an attribution link amounts
// to: the touch to record (package link decides it from the link's
// parameters, the app and its partner's secrets). It records nothing: see
// RecordTouch. r.Time is set from the app's clock.
//
// The click path is the hottest of the server: neither Touch nor
// RecordTouch allocates or locks beyond what package link and the
// committer do.
func (s *Service) Touch(ca *CatalogApp, r link.Request) (*touchpoint.Touch, error) {
	r.Time = s.Now(ca.App)
	return link.NewTouch(r, ca.App, ca.Partner)
}

// RecordTouch flags a click over its partner's daily cap, and commits the
// touch. A failure of the server's own (counting the cap, or a commit
// failing other than because the store cannot write) is logged and comes
// back as EINTERNAL; the store's being unable to write as EUNAVAILABLE;
// the touch's own fault (its app was deleted a moment ago, say) with its
// code, the other touches of its commit being stored.
func (s *Service) RecordTouch(ctx context.Context, ca *CatalogApp, t *touchpoint.Touch) error {
	over, err := s.overCap(ctx, ca.App.Location(), ca.Configured(t.PID), t)
	if err != nil {
		s.Logger.Error("count click cap", "err", err)
		return errNotRecorded
	}
	t.OverCap = over
	if err := s.touches.Add(t); err != nil {
		switch touchpoint.ErrorCode(err) {
		case touchpoint.EINVALID, touchpoint.ENOTFOUND, touchpoint.ECONFLICT, touchpoint.EUNAUTHORIZED, touchpoint.ETOOMANY,
			touchpoint.EUNAVAILABLE:
			return err
		}
		s.Logger.Error("record touch", "err", err)
		return errNotRecorded
	}
	s.publishTouch(t)
	return nil
}

// errNotRecorded is a touch not recorded for a reason of ours (logged).
var errNotRecorded = touchpoint.Errorf(touchpoint.EINTERNAL, "the touch could not be recorded; please retry")

// clickCaps counts each capped partner's attributable clicks per day (by
// the app's clock, in the app's zone: the report's days), to flag the clicks over its daily cap. A count
// starts from the day's clicks in the report aggregates, so a restart does
// not reset it. Clicks rejected by click signing do not count toward a cap.
// Each server counts its own clicks: servers sharing one store each allow
// the cap (a limit of running several; one server is exact).
type clickCaps struct {
	mu     sync.Mutex
	counts map[capKey]*capCount
}

type capKey struct {
	app, pid string
	day      int64 // the report day, in Unix days
}

type capCount struct {
	once sync.Once
	n    atomic.Int64
	err  error
}

// overCap counts a click and reports whether it is over the partner's cap.
// loc is the app's zone.
func (s *Service) overCap(ctx context.Context, loc *time.Location, p *touchpoint.Partner, t *touchpoint.Touch) (bool, error) {
	if p == nil || p.DailyClickCap <= 0 || t.Kind != touchpoint.Click || t.Rejected {
		return false, nil
	}
	day := touchpoint.ReportDay(t.Time, loc)
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
