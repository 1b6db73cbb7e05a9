-- A Delete that gives its credit id (XML, web service, stream) must repeat every completion field of
-- the record it deletes (seed 001 567): the Add's fields are kept folded as one fingerprint (the
-- validator's `completion_fingerprint`). Entries stored before have none and match on the credit id.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS fingerprint text;
