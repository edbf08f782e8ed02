package web

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// settingsRatesData is the exchange rates page of one day.
type settingsRatesData struct {
	Date  string
	Rates []settingsRate // the day's stored rates; empty: none
	// Text is the form's rates, one "EUR=1.08" a line.
	Text string
	Base string
}

// settingsRate is one currency's rate.
type settingsRate struct {
	Currency, Rate string
}

// settingsRateLines writes rates one "EUR=1.08" a line, by currency.
func settingsRateLines(rates map[string]float64) string {
	var b strings.Builder
	for _, c := range slices.Sorted(maps.Keys(rates)) {
		fmt.Fprintf(&b, "%s=%s\n", c, strconv.FormatFloat(rates[c], 'f', -1, 64))
	}
	return b.String()
}

// renderSettingsRates draws the rates of the day named date (YYYY-MM-DD) with the
// form's text (nil: the stored rates').
func (h *Handler) renderSettingsRates(r *http.Request, v *View, date string, text *string) error {
	v.Title, v.Section = "Exchange rates", "settings"
	d := &settingsRatesData{Date: date, Base: h.baseURL(r)}
	if text != nil {
		d.Text = *text
	}
	day, err := touchpoint.ParseRateDay(date)
	if err != nil {
		v.Fail(err)
		return v.Render("settings_rates", d)
	}
	rates, err := h.Store.FindExchangeRates(r.Context(), day)
	switch {
	case touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND:
	case err != nil:
		return err
	default:
		for _, c := range slices.Sorted(maps.Keys(rates.Rates)) {
			d.Rates = append(d.Rates, settingsRate{c, strconv.FormatFloat(rates.Rates[c], 'f', -1, 64)})
		}
		if text == nil {
			d.Text = settingsRateLines(rates.Rates)
		}
	}
	return v.Render("settings_rates", d)
}

// GET /settings/rates?date=YYYY-MM-DD: a day's rates (today's by default)
// and the form to put them.
func (h *Handler) handleSettingsRates(w http.ResponseWriter, r *http.Request, v *View) error {
	date := r.URL.Query().Get("date")
	if date == "" {
		date = h.Store.Now().UTC().Format(time.DateOnly)
	}
	return h.renderSettingsRates(r, v, date, nil)
}

// POST /settings/rates: replace a day's rates, as PUT
// /api/v1/exchange-rates/{date} does.
func (h *Handler) handleSettingsRatesPut(w http.ResponseWriter, r *http.Request, v *View) error {
	date, text := strings.TrimSpace(r.PostForm.Get("date")), r.PostForm.Get("rates")
	day, err := touchpoint.ParseRateDay(date)
	var rates map[string]float64
	if err == nil {
		rates, err = settingsParseRates(text)
	}
	if err == nil {
		err = h.Store.PutExchangeRates(r.Context(), &touchpoint.ExchangeRates{Day: day, Rates: rates})
	}
	if err != nil {
		// The day's stored rates are shown as they are; the form keeps
		// what was sent.
		v.Fail(err)
		return h.renderSettingsRates(r, v, date, &text)
	}
	return redirect(w, r, "/settings/rates"+query("date", date),
		fmt.Sprintf("Rates of %s saved: %d currencies.", date, len(rates)))
}

// settingsParseRates reads rates written one a line, "EUR=1.08" (US dollars
// per unit), into the table PUT /api/v1/exchange-rates/{date} takes.
// Blank lines are skipped; the table itself is checked by
// ExchangeRates.Validate.
func settingsParseRates(text string) (map[string]float64, error) {
	rates := map[string]float64{}
	line := map[string]int{}
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		cur, rate, ok := strings.Cut(l, "=")
		cur, rate = strings.TrimSpace(cur), strings.TrimSpace(rate)
		f, err := strconv.ParseFloat(rate, 64)
		if !ok || cur == "" || err != nil {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "line %d, %q: want a currency code, =, and the US dollars one unit is worth, like EUR=1.08", i+1, l)
		}
		if n, dup := line[cur]; dup {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s is given twice, on lines %d and %d", cur, n, i+1)
		}
		rates[cur], line[cur] = f, i+1
	}
	return rates, nil
}
