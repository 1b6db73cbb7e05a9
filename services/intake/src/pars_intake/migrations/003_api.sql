-- Learner Search and the Activity Learner Summary read stored records (Adds with a status) of
-- one provider: by submission date range, and per activity with their status counts.
CREATE INDEX IF NOT EXISTS records_stored_by_submitted ON records (provider_id, submitted_at)
    WHERE action = 'Add' AND status IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_stored_by_activity ON records (provider_id, activity_id, status)
    WHERE action = 'Add' AND status IS NOT NULL;
