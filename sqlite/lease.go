package sqlite

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.LeaseStore = (*DB)(nil)

// AcquireLease takes, keeps or extends a lease in one statement: the row is
// written only when it is free, ran out, or is the holder's already, so
// two processes asking at once cannot both get it (the statement is as
// valid on PostgreSQL).
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := touchpoint.CheckLease(name, holder, now, until); err != nil {
		return false, err
	}
	res, err := db.exec(ctx, `/* DB.AcquireLease */ INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until <= ?`,
		name, holder, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease deletes the holder's lease.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.exec(ctx, `/* DB.ReleaseLease */ DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}
