// Package sqlite is the embedded store: one SQLite file (pure Go,
// modernc.org/sqlite) in WAL mode.
//
// All writes go through one connection, so they never wait on SQLite's lock;
// reads use a pool of read-only connections that see the last commit. The
// click path writes through RecordTouches, which callers batch (package
// batch) so that concurrent clicks share a commit.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/task"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store. Set the exported fields before Open.
type DB struct {
	Path string
	// Clock is the time of the store and of the server over it (see
	// touchpoint.Clock); tests replace it.
	Clock func() time.Time
	// Synchronous is SQLite's synchronous setting: "normal" (the default)
	// makes every commit survive a crash of the process; "full" also
	// survives a crash of the machine, at the cost of an fsync per commit.
	Synchronous string
	// Recorded touches wait in the journal and in memory (where reads find
	// them) until LoadBatch of them wait or the oldest has waited
	// LoadInterval; then they are loaded into the touch log in large
	// transactions (load.go). Defaults: 50,000 touches, 1 second.
	LoadBatch    int
	LoadInterval time.Duration
	// Their lookup keys wait in memory until IndexBatch of them wait or the
	// oldest has waited IndexInterval; then they are written to the index in
	// one sorted round (index.go). Defaults: 500,000 keys, 10 seconds.
	IndexBatch    int
	IndexInterval time.Duration
	Logger        *slog.Logger
	// ExternalTasks says the caller runs the store's background work
	// (Tasks) in its own task runner, as serve does with every background
	// task of the server; otherwise Open starts a runner of its own.
	// Either way, the caller must stop its runner before Close.
	ExternalTasks bool

	full atomic.Bool // the disk is full (space.go)

	lock  *os.File // held while open: one process per store
	write *sql.DB  // exactly one connection
	read  *sql.DB  // read-only pool

	writeMu sync.Mutex // serialises journal appends and the ids they give
	stmtMu  sync.Mutex // guards the statement cache and partition changes
	loadMu  sync.Mutex // one load round at a time
	indexMu sync.Mutex // one index round at a time

	mu     sync.RWMutex
	apps   map[string]int64         // app id → seq
	clocks map[string]time.Time     // test clocks of test-mode apps
	zones  map[int64]*time.Location // app seq → the zone its report counts days in
	weeks  map[int]bool             // touch partitions that exist
	purged int                      // weeks below this were purged

	lastID    int64 // last touch id given; guarded by writeMu
	journal   *journal
	touchTail *touchTail
	keyTail   *keyTail

	// projectWrites holds a project's write and the update of the memory
	// below together, so that memory follows the commits in their order
	// (two rotations of one key leave the last key working, not the
	// first).
	projectWrites sync.Mutex
	pmu           sync.RWMutex
	projects      map[int64]*touchpoint.Project // by id; guarded by pmu
	projectKeys   map[string]*touchpoint.Project

	amu sync.Mutex // the analytics writer (events.go); guards an
	an  *analytics
	// times keeps event conditions' times for incremental evaluation
	// (cohort_cache.go).
	times timesCache
	// charts keeps the events' columns for charts (charts.go).
	charts chartIndex

	stmts map[string]*sql.Stmt // prepared on the write connection; guarded by stmtMu
	// readStmts are the hot read queries, prepared on the read pool
	// (database/sql prepares each on a connection once): parsing and
	// planning cost more than running them.
	readStmts sync.Map // query → *sql.Stmt
	encBuf    []byte   // encoding buffers of RecordTouches; guarded by writeMu
	recBuf    []byte

	opened bool         // Open succeeded and Close has not run
	runner *task.Runner // of Tasks, unless ExternalTasks
}

// NewDB returns a store for the SQLite file at path.
func NewDB(path string) *DB {
	return &DB{Path: path, Clock: time.Now, Synchronous: "normal", LoadBatch: 50_000, LoadInterval: time.Second,
		IndexBatch: 500_000, IndexInterval: 10 * time.Second, Logger: slog.Default()}
}

// Open opens the file, runs pending migrations, loads what the store keeps
// in memory and starts the background indexer and checkpointer.
func (db *DB) Open() (err error) {
	if db.Path == "" {
		return errors.New("sqlite: no path")
	}
	sync := strings.ToUpper(db.Synchronous)
	if sync != "NORMAL" && sync != "FULL" {
		return fmt.Errorf("sqlite: synchronous %q: want normal or full", db.Synchronous)
	}
	if db.lock, err = lockFile(db.Path + ".lock"); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer func() {
		if err != nil && db.lock != nil {
			db.lock.Close()
			db.lock = nil
		}
	}()
	if err := db.secureFiles(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)" +
		"&_pragma=synchronous(" + sync + ")&_pragma=journal_size_limit(67108864)"
	dsn := fileURI(db.Path, pragmas)
	if db.write, err = sql.Open("sqlite", dsn+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)"); err != nil {
		return err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	// Each read connection caches 24 MB of pages: the upper levels of the
	// key and touch indexes stay in memory. Four connections keep two cores
	// busy (reads rarely wait on I/O: the OS caches the file).
	if db.read, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(-24576)"); err != nil {
		return err
	}
	db.read.SetMaxOpenConns(4)
	db.read.SetMaxIdleConns(4)
	db.stmts = make(map[string]*sql.Stmt)
	db.touchTail = newTouchTail()
	db.keyTail = newKeyTail(min(db.IndexBatch, 1<<20) * 11 / 10)

	ctx := context.Background()
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := db.load(ctx); err != nil {
		db.Close()
		return fmt.Errorf("sqlite: load: %w", err)
	}
	db.opened = true
	// A store opened on a full disk refuses writes from the start (until
	// the probe finds room), rather than from whenever a write first
	// needs a page the files do not have.
	if !db.room() {
		db.full.Store(true)
		db.Logger.Error("the disk is full: writes are refused until there is room again")
	}
	if !db.ExternalTasks {
		db.runner = &task.Runner{Tasks: db.Tasks(), Clock: db, Logger: db.Logger}
		if err := db.runner.Start(); err != nil {
			db.Close()
			return err
		}
	}
	return nil
}

// Close stops the background work, loads and indexes what is left, and
// closes the files.
func (db *DB) Close() error {
	var errs []error
	if db.runner != nil {
		db.runner.Stop()
		db.runner = nil
	}
	if db.opened {
		db.opened = false
		ctx := context.Background()
		errs = append(errs, db.LoadPending(ctx), db.IndexPending(ctx), db.indexEvents(ctx))
	}
	db.writeMu.Lock()
	if db.journal != nil {
		if n, _ := db.touchTail.size(); n == 0 {
			// Everything is loaded: the journal is no longer needed.
			seq := db.journal.seq
			errs = append(errs, db.journal.close(), db.journal.remove(seq))
		} else {
			errs = append(errs, db.journal.close())
		}
		db.journal = nil
	}
	db.writeMu.Unlock()
	for _, s := range db.stmts {
		errs = append(errs, s.Close())
	}
	db.readStmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		db.readStmts.Delete(k)
		return true
	})
	db.stmts = nil
	if db.write != nil {
		// A last full checkpoint leaves a small WAL behind.
		_, _ = db.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		errs = append(errs, db.write.Close())
		db.write = nil
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
		db.read = nil
	}
	if db.lock != nil {
		errs = append(errs, db.lock.Close()) // releases the lock
		db.lock = nil
	}
	return errors.Join(errs...)
}

// Now returns the store's clock (touchpoint.Clock).
func (db *DB) Now() time.Time { return db.Clock() }

// now returns the clock's time truncated to the millisecond, the precision
// times are stored with.
func (db *DB) now() time.Time {
	return db.Clock().UTC().Truncate(time.Millisecond)
}

// migrate applies the embedded migrations not applied yet, in name order,
// each in its own transaction. A database that has applied one this
// version does not embed was written by a newer version: it is refused
// before anything is applied (touchpoint.NewerDatabaseError).
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.exec(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if err := db.checkMigrations(ctx, names); err != nil {
		return err
	}
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// checkMigrations refuses a database that has applied a migration not
// among known (the embedded files' paths, as the table keeps them).
func (db *DB) checkMigrations(ctx context.Context, known []string) error {
	rows, err := db.write.QueryContext(ctx, `SELECT name FROM migrations`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var applied []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		applied = append(applied, name)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Compared, and named in the error, without the path and extension
	// the table keeps (as the PostgreSQL store and docs/design.md name them).
	short := func(path string) string { return strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql") }
	for i := range applied {
		applied[i] = short(applied[i])
	}
	names := make([]string, len(known))
	for i, path := range known {
		names[i] = short(path)
	}
	return touchpoint.CheckMigrations(db.Path, applied, names)
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if step := migrationSteps[name]; step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, db.now().UnixMilli()); err != nil {
		return err
	}
	return db.commit(tx)
}

// load reads the app ids and touch partitions, and puts the touches that are
// not in the tables yet back into the tails.
func (db *DB) load(ctx context.Context) error {
	db.apps = make(map[string]int64)
	db.clocks = make(map[string]time.Time)
	db.zones = make(map[int64]*time.Location)
	rows, err := db.read.QueryContext(ctx, `SELECT seq, id, test_clock, time_zone FROM apps`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var seq int64
		var id string
		var clock sql.NullInt64
		var zone string
		if err := rows.Scan(&seq, &id, &clock, &zone); err != nil {
			rows.Close()
			return err
		}
		db.apps[id] = seq
		db.zones[seq] = (&touchpoint.App{TimeZone: zone}).Location()
		if clock.Valid {
			db.clocks[id] = fromMillis(clock.Int64)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if db.weeks, err = db.loadPartitions(ctx); err != nil {
		return err
	}
	if err := db.loadProjects(ctx); err != nil {
		return err
	}
	if err := db.loadAnalytics(ctx); err != nil {
		return err
	}
	return db.recover(ctx)
}

// recover rebuilds the tails after a start: touches from the journal above
// the loaded high-water mark, and the lookup keys of every touch above the
// indexed one (from the touch log, then the journal). It also opens the
// journal for appending and finds the last id given.
func (db *DB) recover(ctx context.Context) error {
	loaded, err := readMeta(ctx, db.read, loadedKey)
	if err != nil {
		return err
	}
	indexed, err := readMeta(ctx, db.read, hwmKey)
	if err != nil {
		return err
	}
	var journaled []tailTouch
	db.journal, err = openJournal(db.Path+".journal", strings.EqualFold(db.Synchronous, "full"), func(payload []byte) error {
		ts, err := decodeGroup(payload)
		for _, tt := range ts {
			if tt.id > loaded {
				journaled = append(journaled, tt)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	appBySeq := make(map[int64]string)
	db.mu.RLock()
	for id, seq := range db.apps {
		appBySeq[seq] = id
	}
	db.mu.RUnlock()
	var ids []int64
	var keys [][]touchpoint.LookupKey
	addKeys := func(id, seq int64, rec []byte) error {
		if id <= indexed {
			return nil
		}
		t, err := decodeTouch(id, appBySeq[seq], rec)
		if err != nil {
			return err
		}
		ids, keys = append(ids, id), append(keys, t.Keys())
		return nil
	}
	weeks := db.partitions(touchpoint.TouchIDTime(indexed))
	slices.Sort(weeks)
	for _, w := range weeks {
		// From the row holding the first id above indexed on (an index
		// seek, not a scan of the week).
		rows, err := db.read.QueryContext(ctx, `SELECT first_id, app_seq, data FROM `+logTable(w)+` WHERE first_id >= coalesce(
			(SELECT first_id FROM `+logTable(w)+` WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1), 0) ORDER BY first_id`, indexed+1)
		if err != nil {
			return err
		}
		for rows.Next() {
			var first, seq int64
			var data []byte
			if err := rows.Scan(&first, &seq, &data); err != nil {
				rows.Close()
				return err
			}
			var derr error
			err := eachRecord(first, data, func(id int64, rec []byte) bool {
				derr = addKeys(id, seq, rec)
				return derr == nil
			})
			if err == nil {
				err = derr
			}
			if err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	for _, tt := range journaled {
		if err := addKeys(tt.id, tt.app, tt.rec); err != nil {
			return err
		}
		db.lastID = max(db.lastID, tt.id)
	}
	db.touchTail.add(journaled)
	db.keyTail.add(ids, keys)
	if newest := db.partitions(time.Time{}); len(newest) > 0 {
		// Rows do not overlap: the last row holds the highest id.
		var last sql.NullInt64
		err := db.read.QueryRowContext(ctx, `SELECT last_id FROM `+logTable(newest[0])+` ORDER BY first_id DESC LIMIT 1`).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		db.lastID = max(db.lastID, last.Int64)
	}
	db.keyTail.cur.maxID = max(db.keyTail.cur.maxID, db.lastID)
	if len(journaled) > 0 || len(ids) > 0 {
		db.Logger.Info("recovered touches not yet in the tables", "journal", len(journaled), "keys", len(ids))
	}
	return nil
}

// appSeq returns the compact id of an app, or ENOTFOUND.
// zone is the time zone of the app with seq: the one its report counts
// days in.
func (db *DB) zone(seq int64) *time.Location {
	db.mu.RLock()
	loc := db.zones[seq]
	db.mu.RUnlock()
	if loc == nil {
		return time.UTC
	}
	return loc
}

func (db *DB) appSeq(id string) (int64, error) {
	db.mu.RLock()
	seq, ok := db.apps[id]
	db.mu.RUnlock()
	if !ok {
		return 0, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", id)
	}
	return seq, nil
}

// stmt returns a statement prepared on the write connection. The caller
// holds stmtMu.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts[query]; ok {
		return s, nil
	}
	s, err := db.write.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmts[query] = s
	return s, nil
}

// query runs a read query through a prepared statement.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// queryRow is query for one row.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		// A Row carrying the error: Scan returns it.
		return db.read.QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.readStmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.readStmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// forgetReadStmts closes the read statements of a table about to be
// dropped.
func (db *DB) forgetReadStmts(table string) {
	db.readStmts.Range(func(k, v any) bool {
		if strings.Contains(k.(string), table+" ") {
			db.readStmts.Delete(k)
			v.(*sql.Stmt).Close()
		}
		return true
	})
}

// encodeJSON encodes what a write stores. A value that cannot be encoded
// (a time past the year 9999, a number JSON cannot hold) is the fault of
// the request that brought it, not of the store: it is EINVALID, so the
// group commit that holds it isolates it and the others are stored.
func encodeJSON(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "the %s cannot be stored: %v", what, err)
	}
	return b, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure, by the driver's extended result code.
func isUniqueViolation(err error) bool {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		const constraintPrimaryKey, constraintUnique = 1555, 2067
		return e.Code() == constraintPrimaryKey || e.Code() == constraintUnique
	}
	return false
}

// fileURI is the SQLite URI of the database file at path with query: the
// path escaped, so that a ?, % or # in it stays part of the name (raw, a #
// would cut the query off, and with it mode=ro).
func fileURI(path, query string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}
