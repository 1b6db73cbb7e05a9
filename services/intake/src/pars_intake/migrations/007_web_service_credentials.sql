-- Web-service credentials (software's, not a person's portal key) and Sandbox PARS (seed S1 350, 462):
-- an API key has a kind; a web-service credential may be a sandbox one, whose submissions are
-- validated and answered but never stored. Existing keys stay portal keys.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'portal';
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS sandbox boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_kind;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind
    CHECK (kind IN ('portal', 'web-service') AND (NOT sandbox OR kind = 'web-service'));
