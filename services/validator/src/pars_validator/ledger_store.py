"""The validator's tables: activity registry copy and learner credit ledger (asyncpg)."""

from __future__ import annotations

import asyncpg
import orjson

from pars_contracts.events import ActivityRegistered, LearnerRecordValidated

from .domain.rules import LedgerEntry

_ENTRY_COLUMNS = "record_id, credit_id, completion_date, credits, status, reporting_year"


def _entry(row: asyncpg.Record | None) -> LedgerEntry | None:
    return LedgerEntry(**dict(row)) if row else None


async def save_activity(conn: asyncpg.Connection, activity: ActivityRegistered) -> None:
    await conn.execute(
        "INSERT INTO activities (activity_id, provider_id, data) VALUES ($1, $2, $3) "
        "ON CONFLICT (activity_id) DO UPDATE SET provider_id = EXCLUDED.provider_id, data = EXCLUDED.data",
        activity.activity_id, activity.provider_id, orjson.dumps(activity.model_dump(mode="json")).decode(),
    )


async def load_activity(conn: asyncpg.Connection, activity_id: str | None) -> ActivityRegistered | None:
    if not activity_id:
        return None
    data = await conn.fetchval("SELECT data FROM activities WHERE activity_id = $1", activity_id.strip())
    return ActivityRegistered.model_validate(orjson.loads(data)) if data else None


async def entry_by_credit_id(conn: asyncpg.Connection, provider_id: str, credit_id: str) -> LedgerEntry | None:
    # A live entry wins over deleted ones: a credit id may be reused after its record was deleted.
    return _entry(await conn.fetchrow(
        f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE provider_id = $1 AND credit_id = $2 "
        "ORDER BY (status = 'Deleted'), updated_at DESC LIMIT 1", provider_id, credit_id))


async def entries_for_learner(conn: asyncpg.Connection, provider_id: str, record_key: str) -> list[LedgerEntry]:
    rows = await conn.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE provider_id = $1 AND record_key = $2", provider_id, record_key)
    return [LedgerEntry(**dict(r)) for r in rows]


async def add_pending(conn: asyncpg.Connection, record: LearnerRecordValidated, record_key: str) -> None:
    await conn.execute(
        "INSERT INTO ledger (record_id, provider_id, credit_id, record_key, completion_date, credits, status, reporting_year) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'Pending', $7)",
        record.record_id, record.provider_id, record.credit_id, record_key, record.completion_date,
        record.credits, record.reporting_year,
    )


async def set_status(conn: asyncpg.Connection, record_id: str, status: str) -> None:
    await conn.execute("UPDATE ledger SET status = $2, updated_at = now() WHERE record_id = $1", record_id, status)


async def mark_delete_pending(conn: asyncpg.Connection, record_id: str) -> None:
    await conn.execute(
        "UPDATE ledger SET status_before_delete = status, status = 'DeletePending', updated_at = now() "
        "WHERE record_id = $1", record_id)


async def finish_delete(conn: asyncpg.Connection, record_id: str, deleted: bool) -> None:
    """The board's answer to a delete: Deleted, or back to the status the record had."""
    await conn.execute(
        "UPDATE ledger SET status = CASE WHEN $2 THEN 'Deleted' ELSE coalesce(status_before_delete, status) END, "
        "status_before_delete = NULL, updated_at = now() WHERE record_id = $1", record_id, deleted)


async def forget(conn: asyncpg.Connection, record_id: str) -> None:
    """A record the board refused at once was never stored (seed: "Manual Entry Errors")."""
    await conn.execute("DELETE FROM ledger WHERE record_id = $1", record_id)
