package postgres_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/internal/pgtest"
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

// icuDatabase creates a database of its own whose default collation is
// ICU's en-US, and drops it after; it returns its URL.
func icuDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.FreshDatabaseWith(t, `TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
}
