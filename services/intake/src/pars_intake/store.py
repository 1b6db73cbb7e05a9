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
        registrations=[BoardRegistration.model_validate(r) for r in orjson.loads(row["registrations"])],
        version=row["version"])


async def activity_snapshots(conn: asyncpg.Connection, wanted: set[tuple[str, str]],
                             ) -> dict[tuple[str, str], ActivityRegistered]:
    """The activities among these (provider id, activity id): a provider's own only (another
    provider's are simply absent)."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT a.* FROM activities a JOIN unnest($1::text[], $2::text[]) AS w(p, i) "
        "ON a.provider_id = w.p AND a.activity_id = w.i", [p for p, _ in wanted], [i for _, i in wanted])
    return {(r["provider_id"], r["activity_id"]): activity_from_row(r) for r in rows}


async def provider_exists(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM providers WHERE provider_id = $1", provider_id))
