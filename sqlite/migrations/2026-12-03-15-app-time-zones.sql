-- The IANA time zone an app's report counts days in.
ALTER TABLE apps ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
