package cohort

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// keepClaim extends a claimed sync's claim while its run goes on, a third
// of the lease before it would run out, so a run longer than the lease
// keeps the sync from other servers. When the claim is lost (it lapsed
// and another server took the sync), the returned context ends, with the
// ECONFLICT as its cause, and the run stops sending: the other server's
// run sends instead. stop ends the keeping.
//
// The wait between extensions is the machine's timer (an interval of
// operation, like an HTTP timeout); the claim's times are the syncer's
// clock.
func (s *Syncer) keepClaim(ctx context.Context, sy *touchpoint.CohortSync) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if sy.Claim == 0 {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(s.lease()/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := s.Store.ExtendCohortSyncClaim(context.WithoutCancel(ctx), sy, s.Now().Add(s.lease()))
			if touchpoint.ErrorCode(err) == touchpoint.ECONFLICT {
				cancel(err)
				return
			} else if err != nil {
				s.Logger.Warn("cohort sync: extend the claim", "sync", sy.ID, "err", err)
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-stopped
		cancel(nil)
	}
}
