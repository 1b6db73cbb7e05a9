-- Whether each upstream completion's first outcome is also published as an UpstreamOutcome (the
-- message integrators read before LearnerRecordStatusChanged told a record's whole life). On for
-- every provider unless it turns it off (PUT /v1/provider/upstream-outcomes): it says nothing the
-- first LearnerRecordStatusChanged does not, and costs a message per completion (issue #25).
ALTER TABLE providers ADD COLUMN IF NOT EXISTS upstream_outcomes boolean NOT NULL DEFAULT true;
