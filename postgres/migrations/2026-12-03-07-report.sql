-- The report's aggregates (touchpoint.ReportSums): a count and an amount
-- per app, day (the date in the app's zone, as Unix seconds of that date's
-- UTC midnight), dimension tuple, metric and currency. Writers add to
-- them in their own transactions, in one order (ReportSums.Cells).
CREATE TABLE report (
	app_seq      BIGINT NOT NULL,
	day          BIGINT NOT NULL,
	media_source TEXT NOT NULL,
	campaign     TEXT NOT NULL,
	campaign_id  TEXT NOT NULL,
	adset        TEXT NOT NULL,
	ad           TEXT NOT NULL,
	site_id      TEXT NOT NULL,
	metric       TEXT NOT NULL,
	currency     TEXT NOT NULL,
	n            BIGINT NOT NULL,
	amount       BIGINT NOT NULL,
	PRIMARY KEY (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, metric, currency)
);
