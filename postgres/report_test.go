package postgres_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/storetest"
)

// The report cases that record touches, installs and conversions: days in
// the app's zone, filters by dimension, every metric.
func TestReports(t *testing.T) {
	storetest.RunReports(t, func(t *testing.T, now func() time.Time) storetest.ReportStore {
		return open(t, freshDatabase(t), now)
	})
}
