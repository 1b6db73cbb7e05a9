"""Prometheus metrics shared by all services (SPEC section 6). Labels say where: stage, group,
topic, board, code."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_HANDLED = Counter(
    "pars_messages_handled_total", "Messages handled by a consumer", ["group", "topic", "type", "outcome"])
HANDLER_SECONDS = Histogram(
    "pars_handler_seconds", "Time to handle one batch of messages", ["group"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DEAD_LETTERS = Counter("pars_dead_letters_total", "Messages sent to a dead-letter topic", ["group", "topic"])
OUTBOX_SENT = Counter("pars_outbox_sent_total", "Outbox messages relayed to Kafka", ["schema"])
OUTBOX_SET_ASIDE = Counter(
    "pars_outbox_set_aside_total", "Outbox messages Kafka refuses for good, moved to outbox_set_aside",
    ["schema", "topic"])
RECORDS = Counter("pars_records_total", "Learner records by stage and outcome", ["stage", "outcome", "board"])
ERRORS_BY_CODE = Counter("pars_record_errors_total", "Record errors by code", ["stage", "code"])
CONSUMER_LAG = Gauge("pars_consumer_lag", "Messages behind the high watermark", ["group", "topic", "partition"])
UPLOAD_SECONDS = Histogram(
    "pars_upload_processing_seconds", "From upload request to every row's first outcome",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 600))
TASK_FAILURES = Counter(
    "pars_task_failures_total", "Failed runs of a periodic background task (it goes on)", ["task"])
RULE_FAILURES = Counter(
    "pars_rule_failures_total", "Learner record rows whose validation failed unexpectedly (the row's error 998)")
DASHBOARD_READ_FAILURES = Counter(
    "pars_dashboard_read_failures_total", "Parts of the operations dashboard that could not be read and were shown "
    "empty: Kafka unavailable, or an unexpected fault", ["part", "kind"])
