"""Lets `?wait=` requests return as soon as their rows have outcomes.

One poller per process checks every waiting submission in a single query per tick (0.25 s),
however many requests wait, so waiting requests do not each hold a database connection or run a
query of their own. The consumer wakes the poller after its commit (outcomes handled here show
at once); the tick covers outcomes handled by another intake instance. The poller runs only
while someone waits. The query returns the finished submissions' rows too, which their requests
answer with (no query of their own)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

from .store.submissions import Fetcher, finished_rows

TICK_SECONDS = 0.25


class Waiters:
    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._rows: dict[str, list[Any]] = {}  # finished submissions' rows, until their last waiter leaves
        self._poke = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._pool: Fetcher | None = None
        self.queries = 0  # how many checks ran (tests)

    def wake(self, submission_id: str) -> None:
        if submission_id in self._events:
            self._poke.set()

    def wake_all(self, submission_ids: list[str]) -> None:
        if any(s in self._events for s in submission_ids):
            self._poke.set()

    async def wait(self, pool: Fetcher, submission_id: str, timeout: float) -> list[Any] | None:
        """The submission's rows (store.submissions.finished_rows) once none lacks an outcome;
        None after `timeout` s."""
        self._pool = pool
        event = asyncio.Event()
        self._events[submission_id].add(event)
        self._poke.set()  # the first check at once
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="intake-waiters")
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.001))
            if not event.is_set() and timeout <= 0:
                return await self._check_now(pool, submission_id)
            return self._rows.get(submission_id) if event.is_set() else None
        finally:
            self._events[submission_id].discard(event)
            if not self._events[submission_id]:
                del self._events[submission_id]
                self._rows.pop(submission_id, None)

    async def _check_now(self, pool: Fetcher, submission_id: str) -> list[Any] | None:
        self.queries += 1
        return (await finished_rows(pool, [submission_id])).get(submission_id)

    async def _poll(self) -> None:
        while self._events:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=TICK_SECONDS)
            self._poke.clear()
            waiting = list(self._events)
            if not waiting or self._pool is None:
                continue
            try:
                self.queries += 1
                done = await finished_rows(self._pool, waiting)
            except Exception:  # noqa: BLE001 - the database is away: the waiters time out, the next tick retries
                await asyncio.sleep(TICK_SECONDS)
                continue
            for submission_id, rows in done.items():
                if submission_id in self._events:
                    self._rows[submission_id] = rows
                for event in self._events.get(submission_id, ()):
                    event.set()
