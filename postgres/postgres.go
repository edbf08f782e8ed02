// Package postgres is the store on PostgreSQL, for installations that
// outgrow one machine or want several stateless nodes over one database
// (touchpoint serve --db). It implements every store interface and passes
// the same conformance cases as the embedded store (package storetest).
//
// Every node opens the same database. Migrations run on open under an
// advisory lock, so nodes starting together migrate once. Nothing is kept
// in memory between transactions but what is safe to be a little late
// (ProjectByAPIKey trusts a key it read for KeyCacheTTL) and what is
// checked before use (the analytics memo, against the analytics
// generation), so what one node writes the others read at once. How
// several writers stay correct:
//   - the delivery outbox and cohort syncs are claimed with FOR UPDATE SKIP
//     LOCKED and a token per claim: a dead node's claim passes to another
//     when its lease ends, and its late results are dropped;
//   - a group of launches holds advisory locks on its launch keys and
//     device ids (in one order) and locks the rows of the devices it was
//     decided on, so decisions made on two nodes at once come back
//     Duplicate or Stale instead of both being written;
//   - analytics writes take turns on the sequences' rows (as the embedded
//     store's single writer does), advance the analytics generation, and
//     plan with analytics.State read in their transaction or kept from the
//     node's last one while the generation says no other node wrote;
//   - report aggregates are appended as deltas, folded into the report's
//     rows by one node at a time, so writers never wait on its hot rows;
//   - imports into an audience, memberships of a cohort and changes of a
//     project take turns on its row.
//
// Touches (ids from one counter, written with COPY with their lookup
// keys, signing counts and report deltas), analytics events and delivery
// attempts live in weekly partitions made when first written to; the
// purges drop whole weeks. Records that can hold NUL (bodies, properties, ids clients send)
// are stored as bytes: PostgreSQL's text and JSONB refuse it.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
	touchWeeks  weekSet    // the touch partitions this node knows exist (touch.go)
	eventWeeks  weekSet    // the event partitions this node knows exist (event.go)
	memo        memoHolder // the analytics plane as of a generation (event_memo.go)

	// attemptWeeks are the delivery attempt partitions this node knows
	// exist (delivery.go).
	attemptWeeks weekSet
}

// Open connects to the database at url (postgres://…) and migrates it.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Plan every execution with its parameters. pgx prepares each
	// statement once per connection, and PostgreSQL then switches to a
	// generic plan after five executions if it looks no costlier: chosen
	// while the tables are small, that plan reads a batch's lookups (key =
	// ANY($2) over an index on (project, key)) as "every row of the
	// project, each compared with the whole array", which stays in use as
	// the tables grow and made a batch of analytics lookups take 500 ms
	// instead of 10. The statements here are simple, so planning each
	// costs microseconds. A URL that sets plan_cache_mode keeps its own.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	// Connections for every kind of group commit at once (Writers each:
	// clicks, launches, conversions, analytics events) and the reads and
	// background work beside them, unless the URL says (pool_max_conns).
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 4*writers+4)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool}
	if err := db.migrate(ctx, databaseName(cfg)); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// writers is how many commits of each kind a node runs at once: they
// overlap their round trips, and PostgreSQL flushes the WAL of commits
// that arrive together once.
const writers = 4

// Writers is how many commits of each kind may run at once (the service's
// group commit asks).
func (db *DB) Writers() int { return writers }

// Close closes the connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// foldPeriod is how often the report's deltas are folded into its rows.
const foldPeriod = time.Second

// Tasks is the store's own background work: folding the report's deltas,
// on one node at a time (partitions are made when written to; purges are
// the application's tasks).
func (db *DB) Tasks() []task.Task {
	return []task.Task{{Name: "fold-report", Period: foldPeriod, Jitter: foldPeriod / 10, Lease: 3 * foldPeriod, Run: db.FoldReport}}
}

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

// databaseName names the database for errors: as a URL of its user, host
// and database only, whatever form the connection string had, so that no
// password (in the URL's user info or its query) is shown.
func databaseName(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), Path: "/" + c.Database}
	if strings.HasPrefix(c.Host, "/") { // a Unix socket's directory
		u.Host, u.RawQuery = "", "host="+c.Host
	}
	if c.User != "" {
		u.User = url.User(c.User)
	}
	return u.String()
}

// migrate applies the migrations not applied yet, in name order, each in
// its own transaction, holding the advisory lock throughout on one
// connection. A database that has applied a migration this version does
// not embed was written by a newer version: it is refused before anything
// is applied (touchpoint.NewerDatabaseError, naming the database as where
// says).
func (db *DB) migrate(ctx context.Context, where string) error {
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
	known := make([]string, len(names))
	for i, path := range names {
		known[i] = strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
	}
	rows, err := conn.Query(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := touchpoint.CheckMigrations(where, applied, known); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	for i, path := range names {
		name := known[i]
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
