-- Learner match's wrong answers (api/routes_match.py, Sandbox PARS): one row per wrong answer for
-- a provider and learner identity. Kept here, not in a process, so that the lock after
-- MATCH_FAILURES_PER_LEARNER wrong answers in a day holds across intake instances and restarts.
CREATE TABLE IF NOT EXISTS match_failures (
    key        text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS match_failures_by_key ON match_failures (key, failed_at);
CREATE INDEX IF NOT EXISTS match_failures_by_age ON match_failures (failed_at);
