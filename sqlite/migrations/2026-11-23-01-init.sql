-- Apps, partners, signing secrets and per-hour signing counts. Touches live
-- in day partitions (touches_YYYYMMDD, touch_keys_YYYYMMDD) that the store
-- creates as days begin; see touch.go.

CREATE TABLE apps (
	seq                   INTEGER PRIMARY KEY, -- compact id used in touch rows
	id                    TEXT NOT NULL UNIQUE,
	platform              TEXT NOT NULL,
	name                  TEXT NOT NULL,
	store_url             TEXT NOT NULL,
	dev_key               TEXT NOT NULL UNIQUE,
	click_lookback        INTEGER NOT NULL, -- hours, as are all windows
	view_through_lookback INTEGER NOT NULL,
	probabilistic_window  INTEGER NOT NULL,
	reattribution_window  INTEGER NOT NULL,
	reengagement_window   INTEGER NOT NULL,
	created_at            INTEGER NOT NULL, -- Unix milliseconds, as are all times
	updated_at            INTEGER NOT NULL
);

CREATE TABLE partners (
	app_seq               INTEGER NOT NULL REFERENCES apps (seq),
	pid                   TEXT NOT NULL,
	click_signing         TEXT NOT NULL,
	click_lookback        INTEGER NOT NULL,
	view_through_lookback INTEGER NOT NULL,
	probabilistic_window  INTEGER NOT NULL,
	allow_ip_ua           INTEGER NOT NULL,
	restricted            INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	PRIMARY KEY (app_seq, pid)
);

CREATE TABLE signing_secrets (
	id         TEXT PRIMARY KEY,
	app_seq    INTEGER NOT NULL,
	pid        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER,
	FOREIGN KEY (app_seq, pid) REFERENCES partners (app_seq, pid) ON DELETE CASCADE
);
CREATE INDEX signing_secrets_partner ON signing_secrets (app_seq, pid);

CREATE TABLE signing_counts (
	app_seq INTEGER NOT NULL,
	pid     TEXT NOT NULL,
	hour    INTEGER NOT NULL, -- Unix seconds of the hour's start
	verdict INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	PRIMARY KEY (app_seq, pid, hour, verdict)
) WITHOUT ROWID;

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
