-- What each commit adds to the report, appended rather than added to the
-- report's rows in place: commits adding to the same cells (the clicks of
-- one campaign today) would otherwise wait on each other's row locks until
-- each commits, one at a time. A task folds them into report every second
-- (DB.FoldReport); the report reads both.
CREATE TABLE report_deltas (
	app_seq      BIGINT NOT NULL,
	day          BIGINT NOT NULL,
	media_source TEXT NOT NULL,
	campaign     TEXT NOT NULL,
	campaign_id  TEXT NOT NULL,
	adset        TEXT NOT NULL,
	ad           TEXT NOT NULL,
	site_id      TEXT NOT NULL,
	metric       TEXT NOT NULL,
	currency     TEXT NOT NULL,
	n            BIGINT NOT NULL,
	amount       BIGINT NOT NULL
);
