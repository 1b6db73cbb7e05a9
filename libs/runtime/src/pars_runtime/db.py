"""PostgreSQL: one pool per service, confined to the service's own schema, and migrations; and
what a consumer group's batch does in its transaction (`BatchDatabase`).

Migrations are plain SQL files applied in name order, each once, under an advisory lock so that
two instances starting together do not race. The runtime's own tables (outbox, inbox) come first.

The batch processor (processor.py) reaches the database only through `BatchDatabase`: a
transaction, the inbox and the outbox. `PostgresBatches` is it on the service's pool;
`pars_runtime.memory.MemoryBatches` is it in memory, for tests without PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Protocol

import asyncpg

from .logs import get_logger
from .messages import Outgoing, put_many

log = get_logger(__name__)

# asyncpg's ways of saying the server or the connection is gone (not the statement's fault).
# InternalClientError: a connection left mid-operation when the server ended the session
# ("cannot switch to state 12; another operation (2) is in progress"; asyncpg issue 1069), seen
# when PostgreSQL restarted under load; the pool drops that connection.
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError)
# What a background task's pass may meet from the database and leave for its next pass: the
# server away or restarting (CONNECTION_LOST, OSError) or a statement refused (a deadlock...).
# A task that caught less died on a connection left mid-operation by a restart, and took its
# service down with it (intake, twice in one `make chaos` run).
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, *CONNECTION_LOST)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """A connection's release with no reset query (asyncpg still ends a transaction left open)."""


async def create_pool(database_url: str, schema: str, *, min_size: int = 2, max_size: int = 10,
                      reset_sessions: bool = True) -> asyncpg.Pool:
    """`reset_sessions=False`: a connection goes back to the pool without asyncpg's reset
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), one round trip and four
    statements per release, i.e. per batch and per relay pass, whatever the batch's size
    (docs/performance.md counts them). Only
    for a service whose code leaves nothing on a session: no session-level SET, advisory lock,
    LISTEN (the relay's listener unlistens itself) or cursor WITH HOLD; transactions end by
    themselves (asyncpg rolls back one left open on release all the same)."""
    await _ensure_schema(database_url, schema)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        reset=None if reset_sessions else _keep_session,
        # Every statement planned for its own parameters: a batch is one statement over
        # `unnest` of arrays, and a generic plan guesses ten rows for any of them. For a batch of
        # 500 that guess chose a nested loop comparing every row with every other (387 ms for one
        # UPDATE; tests/integration/runtime/test_batch_plans.py). Planning costs well under a
        # millisecond per statement, a small part of a batch's execution.
        # `random_page_cost` 1.1, not the default 4 (a spinning disk's): the services' tables are
        # read from memory or SSD, and at 4 the planner answered a batch of 500 ids with a scan
        # of the whole records table rather than 500 primary-key lookups (test_batch_plans.py).
        server_settings={"search_path": schema, "application_name": schema, "plan_cache_mode": "force_custom_plan",
                         "random_page_cost": "1.1"},
    )
    assert pool is not None
    return pool


async def _ensure_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # A service's own role may not create schemas (its schema is made for it, review N11):
        # CREATE SCHEMA IF NOT EXISTS would still be refused for want of the privilege.
        if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
            return
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


class BatchTransaction(Protocol):
    """One batch's transaction, as the processor uses it."""

    @property
    def conn(self) -> Any:
        """What the handlers and the batch's state use (`Unit.conn`): an asyncpg connection."""

    async def inbox_add(self, consumer: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Records the (provider, message id) keys in the consumer's inbox ('' for a message not on
        a provider's own topic); returns those it did not hold before."""

    async def inbox_remove(self, consumer: str, keys: list[tuple[str, str]]) -> None:
        """Takes the (provider, message id) keys out of the consumer's inbox again."""

    async def outbox_put(self, messages: list[Outgoing]) -> None:
        """Writes the messages to the outbox, in order: the relay sends them once committed."""


class BatchDatabase(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[BatchTransaction]:
        """A transaction that commits when the block ends and rolls back when it raises."""


class PostgresTransaction:
    __slots__ = ("conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def inbox_add(self, consumer: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        added = await self.conn.fetchrow(
            "WITH ins AS (INSERT INTO inbox (consumer, provider_id, message_id) SELECT $1, p, m "
            "FROM unnest($2::text[], $3::text[]) AS u(p, m) ON CONFLICT DO NOTHING RETURNING provider_id, message_id) "
            "SELECT coalesce(array_agg(provider_id), '{}') AS p, coalesce(array_agg(message_id), '{}') AS m FROM ins",
            consumer, [p for p, _ in keys], [m for _, m in keys])
        return set(zip(added["p"], added["m"], strict=True))

    async def inbox_remove(self, consumer: str, keys: list[tuple[str, str]]) -> None:
        await self.conn.execute(
            "DELETE FROM inbox WHERE consumer = $1 AND (provider_id, message_id) IN "
            "(SELECT p, m FROM unnest($2::text[], $3::text[]) AS u(p, m))",
            consumer, [p for p, _ in keys], [m for _, m in keys])

    async def outbox_put(self, messages: list[Outgoing]) -> None:
        await put_many(self.conn, messages)


class PostgresBatches:
    """Batches' transactions on the service's pool (None only where nothing is processed)."""

    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[BatchTransaction]:
        assert self.pool is not None, "a processor without a pool processes nothing"
        async with self.pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn)
