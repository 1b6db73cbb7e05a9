"""In-memory stand-ins for what a consumer group's processor uses, for tests without PostgreSQL or
Kafka: `MemoryBatches` (a `db.BatchDatabase`: transactions, the inbox, the outbox) and
`MemoryProducer` (the producer dead letters go out on).

A transaction here is all or nothing, as PostgreSQL's: what it wrote to the inbox and the outbox
is kept only if its block ends without raising. `down` and `refusals` make the database or Kafka
unreachable for a number of attempts, as an outage would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaConnectionError

from .db import BatchTransaction
from .messages import Outgoing


@dataclass
class MemoryTransaction:
    conn: Any
    inbox: set[tuple[str, str]]  # the database's, as this transaction sees it
    added: set[tuple[str, str]] = field(default_factory=set)
    removed: set[tuple[str, str]] = field(default_factory=set)
    outbox: list[Outgoing] = field(default_factory=list)

    async def inbox_add(self, consumer: str, message_ids: list[str]) -> set[str]:
        new = {m for m in message_ids if (consumer, m) not in self.inbox | self.added}
        self.added |= {(consumer, m) for m in new}
        return new

    async def inbox_remove(self, consumer: str, message_ids: list[str]) -> None:
        gone = {(consumer, m) for m in message_ids}
        self.added -= gone
        self.removed |= gone

    async def outbox_put(self, messages: list[Outgoing]) -> None:
        self.outbox.extend(messages)


@dataclass
class MemoryBatches:
    """`conn`: what handlers get as `Unit.conn` (whatever the test's handlers use; None by default)."""

    conn: Any = None
    inbox: set[tuple[str, str]] = field(default_factory=set)  # (consumer, message id), committed
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
    """Records what is sent, in order; `refusals`: the next this many sends fail as with Kafka away."""

    sent: list[Sent] = field(default_factory=list)
    refusals: int = 0

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None, **_: Any) -> asyncio.Future[None]:
        if self.refusals > 0:
            self.refusals -= 1
            raise KafkaConnectionError("Kafka is away")
        self.sent.append(Sent(topic, value, key, list(headers or [])))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done
