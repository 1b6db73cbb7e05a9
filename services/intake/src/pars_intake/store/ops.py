"""The operations dashboard's chart samples (`ops_samples`)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def store_samples(pool: asyncpg.Pool, at: datetime, samples: list[tuple[str, str, float]],
                        forget_before: datetime) -> None:
    """Writes one moment's (chart, series, value) samples, once (whichever instance comes first),
    and forgets samples older than `forget_before`."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO ops_samples (at, chart, series, value) SELECT $1, * FROM unnest($2::text[], $3::text[], "
            "$4::float8[]) ON CONFLICT DO NOTHING",
            at, [s[0] for s in samples], [s[1] for s in samples], [s[2] for s in samples])
        await conn.execute("DELETE FROM ops_samples WHERE at < $1", forget_before)


async def samples_since(pool: asyncpg.Pool, since: datetime) -> list[tuple[str, str, float, float]]:
    """(chart, series, Unix seconds, value) of every sample since `since`, by chart, series and time."""
    rows = await pool.fetch("SELECT extract(epoch FROM at)::float8 AS t, chart, series, value FROM ops_samples "
                            "WHERE at >= $1 ORDER BY chart, series, at", since)
    return [(r["chart"], r["series"], r["t"], r["value"]) for r in rows]
