-- The report's aggregates gain a dimension, the country (ISO 3166-1
-- alpha-2) of each touch, install and conversion by the server's GeoIP
-- database (serve --geoip-db); '' for the aggregates before it, and
-- without a database. It joins the key, before metric and currency as
-- the dimensions are (ReportSums.Cells writes in that order).
ALTER TABLE report ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE report DROP CONSTRAINT report_pkey;
ALTER TABLE report ADD PRIMARY KEY (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency);
-- report_deltas has the same columns in the same order: the report reads
-- both with one SELECT * of each.
ALTER TABLE report_deltas ADD COLUMN country TEXT NOT NULL DEFAULT '';
