// Package postgres is the store on PostgreSQL, for installations that
// outgrow one machine or want several stateless nodes over one database.
// It is being built interface by interface; what it implements passes the
// same conformance cases as the embedded store (package storetest): so
// far leases (touchpoint.LeaseStore), apps (touchpoint.AppStore; moving an
// app's test clock brings its pending deliveries nearer, as the embedded
// store's does), the delivery outbox that every node's sender claims from
// (touchpoint.DeliveryStore), partners with their signing
// secrets (touchpoint.PartnerStore), exchange rates (touchpoint.RateStore),
// analytics projects (touchpoint.ProjectStore; ProjectByAPIKey trusts what
// it read for KeyCacheTTL, so another node's change reaches it that late
// at most), the analytics plane's events, users and groups
// (touchpoint.EventStore; package analytics plans each transaction, which
// holds an advisory lock on each project it writes, so that merges and
// property versions of one project follow one order across nodes; events
// in weekly partitions of event time that RecordEvents creates), analytics
// forwards and destinations
// (touchpoint.IntegrationStore; a destination a cohort sync uses is not
// deleted) and
// the audiences AppsFlyer's Audiences API fills (touchpoint.AudienceStore;
// imports into one audience take turns on its row), and touches
// (touchpoint.TouchStore; written with their report deltas in one
// transaction and visible to every node on return, in weekly partitions
// of id that RecordTouches creates and PurgeTouches drops), and devices,
// installs and conversions (touchpoint.InstallStore; a group of launches
// holds advisory locks on its launch keys and device ids and locks the
// rows of the devices it was decided on, so decisions made on two nodes
// at once come back Duplicate or Stale instead of both being written),
// and cohorts with their versions and the membership computations store
// (touchpoint.CohortStore; the set queries package cohort evaluates read
// one snapshot of the analytics plane in a repeatable-read transaction,
// counting events in SQL and reading a where's properties in Go, with
// nothing kept between evaluations) and their syncs with what each sent
// and their runs (touchpoint.CohortSyncStore; due syncs are claimed with
// SKIP LOCKED, for a lease that another node takes over once it lapses),
// and the scans analytics charts read (touchpoint.ChartSource; plain SQL
// scans of one snapshot, each version of users' properties read once a
// scan, nothing kept in memory between scans, unlike the embedded
// store's column index).
// Writable asks the database whether it takes writes.
//
// Every node opens the same database. Migrations run on open under an
// advisory lock, so nodes starting together migrate once.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/task"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key migrations hold (any fixed
// number: "tpmigrat" in ASCII).
const migrationLock = 0x74706d6967726174

// DB is every store interface: what serve runs on.
var _ touchpoint.Store = (*DB)(nil)

// DB is a PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool
	// Clock is the store's time, as the embedded store's (time.Now when
	// nil).
	Clock func() time.Time
	// KeyCacheTTL is how long ProjectByAPIKey trusts a project it has read
	// (DefaultKeyCacheTTL when 0): how long a change another node makes
	// to a project may take to reach this one. Set it before use.
	KeyCacheTTL time.Duration
	keys        keyCache
	touchWeeks  weekSet // the touch partitions this node knows exist (touch.go)
	eventWeeks  weekSet // the event partitions this node knows exist (event.go)
}

// Open connects to the database at url (postgres://…) and migrates it.
func Open(ctx context.Context, url string) (*DB, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Tasks is the store's own background work: none (partitions are made
// when written to; purges are the application's tasks).
func (db *DB) Tasks() []task.Task { return nil }

// Now is the store's time.
func (db *DB) Now() time.Time {
	if db.Clock != nil {
		return db.Clock()
	}
	return time.Now()
}

// writableTimeout bounds how long Writable waits for the database.
const writableTimeout = 5 * time.Second

// Writable asks the database whether it takes writes: EUNAVAILABLE when
// it does not answer in time, or answers read-only (a standby, or
// default_transaction_read_only set); nil otherwise.
func (db *DB) Writable() error {
	ctx, cancel := context.WithTimeout(context.Background(), writableTimeout)
	defer cancel()
	var readOnly string
	if err := db.pool.QueryRow(ctx, `/* DB.Writable */ SHOW transaction_read_only`).Scan(&readOnly); err != nil {
		return touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the database does not answer: %v", err)
	}
	if readOnly != "off" {
		return touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the database is read-only (a standby, or default_transaction_read_only is on): nothing can be written")
	}
	return nil
}

// migrate applies the migrations not applied yet, in name order, each in
// its own transaction, holding the advisory lock throughout on one
// connection.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if done {
			continue
		}
		body, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	return nil
}
