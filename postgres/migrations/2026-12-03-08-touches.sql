-- Touches (touchpoint.TouchStore). A touch's id carries the time it was
-- given (touchpoint.TouchIDTime), so both tables are partitioned by RANGE
-- of id: one partition per week of id time, weeks counted from the Unix
-- epoch as the embedded store's (touches_<week>, touch_keys_<week>).
-- RecordTouches creates the weeks it needs and PurgeTouches drops whole
-- weeks. The id's time rather than the touch's own is the partition key:
-- a test-mode app's touch times follow its own clock (years ahead or
-- behind), while its ids follow the store's, so retention drops its
-- touches with their week.
--
-- Ids come from touch_ids, one row: the last id given. They are allocated
-- in a statement of their own, so writers on several nodes hold that row
-- for one UPDATE, not for their whole transaction.
CREATE TABLE touch_ids (
	one  BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
	last BIGINT NOT NULL
);
INSERT INTO touch_ids (last) VALUES (0);

-- data is the touch's stored form (touchpoint.Touch.AppendBinary); the
-- columns beside it are what lists filter on. at is the touch's own time
-- in Unix milliseconds (rounded down).
CREATE TABLE touches (
	id      BIGINT NOT NULL,
	app_seq BIGINT NOT NULL, -- apps (seq); no foreign key on the hottest table
	at      BIGINT NOT NULL,
	pid     TEXT NOT NULL,
	kind    SMALLINT NOT NULL, -- touchpoint.TouchKind
	data    BYTEA NOT NULL,
	PRIMARY KEY (id)
) PARTITION BY RANGE (id);
-- An app's touches newest first (ListTouches, CountTouches).
CREATE INDEX touches_app ON touches (app_seq, id);

-- The lookup index (TouchesByKeys): one row per lookup key of a touch
-- (touchpoint.LookupKey, itself a 64-bit hash of the app, the kind of key
-- and the value, so BIGINT rather than a BYTEA hash). A table rather than
-- an array column with a GIN index: a B-tree on (k, id) finds a key's
-- touches since a time in one range scan per week, is written in id order
-- without GIN's pending list, and is partitioned and dropped with its
-- touches' week.
CREATE TABLE touch_keys (
	k  BIGINT NOT NULL,
	id BIGINT NOT NULL,
	PRIMARY KEY (k, id)
) PARTITION BY RANGE (id);

-- Click-signing verdict counts per partner and hour of touch time
-- (SigningReport), added to in the transaction that records the touches,
-- as the report's aggregates are. They outlive the purge of the touches.
CREATE TABLE signing_counts (
	app_seq BIGINT NOT NULL,
	pid     TEXT NOT NULL,
	hour    BIGINT NOT NULL, -- Unix milliseconds of the hour's start
	verdict SMALLINT NOT NULL, -- touchpoint.Verdict
	n       BIGINT NOT NULL,
	PRIMARY KEY (app_seq, pid, hour, verdict)
);
