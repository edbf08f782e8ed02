package postgres_test

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

// futureMigration is a migration no version of the store embeds yet: what
// a newer version would have applied.
const futureMigration = "2027-01-10-01-foo"

// snapshot reads what an open must not change: the tables, the migrations
// applied and the apps, one line each.
func snapshot(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT table_name || ' ' || column_name || ' ' || data_type FROM information_schema.columns
			WHERE table_schema = 'public' ORDER BY table_name, column_name`,
		`SELECT name || ' ' || applied_at::text FROM schema_migrations ORDER BY name`,
		`SELECT id || ' ' || name || ' ' || updated_at::text FROM apps ORDER BY id`,
	} {
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lines...)
	}
	return out
}

// TestNewerDatabaseRefused: a database written by a newer version (a
// migration in schema_migrations that this version does not embed) is
// refused, changing nothing, with an error that names the migration and
// the database but not its password; once the newer migration is gone it
// opens again, its data intact (the refusal released the migration lock).
func TestNewerDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db.Clock = func() time.Time { return storetest.Start }
	storetest.MustCreateApp(t, db, "com.example.game")
	db.Close()

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, futureMigration); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, conn)

	// The URL with a password (trust authentication ignores it), in its
	// user info and its query: neither may be shown.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	u.RawQuery = "password=swordfish&application_name=upgrade_test"
	for range 2 { // and again: the first refusal left it as it was
		db, err := postgres.Open(ctx, u.String())
		if err == nil {
			db.Close()
			t.Fatal("a database written by a newer version was opened")
		}
		var newer *touchpoint.NewerDatabaseError
		if !errors.As(err, &newer) || newer.Migration != futureMigration {
			t.Fatalf("err = %v, want a NewerDatabaseError naming %s", err, futureMigration)
		}
		where := "postgres://" + u.User.Username() + "@" + u.Hostname() + ":" + cmp.Or(u.Port(), "5432") + u.Path
		for _, want := range []string{"the database at " + where + " was written by a newer version of touchpoint",
			"it has migration " + futureMigration + ", which this version does not know", "run that version or newer"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to say %q", err, want)
			}
		}
		for _, secret := range []string{"hunter2", "swordfish"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("err = %q shows the password %s", err, secret)
			}
		}
		if after := snapshot(t, conn); !reflect.DeepEqual(after, before) {
			t.Fatalf("the refused open changed the database:\nbefore %q\nafter  %q", before, after)
		}
	}

	if _, err := conn.Exec(ctx, `DELETE FROM schema_migrations WHERE name = $1`, futureMigration); err != nil {
		t.Fatal(err)
	}
	db = open(t, dbURL, func() time.Time { return storetest.Start })
	if _, err := db.FindApp(ctx, "com.example.game"); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}
}

// TestNewerDatabaseRefusedBeforeMigrating: a database with migrations
// still to apply and one this version does not know gets none of them
// applied: the check comes before any migration.
func TestNewerDatabaseRefusedBeforeMigrating(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// As a newer version might leave a database it made from scratch with
	// migrations this one would apply all missing from it: only the table
	// of migrations, naming one of its own.
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
		INSERT INTO schema_migrations (name) VALUES ('`+futureMigration+`')`); err != nil {
		t.Fatal(err)
	}
	if db, err := postgres.Open(ctx, dbURL); err == nil {
		db.Close()
		t.Fatal("a database written by a newer version was opened")
	} else if !strings.Contains(err.Error(), futureMigration) {
		t.Fatalf("err = %v, want it to name %s", err, futureMigration)
	}
	var tables []string
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tables, []string{"schema_migrations"}) {
		t.Errorf("tables after the refused open: %q, want schema_migrations alone (no migration applied)", tables)
	}
}
