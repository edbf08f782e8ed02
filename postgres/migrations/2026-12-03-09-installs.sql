-- Install attribution (touchpoint.InstallStore): devices, decided launches
-- and conversions. A device's, an install's and a conversion's record is
-- the JSON of its touchpoint value, kept as bytes: never queried into, and
-- JSONB refuses the \u0000 escape a device's strings may carry.

-- One row per device of an app.
CREATE TABLE devices (
	app_seq  BIGINT NOT NULL REFERENCES apps (seq),
	id       TEXT NOT NULL, -- our device id
	launches BIGINT NOT NULL, -- a version: a decision checks it did not move
	data     BYTEA NOT NULL,
	PRIMARY KEY (app_seq, id)
);

-- Finds a device by its ids (and its customer user id): k is the
-- touchpoint.IdentityKey of one id (or the CustomerUserKey). Several
-- devices may share a key; readers compare the ids themselves.
CREATE TABLE device_keys (
	app_seq   BIGINT NOT NULL,
	k         BIGINT NOT NULL,
	device_id TEXT NOT NULL,
	PRIMARY KEY (app_seq, k, device_id)
);

-- Decided launches: installs, reinstalls, re-attributions and
-- re-engagements.
CREATE TABLE installs (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_seq   BIGINT NOT NULL REFERENCES apps (seq),
	device_id TEXT NOT NULL,
	type      TEXT NOT NULL, -- touchpoint.InstallType
	data      BYTEA NOT NULL
);
CREATE INDEX installs_device ON installs (app_seq, device_id, id);
-- An app's newest new install (LatestInstall) is one seek.
CREATE INDEX installs_latest ON installs (app_seq, id) WHERE type = 'install';

-- Idempotency of first launches: a retried one finds its install here.
CREATE TABLE launch_keys (
	app_seq    BIGINT NOT NULL,
	key        TEXT NOT NULL,
	install_id BIGINT NOT NULL,
	PRIMARY KEY (app_seq, key)
);

-- In-app events.
CREATE TABLE conversions (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_seq   BIGINT NOT NULL REFERENCES apps (seq),
	device_id TEXT NOT NULL,
	event_id  TEXT, -- the SDK's id of the event; NULL when it sent none
	data      BYTEA NOT NULL
);
CREATE UNIQUE INDEX conversions_event ON conversions (app_seq, device_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX conversions_device ON conversions (app_seq, device_id, id);
