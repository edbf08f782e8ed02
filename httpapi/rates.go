package httpapi

import (
	"net/http"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerRateRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "PUT /api/v1/exchange-rates/{date}", s.handleRatesPut)
	s.handleAdmin(mux, "GET /api/v1/exchange-rates/{date}", s.handleRatesGet)
}

func rateDay(r *http.Request) (time.Time, error) {
	return touchpoint.ParseRateDay(r.PathValue("date"))
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
