"""Lets `?wait=` requests return as soon as their rows have outcomes.

The consumer wakes waiters of this process after its commit; a short poll covers outcomes
handled by another intake instance."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable


class Waiters:
    def __init__(self) -> None:
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)

    def wake(self, submission_id: str) -> None:
        for event in self._events.get(submission_id, ()):
            event.set()

    def wake_all(self, submission_ids: list[str]) -> None:
        for submission_id in submission_ids:
            self.wake(submission_id)

    async def wait_until(self, submission_id: str, done: Callable[[], Awaitable[bool]], timeout: float) -> bool:
        event = asyncio.Event()
        self._events[submission_id].add(event)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                event.clear()
                if await done():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, 0.25))
        finally:
            self._events[submission_id].discard(event)
            if not self._events[submission_id]:
                del self._events[submission_id]
