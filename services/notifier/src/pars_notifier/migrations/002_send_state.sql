-- The send state for exactly-once delivery (see sender.py):
--   pending       waiting for its (next) attempt at next_attempt_at
--   sending       committed as the message's final dot went to the SMTP server; a row left here
--                 by a sender that died is counted as delivered (confirmed = false), never resent
--   sent          the SMTP server accepted it (250, confirmed = true), or see `sending`
--   no_recipient  no valid recipient: reported, tried again when the provider's list changes
ALTER TABLE emails ADD COLUMN IF NOT EXISTS message_id text;
ALTER TABLE emails ADD COLUMN IF NOT EXISTS sending_at timestamptz;
ALTER TABLE emails ADD COLUMN IF NOT EXISTS confirmed boolean;
DROP INDEX IF EXISTS emails_pending;
CREATE INDEX IF NOT EXISTS emails_due ON emails (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS emails_recent ON emails (created_at DESC);
CREATE INDEX IF NOT EXISTS emails_provider ON emails (provider_id, created_at DESC);
