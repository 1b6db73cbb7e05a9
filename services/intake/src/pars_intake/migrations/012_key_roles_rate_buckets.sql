-- API keys (review N12): a role, an optional expiry, and the key that minted them.
--   role: 'admin' (everything, and the provider's keys), 'submit' (reads and submits, no keys),
--   'read' (reads only). Web-service credentials only submit. Keys made so far keep what they
--   could do: portal keys become 'admin', web-service credentials 'submit'.
--   created_by_key: the key (directly, or through a portal session opened with it) that created
--   this one; revoking a key revokes every key it minted, and theirs.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'admin';
UPDATE api_keys SET role = 'submit' WHERE kind = 'web-service';
ALTER TABLE api_keys ALTER COLUMN role SET DEFAULT 'submit';
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS created_by_key text REFERENCES api_keys (key_id);
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role
    CHECK (role IN ('admin', 'submit', 'read') AND (kind = 'portal' OR role = 'submit'));
CREATE INDEX IF NOT EXISTS api_keys_minted_by ON api_keys (created_by_key) WHERE created_by_key IS NOT NULL;

-- Token buckets shared by every intake instance (ratelimit.py, review N5): one row per provider,
-- key kind and what is counted (requests, rows). UNLOGGED: a crash empties it, which only gives
-- every provider a full bucket again; in return an update writes no WAL.
CREATE UNLOGGED TABLE IF NOT EXISTS rate_buckets (
    bucket   text PRIMARY KEY,
    tokens   double precision NOT NULL,
    at       timestamptz NOT NULL,
    granted  boolean NOT NULL
);

-- The overdue sweep, fair (sweep.py, review N5): each row's partition of the submitted topic,
-- where its message waits in line behind the rows before it (any provider's). A row is overdue
-- only when the pipeline went past it in its partition, or its partition made no progress for the
-- timeout; not while it waits behind another provider's backlog. Rows of before: NULL (swept by age).
ALTER TABLE records ADD COLUMN IF NOT EXISTS submit_partition smallint;
CREATE INDEX IF NOT EXISTS records_partition_progress ON records (submit_partition, submitted_at DESC)
    WHERE first_outcome_at IS NOT NULL AND submit_partition IS NOT NULL;
