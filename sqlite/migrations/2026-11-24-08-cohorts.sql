-- Cohorts, cohort sync and the Audiences API.

-- The Audiences API's token (AppsFlyer's API token V2.0), per app.
ALTER TABLE apps ADD COLUMN api_token TEXT NOT NULL DEFAULT '';
UPDATE apps SET api_token = lower(hex(randomblob(20)));
CREATE UNIQUE INDEX apps_api_token ON apps (api_token);

-- A user's platform, country and advertising ids: those of its latest
-- event that had them.
ALTER TABLE users ADD COLUMN platform TEXT;
ALTER TABLE users ADD COLUMN country TEXT;
ALTER TABLE users ADD COLUMN idfa TEXT;
ALTER TABLE users ADD COLUMN idfv TEXT;
ALTER TABLE users ADD COLUMN adid TEXT;

-- data is the JSON of touchpoint.Cohort (its definition as of version).
CREATE TABLE cohorts (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL REFERENCES projects (id),
	data TEXT NOT NULL,
	size INTEGER NOT NULL DEFAULT 0,
	computed_at INTEGER -- ms; NULL: never computed
);

CREATE TABLE cohort_versions (
	cohort INTEGER NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	definition TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (cohort, version)
) WITHOUT ROWID;

-- The membership last computed: amplitude ids (users not merged).
CREATE TABLE cohort_members (
	cohort INTEGER NOT NULL,
	user INTEGER NOT NULL,
	PRIMARY KEY (cohort, user)
) WITHOUT ROWID;

-- Every computation, with the size of its diff.
CREATE TABLE cohort_computations (
	id INTEGER PRIMARY KEY,
	cohort INTEGER NOT NULL,
	version INTEGER NOT NULL,
	computed_at INTEGER NOT NULL,
	size INTEGER NOT NULL,
	entered INTEGER NOT NULL,
	left INTEGER NOT NULL,
	took_ms INTEGER NOT NULL
);
CREATE INDEX cohort_computations_cohort ON cohort_computations (cohort, id);

-- data is the JSON of touchpoint.CohortSync.
CREATE TABLE cohort_syncs (
	id INTEGER PRIMARY KEY,
	cohort INTEGER NOT NULL REFERENCES cohorts (id),
	next_run INTEGER, -- ms; NULL: no more runs
	data TEXT NOT NULL
);

-- What a sync's audience holds: one member's identifier per row.
CREATE TABLE cohort_sync_members (
	sync INTEGER NOT NULL,
	user INTEGER NOT NULL,
	identifier TEXT NOT NULL,
	PRIMARY KEY (sync, user, identifier)
) WITHOUT ROWID;

-- data is the JSON of touchpoint.SyncRun.
CREATE TABLE sync_runs (
	id INTEGER PRIMARY KEY,
	sync INTEGER NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX sync_runs_sync ON sync_runs (sync, id);

-- The attribution plane's audiences (the Audiences API's receiving end).
CREATE TABLE audiences (
	id INTEGER PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps (id),
	name TEXT NOT NULL,
	platform TEXT NOT NULL,
	import_key TEXT NOT NULL UNIQUE,
	size INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (app_id, name)
);

CREATE TABLE audience_members (
	audience INTEGER NOT NULL,
	identifier TEXT NOT NULL,
	value TEXT NOT NULL,
	app_id TEXT NOT NULL,
	added_at INTEGER NOT NULL,
	PRIMARY KEY (audience, identifier, value)
) WITHOUT ROWID;
