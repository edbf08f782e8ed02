package cohort

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// computeTries bounds the evaluations of one computation: another
// computation of the cohort that stores its membership first makes this
// one start over from the new membership.
const computeTries = 3

// Compute evaluates a cohort at now and stores its membership: only the
// users who entered and left since the last computation are written, and
// the returned membership names them. ENOTFOUND.
func Compute(ctx context.Context, s touchpoint.CohortStore, id int64, now time.Time) (*touchpoint.Membership, error) {
	now = now.UTC().Truncate(time.Millisecond) // the precision stored
	for try := 1; ; try++ {
		m, err := compute(ctx, s, id, now)
		if touchpoint.ErrorCode(err) != touchpoint.ECONFLICT || try == computeTries {
			return m, err
		}
	}
}

func compute(ctx context.Context, s touchpoint.CohortStore, id int64, now time.Time) (*touchpoint.Membership, error) {
	c, err := s.FindCohort(ctx, id)
	if err != nil {
		return nil, err
	}
	// Took is the computation's own duration, read off the machine's
	// monotonic clock: it is not a time the rules depend on.
	began := time.Now()
	old, base, err := s.CohortMembership(ctx, id)
	if err != nil {
		return nil, err
	}
	set, err := Evaluate(ctx, s, c.Project, &c.Definition, now)
	if err != nil {
		return nil, err
	}
	m := &touchpoint.Membership{Cohort: id, Version: c.Version, ComputedAt: now, Size: set.Count()}
	m.Entered, m.Left = MembershipDiff(old, set)
	m.Took = time.Since(began)
	if err := s.PutMembership(ctx, m, base); err != nil {
		return nil, err
	}
	return m, nil
}

// MembershipDiff compares the stored members with a new evaluation: the
// users who entered and those who left, each lowest first (never nil).
func MembershipDiff(old []int64, now *Set) (entered, left []int64) {
	entered, left = []int64{}, []int64{}
	was := now.emptyLike()
	for _, u := range old {
		if now.Has(u) {
			was.Add(u)
		} else {
			left = append(left, u)
		}
	}
	slices.Sort(left)
	now.Each(func(u int64) bool {
		if !was.Has(u) {
			entered = append(entered, u)
		}
		return true
	})
	return entered, left
}

// SyncStore is what a sync's diff reads.
type SyncStore interface {
	FindCohortSync(ctx context.Context, id int64) (*touchpoint.CohortSync, error)
	CohortDevices(ctx context.Context, cohort int64, mapping string) ([]touchpoint.SyncDevice, error)
	SentDevices(ctx context.Context, id int64) ([]touchpoint.SyncDevice, error)
}

// DiffCohortSync compares a sync's cohort's stored membership, mapped to
// identifiers, with what the sync has sent. ENOTFOUND, EINVALID (not a
// mapping).
func DiffCohortSync(ctx context.Context, s SyncStore, id int64, mapping string) (*touchpoint.SyncDiff, error) {
	sy, err := s.FindCohortSync(ctx, id)
	if err != nil {
		return nil, err
	}
	members, err := s.CohortDevices(ctx, sy.Cohort, mapping)
	if err != nil {
		return nil, err
	}
	sent, err := s.SentDevices(ctx, id)
	if err != nil {
		return nil, err
	}
	return SyncDiff(members, sent), nil
}

// SyncDiff is what a sync must send: members holds each member once with
// its identifier (empty: none), sent what the audience holds. A member's
// identifier the audience lacks is added; an identifier the audience
// holds for no member (the user left, or its identifier changed) is
// removed; members with no identifier are skipped. Add and Remove come
// by user, then identifier.
func SyncDiff(members, sent []touchpoint.SyncDevice) *touchpoint.SyncDiff {
	byDevice := func(a, b touchpoint.SyncDevice) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.ID, b.ID))
	}
	// The store gives both in this order; the merge below needs it.
	if !slices.IsSortedFunc(members, byDevice) {
		members = slices.SortedFunc(slices.Values(members), byDevice)
	}
	if !slices.IsSortedFunc(sent, byDevice) {
		sent = slices.SortedFunc(slices.Values(sent), byDevice)
	}
	d := &touchpoint.SyncDiff{}
	i := 0
	for _, m := range members {
		for ; i < len(sent) && sent[i].User < m.User; i++ {
			d.Remove = append(d.Remove, sent[i]) // not a member
		}
		held := false
		for ; i < len(sent) && sent[i].User == m.User; i++ {
			if m.ID != "" && sent[i].ID == m.ID {
				held = true
			} else {
				d.Remove = append(d.Remove, sent[i]) // an identifier it had
			}
		}
		switch {
		case m.ID == "":
			d.Skipped++
		case !held:
			d.Add = append(d.Add, m)
		}
	}
	d.Remove = append(d.Remove, sent[i:]...)
	return d
}
