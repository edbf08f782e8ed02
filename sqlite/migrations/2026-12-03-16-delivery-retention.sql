-- The outbox's retention (DB.PurgeDeliveries) removes, a batch at a time,
-- the finished deliveries last updated before its cut and the attempts
-- made before it. Each batch finds its rows by index instead of scanning
-- the tables, which hold the whole retention period:
--
-- deliveries_finished: finished deliveries by last update (a delivery is
-- added when it finishes; the pending ones, which claims churn, are not in
-- it).
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE state <> 'pending';
-- delivery_attempts_at: attempts by time, for those made before the cut
-- whose delivery is kept (tried again since, or still pending).
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);
