package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.RateStore = (*DB)(nil)

// PutExchangeRates replaces one day's rates. A day's table is one row, so
// the upsert replaces it whole, even against another node putting the
// same day.
func (db *DB) PutExchangeRates(ctx context.Context, r *touchpoint.ExchangeRates) error {
	if err := r.Validate(); err != nil {
		return err
	}
	day := touchpoint.RateDay(r.Day)
	_, err := db.pool.Exec(ctx, `/* DB.PutExchangeRates */ INSERT INTO exchange_rates (day, rates) VALUES ($1, $2)
		ON CONFLICT (day) DO UPDATE SET rates = excluded.rates`, day.UnixMilli(), r.Rates)
	if err != nil {
		return err
	}
	r.Day = day
	return nil
}

// FindExchangeRates returns one day's rates.
func (db *DB) FindExchangeRates(ctx context.Context, day time.Time) (*touchpoint.ExchangeRates, error) {
	day = touchpoint.RateDay(day)
	r := &touchpoint.ExchangeRates{Day: day}
	err := db.pool.QueryRow(ctx, `/* DB.FindExchangeRates */ SELECT rates FROM exchange_rates WHERE day = $1`,
		day.UnixMilli()).Scan(&r.Rates)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no exchange rates for %s", day.Format(time.DateOnly))
	} else if err != nil {
		return nil, err
	}
	return r, nil
}

// USDRate returns the rate of a currency on day, or the latest within
// RateFallbackDays before it: the latest day whose table has the
// currency, as the embedded store's, which keeps a row per currency.
func (db *DB) USDRate(ctx context.Context, currency string, day time.Time) (float64, time.Time, error) {
	day = touchpoint.RateDay(day)
	var rate string
	var on int64
	err := db.pool.QueryRow(ctx, `/* DB.USDRate */ SELECT rates ->> $1::text, day FROM exchange_rates
		WHERE day <= $2 AND day >= $3 AND rates ->> $1::text IS NOT NULL ORDER BY day DESC LIMIT 1`,
		currency, day.UnixMilli(), day.AddDate(0, 0, -touchpoint.RateFallbackDays).UnixMilli()).Scan(&rate, &on)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, touchpoint.Errorf(touchpoint.ENOTFOUND, "no USD exchange rate for %s on %s", currency, day.Format(time.DateOnly))
	} else if err != nil {
		return 0, time.Time{}, err
	}
	// The rate is read as the JSON number's text and parsed here, so it is
	// the float64 that was put, to the last bit.
	f, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("exchange rate of %s on %d: %w", currency, on, err)
	}
	return f, time.UnixMilli(on).UTC(), nil
}
