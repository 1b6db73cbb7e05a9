-- Each physician's opaque match key (domain/matching.py `physician_key`): intake's learner-match
-- lock and the gateway's refusal throttle count wrong answers on it, so that neither another id of
-- the same physician (a junk learner id beside the real NPI) nor another spelling of the name
-- starts a fresh count. Random, so it tells nothing about the physician; kept when a registry
-- entry is replaced.
ALTER TABLE physicians ADD COLUMN IF NOT EXISTS match_key text NOT NULL DEFAULT gen_random_uuid()::text;

-- A direct board's answers on one physician for one provider's records (domain/throttle.py): the
-- refusals answered at once, and the answers held back once there were too many. `answer_at` is
-- when the answer is (or was) given, in the future for a held-back one.
CREATE TABLE IF NOT EXISTS physician_answers (
    provider_id  text NOT NULL,
    match_key    text NOT NULL,
    answer_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS physician_answers_by_key ON physician_answers (provider_id, match_key, answer_at);

-- A direct board's record whose answer is held back (domain/throttle.py) waits in the schedule
-- like a within-a-day board's; it is not counted against the 24-hour promise.
ALTER TABLE board_records ADD COLUMN IF NOT EXISTS held boolean NOT NULL DEFAULT false;
