-- How many statuses a record has taken: 1 with its first outcome, one more at each later change.
-- Each change's LearnerRecordStatusChanged carries it as `sequence`, so that a receiver that gets
-- changes out of order (a webhook retried later) keeps the newest. Records decided before this
-- column existed count their first outcome, and one more when their status moved on since.
ALTER TABLE records ADD COLUMN IF NOT EXISTS status_sequence int NOT NULL DEFAULT 0;
UPDATE records SET status_sequence = CASE
        WHEN status IS NOT DISTINCT FROM (CASE WHEN outcome IN ('Submitted', 'Accepted', 'Deleted') THEN outcome END)
        THEN 1 ELSE 2 END
 WHERE outcome IS NOT NULL AND status_sequence = 0;
