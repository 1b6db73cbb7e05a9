-- Outbox rows Kafka refuses for good (too large for the topic, invalid, not serializable): the
-- relay moves them here with the reason, logs an ERROR and counts pars_outbox_set_aside_total
-- (alert OutboxMessageSetAside), and keeps relaying the rows after them. Nothing reads this table
-- on its own: an operator inspects a row, and deletes it or puts a fixed copy back in the outbox.
CREATE TABLE IF NOT EXISTS outbox_set_aside (
    id           bigint      PRIMARY KEY,  -- the outbox row's id
    topic        text        NOT NULL,
    key          text        NOT NULL,
    message_id   text        NOT NULL,
    value        bytea       NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL,     -- when the outbox row was written
    reason       text        NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now()
);
