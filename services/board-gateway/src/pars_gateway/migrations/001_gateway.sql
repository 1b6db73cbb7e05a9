-- Each board's simulated registry of physicians, and the durable schedule of records waiting
-- for a within-a-day board (claimed with FOR UPDATE SKIP LOCKED by the board runs).
CREATE TABLE IF NOT EXISTS physicians (
    board          text NOT NULL,
    learner_id     text NOT NULL,
    id_type        text NOT NULL,
    npi            text,
    last_name_key  text NOT NULL,
    data           jsonb NOT NULL,
    PRIMARY KEY (board, learner_id)
);
CREATE INDEX IF NOT EXISTS physicians_by_npi ON physicians (board, npi);
CREATE INDEX IF NOT EXISTS physicians_by_name ON physicians (board, last_name_key);

CREATE TABLE IF NOT EXISTS board_records (
    record_id     text PRIMARY KEY,
    board         text NOT NULL,
    provider_id   text NOT NULL,
    record        jsonb NOT NULL,
    status        text NOT NULL,          -- Submitted, Accepted, Rejected
    submitted_at  timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    decided_at    timestamptz,
    batch_id      text
);
CREATE INDEX IF NOT EXISTS board_records_due ON board_records (due_at) WHERE status = 'Submitted';
