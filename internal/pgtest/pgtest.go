// Package pgtest gives tests a PostgreSQL database of their own, on the
// server TOUCHPOINT_TEST_POSTGRES_URL names: the PostgreSQL store's tests
// and the tests of other packages that run over that store too.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// FreshDatabase creates a database of its own for a test, on the server
// TOUCHPOINT_TEST_POSTGRES_URL names, and drops it after; it returns its
// URL. Without the variable it skips the test (testenv.Skip: under CI it
// fails instead).
func FreshDatabase(t testing.TB) string {
	t.Helper()
	return FreshDatabaseWith(t, "")
}

// FreshDatabaseWith is FreshDatabase with options for CREATE DATABASE
// (such as a template and a locale provider).
func FreshDatabaseWith(t testing.TB, options string) string {
	t.Helper()
	base := os.Getenv("TOUCHPOINT_TEST_POSTGRES_URL")
	if base == "" {
		testenv.Skip(t, "set TOUCHPOINT_TEST_POSTGRES_URL to a PostgreSQL server's URL (postgres://postgres@127.0.0.1/postgres) to run the PostgreSQL store's tests")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("TOUCHPOINT_TEST_POSTGRES_URL: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "touchpoint_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` `+options); err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		admin.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
