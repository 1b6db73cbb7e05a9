-- Opioid Analgesic REMS (docs/rems.md; seed 001 line 230: "a provider participating in the REMS
-- program"): whether the provider takes part, set by the admin API. Existing providers do not.
ALTER TABLE providers ADD COLUMN IF NOT EXISTS rems_participant boolean NOT NULL DEFAULT false;
