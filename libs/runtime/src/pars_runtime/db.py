"""PostgreSQL: one pool per service, confined to the service's own schema, and migrations.

Migrations are plain SQL files applied in name order, each once, under an advisory lock so that
two instances starting together do not race. The runtime's own tables (outbox, inbox) come first."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

from .logs import get_logger

log = get_logger(__name__)

# asyncpg's ways of saying the server or the connection is gone (not the statement's fault).
# InternalClientError: a connection left mid-operation when the server ended the session
# ("cannot switch to state 12; another operation (2) is in progress"; asyncpg issue 1069), seen
# when PostgreSQL restarted under load; the pool drops that connection.
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError)


async def create_pool(database_url: str, schema: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    await _ensure_schema(database_url, schema)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        # Every statement planned for its own parameters: a batch is one statement over
        # `unnest` of arrays, and a generic plan guesses ten rows for any of them. For a batch of
        # 500 that guess chose a nested loop comparing every row with every other (387 ms for one
        # UPDATE; tests/integration/runtime/test_batch_plans.py). Planning costs well under a
        # millisecond per statement, a small part of a batch's execution.
        server_settings={"search_path": schema, "application_name": schema, "plan_cache_mode": "force_custom_plan"},
    )
    assert pool is not None
    return pool


async def _ensure_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # another instance created it at the same moment
    finally:
        await conn.close()


def _sql_files(package: str) -> list[Traversable]:
    folder = resources.files(package).joinpath("migrations")
    if not folder.is_dir():
        return []
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def migrate(pool: asyncpg.Pool, schema: str, package: str) -> list[str]:
    """Apply the runtime's and `package`'s migrations not yet applied; returns their names."""
    files = [("runtime", f) for f in _sql_files("pars_runtime")]
    files += [("service", f) for f in _sql_files(package)]
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for origin, file in files:
            name = f"{origin}/{file.name}"
            if name in done:
                continue
            await conn.execute(file.read_text())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    if applied:
        log.info("migrations applied", schema=schema, migrations=applied)
    return applied
