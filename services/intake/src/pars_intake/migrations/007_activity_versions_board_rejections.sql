-- Activities can be changed (PATCH /v1/activities/{id}): each change bumps `version`, which the
-- re-published ActivityRegistered carries so that the validator never keeps an older state.
ALTER TABLE activities ADD COLUMN IF NOT EXISTS version int NOT NULL DEFAULT 1;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS updated_at timestamptz;
-- When a board rejected the record (its decision's `decided_at`): the upload's error report
-- lists board rejections with their decision date.
ALTER TABLE records ADD COLUMN IF NOT EXISTS rejected_at timestamptz;
CREATE INDEX IF NOT EXISTS records_rejected_by_upload ON records (upload_id, row_number)
    WHERE upload_id IS NOT NULL AND status = 'Rejected';
