package touchpoint

import (
	"context"
	"time"
)

// LeaseStore grants leases: the right, for a while, to do work that must
// be done by one process at a time (purging old touches, expiring held
// attributions). Several servers over one database each run the same
// background tasks; the one that holds a task's lease does the work, and
// the others skip that round. Work that is made of rows (deliveries,
// cohort syncs) is claimed row by row instead (ClaimDeliveries,
// ClaimCohortSyncs).
//
// A lease is held until its time runs out or its holder releases it; a
// holder that dies loses it when it runs out. Holders must choose a
// duration longer than the work takes.
type LeaseStore interface {
	// AcquireLease gives the lease name to holder until until, when no
	// one holds it at now, its time ran out, or holder holds it already
	// (which extends it). It reports whether holder now holds it.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// ReleaseLease ends holder's lease of name. Releasing a lease one does
	// not hold (it ran out and another took it) changes nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// CheckLease refuses a lease a store cannot give: EINVALID without a name
// or a holder, or ending before it begins.
func CheckLease(name, holder string, now, until time.Time) error {
	if name == "" || holder == "" {
		return Errorf(EINVALID, "a lease needs a name and a holder")
	}
	if !until.After(now) {
		return Errorf(EINVALID, "a lease must end after it begins")
	}
	return nil
}
