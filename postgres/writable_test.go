package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/storetest"
)

// TestWritable: a database that takes writes is writable; one that is
// read-only, or gone, is EUNAVAILABLE with the reason in words.
func TestWritable(t *testing.T) {
	ctx := context.Background()
	dbURL := freshDatabase(t)
	clock := storetest.NewClock(storetest.Start)
	db := open(t, dbURL, clock.Now)
	if err := db.Writable(); err != nil {
		t.Fatalf("Writable = %v, want nil", err)
	}
	// The database turns read-only (as a standby after a failover
	// answers), and the node's connections are cut: it reconnects to find
	// it so.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid != pg_backend_pid()`,
		name); err != nil {
		t.Fatal(err)
	}
	err = db.Writable()
	if touchpoint.ErrorCode(err) == touchpoint.EUNAVAILABLE && strings.Contains(err.Error(), "does not answer") {
		err = db.Writable() // the cut connection failed once; the next is new
	}
	if touchpoint.ErrorCode(err) != touchpoint.EUNAVAILABLE || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Writable of a read-only database = %v, want EUNAVAILABLE saying read-only", err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` RESET default_transaction_read_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid != pg_backend_pid()`,
		name); err != nil {
		t.Fatal(err)
	}
	if err = db.Writable(); err != nil {
		err = db.Writable()
	}
	if err != nil {
		t.Errorf("Writable once the database takes writes again = %v, want nil", err)
	}
	// A store closed (its node shutting down) does not answer.
	db.Close()
	if err := db.Writable(); touchpoint.ErrorCode(err) != touchpoint.EUNAVAILABLE || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Writable of a closed store = %v, want EUNAVAILABLE saying it does not answer", err)
	}
}
