-- The overdue sweep (sweep.py) looks for rows still without a first outcome, by age.
CREATE INDEX IF NOT EXISTS records_without_outcome ON records (submitted_at) WHERE outcome IS NULL;
