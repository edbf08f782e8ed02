-- Integrations between the planes: analytics forwards,
-- destinations, and what their deliveries need.

-- An app's forward of its attribution to an analytics project; data is the
-- JSON of touchpoint.AnalyticsForward.
CREATE TABLE analytics_forwards (
	app_id TEXT PRIMARY KEY REFERENCES apps (id),
	data TEXT NOT NULL
) WITHOUT ROWID;

-- A project's event streams; data is the JSON of touchpoint.Destination.
CREATE TABLE destinations (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL REFERENCES projects (id),
	data TEXT NOT NULL
);

-- A delivery is owed for an app (app_seq) or, for an event stream, for a
-- project (app_seq 0). headers is JSON (keys such as authentication).
ALTER TABLE deliveries ADD COLUMN project INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN headers TEXT NOT NULL DEFAULT '';
