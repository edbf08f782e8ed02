package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/storetest"
)

// freshDatabase creates a database of its own for a test and drops it
// after (pgtest.FreshDatabase); it returns its URL.
func freshDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.FreshDatabase(t)
}

func open(t *testing.T, dbURL string, now func() time.Time) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db.Clock = now
	t.Cleanup(func() { db.Close() })
	return db
}

func TestApps(t *testing.T) {
	storetest.RunApps(t, func(t *testing.T, now func() time.Time) touchpoint.AppStore {
		return open(t, freshDatabase(t), now)
	})
}

func TestPartners(t *testing.T) {
	storetest.RunPartners(t, func(t *testing.T, now func() time.Time) storetest.PartnerStore {
		return open(t, freshDatabase(t), now)
	})
}

func TestLeases(t *testing.T) {
	storetest.RunLeases(t, func(t *testing.T, now func() time.Time) touchpoint.LeaseStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestNodesMigrateOnce: nodes opening one new database at once migrate it
// once, and each then works.
func TestNodesMigrateOnce(t *testing.T) {
	dbURL := freshDatabase(t)
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = postgres.Open(context.Background(), dbURL)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied, distinct int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != distinct {
		t.Fatalf("%d migrations recorded, %d distinct", applied, distinct)
	}
	// One lease, four nodes: one holds it.
	now := storetest.Start
	held := 0
	for i, db := range dbs {
		ok, err := db.AcquireLease(context.Background(), "purge-touches", "node-"+string(rune('a'+i)), now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			held++
		}
	}
	if held != 1 {
		t.Fatalf("%d nodes hold the lease", held)
	}
}
