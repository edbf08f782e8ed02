-- Install attribution: app and partner settings, devices, decided launches,
-- conversions and the report aggregates.

ALTER TABLE apps ADD COLUMN min_ctit INTEGER NOT NULL DEFAULT 10; -- seconds; 0: off
ALTER TABLE apps ADD COLUMN test_clock INTEGER; -- Unix ms; NULL for production apps
ALTER TABLE partners ADD COLUMN daily_click_cap INTEGER NOT NULL DEFAULT 0; -- 0: no cap

-- One row per device of an app; data is the JSON of touchpoint.Device.
CREATE TABLE devices (
	app_seq  INTEGER NOT NULL,
	id       TEXT NOT NULL,
	launches INTEGER NOT NULL, -- a version: decisions check it did not move
	data     BLOB NOT NULL,
	PRIMARY KEY (app_seq, id)
) WITHOUT ROWID;

-- Finds a device by its ids: k is touchpoint.IdentityKey of one id.
CREATE TABLE device_keys (
	k         INTEGER NOT NULL,
	app_seq   INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	PRIMARY KEY (k, app_seq, device_id)
) WITHOUT ROWID;

-- Decided launches (installs, reinstalls, re-attributions, re-engagements);
-- data is the JSON of touchpoint.Install.
CREATE TABLE installs (
	id        INTEGER PRIMARY KEY,
	app_seq   INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	data      BLOB NOT NULL
);
CREATE INDEX installs_device ON installs (app_seq, device_id, id);

-- Idempotency of launches: a retried launch finds its install here.
CREATE TABLE launch_keys (
	app_seq    INTEGER NOT NULL,
	key        TEXT NOT NULL,
	install_id INTEGER NOT NULL,
	PRIMARY KEY (app_seq, key)
) WITHOUT ROWID;

-- In-app events; data is the JSON of touchpoint.Conversion.
CREATE TABLE conversions (
	id        INTEGER PRIMARY KEY,
	app_seq   INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	event_id  TEXT, -- the SDK's id of the event; NULL when it sent none
	data      BLOB NOT NULL
);
CREATE UNIQUE INDEX conversions_event ON conversions (app_seq, device_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX conversions_device ON conversions (app_seq, device_id, id);

-- Report aggregates, kept up to date as touches, installs and conversions
-- arrive: a count and an amount (ten-thousandths) per day, dimension tuple,
-- metric and currency.
CREATE TABLE report (
	app_seq      INTEGER NOT NULL,
	day          INTEGER NOT NULL, -- Unix seconds of the UTC day's start
	media_source TEXT NOT NULL,
	campaign     TEXT NOT NULL,
	campaign_id  TEXT NOT NULL,
	adset        TEXT NOT NULL,
	ad           TEXT NOT NULL,
	site_id      TEXT NOT NULL,
	metric       TEXT NOT NULL,
	currency     TEXT NOT NULL,
	n            INTEGER NOT NULL,
	amount       INTEGER NOT NULL,
	PRIMARY KEY (app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, metric, currency)
) WITHOUT ROWID;
