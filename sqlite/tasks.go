package sqlite

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint/task"
)

// Tasks is the store's background work, for a task runner (package
// task): loading journalled touches into the touch log, indexing their
// keys, checkpointing the WAL, indexing events, keeping the charts'
// columns, and probing for room on a full disk. Nothing but the probe runs while the disk is full; the store
// classifies its own errors, and a full disk is not one (it is reported
// by Writable).
func (db *DB) Tasks() []task.Task {
	tasks := []task.Task{
		{Name: "sqlite-load-touches", Period: 50 * time.Millisecond, Due: func() bool { return db.touchTail.due(db.LoadBatch, db.LoadInterval) }, Run: db.loadRound},
		{Name: "sqlite-index-touches", Period: 100 * time.Millisecond, Due: func() bool { return db.keyTail.due(db.IndexBatch, db.IndexInterval) }, Run: db.indexRound},
		{Name: "sqlite-checkpoint", Period: 200 * time.Millisecond, Run: db.checkpoint},
		{Name: "sqlite-index-events", Period: 10 * time.Second, Run: db.indexEvents},
		// The charts' columns: loaded in the background from the start, so
		// the first chart does not wait for 10 million rows, and kept
		// close to the table, so a chart's own catch-up is short.
		{Name: "sqlite-chart-index", Period: 5 * time.Second, Run: db.charts.refresh(db.read)},
	}
	for i, t := range tasks {
		due, run := t.Due, t.Run
		tasks[i].Due = func() bool { return !db.full.Load() && (due == nil || due()) }
		tasks[i].Run = func(ctx context.Context) error {
			if err := db.classify(run(ctx)); err != errFull {
				return err
			}
			return nil
		}
	}
	return append(tasks, task.Task{Name: "sqlite-probe-space", Period: probeInterval, Run: db.probeSpace})
}

// checkpoint copies the WAL back into the database file in the background,
// so commits never pay for it (SQLite's automatic checkpoint, which runs
// inside a commit, is off on the write connection). It has two phases: a
// passive checkpoint on a read connection copies what is there while writes
// go on; then a second one on the write connection, where no write can run
// meanwhile, finishes the short rest, so the next write starts the WAL over
// instead of letting it grow without end under continuous writes.
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, frames, done int64
	if err := db.read.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
		return err
	}
	if frames <= 0 {
		return nil
	}
	return db.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
}
