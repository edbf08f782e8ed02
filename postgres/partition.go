package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// partition is one partition of a table partitioned by RANGE: it holds
// [lo, hi) of its parent's key.
type partition struct {
	parent, name string
	lo, hi       int64
}

// createPartitions makes sure partitions exist, creating them in one
// transaction under the advisory lock key (CREATE TABLE IF NOT EXISTS alone
// races with another node's: both see no table, one fails). It runs in a
// transaction of its own: creating a partition locks its parent, which no
// writer's transaction should wait for.
func (db *DB) createPartitions(ctx context.Context, lock int64, parts ...partition) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+pgx.Identifier{p.name}.Sanitize()+` PARTITION OF `+p.parent+
				` FOR VALUES FROM (`+strconv.FormatInt(p.lo, 10)+`) TO (`+strconv.FormatInt(p.hi, 10)+`)`); err != nil {
				return err
			}
		}
		return nil
	})
}
