"""Grouped round trips: the calls that arrive while one is running are run together in the next
(issue #25). Requests at once then share a statement (credential lookups, rate-limit takes) or a
transaction (group commit of submissions) instead of each paying its own round trips; a lone call
runs at once (nothing waits for company), and each caller gets its own result only once the
statement or transaction that holds it has ended (a stored submission: committed).

A group that fails is run again one call at a time, so that a call the database refuses fails
alone and the others of its group get their results as if it had not come."""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pars_runtime.logs import get_logger

log = get_logger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class Grouped(Generic[Item, Result]):
    """`run(items)` runs the items in one statement or transaction and returns one result per
    item, in order. `await grouped(item)` returns the item's result once its group has run, or
    raises what running it raised. A group holds at most `max_size` (by `size`, e.g. rows), and
    always at least one item."""

    def __init__(self, run: Callable[[list[Item]], Awaitable[list[Result]]], max_size: int,
                 size: Callable[[Item], int] = lambda _: 1) -> None:
        self.run, self.max_size, self.size = run, max_size, size
        self.line: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self.writer: asyncio.Task[None] | None = None
        self.groups = 0  # how many groups ran (tests, logs)

    async def __call__(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.line.append((item, future))
        if self.writer is None or self.writer.done():
            # A context of its own: the writer serves many requests, and must not log as the first.
            self.writer = asyncio.create_task(self._write_all(), name="intake-grouped", context=contextvars.Context())
        return await future

    def _next_group(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        group: list[tuple[Item, asyncio.Future[Result]]] = []
        size = 0
        while self.line:
            item, future = self.line[0]
            if future.done():  # its request was cancelled while it waited
                self.line.popleft()
                continue
            if group and size + self.size(item) > self.max_size:
                break
            group.append(self.line.popleft())
            size += self.size(item)
        return group

    async def _write_all(self) -> None:
        while self.line:
            group = self._next_group()
            try:
                await self._write(group)
            finally:  # the writer stopped (cancelled): nobody is left waiting for ever
                for _, future in group:
                    if not future.done():
                        future.set_exception(RuntimeError("the grouped call did not run"))
        self.writer = None

    async def _write(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        if not group:
            return
        try:
            self.groups += 1
            results = await self.run([item for item, _ in group])
        except Exception as exc:  # noqa: BLE001 - handed to the requests, which answer it
            if len(group) == 1:
                _settle(group[0][1], exception=exc)
                return
            log.warning("a group failed: each of its calls is run alone", calls=len(group),
                        error=repr(exc)[:300])
            for one in group:
                await self._write([one])
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[Result], *, result: Result | None = None,
            exception: BaseException | None = None) -> None:
    if future.done():  # its caller went away (a submission is stored all the same)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)  # type: ignore[arg-type]
