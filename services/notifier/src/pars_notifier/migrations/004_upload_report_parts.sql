-- An upload's error report arrives in bounded parts (UploadErrorReportPart) before its
-- UploadCompleted; they wait here until the completion's e-mail is queued with them as its
-- attachment, then are deleted.
CREATE TABLE IF NOT EXISTS upload_report_parts (
    upload_id  text        NOT NULL,
    part       integer     NOT NULL,
    parts      integer     NOT NULL,
    tsv        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part)
);
