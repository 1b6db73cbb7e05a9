"""The outbox relay: moves committed outbox rows to Kafka, in order, then deletes them.

One relay sends at a time per schema (an advisory lock), so messages leave in commit order and
per-key ordering holds even with several instances. A crash after sending but before the delete
sends the rows again: consumers deduplicate by message id, so that is safe.

A row Kafka refuses for good (larger than its topic's `max.message.bytes`, invalid, or one that
cannot be serialized) would otherwise roll every batch back and hold every row behind it forever:
such a row is moved to `outbox_set_aside` with its reason, logged as an ERROR and counted
(`pars_outbox_set_aside_total`, alert OutboxMessageSetAside), and the rest go on in order. A row is
measured before it is sent, so an oversized one never reaches the broker; a refusal by the broker
itself is confirmed by sending the row alone before it is set aside (a batch-mate is never).

A relay holds the outbox (the lock, the rows it took) for one batch's sending at most `send_timeout`
seconds (SEND_TIMEOUT_S). An instance cut off from Kafka but not from PostgreSQL would otherwise hold
it through aiokafka's own timeouts (a batch expires after the request timeout, then its request
waits as long again: a minute) while every other instance's relay waits. On the timeout the batch is
rolled back, so another instance sends it at once, and the producer is retired (what it still holds
may be delivered later: consumers deduplicate by message id, and the first copy of each message came
first). A fresh producer must then reach the brokers before the relay takes the outbox again, so a
cut-off instance stays out of the way until its network is back.

The relay reaches the database only through `Outbox` (`PostgresOutbox` on the service's pool;
`pars_runtime.memory.MemoryOutbox` in memory, for tests without PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
)

from pars_contracts import topics as registry

from . import metrics
from .kafka import partitioner
from .logs import get_logger
from .loops import Backoff, wait_or_stop
from .messages import outbox_channel
from .settings import ServiceSettings

log = get_logger(__name__)

# How long one batch may take to send: a batch of 1000 takes well under a second on a healthy
# cluster and a few seconds on a slow link.
SEND_TIMEOUT_S = 10.0
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1048588  # Kafka's message.max.bytes when a topic sets none
# What a record costs beyond its key, value and headers (record and batch framing), rounded up.
RECORD_OVERHEAD_BYTES = 512
# Refusals that the same message would get again on every retry.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError, RecordTooLargeError, CorruptRecordException, InvalidTopicError,
    UnsupportedForMessageFormatError, TypeError, ValueError, UnicodeError)


# An outbox row: id (the sending order), topic, key, message_id, value, headers (JSON text),
# created_at. An asyncpg Record, or any mapping of the same columns.
Row = Mapping[str, Any]


class OutboxBatch(Protocol):
    async def take(self, limit: int) -> list[Row]:
        """Deletes and returns the outbox's first `limit` rows, in id order."""

    async def set_aside(self, rows: list[tuple[Row, str]]) -> None:
        """Keeps rows Kafka refuses for good in `outbox_set_aside`, each with its reason."""


class Outbox(Protocol):
    def sending(self) -> AbstractAsyncContextManager[OutboxBatch]:
        """A transaction in which this instance alone sends the schema's outbox (others wait):
        what it took is deleted only if the block ends without raising."""

    def listening(self, wake: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """While the block runs, `wake` is called when a transaction that wrote to the outbox commits."""


class PostgresOutbox:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[OutboxBatch]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"outbox:{self.schema}")
            yield _PostgresOutboxBatch(conn)

    @contextlib.asynccontextmanager
    async def listening(self, wake: Callable[[], None]) -> AsyncIterator[None]:
        listener = await self.pool.acquire()

        def notified(*_: Any) -> None:
            wake()

        await listener.add_listener(outbox_channel(self.schema), notified)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(outbox_channel(self.schema), notified)  # the same callback, or it stays
            with contextlib.suppress(Exception):
                await self.pool.release(listener)


class _PostgresOutboxBatch:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def take(self, limit: int) -> list[Row]:
        # Taken out of the outbox in the sending transaction, which commits only once Kafka has
        # them all (or they are set aside): a failed send rolls the delete back. One statement
        # instead of a read and a delete.
        return sorted(await self.conn.fetch(
            "DELETE FROM outbox WHERE id = ANY(ARRAY(SELECT id FROM outbox ORDER BY id LIMIT $1)) "
            "RETURNING id, topic, key, message_id, value, headers, created_at",
            limit,
        ), key=lambda r: r["id"])

    async def set_aside(self, rows: list[tuple[Row, str]]) -> None:
        await self.conn.executemany(
            "INSERT INTO outbox_set_aside (id, topic, key, message_id, value, headers, created_at, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            [(r["id"], r["topic"], r["key"], r["message_id"], r["value"], r["headers"], r["created_at"],
              reason) for r, reason in rows])


def topic_limits(settings: ServiceSettings) -> Callable[[str], int]:
    """Each topic's max.message.bytes as the registry creates it (the broker's default otherwise)."""
    limits = {settings.topic(t.name): t.max_message_bytes for t in registry.ALL if t.max_message_bytes}
    return lambda topic: limits.get(topic, BROKER_DEFAULT_MAX_MESSAGE_BYTES)


def record_size(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> int:
    """An upper bound of the bytes a record takes in its batch (uncompressed)."""
    return len(key) + len(value) + sum(len(k) + len(v) for k, v in headers) + RECORD_OVERHEAD_BYTES


class SendTimeout(Exception):
    """Kafka did not take a batch in time: the batch was given back to the outbox."""


class OutboxRelay:
    """`producer` is the relay's own (a broker's refusal breaks an idempotent aiokafka producer:
    the next send gets OutOfOrderSequenceNumber), so the relay can replace it: `new_producer`
    makes and starts a fresh one. Without `new_producer` the given producer is used as it is."""

    def __init__(self, outbox: Outbox, producer: AIOKafkaProducer | None, schema: str, batch_size: int = 1000,
                 max_message_bytes: Callable[[str], int] | None = None,
                 new_producer: Callable[[], Awaitable[AIOKafkaProducer]] | None = None,
                 send_timeout: float = SEND_TIMEOUT_S) -> None:
        self.outbox = outbox
        self.producer = producer
        self.schema = schema
        self.batch_size = batch_size
        # The topic's max.message.bytes (by the topic's full name).
        self.max_message_bytes = max_message_bytes or (lambda _topic: BROKER_DEFAULT_MAX_MESSAGE_BYTES)
        self.new_producer = new_producer
        self.send_timeout = send_timeout
        self._owns_producer = False
        self._retiring: set[asyncio.Task[None]] = set()  # producers stopping in the background
        self._wake = asyncio.Event()

    async def relay_once(self) -> int:
        if self.producer is None:
            await self._replace_producer()
        async with self.outbox.sending() as batch:
            rows = await batch.take(self.batch_size)
            if not rows:
                return 0
            try:
                async with asyncio.timeout(self.send_timeout):
                    aside = await self._send(rows)
            except TimeoutError:
                self._retire_producer()
                raise SendTimeout(f"Kafka did not confirm {len(rows)} rows within {self.send_timeout} s: "
                                  "they are given back to the outbox") from None
            if aside:
                await batch.set_aside(aside)
        for row, reason in aside:
            log.error("outbox message set aside: Kafka refuses it for good", schema=self.schema, topic=row["topic"],
                      message_id=row["message_id"], outbox_id=row["id"], bytes=len(row["value"]), reason=reason)
            metrics.OUTBOX_SET_ASIDE.labels(self.schema, row["topic"]).inc()
        metrics.OUTBOX_SENT.labels(self.schema).inc(len(rows) - len(aside))
        return len(rows)

    async def _send(self, rows: list[Row]) -> list[tuple[Row, str]]:
        """Sends the rows in order; returns those refused for good, with the reason. Raises on
        anything else (Kafka away...): the transaction rolls back and the batch is sent again.

        The rows go out as record batches the relay builds itself, one per partition (and another
        when one is full), each in the rows' order: one future a batch instead of one a message,
        and about a third of `AIOKafkaProducer.send`'s CPU a message (docs/performance.md, issue
        #25). The partition is the producer's own partitioner's, so a key keeps its partition."""
        assert self.producer is not None
        producer = self.producer
        aside: dict[int, str] = {}
        sent: list[tuple[list[Row], Any]] = []  # each batch's rows, and its delivery
        filling: dict[tuple[str, int], tuple[Any, list[Row]]] = {}  # (topic, partition) -> (builder, rows)
        partitions: dict[str, list[int]] = {}
        for row in rows:
            try:  # the row as Kafka takes it, made once for the measure and the send
                record = _record(row)
            except PERMANENT_ERRORS as exc:
                aside[row["id"]] = _reason(exc)
                continue
            reason = self._refusal(row["topic"], record)
            if reason:
                aside[row["id"]] = reason
                continue
            topic = row["topic"]
            if topic not in partitions:
                try:
                    partitions[topic] = sorted(await producer.partitions_for(topic))
                except PERMANENT_ERRORS as exc:  # e.g. a name Kafka refuses (InvalidTopicError)
                    aside[row["id"]] = _reason(exc)
                    continue
            key, value, headers = record
            partition = partitioner(key, partitions[topic], partitions[topic])
            builder, members = filling.get((topic, partition)) or (producer.create_batch(), [])
            try:
                taken = builder.append(key=key, value=value, timestamp=None, headers=headers)
            except PERMANENT_ERRORS as exc:  # refused by the client itself (serialization): nothing sent
                aside[row["id"]] = _reason(exc)
                continue
            if taken is None:  # full: it goes, and the row starts the partition's next batch
                builder.close()
                sent.append((members, await producer.send_batch(builder, topic, partition=partition)))
                builder, members = producer.create_batch(), []
                builder.append(key=key, value=value, timestamp=None, headers=headers)  # the first always fits
            members.append(row)
            filling[(topic, partition)] = (builder, members)
        for (topic, partition), (builder, members) in filling.items():
            builder.close()
            sent.append((members, await producer.send_batch(builder, topic, partition=partition)))
        results = await asyncio.gather(*(delivery for _, delivery in sent), return_exceptions=True)
        failed = [i for i, result in enumerate(results) if isinstance(result, BaseException)]
        if not failed:
            return [(row, aside[row["id"]]) for row in rows if row["id"] in aside]
        if not any(isinstance(results[i], PERMANENT_ERRORS) for i in failed):
            if any(isinstance(results[i], (OutOfOrderSequenceNumber, ProducerFenced)) for i in failed):
                await self._replace_producer()  # a broken producer never recovers on its own
            raise results[failed[0]]  # type: ignore[misc]  # Kafka away: the whole batch again
        # The broker refused a batch for good (a message in it), which also broke the producer's
        # sequence. From the first row of a failed batch on, the rows are sent again one at a time
        # by a fresh producer (a row sent twice is deduplicated by its consumers); a row the broker
        # refuses alone is set aside.
        await self._replace_producer()
        first = min(row["id"] for i in failed for row in sent[i][0])
        for row in rows:
            if row["id"] < first or row["id"] in aside:
                continue
            try:
                await (await self._produce(row))
            except PERMANENT_ERRORS as exc:
                aside[row["id"]] = _reason(exc)
                await self._replace_producer()
        return [(row, aside[row["id"]]) for row in rows if row["id"] in aside]

    def _refusal(self, topic: str, record: tuple[bytes, bytes, list[tuple[str, bytes]]]) -> str | None:
        """Why Kafka would refuse the record for good, when the relay can tell before sending it."""
        try:
            size, limit = record_size(*record), self.max_message_bytes(topic)
        except PERMANENT_ERRORS as exc:
            return _reason(exc)
        return f"too large: about {size} bytes, the topic takes at most {limit}" if size > limit else None

    async def _produce(self, row: Row) -> Any:
        """One row alone (the fallback after a refused batch)."""
        assert self.producer is not None
        key, value, headers = _record(row)
        return await self.producer.send(row["topic"], value, key=key, headers=headers)

    async def _replace_producer(self) -> None:
        if self.new_producer is None:
            if self.producer is None:
                raise RuntimeError("the outbox relay has no producer")
            log.error("outbox relay cannot replace its producer after a refusal", schema=self.schema)
            return
        old, owned = self.producer, self._owns_producer
        self.producer, self._owns_producer = await self.new_producer(), True
        if old is not None and owned:
            with contextlib.suppress(Exception):
                await old.stop()

    def _retire_producer(self) -> None:
        """Drops a producer that could not deliver in time; the next batch starts a fresh one. Its
        stop waits for what it still holds (up to aiokafka's timeouts), so it stops in the background."""
        if self.new_producer is None:
            return  # the given producer is all there is
        old, owned = self.producer, self._owns_producer
        self.producer, self._owns_producer = None, False
        if old is not None and owned:
            stopping = asyncio.create_task(_stop_quietly(old), name="outbox-relay-retired-producer")
            self._retiring.add(stopping)
            stopping.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        if self.producer is not None and self._owns_producer:
            producer, self.producer, self._owns_producer = self.producer, None, False
            with contextlib.suppress(Exception):
                await producer.stop()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(initial=0.4, factor=2, cap=5.0)  # after 1, 2, 3... failures: 0.4, 0.8, 1.6... 5 s
        try:
            async with self.outbox.listening(self._wake.set):
                await self._relay_until(stop, backoff)
        finally:
            await self.close()

    async def _relay_until(self, stop: asyncio.Event, backoff: Backoff) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = await self.relay_once()
                backoff.reset()
            except Exception as exc:  # noqa: BLE001
                # Kafka or PostgreSQL away: nothing was deleted, so nothing is lost; back off.
                wait = backoff.next()
                log.warning("outbox relay failed; retrying", error=repr(exc), failures=backoff.failures)
                await wait_or_stop(stop, wait)
                continue
            if sent < self.batch_size:
                # Wait for a NOTIFY, but poll too: a notification can be missed across a reconnect.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):
        await producer.stop()


def _record(row: Row) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    headers = [(str(k), str(v).encode()) for k, v in orjson.loads(row["headers"]).items()]
    return row["key"].encode(), bytes(row["value"]), headers


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
