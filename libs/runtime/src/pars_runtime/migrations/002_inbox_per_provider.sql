-- The inbox keyed per provider as well (review N9): on a provider's own topic a message id is
-- that provider's, so another provider sending the same id first cannot have it skipped as a
-- duplicate. '' on the services' own topics; rows from before are kept under ''.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS provider_id text NOT NULL DEFAULT '';
ALTER TABLE inbox DROP CONSTRAINT IF EXISTS inbox_pkey;
ALTER TABLE inbox ADD PRIMARY KEY (consumer, provider_id, message_id);
