-- Upstream credentials: a Kafka SCRAM user per credential, bound to the providers it reports
-- for by broker ACLs. The password is never stored (shown once); revoking removes the user and
-- its ACLs from the broker and keeps this row as the record of who had access.
CREATE TABLE upstream_credentials (
    credential_id text PRIMARY KEY,        -- also the SCRAM user name
    provider_ids text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    revoked_at timestamptz,
    revoked_by text
);
