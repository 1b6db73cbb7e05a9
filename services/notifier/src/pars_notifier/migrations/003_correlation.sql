-- The correlation id of the event that asked for the e-mail (the upload, the board run), so the
-- send's log lines join the request's: one id from HTTP request to e-mail.
ALTER TABLE emails ADD COLUMN IF NOT EXISTS correlation_id text;
