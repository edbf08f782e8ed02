-- The attribution plane's audiences, the receiving end of AppsFlyer's
-- Audiences import API (touchpoint.AudienceStore). The import key is kept
-- as given: FindAudience shows it, and it names an audience rather than
-- authenticates (an import also needs the app's API token), as the
-- embedded store keeps it. Times in Unix milliseconds.
CREATE TABLE audiences (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app_seq    BIGINT NOT NULL REFERENCES apps (seq),
	name       TEXT NOT NULL,
	platform   TEXT NOT NULL,
	import_key TEXT NOT NULL UNIQUE,
	size       BIGINT NOT NULL DEFAULT 0, -- members; kept by imports, which lock the row
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (app_seq, name)
);

-- One identifier an audience holds per row. Identifiers and values
-- compare byte by byte ("C"), as the embedded store's do, so that member
-- pages follow the primary key whatever the database's collation.
CREATE TABLE audience_members (
	audience   BIGINT NOT NULL REFERENCES audiences (id),
	identifier TEXT COLLATE "C" NOT NULL,
	value      TEXT COLLATE "C" NOT NULL,
	app_id     TEXT NOT NULL, -- the device row's app_id, as sent
	added_at   BIGINT NOT NULL,
	PRIMARY KEY (audience, identifier, value)
);
