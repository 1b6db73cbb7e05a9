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

# Each row's first outcome, for a whole batch in one statement; a row that has one keeps it
# (not returned). Public for the test of its plan (tests/integration/runtime/test_batch_plans.py).
FIRST_OUTCOME = (
    "UPDATE records r SET outcome = t.outcome, errors = t.errors::jsonb, status = coalesce(t.status, r.status), "
    "first_outcome_at = now(), updated_at = now(), credit_id = coalesce(r.credit_id, t.credit_id) "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(record_id, outcome, errors, status, "
    "credit_id) WHERE r.record_id = t.record_id AND r.record_id = ANY($1::text[]) AND r.outcome IS NULL "
    "RETURNING r.record_id, submission_id, upload_id, source, source_message_id, provider_id, r.credit_id")


def _errors_json(errors: list[ErrorDetail]) -> str:
    return orjson.dumps([e.model_dump(exclude_none=True) for e in errors]).decode()


async def set_first_outcomes(conn: asyncpg.Connection, record_ids: list[str], outcomes: list[str],
                             errors: list[list[ErrorDetail]], statuses: list[Status | None],
                             credit_ids: list[str | None]) -> list[asyncpg.Record]:
    """Sets the first outcome of each row that has none (one list entry per row); returns those
    rows with what their outcome concerns (submission, upload, source, provider, credit id)."""
    return await conn.fetch(FIRST_OUTCOME, record_ids, outcomes, [_errors_json(e) for e in errors], statuses,
                            credit_ids)


async def set_later_statuses(conn: asyncpg.Connection, statuses: Sequence[tuple[str, Status | None]]) -> None:
    """A board's later status for rows that had their first outcome (a Deleted record stays Deleted)."""
    await conn.executemany("UPDATE records SET status = $2, updated_at = now() WHERE record_id = $1 "
                           "AND status IS DISTINCT FROM 'Deleted'", statuses)


async def mark_deleted(conn: asyncpg.Connection, record_id: str | None) -> None:
    """The record a processed Delete row removed."""
    await conn.execute(
        "UPDATE records SET status = 'Deleted', updated_at = now() WHERE record_id = $1", record_id)


async def mark_rejected(conn: asyncpg.Connection, record_id: str, errors: list[ErrorDetail],
                        rejected_at: datetime) -> None:
    """A record a deferred board rejected: it stays, with the board's errors and decision time."""
    await conn.execute(
        "UPDATE records SET status = 'Rejected', errors = $2, rejected_at = $3, updated_at = now() "
        "WHERE record_id = $1", record_id, _errors_json(errors), rejected_at)


async def uploads_with_overdue_rows(pool: asyncpg.Pool, cutoff: datetime, provider_id: str | None) -> list[str | None]:
    """The uploads (None: rows of no upload) with rows submitted before `cutoff` and still without
    first outcome, of one provider or all."""
    rows = await pool.fetch(
        "SELECT DISTINCT upload_id FROM records WHERE outcome IS NULL AND submitted_at < $1 "
        "AND ($2::text IS NULL OR provider_id = $2) LIMIT 1000", cutoff, provider_id)
    return [r["upload_id"] for r in rows]


async def lock_overdue_rows(conn: asyncpg.Connection, cutoff: datetime, upload_id: str | None,
                            provider_id: str | None) -> list[str]:
    """The upload's overdue rows (as `uploads_with_overdue_rows`), oldest first, locked until the
    transaction ends; rows another transaction holds (a consumer deciding them) are skipped."""
    rows = await conn.fetch(
        "SELECT record_id FROM records WHERE outcome IS NULL AND submitted_at < $1 "
        "AND upload_id IS NOT DISTINCT FROM $2 AND ($3::text IS NULL OR provider_id = $3) "
        "ORDER BY submitted_at LIMIT 5000 FOR UPDATE SKIP LOCKED", cutoff, upload_id, provider_id)
    return [r["record_id"] for r in rows]
