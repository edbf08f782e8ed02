package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.RateStore = (*DB)(nil)

// PutExchangeRates replaces one day's rates in one transaction.
func (db *DB) PutExchangeRates(ctx context.Context, r *touchpoint.ExchangeRates) error {
	if err := r.Validate(); err != nil {
		return err
	}
	day := touchpoint.RateDay(r.Day)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `/* DB.PutExchangeRates */ DELETE FROM exchange_rates WHERE day = ?`, day.Unix()); err != nil {
		return err
	}
	for cur, rate := range r.Rates {
		if _, err := tx.ExecContext(ctx, `/* DB.PutExchangeRates */ INSERT INTO exchange_rates (currency, day, rate) VALUES (?, ?, ?)`,
			cur, day.Unix(), rate); err != nil {
			return err
		}
	}
	r.Day = day
	return db.commit(tx)
}

// FindExchangeRates returns one day's rates.
func (db *DB) FindExchangeRates(ctx context.Context, day time.Time) (*touchpoint.ExchangeRates, error) {
	day = touchpoint.RateDay(day)
	rows, err := db.read.QueryContext(ctx, `/* DB.FindExchangeRates */ SELECT currency, rate FROM exchange_rates WHERE day = ?`, day.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := &touchpoint.ExchangeRates{Day: day, Rates: map[string]float64{}}
	for rows.Next() {
		var cur string
		var rate float64
		if err := rows.Scan(&cur, &rate); err != nil {
			return nil, err
		}
		r.Rates[cur] = rate
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(r.Rates) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no exchange rates for %s", day.Format(time.DateOnly))
	}
	return r, nil
}

// USDRate returns the rate of a currency on day, or the latest within
// RateFallbackDays before it.
func (db *DB) USDRate(ctx context.Context, currency string, day time.Time) (float64, time.Time, error) {
	day = touchpoint.RateDay(day)
	var rate float64
	var on int64
	err := db.queryRow(ctx, `/* DB.USDRate */ SELECT rate, day FROM exchange_rates WHERE currency = ? AND day <= ? AND day >= ?
		ORDER BY day DESC LIMIT 1`, currency, day.Unix(), day.AddDate(0, 0, -touchpoint.RateFallbackDays).Unix()).Scan(&rate, &on)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, touchpoint.Errorf(touchpoint.ENOTFOUND, "no USD exchange rate for %s on %s", currency, day.Format(time.DateOnly))
	} else if err != nil {
		return 0, time.Time{}, err
	}
	return rate, time.Unix(on, 0).UTC(), nil
}
