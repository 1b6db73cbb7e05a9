"""Learner match's wrong answers per provider and learner identity, shared by every intake
instance (migration 009): a key with `limit` of them within `window` seconds is locked until the
oldest of them is older than the window."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def seconds_locked(db: Db, keys: list[str], limit: int, window: float) -> float:
    """How long the most locked of `keys` stays locked (0: none is)."""
    rows = await db.fetch(
        "SELECT extract(epoch FROM min(failed_at) + make_interval(secs => $3) - now()) AS left "
        "FROM match_failures WHERE key = ANY($1::text[]) AND failed_at > now() - make_interval(secs => $3) "
        "GROUP BY key HAVING count(*) >= $2", keys, limit, window)
    return max((float(r["left"]) for r in rows), default=0.0)


async def counts(db: Db, keys: list[str], window: float) -> dict[str, int]:
    """How many wrong answers each of `keys` has within the window (a key without any: absent)."""
    rows = await db.fetch(
        "SELECT key, count(*) AS n FROM match_failures WHERE key = ANY($1::text[]) "
        "AND failed_at > now() - make_interval(secs => $2) GROUP BY key", keys, window)
    return {r["key"]: r["n"] for r in rows}


async def add(db: Db, keys: list[str], window: float) -> None:
    """One wrong answer for each key; wrong answers older than the window go."""
    if keys:
        await db.execute(
            "WITH expired AS (DELETE FROM match_failures WHERE failed_at <= now() - make_interval(secs => $2)) "
            "INSERT INTO match_failures (key) SELECT unnest($1::text[])", keys, window)
