"""Rows' outcomes as the consumers and the overdue sweep write them: a row's first outcome
(once), its later status (a board's Accepted after Submitted, Rejected, Deleted), and the rows
still waiting for their first outcome after the timeout."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import orjson

from pars_contracts.codes import ErrorDetail
from pars_contracts.events import Status

# What a status change names (lifecycle.status_changed): every statement that changes a
# record's status returns it, with the status and sequence the change gave.
CHANGED = ("r.record_id, r.provider_id, r.source, r.submission_id, r.upload_id, r.source_message_id, r.credit_id, "
           "r.activity_id, r.board, r.action, r.target_record_id, r.status, r.status_sequence")

# Each row's first outcome, for a whole batch in one statement; a row that has one keeps it
# (not returned). Public for the test of its plan (tests/integration/runtime/test_batch_plans.py).
# The batch drives the plan: each of its rows is found by the primary key. "Has no outcome" is
# spelled `coalesce(...) = ''` (no outcome is ever '') so that it cannot be answered from the
# partial index `records_without_outcome`: until a vacuum, that index still holds an entry for
# every row given its outcome since the last one, and the planner, which takes it for small, read
# them all for every batch (tens of thousands in a stream: 60 µs a row, against 25; issue #25).
FIRST_OUTCOME = (
    "UPDATE records r SET outcome = t.outcome, errors = t.errors::jsonb, status = coalesce(t.status, r.status), "
    "first_outcome_at = now(), updated_at = now(), credit_id = coalesce(r.credit_id, t.credit_id), "
    "status_sequence = r.status_sequence + 1 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(record_id, outcome, errors, status, "
    "credit_id) WHERE r.record_id = t.record_id AND coalesce(r.outcome, '') = '' "
    "RETURNING " + CHANGED)

# A board's later status for rows that had their first outcome, one statement for a list of
# distinct records. Only a change is written (and returned): a redelivered decision changes
# nothing, a Deleted record stays Deleted, and a decided record never goes back to Submitted
# (a Submitted replayed from a dead-letter topic after the board's decision).
LATER_STATUS = (
    "UPDATE records r SET status = t.status, updated_at = now(), status_sequence = r.status_sequence + 1 "
    "FROM unnest($1::text[], $2::text[]) AS t(record_id, status) "
    "WHERE r.record_id = t.record_id AND r.record_id = ANY($1::text[]) "
    "AND r.status IS DISTINCT FROM 'Deleted' AND r.status IS DISTINCT FROM t.status "
    "AND NOT (t.status = 'Submitted' AND r.status IN ('Accepted', 'Rejected')) "
    "RETURNING " + CHANGED)


def _errors_json(errors: list[ErrorDetail]) -> str:
    return orjson.dumps([e.model_dump(exclude_none=True) for e in errors]).decode()


async def set_first_outcomes(conn: asyncpg.Connection, record_ids: list[str], outcomes: list[str],
                             errors: list[list[ErrorDetail]], statuses: list[Status | None],
                             credit_ids: list[str | None]) -> list[asyncpg.Record]:
    """Sets the first outcome of each row that has none (one list entry per row); returns those
    rows with what their outcome concerns (submission, upload, source, provider, credit id)."""
    return await conn.fetch(FIRST_OUTCOME, record_ids, outcomes, [_errors_json(e) for e in errors], statuses,
                            credit_ids)


async def upstream_outcome_takers(conn: asyncpg.Connection, provider_ids: set[str]) -> set[str]:
    """Which of these providers take UpstreamOutcome messages (providers.upstream_outcomes)."""
    if not provider_ids:
        return set()
    return {r["provider_id"] for r in await conn.fetch(
        "SELECT provider_id FROM providers WHERE provider_id = ANY($1::text[]) AND upstream_outcomes",
        list(provider_ids))}


async def set_later_statuses(conn: asyncpg.Connection, statuses: Sequence[tuple[str, Status | None]]
                             ) -> list[asyncpg.Record]:
    """Later statuses of distinct records (one entry per record); returns the records it changed."""
    return await conn.fetch(LATER_STATUS, [r for r, _ in statuses], [s for _, s in statuses])


async def mark_deleted(conn: asyncpg.Connection, record_id: str | None) -> asyncpg.Record | None:
    """The record a processed Delete row removed; None when it was Deleted already (or is not)."""
    return await conn.fetchrow(
        "UPDATE records r SET status = 'Deleted', updated_at = now(), status_sequence = r.status_sequence + 1 "
        "WHERE r.record_id = $1 AND r.status IS DISTINCT FROM 'Deleted' RETURNING " + CHANGED, record_id)


async def mark_rejected(conn: asyncpg.Connection, record_id: str, errors: list[ErrorDetail],
                        rejected_at: datetime) -> asyncpg.Record | None:
    """A record a deferred board rejected: it stays, with the board's errors and decision time.
    None when it was Rejected already (a decision told twice) or is Deleted."""
    return await conn.fetchrow(
        "UPDATE records r SET status = 'Rejected', errors = $2, rejected_at = $3, updated_at = now(), "
        "status_sequence = r.status_sequence + 1 WHERE r.record_id = $1 "
        "AND r.status IS DISTINCT FROM 'Rejected' AND r.status IS DISTINCT FROM 'Deleted' RETURNING " + CHANGED,
        record_id, _errors_json(errors), rejected_at)


# Which rows without first outcome are overdue: older than the cutoff, and not merely waiting in
# line. A row's message waits in its partition of the submitted topic behind the rows before it
# (any provider's); the newest row of that partition with a first outcome from the pipeline (not
# the sweep's 998) tells how far the line has moved. The row is overdue when the line went past
# it (a row submitted more than `PUBLISH_SLACK` after it is decided: its own message was dead-
# lettered or lost), or its partition has had no outcome for `$idle` seconds (the pipeline is
# stalled), or its partition is not known (rows stored before it was recorded). `$1` cutoff,
# `$2` provider or NULL, `$3` idle seconds; `r` is the row.
PUBLISH_SLACK = "interval '5 seconds'"  # rows committed at nearly the same time may be published out of order
OVERDUE = f"""
    r.outcome IS NULL AND r.submitted_at < $1 AND ($2::text IS NULL OR r.provider_id = $2)
    AND (r.submit_partition IS NULL
         OR newest.submitted_at > r.submitted_at + {PUBLISH_SLACK}
         OR newest.first_outcome_at IS NULL
         OR newest.first_outcome_at < now() - make_interval(secs => $3::float8))"""
NEWEST_IN_PARTITION = """
    LEFT JOIN LATERAL (
        SELECT d.submitted_at, d.first_outcome_at FROM records d
        WHERE d.submit_partition = r.submit_partition AND d.first_outcome_at IS NOT NULL
          AND NOT coalesce(d.errors @> '[{"code": 998}]', false)
        ORDER BY d.submitted_at DESC LIMIT 1) newest ON true"""


async def uploads_with_overdue_rows(pool: asyncpg.Pool, cutoff: datetime, provider_id: str | None,
                                    idle_seconds: float) -> list[str | None]:
    """The uploads (None: rows of no upload) with overdue rows (see OVERDUE), of one provider or all."""
    rows = await pool.fetch(
        f"SELECT DISTINCT r.upload_id FROM records r {NEWEST_IN_PARTITION} WHERE {OVERDUE} LIMIT 1000",
        cutoff, provider_id, float(idle_seconds))
    return [r["upload_id"] for r in rows]


async def lock_overdue_rows(conn: asyncpg.Connection, cutoff: datetime, upload_id: str | None,
                            provider_id: str | None, idle_seconds: float) -> list[str]:
    """The upload's overdue rows (as `uploads_with_overdue_rows`), oldest first, locked until the
    transaction ends; rows another transaction holds (a consumer deciding them) are skipped."""
    rows = await conn.fetch(
        f"SELECT r.record_id FROM records r {NEWEST_IN_PARTITION} WHERE {OVERDUE} "
        "AND r.upload_id IS NOT DISTINCT FROM $4 "
        "ORDER BY r.submitted_at LIMIT 5000 FOR UPDATE OF r SKIP LOCKED", cutoff, provider_id, float(idle_seconds),
        upload_id)
    return [r["record_id"] for r in rows]
