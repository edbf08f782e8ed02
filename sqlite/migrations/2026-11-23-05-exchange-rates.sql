-- Exchange rates to US dollars by UTC day (touchpoint.ExchangeRates).
CREATE TABLE exchange_rates (
	currency TEXT NOT NULL,
	day      INTEGER NOT NULL, -- Unix seconds of the UTC day's start
	rate     REAL NOT NULL,    -- US dollars per unit
	PRIMARY KEY (currency, day)
) WITHOUT ROWID;
CREATE INDEX exchange_rates_day ON exchange_rates (day);
