-- Exchange rates to US dollars (touchpoint.RateStore): one row per UTC
-- day, its whole table in rates ({"EUR": 1.08, …}, US dollars per unit),
-- so that putting a day's table replaces it in one upsert, and two nodes
-- putting the same day at once leave one table, never a mix of both.
CREATE TABLE exchange_rates (
	day   BIGINT PRIMARY KEY, -- Unix milliseconds of the UTC day's start
	rates JSONB NOT NULL
);

-- An app's forward of its attribution to an analytics project
-- (touchpoint.AnalyticsForward). The API key is kept as given: it is sent
-- to the analytics server with every event, as the embedded store keeps it.
CREATE TABLE analytics_forwards (
	app_seq    BIGINT PRIMARY KEY REFERENCES apps (seq),
	url        TEXT NOT NULL, -- empty: this server
	api_key    TEXT NOT NULL,
	mode       TEXT NOT NULL,
	style      TEXT NOT NULL,
	company    TEXT NOT NULL,
	enabled    BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- A project's event streams and audiences (touchpoint.Destination). The
-- dev key and API token are kept as given: they are sent to the
-- attribution server, as the embedded store keeps them.
CREATE TABLE destinations (
	id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project               BIGINT NOT NULL, -- projects (id), looked up when a destination is created
	kind                  TEXT NOT NULL,
	name                  TEXT NOT NULL,
	appsflyer_app_id      TEXT NOT NULL,
	key                   TEXT NOT NULL, -- appsflyer-events: the dev key
	url                   TEXT NOT NULL, -- empty: this server
	filter                JSONB NOT NULL, -- touchpoint.EventFilter
	appsflyer_id_property TEXT NOT NULL,
	api_token             TEXT NOT NULL, -- appsflyer-cohort: the API token
	platform              TEXT NOT NULL,
	identifier            TEXT NOT NULL,
	enabled               BOOLEAN NOT NULL,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL
);
CREATE INDEX destinations_project ON destinations (project, id);
-- One appsflyer-cohort destination per AppsFlyer app in a project: two
-- would send one audience twice.
CREATE UNIQUE INDEX destinations_cohort_app ON destinations (project, appsflyer_app_id) WHERE kind = 'appsflyer-cohort';
