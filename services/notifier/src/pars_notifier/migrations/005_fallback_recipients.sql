-- Who hears of an e-mail when its provider has no notification recipients: for a rejection
-- summary, the users who submitted the rejected records (seed S1 97, 468).
ALTER TABLE emails ADD COLUMN IF NOT EXISTS fallback_recipients jsonb NOT NULL DEFAULT '[]'::jsonb;
