-- Rows are checked against every entry with their credit id, deleted ones included: the partial
-- unique index (live entries only) cannot serve that lookup, which then read the whole ledger.
CREATE INDEX IF NOT EXISTS ledger_by_credit_id ON ledger (provider_id, credit_id);
