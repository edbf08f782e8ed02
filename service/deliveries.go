package service

import (
	"context"

	"github.com/touchpointhq/touchpoint"
)

// RetryDelivery makes a given-up delivery due again now, with as many
// tries as it had.
func (s *Service) RetryDelivery(ctx context.Context, id int64) (*touchpoint.Delivery, error) {
	return s.Store.RetryDelivery(ctx, id, s.Store.Now())
}
