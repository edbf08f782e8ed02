-- The analytics plane (touchpoint.EventStore): users, their devices and
-- advertising ids, property versions, groups, event types, insert ids,
-- held attribution events and events. Times are Unix milliseconds, as the
-- embedded store keeps them. What clients send (user and device ids, event
-- types, group names, platforms) is kept as bytes: TEXT refuses a NUL, and
-- bytes order as the embedded store's strings do. Properties and events
-- are JSON kept as bytes: never queried into here, and JSONB refuses the
-- \u0000 escape.
--
-- Writes of one project are serialised by an advisory lock on the project
-- (RecordEvents), so that merges and property versions follow one order.
-- Ids come from sequences, read FOR UPDATE in the write transaction that
-- uses them, as the embedded store's.
CREATE TABLE sequences (
	name TEXT PRIMARY KEY,
	next BIGINT NOT NULL
);
INSERT INTO sequences (name, next) VALUES ('events', 1), ('users', 1), ('user_props', 1), ('event_types', 1),
	('pending_attributions', 1);

-- Users (amplitude ids). platform to adid are those of the user's latest
-- event that had them (NULL: none yet).
CREATE TABLE users (
	id            BIGINT PRIMARY KEY,
	project       BIGINT NOT NULL,
	user_id       BYTEA, -- NULL: anonymous
	merged_into   BIGINT, -- the identified user an anonymous one became part of
	props_version BIGINT NOT NULL DEFAULT 0, -- user_props (version); 0: none
	first_seen    BIGINT NOT NULL,
	platform      BYTEA,
	country       BYTEA,
	idfa          BYTEA,
	idfv          BYTEA,
	adid          BYTEA
);
CREATE UNIQUE INDEX users_user_id ON users (project, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX users_merged ON users (merged_into) WHERE merged_into IS NOT NULL;

-- The user each device id maps to.
CREATE TABLE user_devices (
	project      BIGINT NOT NULL,
	device_id    BYTEA NOT NULL,
	amplitude_id BIGINT NOT NULL,
	PRIMARY KEY (project, device_id)
);
CREATE INDEX user_devices_user ON user_devices (amplitude_id);

-- The user each advertising id (touchpoint.AdIDKey) maps to.
CREATE TABLE user_adids (
	project      BIGINT NOT NULL,
	key          BYTEA NOT NULL,
	amplitude_id BIGINT NOT NULL,
	PRIMARY KEY (project, key)
);

-- Versions of users' properties: an event keeps the version it was stored
-- with.
CREATE TABLE user_props (
	version      BIGINT PRIMARY KEY,
	amplitude_id BIGINT NOT NULL,
	props        BYTEA NOT NULL
);

CREATE TABLE groups (
	project    BIGINT NOT NULL,
	type       BYTEA NOT NULL,
	value      BYTEA NOT NULL,
	props      BYTEA NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (project, type, value)
);

CREATE TABLE event_types (
	id      BIGINT PRIMARY KEY,
	project BIGINT NOT NULL,
	name    BYTEA NOT NULL,
	UNIQUE (project, name)
);

-- When each insert id (analytics.DedupHash, its 64 bits as a BIGINT) was
-- last stored, by its project's time: ExpireAttributions forgets those
-- past the dedup window.
CREATE TABLE insert_ids (
	project  BIGINT NOT NULL,
	hash     BIGINT NOT NULL,
	received BIGINT NOT NULL,
	PRIMARY KEY (project, hash)
);
-- The sweep of a project's insert ids past the window reads those only.
CREATE INDEX insert_ids_received ON insert_ids (project, received);

-- Attribution events waiting for a user with one of their advertising ids
-- (keys: the touchpoint.AdIDKey of each, 16 bytes each, in order).
CREATE TABLE pending_attributions (
	id              BIGINT PRIMARY KEY,
	project         BIGINT NOT NULL,
	keys            BYTEA NOT NULL,
	received        BIGINT NOT NULL,
	event_type      BYTEA NOT NULL,
	time            BIGINT NOT NULL,
	user_properties BYTEA NOT NULL,
	data            BYTEA NOT NULL
);
CREATE INDEX pending_attributions_project ON pending_attributions (project, received);

-- Finds held attribution events by advertising id.
CREATE TABLE pending_attribution_keys (
	project BIGINT NOT NULL,
	key     BYTEA NOT NULL,
	id      BIGINT NOT NULL REFERENCES pending_attributions (id) ON DELETE CASCADE,
	PRIMARY KEY (project, key, id)
);
CREATE INDEX pending_attribution_keys_id ON pending_attribution_keys (id);

-- Events, partitioned by RANGE of their time: one partition per week of
-- event time, weeks counted from the Unix epoch (events_<week>), created
-- by RecordEvents as it needs them. props is the version of the user's
-- properties the event was stored with (0: none); dedup its insert id's
-- hash (0: none); received the time of its upload (server_upload_time);
-- data the event as stored, without user_properties.
CREATE TABLE events (
	id           BIGINT NOT NULL,
	project      BIGINT NOT NULL,
	amplitude_id BIGINT NOT NULL,
	type         BIGINT NOT NULL,
	time         BIGINT NOT NULL,
	props        BIGINT NOT NULL,
	dedup        BIGINT NOT NULL,
	received     BIGINT NOT NULL,
	data         BYTEA NOT NULL,
	PRIMARY KEY (project, time, id)
) PARTITION BY RANGE (time);
-- A user's events in id order (UserEvents, FindUser).
CREATE INDEX events_user ON events (amplitude_id, id);

-- The attribution events applied to users (time: the event's, to find it
-- in its partition).
CREATE TABLE user_attributions (
	amplitude_id BIGINT NOT NULL,
	event        BIGINT NOT NULL,
	time         BIGINT NOT NULL,
	PRIMARY KEY (amplitude_id, event)
);
