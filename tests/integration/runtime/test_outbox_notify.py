"""An outbox write wakes the relay when its transaction commits, and only then: the write and
its notification are one statement (pars_runtime.messages.put_many). It wakes its own schema's
relay only, not the other services' that share the database. Real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pars_runtime import db, messages
from pars_runtime.messages import Outgoing
from pars_runtime.relay import PostgresOutbox

pytestmark = pytest.mark.integration


async def _notifications(database_url: str) -> tuple[int, int, int, int]:
    """Wake-ups the schema's relay got: before the writing transaction commits, after, and after a
    transaction that wrote and rolled back; and those another schema's relay got."""
    schema = f"t{uuid.uuid4().hex[:10]}_notify"
    pool = await db.create_pool(database_url, schema, min_size=2, max_size=3)
    got: list[str] = []
    try:
        await db.migrate(pool, schema, "pars_intake")  # any service's migrations make its outbox
        other: list[str] = []
        async with (PostgresOutbox(pool, schema).listening(lambda: got.append("woken")),
                    PostgresOutbox(pool, f"{schema}_other").listening(lambda: other.append("woken"))):
            two = [Outgoing("topic", "key", str(uuid.uuid4()), "Event", "c", b"{}") for _ in range(2)]
            async with pool.acquire() as conn:
                async with conn.transaction():
                    await messages.put_many(conn, two)
                    await messages.put_many(conn, [Outgoing("topic", "key", str(uuid.uuid4()), "Event", "c", b"{}")])
                    await asyncio.sleep(0.3)
                    before = len(got)
                await asyncio.sleep(0.3)
                after = len(got)
                transaction = conn.transaction()
                await transaction.start()
                await messages.put_many(conn, two)
                await transaction.rollback()
                await asyncio.sleep(0.3)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 3
    finally:
        await pool.close()
    return before, after, len(got) - after, len(other)


def test_an_outbox_write_wakes_its_own_relay_once_at_commit(stack: object) -> None:
    database_url = stack.env()["DATABASE_URL"]  # type: ignore[attr-defined]
    before, at_commit, after_rollback, another_service = asyncio.run(_notifications(database_url))
    assert before == 0
    assert at_commit == 1  # two writes in one transaction: one notification
    assert after_rollback == 0
    assert another_service == 0
