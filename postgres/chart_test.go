package postgres_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/storetest"
)

func TestCharts(t *testing.T) {
	storetest.RunCharts(t, func(t *testing.T, now func() time.Time) storetest.ChartStore {
		return open(t, freshDatabase(t), now)
	})
}
