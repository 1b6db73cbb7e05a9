-- Providers' recipients (from provider events) and the e-mails, each with its send state.
-- An e-mail's key is derived from the event that asked for it, so a redelivered event adds nothing.
CREATE TABLE IF NOT EXISTS providers (
    provider_id          text PRIMARY KEY,
    name                 text  NOT NULL,
    notification_emails  jsonb NOT NULL DEFAULT '[]'::jsonb
);

CREATE TABLE IF NOT EXISTS emails (
    notification_key  text PRIMARY KEY,
    kind              text NOT NULL,            -- upload_summary, rejection_summary
    provider_id       text NOT NULL,
    extra_recipients  jsonb NOT NULL DEFAULT '[]'::jsonb,   -- e.g. the uploader
    subject           text NOT NULL,
    body_text         text NOT NULL,
    body_html         text NOT NULL,
    attachment_name   text,
    attachment        bytea,
    status            text NOT NULL DEFAULT 'pending',  -- pending, sent, no_recipient
    attempts          int  NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    recipients        jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz
);
CREATE INDEX IF NOT EXISTS emails_pending ON emails (next_attempt_at) WHERE status = 'pending';
