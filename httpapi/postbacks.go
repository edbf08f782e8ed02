package httpapi

import (
	"context"
	"fmt"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

// conversionPostbacks returns the postbacks a conversion owes (read the
// device's install only when some partner has in-app templates).
func (s *Server) conversionPostbacks(ctx context.Context, ca *catalogApp, dev *touchpoint.Device, c *touchpoint.Conversion) ([]*touchpoint.Delivery, error) {
	if !ca.postbacks.WantsEvents() {
		return nil, nil
	}
	var in *touchpoint.Install
	if dev.InstallID != 0 {
		var err error
		if in, err = s.Store.FindInstall(ctx, ca.app.ID, dev.InstallID); err != nil {
			return nil, err
		}
	}
	return ca.postbacks.ForConversion(ca.app, dev, in, c, usdRevenue(c)), nil
}

// usdRevenue is a conversion's revenue in US dollars. Until exchange rates
// can be loaded, only USD revenue has a USD value; other currencies are
// posted in their own, with a note on the delivery.
func usdRevenue(c *touchpoint.Conversion) postback.Revenue {
	if c.Revenue == 0 || c.Currency == "USD" {
		r := c.Revenue
		return postback.Revenue{USD: &r}
	}
	return postback.Revenue{Note: fmt.Sprintf("no USD exchange rate for %s on %s: (monetary) carries the value in %s",
		c.Currency, c.Time.Format("2006-01-02"), c.Currency)}
}
