-- The delivery outbox: every outbound request owed to someone, and each
-- attempt at it.

CREATE TABLE deliveries (
	id             INTEGER PRIMARY KEY,
	app_seq        INTEGER NOT NULL,
	pid            TEXT NOT NULL,
	kind           TEXT NOT NULL,
	source         TEXT NOT NULL,
	method         TEXT NOT NULL,
	url            TEXT NOT NULL,
	body           TEXT NOT NULL,
	content_type   TEXT NOT NULL,
	host           TEXT NOT NULL,
	state          TEXT NOT NULL, -- pending, succeeded, failed
	tries          INTEGER NOT NULL,
	max_tries      INTEGER NOT NULL,
	retry_interval INTEGER NOT NULL, -- milliseconds
	next_at        INTEGER NOT NULL, -- Unix ms; due time while pending
	lease_until    INTEGER NOT NULL, -- Unix ms; claimed until
	lease          INTEGER NOT NULL, -- the claim's token
	reason         TEXT NOT NULL,
	note           TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
-- Due deliveries by destination: a claim walks the hosts (one seek each)
-- and takes the oldest due of each.
CREATE INDEX deliveries_due ON deliveries (host, next_at) WHERE state = 'pending';
CREATE INDEX deliveries_app ON deliveries (app_seq, id);
CREATE INDEX deliveries_partner ON deliveries (app_seq, pid, state);

CREATE TABLE delivery_attempts (
	delivery_id INTEGER NOT NULL,
	n           INTEGER NOT NULL,
	at          INTEGER NOT NULL, -- Unix ms
	status      INTEGER NOT NULL, -- 0: no answer
	latency     INTEGER NOT NULL, -- microseconds
	body        TEXT NOT NULL,
	error       TEXT NOT NULL,
	PRIMARY KEY (delivery_id, n)
) WITHOUT ROWID;
