-- Partners of apps and their click-signing secrets (touchpoint.PartnerStore).
CREATE TABLE partners (
	app_seq                BIGINT NOT NULL REFERENCES apps (seq),
	pid                    TEXT NOT NULL,
	click_signing          TEXT NOT NULL,
	click_lookback         BIGINT NOT NULL, -- hours, as every window
	view_through_lookback  BIGINT NOT NULL,
	probabilistic_window   BIGINT NOT NULL,
	allow_ip_ua            BOOLEAN NOT NULL,
	restricted             BOOLEAN NOT NULL,
	daily_click_cap        BIGINT NOT NULL, -- 0: no cap
	send_all_installs      BOOLEAN NOT NULL,
	in_app_window          BIGINT NOT NULL, -- 0: lifetime
	postback_retries       BIGINT NOT NULL,
	postback_retry_minutes BIGINT NOT NULL,
	postbacks              JSONB NOT NULL,
	created_at             BIGINT NOT NULL,
	updated_at             BIGINT NOT NULL,
	PRIMARY KEY (app_seq, pid)
);

CREATE TABLE signing_secrets (
	id         TEXT PRIMARY KEY,
	app_seq    BIGINT NOT NULL,
	pid        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT,
	FOREIGN KEY (app_seq, pid) REFERENCES partners (app_seq, pid) ON DELETE CASCADE
);
CREATE INDEX signing_secrets_partner ON signing_secrets (app_seq, pid);
