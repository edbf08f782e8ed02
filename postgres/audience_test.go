package postgres_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestAudiences(t *testing.T) {
	storetest.RunAudiences(t, func(t *testing.T, now func() time.Time) storetest.AudienceStore {
		return open(t, freshDatabase(t), now)
	})
}

// TestAudiencesUnderICUCollation runs the audience cases on databases
// whose default collation is ICU's en-US, which puts "a" before "A":
// members still page in byte order, as the embedded store's do.
func TestAudiencesUnderICUCollation(t *testing.T) {
	storetest.RunAudiences(t, func(t *testing.T, now func() time.Time) storetest.AudienceStore {
		return open(t, icuDatabase(t), now)
	})
}

// icuDatabase creates, next to a fresh database, one of its own whose
// default collation is ICU's en-US, and drops it after; it returns its URL.
func icuDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	base := freshDatabase(t)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	name := admin.Config().Database + "_icu"
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
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
