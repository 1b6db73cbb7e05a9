-- Standard Webhooks for providers without Kafka (issue 24): each provider's endpoints, one
-- delivery per event and endpoint (its webhook-id the same on every attempt), and each attempt's
-- answer. The signing secret is kept as given to the provider: signing needs it (docs/security.md).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    endpoint_id      text PRIMARY KEY,
    provider_id      text NOT NULL REFERENCES providers,
    url              text NOT NULL,
    description      text NOT NULL DEFAULT '',
    events           text[] NOT NULL DEFAULT '{}',  -- empty: every event type
    secret           text NOT NULL,
    previous_secret  text,                          -- after a rotation, still signed with until:
    previous_until   timestamptz,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_provider ON webhook_endpoints (provider_id, created_at);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id      text PRIMARY KEY,              -- also the webhook-id header
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
    provider_id      text NOT NULL,
    event_type       text NOT NULL,
    event_id         text NOT NULL,
    body             text NOT NULL,                 -- the JSON sent, the same bytes on every attempt
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,    -- every attempt, numbering webhook_attempts
    tries            integer NOT NULL DEFAULT 0,    -- attempts since the first or a resend: the schedule's step
    first_attempt_at timestamptz,                   -- the retry window counts from here (or a resend)
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_recent ON webhook_deliveries (endpoint_id, created_at DESC);

CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id      text NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    attempt          integer NOT NULL,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    status_code      integer,                       -- NULL: no HTTP answer (refused, timed out...)
    response_excerpt text NOT NULL DEFAULT '',
    error            text,
    PRIMARY KEY (delivery_id, attempt)
);
