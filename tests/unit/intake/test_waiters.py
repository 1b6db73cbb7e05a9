"""`?wait=`: one poller per process checks every waiting submission in one query per tick, and
that query brings the finished submissions' rows, which their requests answer with."""

from __future__ import annotations

import asyncio

from pars_intake.waiters import TICK_SECONDS, Waiters


class FakePool:
    def __init__(self) -> None:
        self.done: set[str] = set()
        self.queries: list[list[str]] = []

    async def fetch(self, query: str, *args: object) -> list:
        """store.submissions.finished_rows' rows: each finished submission's one record."""
        ids = list(args[0])  # type: ignore[call-overload]
        self.queries.append(ids)
        return [{"id": i, "record_id": f"record-of-{i}", "row_number": 1} for i in ids if i in self.done]


def test_many_waiters_share_one_query_per_tick() -> None:
    async def scenario() -> None:
        pool, waiters = FakePool(), Waiters()
        tasks = [asyncio.create_task(waiters.wait(pool, f"s{n}", 5)) for n in range(100)]
        await asyncio.sleep(TICK_SECONDS * 4.5)
        ticks = len(pool.queries)
        assert 1 <= ticks <= 7, ticks  # not 100 queries a tick
        assert max(len(q) for q in pool.queries) == 100  # all of them in each query
        pool.done |= {f"s{n}" for n in range(50)}
        waiters.wake_all(["s1"])  # the consumer committed outcomes: checked at once, not at the next tick
        results = await asyncio.wait_for(asyncio.gather(*tasks[:50]), timeout=TICK_SECONDS)
        assert [[row["record_id"] for row in rows] for rows in results] == [[f"record-of-s{n}"] for n in range(50)]
        pool.done |= {f"s{n}" for n in range(50, 100)}
        assert all(await asyncio.gather(*tasks[50:]))
        await asyncio.sleep(TICK_SECONDS * 2)
        settled = len(pool.queries)
        await asyncio.sleep(TICK_SECONDS * 3)
        assert len(pool.queries) == settled  # nobody waits: the poller has stopped

    asyncio.run(scenario())


def test_a_wait_times_out_with_no_rows() -> None:
    async def scenario() -> object:
        return await Waiters().wait(FakePool(), "never", 0.3)

    assert asyncio.run(scenario()) is None
