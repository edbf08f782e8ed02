package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

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

// weekMillis is the span of an events' or delivery attempts' partition: a
// week of their time (Unix milliseconds), counted from the epoch.
const weekMillis = 7 * 24 * int64(time.Hour/time.Millisecond)

// millisWeek returns the week of a time in milliseconds: its partition
// holds [w*weekMillis, (w+1)*weekMillis).
func millisWeek(t int64) int64 {
	w := t / weekMillis
	if t < 0 && t%weekMillis != 0 {
		w--
	}
	return w
}

// weekTable names the partition of parent for week w ("_m" for a week
// before 1970).
func weekTable(parent string, w int64) string {
	if w < 0 {
		return parent + "_m" + strconv.FormatInt(-w, 10)
	}
	return parent + "_" + strconv.FormatInt(w, 10)
}

// createWeeks makes sure the weekly partitions of parent that times (ms)
// fall into exist, creating the ones known (which this node remembers
// in known) to be missing under the advisory lock key.
func (db *DB) createWeeks(ctx context.Context, known *weekSet, parent string, lock int64, times []int64) error {
	var parts []partition
	var weeks []int64
	for _, t := range times {
		w := millisWeek(t)
		if known.has(w) || slices.Contains(weeks, w) {
			continue
		}
		weeks = append(weeks, w)
		parts = append(parts, partition{parent, weekTable(parent, w), w * weekMillis, (w + 1) * weekMillis})
	}
	if len(parts) == 0 {
		return nil
	}
	if err := db.createPartitions(ctx, lock, parts...); err != nil {
		return err
	}
	for _, w := range weeks {
		known.add(w)
	}
	return nil
}
