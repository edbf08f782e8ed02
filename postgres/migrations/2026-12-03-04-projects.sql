-- Analytics projects (touchpoint.ProjectStore). Keys are kept as their
-- SHA-256 (touchpoint.KeyHash) and last four characters; the API key's
-- hash is how ingestion finds its project. Times in Unix milliseconds, as
-- the embedded store keeps them.
CREATE TABLE projects (
	id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name                 TEXT NOT NULL,
	api_key              BYTEA NOT NULL UNIQUE,
	api_key_last4        TEXT NOT NULL,
	secret_key           BYTEA NOT NULL,
	secret_key_last4     TEXT NOT NULL,
	http_eps             BIGINT NOT NULL,
	batch_eps            BIGINT NOT NULL,
	attributions_dropped BIGINT NOT NULL DEFAULT 0, -- counted by the analytics plane
	test_clock           BIGINT, -- NULL for production projects
	time_zone            TEXT NOT NULL DEFAULT 'UTC', -- IANA name: the charts' days
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);

-- The attribution-plane apps a project links.
CREATE TABLE project_apps (
	project BIGINT NOT NULL REFERENCES projects (id),
	app_seq BIGINT NOT NULL REFERENCES apps (seq),
	PRIMARY KEY (project, app_seq)
);
