"""In-memory stand-ins for what the consumer groups' processor and the outbox relay use, for tests
without PostgreSQL or Kafka: `MemoryBatches` (a `db.BatchDatabase`: transactions, the inbox, the
outbox), `MemoryOutbox` (a `relay.Outbox`) and `MemoryProducer` (what dead letters and the relay
send on).

A transaction here is all or nothing, as PostgreSQL's: what it wrote or took is kept only if its
block ends without raising. `down` and `refusals` make the database or Kafka unreachable for a
number of attempts, as an outage would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaConnectionError

from .db import BatchTransaction
from .messages import Outgoing
from .relay import OutboxBatch, Row


@dataclass
class MemoryTransaction:
    conn: Any
    inbox: set[tuple[str, str, str]]  # the database's, as this transaction sees it
    added: set[tuple[str, str, str]] = field(default_factory=set)
    removed: set[tuple[str, str, str]] = field(default_factory=set)
    outbox: list[Outgoing] = field(default_factory=list)

    async def inbox_add(self, consumer: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        new = {k for k in keys if (consumer, *k) not in self.inbox | self.added}
        self.added |= {(consumer, *k) for k in new}
        return new

    async def inbox_remove(self, consumer: str, keys: list[tuple[str, str]]) -> None:
        gone = {(consumer, *k) for k in keys}
        self.added -= gone
        self.removed |= gone

    async def outbox_put(self, messages: list[Outgoing]) -> None:
        self.outbox.extend(messages)


@dataclass
class MemoryBatches:
    """`conn`: what handlers get as `Unit.conn` (whatever the test's handlers use; None by default)."""

    conn: Any = None
    inbox: set[tuple[str, str, str]] = field(default_factory=set)  # (consumer, provider, message id), committed
    outbox: list[Outgoing] = field(default_factory=list)  # committed, in commit order
    down: int = 0  # the next this many transactions fail to connect, as when PostgreSQL is away
    begun: int = 0
    committed: int = 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[BatchTransaction]:
        self.begun += 1
        if self.down > 0:
            self.down -= 1
            raise ConnectionRefusedError("the database is away")
        tx = MemoryTransaction(self.conn, set(self.inbox))
        yield tx
        # Reached only when the block did not raise: the commit.
        self.inbox = (self.inbox - tx.removed) | tx.added
        self.outbox.extend(tx.outbox)
        self.committed += 1


@dataclass(frozen=True)
class Sent:
    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        """The last value of the header `name`, as text."""
        return next(v for k, v in reversed(self.headers) if k == name).decode()


@dataclass
class MemoryProducer:
    """Records what is sent, in order. `refusals`: the next this many sends fail at once, as with
    Kafka away. `refuse`: the broker's answer to a record, an exception that its delivery fails
    with (None: delivered). `cut_off`: sends are taken but never delivered, as by a producer that
    no longer reaches the brokers."""

    sent: list[Sent] = field(default_factory=list)
    refusals: int = 0
    refuse: Callable[[Sent], BaseException | None] = lambda _sent: None
    cut_off: bool = False
    stopped: bool = False

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None, **_: Any) -> asyncio.Future[None]:
        """One record: a batch of one."""
        batch = MemoryBatch()
        batch.append(timestamp=None, key=key, value=value, headers=list(headers or []))
        return await self.send_batch(batch, topic, partition=0)

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> MemoryBatch:
        return MemoryBatch()

    async def send_batch(self, batch: MemoryBatch, topic: str, *, partition: int) -> asyncio.Future[None]:
        """A record batch, delivered or refused as a whole, as the broker does: the first of its
        records `refuse` refuses fails it."""
        if self.refusals > 0:
            self.refusals -= 1
            raise KafkaConnectionError("Kafka is away")
        records = [Sent(topic, value, key, list(headers)) for key, value, headers in batch.records]
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.cut_off:
            return delivery
        refusal = next((r for r in map(self.refuse, records) if r is not None), None)
        if refusal is None:
            self.sent.extend(records)
            delivery.set_result(None)
        else:
            delivery.set_exception(refusal)
        return delivery

    async def stop(self) -> None:
        self.stopped = True


@dataclass
class MemoryBatch:
    """What `MemoryProducer.create_batch` gives: aiokafka's BatchBuilder's `append` and `close`,
    at most `capacity` records."""

    capacity: int = 1000
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(default_factory=list)
    closed: bool = False

    def append(self, *, timestamp: float | None, key: bytes | None, value: bytes | None,
               headers: list[tuple[str, bytes]]) -> object | None:
        if self.closed or len(self.records) >= self.capacity:
            return None
        self.records.append((key, value, headers))
        return len(self.records)

    def close(self) -> None:
        self.closed = True


@dataclass
class MemoryOutboxBatch:
    rows: list[dict[str, Any]]  # the outbox, as this transaction sees it
    taken: list[dict[str, Any]] = field(default_factory=list)
    aside: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    async def take(self, limit: int) -> list[Row]:
        self.taken = sorted(self.rows, key=lambda r: r["id"])[:limit]
        return list(self.taken)

    async def set_aside(self, rows: list[tuple[Row, str]]) -> None:
        self.aside += [(dict(row), reason) for row, reason in rows]


@dataclass
class MemoryOutbox:
    """The outbox table and `outbox_set_aside`, committed; `put` writes as a committed handler's
    transaction would (and wakes the relay, as its NOTIFY)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    set_aside: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    down: int = 0  # the next this many transactions fail to connect
    _next_id: int = 1
    _wake: Callable[[], None] | None = None

    def put(self, messages: list[Outgoing]) -> None:
        for message in messages:
            self.rows.append({"id": self._next_id, "topic": message.topic, "key": message.key,
                              "message_id": message.message_id, "value": message.value,
                              "headers": message.headers(), "created_at": datetime.now(UTC)})
            self._next_id += 1
        if self._wake is not None:
            self._wake()

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[OutboxBatch]:
        if self.down > 0:
            self.down -= 1
            raise ConnectionRefusedError("the database is away")
        batch = MemoryOutboxBatch(list(self.rows))
        yield batch
        taken = {r["id"] for r in batch.taken}
        self.rows = [r for r in self.rows if r["id"] not in taken]
        self.set_aside += batch.aside

    @contextlib.asynccontextmanager
    async def listening(self, wake: Callable[[], None]) -> AsyncIterator[None]:
        self._wake = wake
        try:
            yield
        finally:
            self._wake = None
