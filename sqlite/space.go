package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The disk the store is on can fill up. Then no write can succeed, but
// nothing that was acknowledged may be lost, reads go on, and the store
// must come back by itself once there is room again:
//   - a write that finds the disk full fails with EUNAVAILABLE (the HTTP
//     API answers 503, "retry"): the journal cuts off the part of its
//     record it wrote, SQLite rolls the transaction back;
//   - the store is then "full" (Writable says so, /readyz reports not
//     ready) and its background jobs (loading, indexing, checkpoints) wait;
//   - every second a probe tries to write probeSize bytes next to the
//     database; when it can, or when any write succeeds, the store is
//     writable again and the jobs catch up.

// probeSize is what the probe writes to decide that there is room again:
// enough for a few commits, so that the store does not flap.
const probeSize = 1 << 20

// sqliteFull is SQLite's primary result code SQLITE_FULL.
const sqliteFull = 13

// isDiskFull reports whether err says that the disk (or the user's quota)
// is full.
func isDiskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == sqliteFull
}

// errClosed is the error of a write to a closed store.
var errClosed = touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the store is closed: the server is shutting down")

// errFull is the error of every write while the disk is full.
var errFull = touchpoint.Errorf(touchpoint.EUNAVAILABLE,
	"the disk of the data directory is full: nothing was written; free some space and retry (the server resumes by itself)")

// classify turns a disk-full error into errFull, and marks the store full.
func (db *DB) classify(err error) error {
	if err == nil || !isDiskFull(err) {
		return err
	}
	if !db.full.Swap(true) {
		db.Logger.Error("the disk is full: writes are refused until there is room again", "err", err)
	}
	return errFull
}

// wrote notes a successful write: there is room.
func (db *DB) wrote() {
	if db.full.Load() && db.full.Swap(false) {
		db.Logger.Info("there is room on the disk again: writes resume")
	}
}

// commit commits a write transaction, classifying its error. While the
// disk is full it commits nothing (the caller's deferred rollback undoes
// the transaction): database writes are refused until there is room again
// (the probe's 1 MB, or a click's journal append, fit), not let through
// whenever one happens to fit in a page SQLite had free, so the database's
// write paths answer alike.
func (db *DB) commit(tx *sql.Tx) error {
	if db.full.Load() {
		return errFull
	}
	if err := tx.Commit(); err != nil {
		return db.classify(err)
	}
	db.wrote()
	return nil
}

// exec runs a statement on the write connection (in a transaction of its
// own), classifying its error; nothing while the disk is full (commit).
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if db.full.Load() {
		return nil, errFull
	}
	res, err := db.write.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, db.classify(err)
	}
	db.wrote()
	return res, nil
}

// Writable reports errFull while the disk is full, nil otherwise (see
// touchpoint.Store).
func (db *DB) Writable() error {
	if db.full.Load() {
		return errFull
	}
	return nil
}

// probeSpace tries, while the store is full, to write probeSize bytes in
// the database's directory; when it can, the store is writable again.
func (db *DB) probeSpace(context.Context) error {
	if db.full.Load() && db.room() {
		db.wrote()
	}
	return nil
}

// room reports whether probeSize bytes can be written in the database's
// directory.
func (db *DB) room() bool {
	path := filepath.Join(filepath.Dir(db.Path), ".touchpoint-space-probe")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.Write(make([]byte, probeSize))
		if err == nil {
			err = f.Sync()
		}
		f.Close()
	}
	os.Remove(path)
	return err == nil
}

// probeInterval is how often a full store probes for room.
const probeInterval = time.Second
