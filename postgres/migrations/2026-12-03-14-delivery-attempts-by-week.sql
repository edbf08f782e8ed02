-- Delivery attempts partitioned by time (at, Unix milliseconds), so that
-- the outbox's retention (DB.PurgeDeliveries) drops whole partitions
-- instead of deleting the largest table of the outbox row by row and
-- leaving its pages to vacuum.
--
-- One partition per week of at, weeks counted from the Unix epoch as the
-- touches' and the events' (delivery_attempts_<week>, _m<week> before
-- 1970): the default retention (30 days) keeps five or six of them, the
-- dashboard's seven days of delivery health read one or two, and a
-- delivery's attempts (hours apart at most, unless retried by hand) are in
-- one or two. Days would make thirty partitions for every lookup of a
-- delivery by id to probe; months would keep up to a month past the cut.
-- The write path makes the partitions it needs (DB.attemptPartitions).
--
-- The primary key has to include the partition key. (delivery_id, n)
-- stays unique in practice: an attempt is written only by the statement
-- that finishes its delivery under the claim that made it.
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_unpartitioned;
ALTER TABLE delivery_attempts_unpartitioned RENAME CONSTRAINT delivery_attempts_pkey TO delivery_attempts_unpartitioned_pkey;
ALTER INDEX delivery_attempts_partner RENAME TO delivery_attempts_unpartitioned_partner;

CREATE TABLE delivery_attempts (
	delivery_id BIGINT NOT NULL,
	n           BIGINT NOT NULL,
	app_seq     BIGINT, -- the delivery's
	pid         TEXT NOT NULL, -- the delivery's
	at          BIGINT NOT NULL,
	status      BIGINT NOT NULL, -- 0: no answer
	latency     BIGINT NOT NULL, -- microseconds
	body        BYTEA NOT NULL, -- the answer's first bytes, as received
	error       BYTEA NOT NULL, -- why there was no answer
	PRIMARY KEY (delivery_id, n, at)
) PARTITION BY RANGE (at);
-- A partner's health over a window: one range in each week it spans.
CREATE INDEX delivery_attempts_partner ON delivery_attempts (app_seq, pid, at);
-- The purge deletes the attempts made before its cut in the week the cut
-- falls in (the weeks before are dropped whole).
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);

-- The weeks of the attempts already kept, and this week and the next
-- (nodes still running the previous version write attempts without making
-- partitions until they are replaced), then the attempts themselves.
DO $$
DECLARE
	week CONSTANT BIGINT := 7 * 24 * 3600 * 1000;
	w BIGINT;
BEGIN
	FOR w IN
		SELECT DISTINCT floor(at::NUMERIC / week)::BIGINT FROM delivery_attempts_unpartitioned
		UNION
		SELECT floor(extract(epoch FROM now()) * 1000 / week)::BIGINT + k FROM generate_series(0, 1) AS k
	LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF delivery_attempts FOR VALUES FROM (%s) TO (%s)',
			CASE WHEN w < 0 THEN 'delivery_attempts_m' || -w ELSE 'delivery_attempts_' || w END, w * week, (w + 1) * week);
	END LOOP;
END
$$;
INSERT INTO delivery_attempts (delivery_id, n, app_seq, pid, at, status, latency, body, error)
	SELECT delivery_id, n, app_seq, pid, at, status, latency, body, error FROM delivery_attempts_unpartitioned;
DROP TABLE delivery_attempts_unpartitioned;

-- The purge finds the finished deliveries last updated before its cut,
-- a batch at a time, down this index rather than by scanning the table.
-- Pending deliveries (the ones claims update) are not in it.
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state <> 'pending';
