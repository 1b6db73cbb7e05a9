"""A service pool without the reset on release (intake, validator, board-gateway): a connection
goes back to the pool as it is, with no reset round trip, and a transaction left open is still
ended; the default pool (the notifier's: its senders hold session advisory locks) still resets.
Real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pars_runtime import db

pytestmark = pytest.mark.integration


async def _after_release(database_url: str, reset_sessions: bool) -> tuple[str, bool]:
    """On a one-connection pool: a session setting made before a release, as the next acquirer
    sees it; and whether a transaction left open before a release is still open after it."""
    schema = f"t{uuid.uuid4().hex[:10]}_reset"
    pool = await db.create_pool(database_url, schema, min_size=1, max_size=1, reset_sessions=reset_sessions)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'left-behind'")
        async with pool.acquire() as conn:
            setting = await conn.fetchval("SHOW application_name")
            await conn.execute("BEGIN")  # left open on purpose: the release must end it
        async with pool.acquire() as conn:
            in_transaction = conn.is_in_transaction()
    finally:
        await pool.close()
    return setting, in_transaction


def test_a_pool_without_reset_hands_the_session_on_as_it_is(stack: object) -> None:
    database_url = stack.env()["DATABASE_URL"]  # type: ignore[attr-defined]
    setting, in_transaction = asyncio.run(_after_release(database_url, reset_sessions=False))
    assert setting == "left-behind"  # no RESET ALL (nor the three other reset statements) was sent
    assert not in_transaction


def test_the_default_pool_still_resets_a_session(stack: object) -> None:
    database_url = stack.env()["DATABASE_URL"]  # type: ignore[attr-defined]
    setting, in_transaction = asyncio.run(_after_release(database_url, reset_sessions=True))
    assert setting != "left-behind"
    assert not in_transaction
