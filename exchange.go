package touchpoint

import (
	"context"
	"math"
	"regexp"
	"time"
)

// ExchangeRates are one UTC day's exchange rates to US dollars, as an
// admin loads them: Rates["EUR"] = 1.08 means one euro is worth 1.08 USD.
// In-app postbacks convert revenue with the rates of the event's day
// ((monetary) is in USD, AppsFlyer's postback documentation).
type ExchangeRates struct {
	Day   time.Time          `json:"date"`
	Rates map[string]float64 `json:"rates"`
}

// RateFallbackDays: with no rates loaded for an event's day, the latest
// day's within this many days before serves (ours: rates are not published
// on weekends and holidays). Beyond it there is no rate.
const RateFallbackDays = 7

// MaxCurrencies bounds one day's table.
const MaxCurrencies = 500

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks the table: ISO-4217-shaped codes, positive finite rates,
// USD (when given) at 1.
func (r *ExchangeRates) Validate() error {
	if len(r.Rates) == 0 {
		return Errorf(EINVALID, "rates is empty: give at least one currency, such as {\"EUR\": 1.08}")
	}
	if len(r.Rates) > MaxCurrencies {
		return Errorf(EINVALID, "%d currencies: at most %d", len(r.Rates), MaxCurrencies)
	}
	for cur, rate := range r.Rates {
		switch {
		case !currencyCode.MatchString(cur):
			return Errorf(EINVALID, "currency %q: want an ISO-4217 code such as EUR", cur)
		case math.IsNaN(rate) || math.IsInf(rate, 0) || rate <= 0 || rate > 1e9:
			return Errorf(EINVALID, "rate of %s: want a positive number of US dollars per unit", cur)
		case cur == "USD" && rate != 1:
			return Errorf(EINVALID, "rate of USD is 1 by definition")
		}
	}
	return nil
}

// RateDay is the UTC day whose rates serve a time: the day's start.
func RateDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// ParseRateDay reads the day of a table of rates, written YYYY-MM-DD (a
// UTC day).
func ParseRateDay(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "date %q: want YYYY-MM-DD", s)
	}
	return d, nil
}

// ToUSD converts an amount at a rate, rounded to the amount's precision.
func (a Amount) ToUSD(rate float64) Amount {
	return Amount(math.Round(float64(a) * rate))
}

// RateStore keeps exchange rates.
type RateStore interface {
	// PutExchangeRates replaces one day's rates.
	PutExchangeRates(ctx context.Context, r *ExchangeRates) error
	// FindExchangeRates returns one day's rates, or ENOTFOUND.
	FindExchangeRates(ctx context.Context, day time.Time) (*ExchangeRates, error)
	// USDRate returns the rate of a currency on day, or the latest within
	// RateFallbackDays before it, with the day it is from; ENOTFOUND when
	// there is none.
	USDRate(ctx context.Context, currency string, day time.Time) (float64, time.Time, error)
}
