"""A batch statement is planned for the batch it is given, every time.

The services write a batch in one statement over `unnest` of arrays (hundreds of rows). PostgreSQL
plans a prepared statement for its own parameters five times, then may keep a generic plan that
guesses ten rows for any `unnest`: for intake's first-outcome UPDATE it chose a nested loop that
compared every row of the batch with every other (249,500 comparisons and 387 ms for 500 rows, in
a `make bench` run of 2026-11-30). The services' pools plan each execution for its parameters
(`plan_cache_mode=force_custom_plan`, pars_runtime.db). Real PostgreSQL, intake's own schema and
statement."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from pars_intake.store.outcomes import FIRST_OUTCOME
from pars_runtime import db

pytestmark = pytest.mark.integration
BATCH = 500
DECIDED = 30_000


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _arguments(ids: list[str]) -> str:
    """The statement's five arrays as SQL literals (EXECUTE takes no bind parameters)."""
    def array(items: list[str]) -> str:
        return "'{" + ",".join(items) + "}'"

    n = len(ids)
    return ", ".join([array(ids), array(["Accepted"] * n), array(['"[]"'] * n), array(["Accepted"] * n),
                      array(["NULL"] * n)])


async def _plan(database_url: str) -> str:
    """The plan of a batch's first outcomes, after the statement has run six times on one
    connection of a service's pool (enough for PostgreSQL to settle on a generic plan). PREPARE
    and EXECUTE are the SQL spelling of what asyncpg does with every statement."""
    schema = f"t{uuid.uuid4().hex[:10]}_intake"
    pool = await db.create_pool(database_url, schema, min_size=1, max_size=1)
    try:
        await db.migrate(pool, schema, "pars_intake")
        async with pool.acquire() as conn:
            changes = conn.transaction()
            await changes.start()
            try:
                waiting = _ids(BATCH * 7)
                insert = ("INSERT INTO records (record_id, submission_id, row_number, provider_id, source) "
                          "SELECT r, 's', 1, '1000001', 'api' FROM unnest($1::text[]) AS r")
                # A stream's worth of rows given their outcome since the last vacuum.
                decided = _ids(DECIDED)
                await conn.execute(insert, decided)
                await conn.execute("UPDATE records SET outcome = 'Accepted', status = 'Accepted' "
                                   "WHERE record_id = ANY($1::text[])", decided)
                await conn.execute(insert, waiting)
                await conn.execute(f"PREPARE first_outcome AS {FIRST_OUTCOME}")
                for run in range(6):
                    updated = await conn.fetch(f"EXECUTE first_outcome({_arguments(waiting[run * BATCH:(run + 1) * BATCH])})")
                    assert len(updated) == BATCH
                plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE first_outcome({_arguments(waiting[6 * BATCH:])})"))
            finally:
                await changes.rollback()
    finally:
        await pool.close()
    return plan


@pytest.fixture(scope="module")
def plan(stack: object) -> str:
    return asyncio.run(_plan(stack.env()["DATABASE_URL"]))  # type: ignore[attr-defined]


def test_a_batch_update_is_planned_for_the_rows_it_is_given(plan: str) -> None:
    rows = [int(n) for n in re.findall(r"Function Scan on t .*?rows=(\d+)", plan)]
    assert rows == [BATCH], f"the plan expects {rows} rows from a batch of {BATCH}"


def test_a_batch_finds_its_rows_by_their_ids_not_among_every_row_changed_since_the_last_vacuum(plan: str) -> None:
    """The partial index of rows without an outcome keeps an entry for each row given one until
    a vacuum: here 33,000. A plan that reads it reads them all, for every batch."""
    assert "records_pkey" in plan, plan
    assert "records_without_outcome" not in plan, plan
