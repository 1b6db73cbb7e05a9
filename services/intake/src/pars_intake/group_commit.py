"""Group commit: the web service's submissions that arrive while one is being stored are stored
together in the next transaction (issue #25).

A one-record request paid a whole transaction of its own (BEGIN, the submission, the activity
lookup, the record, the outbox write, COMMIT) and, downstream, a relay pass and a Kafka batch of
one. Fifty such requests at once now share a few transactions: each request still waits for the
COMMIT of the transaction that holds its rows before it is answered (a 200 or 202 means stored),
and a lone request is written at once (nothing waits for company).

A transaction that fails is tried again one submission at a time, so that a submission the
database refuses fails alone and the others of its group are stored as if it had not come."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pars_runtime.logs import get_logger

log = get_logger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`write(items)` stores the items in one transaction and returns one result per item, in
    order. `await group(item)` returns the item's result once its transaction has committed, or
    raises what storing it raised. A group holds at most `max_size` (by `size`, e.g. rows), and
    always at least one item."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Result]]], max_size: int,
                 size: Callable[[Item], int] = lambda _: 1) -> None:
        self.write, self.max_size, self.size = write, max_size, size
        self.line: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self.writer: asyncio.Task[None] | None = None
        self.transactions = 0  # how many writes ran (tests, logs)

    async def __call__(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.line.append((item, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write_all(), name="intake-group-commit")
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
                        future.set_exception(RuntimeError("the submission was not stored"))
        self.writer = None

    async def _write(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        if not group:
            return
        try:
            self.transactions += 1
            results = await self.write([item for item, _ in group])
        except Exception as exc:  # noqa: BLE001 - handed to the requests, which answer it
            if len(group) == 1:
                _settle(group[0][1], exception=exc)
                return
            log.warning("a group of submissions was not stored: each is tried alone", submissions=len(group),
                        error=repr(exc)[:300])
            for one in group:
                await self._write([one])
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[Result], *, result: Result | None = None,
            exception: BaseException | None = None) -> None:
    if future.done():  # its request went away: the rows are stored all the same
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)  # type: ignore[arg-type]
