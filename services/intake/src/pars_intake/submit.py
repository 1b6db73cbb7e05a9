"""Every submission path ends here: rows stored in intake's read model and one
LearnerRecordSubmitted event each, in the caller's transaction (outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from pars_contracts import topics
from pars_contracts.boards import learner_key_id, metric_label, resolve_code
from pars_contracts.envelope import new_id
from pars_contracts.events import ActivityRegistered, LearnerRecordSubmitted, Source
from pars_contracts.values import parse_completion_date
from pars_runtime import messages, metrics
from pars_runtime.kafka import partition_of
from pars_runtime.settings import ServiceSettings

from .domain.rows import RowInput, template_b_cells
from .store.activities import activity_snapshots
from .store.submissions import insert_records, insert_submissions


@dataclass(frozen=True)
class SubmittedRow:
    row_number: int
    record_id: str
    credit_id: str | None


@dataclass(frozen=True)
class Submission:
    """One submission: a web-service call, an upload, or one upstream completion event."""

    provider_id: str
    source: Source
    rows: list[tuple[int, RowInput, list[str] | None]]  # (row number, row, file cells or None)
    now: datetime
    user_email: str | None = None
    upload_id: str | None = None
    submission_id: str = field(default_factory=new_id)
    source_message_id: str | None = None
    target_record_id: str | None = None


async def submit_rows(conn: asyncpg.Connection, settings: ServiceSettings, *, submission_id: str | None = None,
                      **submission: Any) -> tuple[str, list[SubmittedRow]]:
    """One submission (the fields of `Submission`); returns its id and its rows."""
    if submission_id:
        submission["submission_id"] = submission_id
    one = Submission(**submission)
    return one.submission_id, (await submit_many(conn, settings, [one]))[0]


async def submit_many(conn: asyncpg.Connection, settings: ServiceSettings,
                      submissions: list[Submission]) -> list[list[SubmittedRow]]:
    """Stores the submissions and their rows and puts one event per row in the outbox: four
    statements whatever the number of submissions (a consumer batch of upstream events is one)."""
    await insert_submissions(conn, [(s.submission_id, s.provider_id, s.source, s.user_email, len(s.rows))
                                    for s in submissions])
    activities = await activity_snapshots(conn, {(s.provider_id, r.activity_id.strip()) for s in submissions
                                                 for _, r, _ in s.rows if r.activity_id})
    db_rows, events, results = [], [], []
    for s in submissions:
        result = []
        for row_number, row, cells in s.rows:
            record_id = new_id()
            event = LearnerRecordSubmitted(
                record_id=record_id, submission_id=s.submission_id, upload_id=s.upload_id, row_number=row_number,
                source=s.source, provider_id=s.provider_id, activity_id=row.activity_id, board=row.board,
                action=row.action, learner_id_type=row.learner_id_type, learner_id=row.learner_id, npi=row.npi,
                first_name=row.first_name, last_name=row.last_name, date_of_birth=row.date_of_birth,
                completion_date=row.completion_date, credits=row.credits, credit_types=row.credit_types,
                credit_id=row.credit_id, format_errors=row.format_errors, submitted_at=s.now, submitted_by=s.user_email,
                activity=activities.get((s.provider_id, (row.activity_id or "").strip())))
            code = _board_code(row, event.activity)
            key = topics.record_key(event, event.activity)
            # The read model stores the learner as the validator sees it: "ME" as the Maine board
            # the activity registers (so detail counts, search and board removal see the record),
            # and a state learner given only by NPI under that NPI. Template B cells keep the row
            # as given, so the error report re-uploads unchanged.
            learner_id = learner_key_id(code, row.learner_id, row.npi)
            id_type = row.learner_id_type or ("NPI" if learner_id and not (row.learner_id or "").strip() else None)
            events.append(messages.outgoing(settings.topic(topics.RECORDS_SUBMITTED.name), key, event, producer="intake",
                                            correlation_id=s.upload_id or s.submission_id, provider_id=s.provider_id))
            db_rows.append((
                record_id, s.submission_id, s.upload_id, row_number, s.provider_id, s.source, s.source_message_id,
                _short(row.activity_id), _short(code, 20), _short(row.action, 20),
                _short(id_type, 20), _short(learner_id), _short(row.npi), _short(row.first_name, 200),
                _short(row.last_name, 200), _short(row.date_of_birth), parse_completion_date(row.completion_date or ""),
                _short(row.completion_date), _short(row.credits), orjson.dumps(row.credit_types).decode(),
                _short(row.credit_id, 300), orjson.dumps(cells if cells is not None else template_b_cells(row)).decode(),
                s.now, s.target_record_id, submit_partition(key)))
            result.append(SubmittedRow(row_number, record_id, row.credit_id))
        results.append(result)
    await insert_records(conn, db_rows)
    await messages.put_many(conn, events)
    for s in submissions:
        for _, row, _ in s.rows:
            metrics.RECORDS.labels("intake", "received", metric_label(row.board)).inc()
    return results


def submit_partition(key: str) -> int:
    """The partition of the submitted topic the row's message goes to, as the relay's producer
    picks it (Kafka's default partitioner: murmur2 of the key); the sweep's fairness needs it."""
    return partition_of(key.encode(), topics.RECORDS_SUBMITTED.partitions)


def _board_code(row: RowInput, activity: ActivityRegistered | None) -> str | None:
    """The row's board as the validator keys its ledger: "ME" as the Maine board the activity
    registers (as given when it registers none or both: the row's error)."""
    return resolve_code(row.board, [r.board for r in activity.registrations] if activity else []) or row.board


def _short(value: str | None, limit: int = 100) -> str | None:
    """Read-model columns keep a bounded copy; the event carries the value as given."""
    return value[:limit] if value is not None else None


__all__ = ["submit_rows", "submit_many", "Submission", "SubmittedRow"]
