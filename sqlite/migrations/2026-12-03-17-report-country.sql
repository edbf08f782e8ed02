-- The report's aggregates gain a dimension, the country (ISO 3166-1
-- alpha-2) of each touch, install and conversion by the server's GeoIP
-- database (serve --geoip-db); '' for the aggregates before it, and
-- without a database. The key changes, so the table is made again
-- (SQLite cannot alter a primary key).
CREATE TABLE report_by_country (
	app_seq      INTEGER NOT NULL,
	day          INTEGER NOT NULL, -- Unix seconds of the UTC day's start
	media_source TEXT NOT NULL,
	campaign     TEXT NOT NULL,
	campaign_id  TEXT NOT NULL,
	adset        TEXT NOT NULL,
	ad           TEXT NOT NULL,
	site_id      TEXT NOT NULL,
	country      TEXT NOT NULL,
	metric       TEXT NOT NULL,
	currency     TEXT NOT NULL,
	n            INTEGER NOT NULL,
	amount       INTEGER NOT NULL,
	PRIMARY KEY (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency)
) WITHOUT ROWID;
INSERT INTO report_by_country (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency, n, amount)
	SELECT app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, '', metric, currency, n, amount FROM report;
DROP TABLE report;
ALTER TABLE report_by_country RENAME TO report;
