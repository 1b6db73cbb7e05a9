-- Intake's own data: providers, users, activities, and the read models fed by the validator's
-- and the board gateway's events (record rows with their outcome and status, uploads).
CREATE TABLE IF NOT EXISTS providers (
    provider_id          text PRIMARY KEY CHECK (provider_id ~ '^[0-9]{7}$'),
    name                 text NOT NULL,
    notification_emails  jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    user_id       text PRIMARY KEY,
    provider_id   text NOT NULL REFERENCES providers,
    email         text NOT NULL,
    name          text,
    api_key_hash  text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE IF NOT EXISTS activity_ids START 300000001;

CREATE TABLE IF NOT EXISTS activities (
    activity_id           text PRIMARY KEY,
    provider_id           text NOT NULL REFERENCES providers,
    provider_activity_id  text,
    title                 text NOT NULL,
    activity_type         text NOT NULL,
    start_date            date NOT NULL,
    end_date              date NOT NULL,
    reporting_year        int  NOT NULL,
    ama_credits           numeric NOT NULL,
    registrations         jsonb NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS activities_by_provider ON activities (provider_id, reporting_year);

CREATE TABLE IF NOT EXISTS submissions (
    submission_id  text PRIMARY KEY,
    provider_id    text NOT NULL,
    source         text NOT NULL,
    user_email     text,
    rows           int  NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per submitted learner record row. `outcome` is the row's first outcome (NULL while
-- in flight): Submitted, Accepted or Deleted (processed) or Invalid or Refused (not processed).
-- `status` is the stored record's current status (Submitted, Accepted, Rejected, Deleted).
CREATE TABLE IF NOT EXISTS records (
    record_id         text PRIMARY KEY,
    submission_id     text NOT NULL,
    upload_id         text,
    row_number        int  NOT NULL,
    provider_id       text NOT NULL,
    source            text NOT NULL,
    source_message_id text,
    activity_id       text,
    board             text,
    action            text,
    learner_id_type   text,
    learner_id        text,
    npi               text,
    first_name        text,
    last_name         text,
    date_of_birth     text,
    completion_date   date,
    completion_text   text,
    credits           text,
    credit_types      jsonb NOT NULL DEFAULT '[]'::jsonb,
    credit_id         text,
    columns           jsonb NOT NULL DEFAULT '[]'::jsonb,
    outcome           text,
    status            text,
    errors            jsonb NOT NULL DEFAULT '[]'::jsonb,
    target_record_id  text,
    submitted_at      timestamptz NOT NULL DEFAULT now(),
    first_outcome_at  timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS records_by_submission ON records (submission_id, row_number);
CREATE INDEX IF NOT EXISTS records_by_upload ON records (upload_id, row_number) WHERE upload_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_by_activity ON records (provider_id, activity_id, board);
CREATE INDEX IF NOT EXISTS records_by_last_name ON records (provider_id, lower(last_name));

CREATE TABLE IF NOT EXISTS uploads (
    upload_id       text PRIMARY KEY,
    provider_id     text NOT NULL,
    user_email      text,
    file_name       text NOT NULL,
    file_format     text NOT NULL,
    sha256          text NOT NULL,
    status          text NOT NULL DEFAULT 'processing',
    records         int  NOT NULL,
    done            int  NOT NULL DEFAULT 0,
    processed       int  NOT NULL DEFAULT 0,
    not_processed   int  NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz
);
-- One processing upload per provider, enforced by the database, not by luck.
CREATE UNIQUE INDEX IF NOT EXISTS uploads_one_processing ON uploads (provider_id) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS uploads_by_provider ON uploads (provider_id, created_at DESC);
