-- Apps of the attribution plane (touchpoint.AppStore). Keys are kept as
-- their SHA-256 (touchpoint.KeyHash) and last four characters; windows in
-- hours; times in Unix milliseconds, as the embedded store keeps them.
CREATE TABLE apps (
	seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- compact id for touch rows
	id                    TEXT NOT NULL UNIQUE,
	platform              TEXT NOT NULL,
	name                  TEXT NOT NULL,
	store_url             TEXT NOT NULL,
	dev_key               BYTEA NOT NULL UNIQUE,
	dev_key_last4         TEXT NOT NULL,
	api_token             BYTEA NOT NULL,
	api_token_last4       TEXT NOT NULL,
	click_lookback        BIGINT NOT NULL,
	view_through_lookback BIGINT NOT NULL,
	probabilistic_window  BIGINT NOT NULL,
	reattribution_window  BIGINT NOT NULL,
	reengagement_window   BIGINT NOT NULL,
	min_ctit              BIGINT NOT NULL,
	test_clock            BIGINT, -- NULL for production apps
	time_zone             TEXT NOT NULL DEFAULT 'UTC', -- IANA name: the report's days
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL
);
