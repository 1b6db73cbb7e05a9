-- API keys of their own (a user may hold several, each with a label, revocable at once) and the
-- portal's server-side sessions. Both store only SHA-256 hashes of the secrets.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id        text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users,
    provider_id   text NOT NULL REFERENCES providers,
    label         text NOT NULL,
    key_hash      text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_of_provider ON api_keys (provider_id, created_at) WHERE revoked_at IS NULL;

-- Every user's key so far becomes their first labelled key; users no longer hold one themselves.
INSERT INTO api_keys (key_id, user_id, provider_id, label, key_hash, created_at)
SELECT 'k' || substr(md5(u.user_id), 1, 15), u.user_id, u.provider_id, 'First key', u.api_key_hash, u.created_at
FROM users u WHERE u.api_key_hash IS NOT NULL
ON CONFLICT DO NOTHING;
ALTER TABLE users ALTER COLUMN api_key_hash DROP NOT NULL;
UPDATE users SET api_key_hash = NULL;

CREATE TABLE IF NOT EXISTS portal_sessions (
    session_hash  text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users,
    provider_id   text NOT NULL REFERENCES providers,
    key_id        text NOT NULL REFERENCES api_keys,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_sessions_by_key ON portal_sessions (key_id);
CREATE INDEX IF NOT EXISTS portal_sessions_expiry ON portal_sessions (expires_at);
