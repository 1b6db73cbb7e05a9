-- The operations dashboard's charts: one value per sampled moment, chart and series (records
-- per second per stage, consumer lag per group, board backlog per board), kept a little over an
-- hour. The moment is a multiple of OPS_SAMPLE_SECONDS and part of the key, so several intake
-- instances sampling the same moment store it once (ON CONFLICT DO NOTHING).
CREATE TABLE IF NOT EXISTS ops_samples (
    at      timestamptz NOT NULL,
    chart   text NOT NULL,
    series  text NOT NULL,
    value   double precision NOT NULL,
    PRIMARY KEY (at, chart, series)
);
