-- The analytics plane: projects, users, events.

CREATE TABLE projects (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	api_key TEXT NOT NULL UNIQUE,
	secret_key TEXT NOT NULL,
	http_eps INTEGER NOT NULL,
	batch_eps INTEGER NOT NULL,
	attributions_dropped INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE project_apps (
	project INTEGER NOT NULL REFERENCES projects (id),
	app_id TEXT NOT NULL REFERENCES apps (id),
	PRIMARY KEY (project, app_id)
) WITHOUT ROWID;

-- A user's id is its amplitude_id. The store keeps every user in memory
-- and gives the ids itself.
CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL,
	user_id TEXT,
	merged_into INTEGER,
	props_version INTEGER NOT NULL, -- user_props.version; 0: none yet
	first_seen INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_user_id ON users (project, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX users_merged ON users (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE user_devices (
	project INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	user INTEGER NOT NULL,
	PRIMARY KEY (project, device_id)
) WITHOUT ROWID;
CREATE INDEX user_devices_user ON user_devices (user);

-- Advertising ids seen on a user's events, hashed (touchpoint.AdIDKey):
-- what attribution is matched on.
CREATE TABLE user_adids (
	project INTEGER NOT NULL,
	key BLOB NOT NULL,
	user INTEGER NOT NULL,
	PRIMARY KEY (project, key)
) WITHOUT ROWID;

-- Every version of every user's properties. An event points at the version
-- that stood when it was stored: its snapshot.
CREATE TABLE user_props (
	version INTEGER PRIMARY KEY,
	user INTEGER NOT NULL,
	props TEXT NOT NULL
);

CREATE TABLE event_types (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL,
	name TEXT NOT NULL,
	UNIQUE (project, name)
);

-- One narrow row per stored event, in the order they were stored, with no
-- secondary index: inserts stay at the end of one B-tree. The event itself
-- is in event_blocks; the by-user index is built behind in event_users.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL,
	user INTEGER NOT NULL,
	type INTEGER NOT NULL,
	time INTEGER NOT NULL,  -- the event's time, ms
	props INTEGER NOT NULL, -- user_props.version
	dedup INTEGER NOT NULL  -- hash of device_id and insert_id; 0: no insert_id
);

-- The events of one commit, ids first_id..last_id: per event uvarint
-- received ms, uvarint length, the event's JSON. min_time and max_time
-- bound the events' times, so time ranges narrow to id ranges.
CREATE TABLE event_blocks (
	first_id INTEGER PRIMARY KEY,
	last_id INTEGER NOT NULL,
	received INTEGER NOT NULL,
	min_time INTEGER NOT NULL,
	max_time INTEGER NOT NULL,
	data BLOB NOT NULL
);

-- events by user, for the events up to meta event_users_hwm.
CREATE TABLE event_users (
	user INTEGER NOT NULL,
	id INTEGER NOT NULL,
	PRIMARY KEY (user, id)
) WITHOUT ROWID;

-- The attribution events applied to a user (their event ids).
CREATE TABLE user_attributions (
	user INTEGER NOT NULL,
	event INTEGER NOT NULL,
	PRIMARY KEY (user, event)
) WITHOUT ROWID;

CREATE TABLE groups (
	project INTEGER NOT NULL,
	type TEXT NOT NULL,
	value TEXT NOT NULL,
	props TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (project, type, value)
) WITHOUT ROWID;

-- Attribution events waiting (up to 72 hours) for a user with one of their
-- advertising ids. keys: the hashed ids, 16 bytes each.
CREATE TABLE pending_attributions (
	id INTEGER PRIMARY KEY,
	project INTEGER NOT NULL,
	keys BLOB NOT NULL,
	received INTEGER NOT NULL,
	event_type TEXT NOT NULL,
	time INTEGER NOT NULL,
	user_properties TEXT NOT NULL,
	data TEXT NOT NULL
);
