package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/touchpointhq/touchpoint/internal/migrate"
)

// runMigrateData is "touchpoint migrate-data": it copies the embedded
// store of a stopped server (--from, the data dir) into an empty
// PostgreSQL database (--to), every id kept, with a line of progress per
// table on stderr, then counts each table on both sides and prints the
// counts; a count that differs fails the command.
func runMigrateData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate-data", stderr, "--from DATA_DIR --to postgres://…")
	from := fs.String("from", "", "the data dir of the embedded store to copy (default: $TOUCHPOINT_DATA_DIR, else data); its server must be stopped")
	to := fs.String("to", "", "the PostgreSQL URL of an empty database to copy it into (default: $TOUCHPOINT_DB)")
	flags := fs.Usage
	fs.Usage = func() {
		flags()
		fmt.Fprint(stderr, migrateDataHelp)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate-data: unexpected argument %q", fs.Arg(0))
	}
	// The defaults are where serve reads its store from.
	if *from == "" {
		*from = os.Getenv(EnvName("data-dir"))
	}
	if *from == "" {
		*from = DefaultServeConfig().DataDir
	}
	if *to == "" {
		*to = os.Getenv(EnvName("db"))
	}
	if *to == "" {
		return errors.New("migrate-data: give --to postgres://user@host/db (or TOUCHPOINT_DB)")
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		return fmt.Errorf("migrate-data: --to %q: want a PostgreSQL URL such as postgres://user@host:5432/touchpoint", redactURL(*to))
	}
	fmt.Fprintf(stderr, "copying %s into %s\n", *from, redactURL(*to))
	res, err := migrate.Run(ctx, migrate.Config{From: *from, To: *to, Progress: stderr, Terminal: isTerminal(stderr)})
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	fmt.Fprintf(stderr, "copied %d rows in %s (%.0f rows/s)\n", res.Rows, res.Took.Round(100_000_000), float64(res.Rows)/res.Took.Seconds())

	// The verification: rows (touches, events, exchange rates: entities)
	// on each side.
	fmt.Fprintf(stdout, "%-26s %12s %12s\n", "table", "source", "target")
	for _, c := range res.Counts {
		mark := "ok"
		if c.Source != c.Target {
			mark = "MISMATCH"
		}
		fmt.Fprintf(stdout, "%-26s %12d %12d  %s\n", c.Table, c.Source, c.Target, mark)
	}
	if bad := res.Mismatches(); len(bad) > 0 {
		var s []string
		for _, c := range bad {
			s = append(s, fmt.Sprintf("%s (%d in the source, %d in the target)", c.Table, c.Source, c.Target))
		}
		return fmt.Errorf("migrate-data: the copy does not match the source: %s; do not serve from it", strings.Join(s, ", "))
	}
	fmt.Fprintln(stderr, "every table matches: start the servers with --db (nothing was removed from the data dir)")
	return nil
}

const migrateDataHelp = `
Copies the embedded store of a stopped server into an empty PostgreSQL database: the clicks
still in its journal are loaded first, every row keeps its id, and the database's counters move
past them. Then it counts every table on both sides and prints the counts; a count that differs
makes it fail, naming the table. It refuses a data dir that a running server holds and a database
that holds data, changing nothing; a copy that fails part way empties the database again.
Nothing is removed from the data dir. Progress goes to stderr, a line per table.
`

// isTerminal reports whether w is a terminal (a character device), where
// progress lines are redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
