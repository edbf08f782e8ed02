package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
)

// Importing another store's data (touchpoint migrate-data copies the
// embedded store into an empty database). Rows keep their ids: every id
// a user or a partner has seen stays what it was. Tables whose rows are
// the store's own (the lookup keys of touches, the insert ids of events,
// the keys of held attribution events) are written by the code that
// writes them when the store records touches and events, with the
// partitions that code makes; the rest is copied with COPY as given.
// FinishImport then moves every id counter past the largest id copied.

// bookkeeping are the tables that hold rows in a database no one has
// written to yet: they do not count as data.
var bookkeeping = map[string]bool{"schema_migrations": true, "sequences": true, "touch_ids": true}

// tables returns the tables of the schema (partitions aside), by name.
func tables(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.Query(ctx, `/* import */ SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// holdingData returns the tables other than bookkeeping that hold a row.
func holdingData(ctx context.Context, q querier) ([]string, error) {
	names, err := tables(ctx, q)
	if err != nil {
		return nil, err
	}
	var full []string
	for _, name := range names {
		if bookkeeping[name] {
			continue
		}
		rows, err := q.Query(ctx, `/* import */ SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{name}.Sanitize()+`)`)
		if err != nil {
			return nil, err
		}
		some, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[bool])
		if err != nil {
			return nil, err
		}
		if some {
			full = append(full, name)
		}
	}
	return full, nil
}

// ErrNotEmpty is the refusal of a database that holds data: an import
// goes into an empty database only.
var ErrNotEmpty = errors.New("the database already holds data")

func errNotEmpty(full []string) error {
	return fmt.Errorf("%w (in %s): an import goes into an empty database only", ErrNotEmpty, strings.Join(full, ", "))
}

// CheckEmpty connects to the database at url and returns ErrNotEmpty,
// naming the tables, when one of its tables holds data (any row but the few an
// unused Touchpoint database has). It migrates nothing and writes
// nothing: a database without Touchpoint's tables is empty when it holds
// no other table with rows.
func CheckEmpty(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	full, err := holdingData(ctx, conn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if len(full) > 0 {
		return errNotEmpty(full)
	}
	return nil
}

// CheckEmpty is the package's CheckEmpty on an open store.
func (db *DB) CheckEmpty(ctx context.Context) error {
	full, err := holdingData(ctx, db.pool)
	if err != nil {
		return err
	}
	if len(full) > 0 {
		return errNotEmpty(full)
	}
	return nil
}

// Tables returns the store's tables (not their partitions), by name.
func (db *DB) Tables(ctx context.Context) ([]string, error) { return tables(ctx, db.pool) }

// ImportRows copies rows into a table with COPY, in one statement. Values
// must be of the columns' types (int64 for BIGINT, []byte for BYTEA and
// JSONB, bool, string, nil for NULL); an identity column takes the values
// given.
func (db *DB) ImportRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := db.pool.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// ImportAttempts copies delivery attempts as ImportRows does, into the
// partitions of the weeks they were made in (their column at), made as
// FinishDeliveries makes them.
func (db *DB) ImportAttempts(ctx context.Context, columns []string, rows [][]any) error {
	at := slices.Index(columns, "at")
	if at < 0 {
		return errors.New("delivery_attempts: no column at")
	}
	ats := make([]int64, len(rows))
	for i, r := range rows {
		v, ok := r[at].(int64)
		if !ok {
			return fmt.Errorf("delivery_attempts: at is %T, want int64", r[at])
		}
		ats[i] = v
	}
	return db.withAttemptPartitions(ctx, ats, func() error { return db.ImportRows(ctx, "delivery_attempts", columns, rows) })
}

// ImportTouches writes touches that have their ids (ascending, of apps
// imported already) as RecordTouches writes them: the touches and their
// lookup keys with COPY, in the partitions of their weeks, made as
// RecordTouches makes them. The signing counts and report aggregates
// RecordTouches adds to are not: they are imported as they stand, since
// they also count touches purged since.
func (db *DB) ImportTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	if len(ts) == 0 {
		return nil
	}
	var names []string
	for i, t := range ts {
		if i > 0 && t.ID <= ts[i-1].ID {
			return fmt.Errorf("touches: touch %d after touch %d: ids must ascend", t.ID, ts[i-1].ID)
		}
		if !slices.Contains(names, t.App) {
			names = append(names, t.App)
		}
	}
	apps, err := touchApps(ctx, db.pool, names)
	if err != nil {
		return fmt.Errorf("touches: %w", err)
	}
	// The rows RecordTouches writes (touch.go).
	touchRows, keyRows := touchRowsOf(apps, ts, func(i int) int64 { return ts[i].ID })
	if err := db.writeTouches(ctx, ts[0].ID, ts[len(ts)-1].ID, touchRows, keyRows, nil, nil); err != nil {
		return fmt.Errorf("touches: %w", err)
	}
	return nil
}

// ImportEvents writes events as RecordEvents writes the planner's
// (analytics.Writes.Events): with COPY into the partitions of their weeks,
// made as RecordEvents makes them, their insert ids remembered.
func (db *DB) ImportEvents(ctx context.Context, events []amp.Event) error {
	if len(events) == 0 {
		return nil
	}
	times := make([]int64, len(events))
	for i := range events {
		times[i] = events[i].Time
	}
	if err := db.createEventWeeks(ctx, times); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return insertEvents(ctx, tx, events) }); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// ImportHeld writes held attribution events (with their ids) as
// RecordEvents writes the planner's holds: each with its keys.
func (db *DB) ImportHeld(ctx context.Context, held []*amp.Held) error {
	if len(held) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// execWrites gives out no ids: the sequences stay as they are.
		return db.execWrites(ctx, tx, &amp.Writes{Holds: held})
	})
	if err != nil {
		return fmt.Errorf("pending_attributions: %w", err)
	}
	return nil
}

// ImportCount counts a table's rows as an import compares them with its
// source's: the exchange rates count one a currency and day (a row holds a
// day's), every other table its rows.
func (db *DB) ImportCount(ctx context.Context, table string) (int64, error) {
	query := `SELECT count(*) FROM ` + pgx.Identifier{table}.Sanitize()
	if table == "exchange_rates" {
		query = `SELECT count(*) FROM exchange_rates, jsonb_object_keys(rates)`
	}
	var n int64
	err := db.pool.QueryRow(ctx, `/* ImportCount */ `+query).Scan(&n)
	return n, err
}

// FinishImport moves every id counter past the largest id imported, so
// that what is written next gets ids no one has seen: the identity
// columns, the touch counter, the analytics sequences (to next, the
// source's, or past the largest id if that is larger) and the claims'
// tokens of deliveries (the tokens imported stay unique). It advances the
// analytics generation too.
func (db *DB) FinishImport(ctx context.Context, next amp.IDs) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `/* FinishImport */ SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
		if err != nil {
			return err
		}
		type column struct{ table, name string }
		var cols []column
		var c column
		if _, err := pgx.ForEachRow(rows, []any{&c.table, &c.name}, func() error {
			cols = append(cols, c)
			return nil
		}); err != nil {
			return err
		}
		for _, c := range cols {
			t, n := pgx.Identifier{c.table}.Sanitize(), pgx.Identifier{c.name}.Sanitize()
			// setval to the largest id: the next one given is past it.
			if _, err := tx.Exec(ctx, `/* FinishImport */ SELECT setval(pg_get_serial_sequence($1, $2), max(`+n+`)) FROM `+t+`
				HAVING max(`+n+`) IS NOT NULL`, c.table, c.name); err != nil {
				return fmt.Errorf("%s.%s: %w", c.table, c.name, err)
			}
		}
		if _, err := tx.Exec(ctx, `/* FinishImport */ UPDATE touch_ids SET last = GREATEST(last, (SELECT coalesce(max(id), 0) FROM touches))`); err != nil {
			return fmt.Errorf("touch_ids: %w", err)
		}
		if _, err := tx.Exec(ctx, `/* FinishImport */ SELECT setval('delivery_claims', max(lease)) FROM deliveries
			HAVING max(lease) > (SELECT last_value FROM delivery_claims)`); err != nil {
			return fmt.Errorf("delivery_claims: %w", err)
		}
		for _, s := range []struct {
			name, max string
			next      int64
		}{
			{"events", `SELECT max(id) FROM events`, next.Event},
			{"users", `SELECT max(id) FROM users`, next.User},
			{"user_props", `SELECT max(version) FROM user_props`, next.Version},
			{"event_types", `SELECT max(id) FROM event_types`, next.Type},
			{"pending_attributions", `SELECT max(id) FROM pending_attributions`, next.Held},
		} {
			tag, err := tx.Exec(ctx, `/* FinishImport */ UPDATE sequences SET next = GREATEST(next, $1::bigint, coalesce((`+s.max+`), 0) + 1)
				WHERE name = $2`, s.next, s.name)
			if err != nil {
				return fmt.Errorf("sequences %s: %w", s.name, err)
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("sequences: %s is missing", s.name)
			}
		}
		// A node's memory of the analytics plane is of a generation: the
		// import is a write of the plane too.
		_, err = tx.Exec(ctx, `/* FinishImport */ UPDATE sequences SET next = next + 1 WHERE name = 'analytics_generation'`)
		return err
	})
}

// ClearImport empties every table an import fills and sets the counters
// back, leaving the database as empty as before (its partitions aside):
// what a failed import does before it reports, so that the next attempt
// finds the database empty. Only for a database that was empty before the
// import began: it removes every row of every table.
func (db *DB) ClearImport(ctx context.Context) error {
	names, err := tables(ctx, db.pool)
	if err != nil {
		return err
	}
	var clear []string
	for _, name := range names {
		if !bookkeeping[name] {
			clear = append(clear, pgx.Identifier{name}.Sanitize())
		}
	}
	if len(clear) == 0 {
		return errors.New("postgres: no tables to clear")
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `/* ClearImport */ TRUNCATE `+strings.Join(clear, ", ")+` RESTART IDENTITY`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `/* ClearImport */ UPDATE touch_ids SET last = 0`); err != nil {
			return err
		}
		// The ids start over; the analytics generation moves on (a node's
		// memory of the plane is not of this database any more).
		_, err := tx.Exec(ctx, `/* ClearImport */ UPDATE sequences SET next = CASE name WHEN 'analytics_generation' THEN next + 1 ELSE 1 END`)
		return err
	})
}
