package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

// conversionDeliveries are what a conversion owes: its postbacks and,
// when the app forwards its in-app events, the forward.
func (s *Server) conversionDeliveries(ctx context.Context, ca *catalogApp, dev *touchpoint.Device, c *touchpoint.Conversion) ([]*touchpoint.Delivery, error) {
	ds, err := s.conversionPostbacks(ctx, ca, dev, c)
	if err != nil {
		return nil, err
	}
	if ca.forward != nil {
		if d := ca.forward.Conversion(ca.app, dev, c); d != nil {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

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
	rev, err := s.usdRevenue(ctx, c)
	if err != nil {
		return nil, err
	}
	return ca.postbacks.ForConversion(ca.app, dev, in, c, rev), nil
}

// usdRevenue is a conversion's revenue in US dollars at the rate of its
// day (see touchpoint.RateFallbackDays); with no rate, the postback
// carries the original value and currency, and the delivery says so.
func (s *Server) usdRevenue(ctx context.Context, c *touchpoint.Conversion) (postback.Revenue, error) {
	if c.Revenue == 0 || c.Currency == "USD" {
		r := c.Revenue
		return postback.Revenue{USD: &r}, nil
	}
	rate, _, err := s.Store.USDRate(ctx, c.Currency, c.Time)
	switch touchpoint.ErrorCode(err) {
	case "":
		usd := c.Revenue.ToUSD(rate)
		return postback.Revenue{USD: &usd}, nil
	case touchpoint.ENOTFOUND:
		return postback.Revenue{Note: fmt.Sprintf("no USD exchange rate for %s on %s: (monetary) carries the value in %s",
			c.Currency, c.Time.Format(time.DateOnly), c.Currency)}, nil
	}
	return postback.Revenue{}, err
}

func (s *Server) registerRateRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "PUT /api/v1/exchange-rates/{date}", s.handleRatesPut)
	s.handleAdmin(mux, "GET /api/v1/exchange-rates/{date}", s.handleRatesGet)
}

func rateDay(r *http.Request) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, r.PathValue("date"))
	if err != nil {
		return time.Time{}, touchpoint.Errorf(touchpoint.EINVALID, "date %q: want YYYY-MM-DD", r.PathValue("date"))
	}
	return d, nil
}

// PUT /api/v1/exchange-rates/{date}: replaces that UTC day's rates, as
// {"rates": {"EUR": 1.08, "GBP": 1.27}} (US dollars per unit).
func (s *Server) handleRatesPut(w http.ResponseWriter, r *http.Request) {
	day, err := rateDay(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req struct {
		Rates map[string]float64 `json:"rates"`
	}
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rates := &touchpoint.ExchangeRates{Day: day, Rates: req.Rates}
	if err := s.Store.PutExchangeRates(r.Context(), rates); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rates)
}

// GET /api/v1/exchange-rates/{date}
func (s *Server) handleRatesGet(w http.ResponseWriter, r *http.Request) {
	day, err := rateDay(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rates, err := s.Store.FindExchangeRates(r.Context(), day)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rates)
}
