package postgres

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.LeaseStore = (*DB)(nil)

// AcquireLease takes, keeps or extends a lease in one statement: the row
// is written only when it is free, ran out, or is the holder's already,
// so two nodes asking at once cannot both get it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := touchpoint.CheckLease(name, holder, now, until); err != nil {
		return false, err
	}
	tag, err := db.pool.Exec(ctx, `/* DB.AcquireLease */ INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until <= $4`,
		name, holder, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease deletes the holder's lease.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.pool.Exec(ctx, `/* DB.ReleaseLease */ DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return err
}
