package postgres_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/storetest"
)

func TestRates(t *testing.T) {
	storetest.RunRates(t, func(t *testing.T, now func() time.Time) touchpoint.RateStore {
		return open(t, freshDatabase(t), now)
	})
}

func TestIntegrations(t *testing.T) {
	storetest.RunIntegrations(t, func(t *testing.T, now func() time.Time) storetest.IntegrationStore {
		return open(t, freshDatabase(t), now)
	})
}
