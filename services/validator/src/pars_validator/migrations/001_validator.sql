-- The validator's own state: its copy of the activity registry (from activity events) and the
-- learner credit ledger (one row per stored learner record, with its board status).
CREATE TABLE IF NOT EXISTS activities (
    activity_id  text PRIMARY KEY,
    provider_id  text  NOT NULL,
    data         jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger (
    record_id       text PRIMARY KEY,
    provider_id     text    NOT NULL,
    credit_id       text    NOT NULL,
    record_key      text    NOT NULL,
    completion_date date    NOT NULL,
    credits         numeric NOT NULL,
    status          text    NOT NULL,  -- Pending, Submitted, Accepted, Rejected, Deleted, DeletePending
    reporting_year  int     NOT NULL,
    status_before_delete text,  -- restored if the board refuses a delete
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A credit id is unique among a provider's live records: two records with one credit id racing
-- on different partitions cannot both be stored (the loser is retried and gets 603).
CREATE UNIQUE INDEX IF NOT EXISTS ledger_live_credit_id ON ledger (provider_id, credit_id) WHERE status <> 'Deleted';
CREATE INDEX IF NOT EXISTS ledger_by_key ON ledger (record_key);
