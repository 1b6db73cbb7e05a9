-- A Rejected record never blocks a new one with its credit id (seed 001 line 476: "A new record
-- with corrected information must be submitted ... removing the rejected record is optional"):
-- the credit id is unique among a provider's live records only, Rejected and Deleted ones aside.
DROP INDEX IF EXISTS ledger_live_credit_id;
CREATE UNIQUE INDEX IF NOT EXISTS ledger_live_credit_id_v2 ON ledger (provider_id, credit_id)
    WHERE status NOT IN ('Deleted', 'Rejected');
