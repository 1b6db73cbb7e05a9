"""Intake's queries that more than one module needs."""

from __future__ import annotations

import asyncpg
import orjson

from pars_contracts.events import ActivityRegistered, BoardRegistration


def activity_from_row(row: asyncpg.Record) -> ActivityRegistered:
    return ActivityRegistered(
        activity_id=row["activity_id"], provider_id=row["provider_id"],
        provider_activity_id=row["provider_activity_id"], title=row["title"], activity_type=row["activity_type"],
        start_date=row["start_date"], end_date=row["end_date"], reporting_year=row["reporting_year"],
        ama_credits=row["ama_credits"],
        registrations=[BoardRegistration.model_validate(r) for r in orjson.loads(row["registrations"])])


async def activity_snapshots(conn: asyncpg.Connection, provider_id: str, ids: set[str]) -> dict[str, ActivityRegistered]:
    """The provider's own activities among `ids` (another provider's are simply absent)."""
    if not ids:
        return {}
    rows = await conn.fetch("SELECT * FROM activities WHERE provider_id = $1 AND activity_id = ANY($2::text[])",
                            provider_id, [i.strip() for i in ids])
    return {r["activity_id"]: activity_from_row(r) for r in rows}


async def provider_exists(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM providers WHERE provider_id = $1", provider_id))
