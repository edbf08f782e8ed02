-- Cohorts (touchpoint.CohortStore): saved definitions of a project's
-- users, every change of the definition a new version, and the membership
-- last computed. Times in Unix milliseconds, as the embedded store keeps
-- them.
CREATE TABLE cohorts (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project     BIGINT NOT NULL REFERENCES projects (id),
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	definition  JSONB NOT NULL, -- touchpoint.Condition, as of version
	version     INTEGER NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	size        BIGINT NOT NULL DEFAULT 0, -- of the membership last computed
	computed_at BIGINT -- NULL: never computed
);
CREATE INDEX cohorts_project ON cohorts (project, id);

CREATE TABLE cohort_versions (
	cohort     BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	definition JSONB NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (cohort, version)
);

-- The membership last computed: amplitude ids (users not merged).
CREATE TABLE cohort_members (
	cohort       BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
	amplitude_id BIGINT NOT NULL,
	PRIMARY KEY (cohort, amplitude_id)
);

-- Every computation (the latest 1000 of a cohort), with the size of its
-- diff. The id of a cohort's latest is the base a computation is diffed
-- against (touchpoint.CohortSource.PutMembership).
CREATE TABLE cohort_computations (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cohort      BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	computed_at BIGINT NOT NULL,
	size        BIGINT NOT NULL,
	entered     BIGINT NOT NULL,
	left_count  BIGINT NOT NULL,
	took_ms     BIGINT NOT NULL
);
CREATE INDEX cohort_computations_cohort ON cohort_computations (cohort, id);

-- Cohort syncs to appsflyer-cohort destinations (touchpoint.CohortSync).
-- The destination is referenced without a cascade: one a sync uses is not
-- deleted (DB.DeleteDestination says so first, in words).
CREATE TABLE cohort_syncs (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cohort        BIGINT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
	destination   BIGINT NOT NULL REFERENCES destinations (id),
	cadence       TEXT NOT NULL,
	batch_size    INTEGER NOT NULL,
	enabled       BOOLEAN NOT NULL,
	audience_id   BIGINT NOT NULL DEFAULT 0,
	audience_name TEXT NOT NULL DEFAULT '',
	import_key    TEXT NOT NULL DEFAULT '',
	next_run      BIGINT, -- NULL: no more runs; due only while enabled
	last_run      BIGINT,
	-- A sync claimed until a time later than now is running on some node;
	-- the time also tells one claim from the next. 0: not claimed.
	claimed_until BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE INDEX cohort_syncs_cohort ON cohort_syncs (cohort, id);
CREATE INDEX cohort_syncs_destination ON cohort_syncs (destination);
CREATE INDEX cohort_syncs_due ON cohort_syncs (next_run, id) WHERE enabled AND next_run IS NOT NULL;

-- What a sync's audience holds: one member's identifier per row.
-- Identifiers compare byte by byte ("C"), as the embedded store's do.
CREATE TABLE cohort_sync_members (
	sync         BIGINT NOT NULL REFERENCES cohort_syncs (id) ON DELETE CASCADE,
	amplitude_id BIGINT NOT NULL,
	identifier   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (sync, amplitude_id, identifier)
);

-- The runs of a sync (the latest 1000), touchpoint.SyncRun.
CREATE TABLE sync_runs (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sync        BIGINT NOT NULL REFERENCES cohort_syncs (id) ON DELETE CASCADE,
	started_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	status      TEXT NOT NULL,
	size        BIGINT NOT NULL,
	added       BIGINT NOT NULL,
	removed     BIGINT NOT NULL,
	skipped     BIGINT NOT NULL,
	failed      BIGINT NOT NULL,
	error       TEXT NOT NULL,
	responses   JSONB NOT NULL -- []touchpoint.SyncResponse
);
CREATE INDEX sync_runs_sync ON sync_runs (sync, id);
