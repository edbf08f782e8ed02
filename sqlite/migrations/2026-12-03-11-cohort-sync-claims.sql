-- Cohort syncs are claimed before they run (DB.ClaimCohortSyncs): a sync
-- claimed until a time (Unix ms) later than now is running elsewhere.
-- 0: not claimed.
ALTER TABLE cohort_syncs ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
