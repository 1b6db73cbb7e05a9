"""The idempotent consumer: every subscriber of every service runs through this loop.

- at-least-once: offsets are committed by hand only after the batch's effects are committed;
- idempotent: each message id is recorded in the inbox in the same transaction as its effects,
  so a redelivered message changes nothing;
- bounded retries with backoff, then the dead-letter topic, so a poison message never blocks
  its partition; the original bytes are kept and the reason rides in headers.
A batch runs in one transaction for speed; if it fails, its messages are retried one by one."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import BaseModel, ValidationError

from pars_contracts.envelope import Envelope
from pars_contracts.topics import BY_NAME, PAYLOADS, dead_letter_topic, per_provider

from . import metrics
from .logs import bound_contextvars, get_logger
from .messages import Emitter, decode, put_many
from .settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class Context:
    """What a handler gets besides its message: the transaction and the emitter.

    `batch` is shared by the handlers of one batch (one transaction), and `before_commit` holds
    work to do once per batch, in that transaction: handlers that update one row per message
    (an upload's counters) gather their changes there and write them once."""

    conn: asyncpg.Connection
    envelope: Envelope
    emitter: Emitter
    after_commit: list[Callable[[], Any]] = field(default_factory=list)
    batch: dict[str, Any] = field(default_factory=dict)
    before_commit: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # The topic the message came from, without the namespace; for a per-provider topic, whose
    # provider it is (decided by who may write there: the broker's ACLs).
    topic: str = ""
    topic_provider_id: str | None = None

    def emit(self, topic: str, key: str, event: BaseModel, **kw: Any) -> Envelope:
        return self.emitter.emit(topic, key, event, **kw)


Handler = Callable[[Context, Any], Awaitable[None]]


@dataclass
class Subscription:
    """One subscriber: its group, topics and handlers, and, stated explicitly, its policies."""

    group: str  # logical group name; also names the dead-letter topic
    topics: list[str]  # registry topic names
    handlers: dict[str, Handler]  # payload type name -> handler
    batch_size: int = 500
    # A new group starts from the beginning of its topics: nothing published before it existed is skipped.
    offset_reset: Literal["earliest", "latest"] = "earliest"
    # At-least-once: offsets are committed only after the batch's transaction (effects, inbox,
    # outbox) has committed; the inbox turns the resulting redeliveries into no-ops.
    ack_policy: Literal["commit_after_effects"] = "commit_after_effects"
    # Inbound topics from outside systems: a message type this subscriber does not handle is a
    # mistake of the sender (dead-lettered as unreadable), not a newer internal event to skip.
    strict_types: bool = False
    # Called once per batch, in its transaction, with the payloads about to be handled and the
    # batch's shared dict (`Context.batch`): where handlers read state for the whole batch in
    # one query instead of one per message.
    prepare: Callable[[asyncpg.Connection, list[Any], dict[str, Any]], Awaitable[None]] | None = None


INFRASTRUCTURE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # the server shutting down or starting up
    asyncpg.exceptions.TooManyConnectionsError,
)


class DeadLetter(Exception):
    """Raised by a handler for a message no retry can fix (e.g. an unknown provider): it goes
    to the dead-letter topic at once, with this reason, and can be replayed after a fix.

    Raise it before the handler has written anything: the rest of the batch then goes on in the
    same transaction (one bad message among 500 does not make the others be redone one by one)."""


class Unreadable(Exception):
    """A message that no retry can fix: not JSON, not an envelope, or a payload that fails its contract."""


class Consumer:
    def __init__(self, sub: Subscription, settings: ServiceSettings, pool: asyncpg.Pool,
                 producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, service: str) -> None:
        self.sub = sub
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.consumer = consumer
        self.service = service
        self.group = settings.group(sub.group)
        self._topic_by_real = {settings.topic(t): t for t in sub.topics}
        # The types each topic may carry (the registry's payloads): a message of another type on
        # a topic is never handled, whoever published it.
        self._types_by_real = {settings.topic(t): {p.__name__ for p in BY_NAME[t].payloads}
                               for t in sub.topics if t in BY_NAME}
        self._prefix = f"{settings.pars_namespace}." if settings.pars_namespace else ""
        self._lag_series: set[tuple[str, str, str]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        lag_measured = 0.0
        try:
            while not stop.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self.sub.batch_size)
                records = [r for rs in batches.values() for r in rs]
                if records:
                    await self.handle_batch(records)
                    await self._commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
                if time.monotonic() - lag_measured > 2:
                    lag_measured = time.monotonic()
                    await self._measure_lag()
        finally:
            await self.consumer.stop()

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commits the partitions this member still owns. When a rebalance took one away during
        the batch, its new owner redelivers from the last commit, and the inbox makes that a no-op."""
        owned = {tp: offset for tp, offset in offsets.items() if tp in self.consumer.assignment()}
        if not owned:
            return
        try:
            await self.consumer.commit(owned)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offsets not committed: the group is rebalancing", group=self.group, error=repr(exc))
        except KafkaError as exc:
            # The broker away: the next batch's commit covers these offsets, and a redelivery
            # after a restart is a no-op (inbox), so nothing is lost by going on.
            log.warning("offsets not committed: Kafka unavailable", group=self.group, error=repr(exc))

    async def _measure_lag(self) -> None:
        """Lag per partition: the high watermark minus this consumer's position (SPEC section 6).
        A partition a rebalance gave to another instance loses its series here: its new owner
        reports it, and a stale value would count its lag twice in the group's sum."""
        # Per-provider topics share their registry topic's labels (labels come from the catalog,
        # never from message content): their lags add up.
        measured: dict[tuple[str, str, str], int] = {}
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            try:
                position = await self.consumer.position(tp)
            except IllegalStateError:
                continue  # revoked by a rebalance since assignment() was read
            labels = (self.group, self._logical(tp.topic), str(tp.partition))
            measured[labels] = measured.get(labels, 0) + max(high - position, 0)
        for labels, lag in measured.items():
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
        for labels in self._lag_series - measured.keys():
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(*labels)
        self._lag_series = set(measured)

    async def handle_batch(self, records: list[ConsumerRecord]) -> None:
        started = time.perf_counter()
        readable: list[tuple[ConsumerRecord, Envelope, Any]] = []
        for record in records:
            try:
                readable.append((record, *self._read(record)))
            except Unreadable as exc:
                await self._dead_letter(record, "unreadable", str(exc), attempts=1)
        if readable:
            try:
                await self._in_transaction(readable)
            except Exception as exc:  # noqa: BLE001 - any failure: retry each message alone
                log.warning("batch failed; retrying messages one by one", group=self.group, error=repr(exc))
                for item in readable:
                    await self._with_retries(item)
        metrics.HANDLER_SECONDS.labels(self.group).observe(time.perf_counter() - started)

    def _read(self, record: ConsumerRecord) -> tuple[Envelope, Any]:
        try:
            envelope = decode(record.value)
        except (ValueError, TypeError) as exc:
            raise Unreadable(f"not a message envelope: {_short(exc)}") from None
        model = PAYLOADS.get(envelope.type)
        carried = self._types_by_real.get(record.topic)
        found = self._per_provider(record.topic)
        if found is not None:
            carried = {p.__name__ for p in found[0].payloads}
        if model is None or envelope.type not in self.sub.handlers or (
                carried is not None and envelope.type not in carried):
            if self.sub.strict_types:
                raise Unreadable(f"message type {envelope.type[:100]!r} is not accepted on this topic")
            return envelope, None  # a type this consumer does not handle: skipped, as contracts allow
        try:
            return envelope, model.model_validate(envelope.payload)
        except ValidationError as exc:
            raise Unreadable(f"{envelope.type} payload invalid: {_short(exc)}") from None

    async def _in_transaction(self, items: list[tuple[ConsumerRecord, Envelope, Any]]) -> None:
        callbacks: list[Callable[[], Any]] = []
        outcomes: list[tuple[ConsumerRecord, Envelope, str]] = []
        emitted: list[Emitter] = []
        batch: dict[str, Any] = {}
        before_commit: dict[str, Callable[[], Awaitable[None]]] = {}
        refused: list[tuple[ConsumerRecord, Envelope, str]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = set(await conn.fetchval(
                "WITH ins AS (INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::text[]) "
                "ON CONFLICT DO NOTHING RETURNING message_id) SELECT coalesce(array_agg(message_id), '{}') FROM ins",
                self.group, [e.message_id for _, e, _ in items]))
            todo: list[tuple[ConsumerRecord, Envelope, Any]] = []
            for record, envelope, payload in items:
                if envelope.message_id not in fresh:
                    outcomes.append((record, envelope, "duplicate"))
                    continue
                fresh.discard(envelope.message_id)  # the same message twice in one batch: once
                if payload is None:
                    outcomes.append((record, envelope, "skipped"))
                    continue
                todo.append((record, envelope, payload))
            if todo and self.sub.prepare:
                await self.sub.prepare(conn, [payload for _, _, payload in todo], batch)
            for record, envelope, payload in todo:
                emitter = Emitter(self.service, self.settings.topic, envelope.correlation_id,
                                  envelope.message_id, envelope.provider_id)
                found = self._per_provider(record.topic)
                ctx = Context(conn, envelope, emitter, callbacks, batch, before_commit,
                              topic=record.topic.removeprefix(self._prefix),
                              topic_provider_id=found[1] if found else None)
                with bound_contextvars(correlation_id=envelope.correlation_id, message_id=envelope.message_id):
                    try:
                        await self.sub.handlers[envelope.type](ctx, payload)
                    except DeadLetter as exc:
                        refused.append((record, envelope, str(exc)))
                        continue
                emitted.append(emitter)
                outcomes.append((record, envelope, "handled"))
            if refused:
                # Not handled: out of the inbox again, so that a redelivery (a crash before the
                # dead letter below is sent) decides it again instead of skipping it as a duplicate.
                await conn.execute("DELETE FROM inbox WHERE consumer = $1 AND message_id = ANY($2::text[])",
                                   self.group, [e.message_id for _, e, _ in refused])
            while before_commit:  # work may register more work (counters of the outcomes written)
                await before_commit.pop(next(iter(before_commit)))()
            # One outbox write for the whole batch, in message order (per-key order is kept).
            await put_many(conn, [item for e in emitted for item in e.items])
        for record, envelope, outcome in outcomes:
            metrics.MESSAGES_HANDLED.labels(self.group, self._logical(record.topic), envelope.type, outcome).inc()
        for callback in callbacks:
            callback()
        # After the batch's commit and before its offsets' (the caller commits them).
        for record, envelope, reason in refused:
            metrics.MESSAGES_HANDLED.labels(self.group, self._logical(record.topic), envelope.type, "rejected").inc()
            await self._dead_letter(record, "rejected", reason, 1)

    async def _with_retries(self, item: tuple[ConsumerRecord, Envelope, Any]) -> None:
        record = item[0]
        attempts = self.settings.consumer_max_attempts
        attempt = 0
        outage_wait = 0.2
        while True:
            try:
                await self._in_transaction([item])  # a DeadLetter is dead-lettered in there
                return
            except INFRASTRUCTURE_ERRORS as exc:
                # The database away is no fault of the message: wait for it as long as it takes,
                # without spending the message's attempts (its partition waits too, keeping order).
                log.warning("database unavailable; waiting before retrying", group=self.group, error=repr(exc))
                await asyncio.sleep(outage_wait)
                outage_wait = min(outage_wait * 2, 5.0)
            except Exception as exc:  # noqa: BLE001
                attempt += 1
                if attempt == attempts:
                    log.error("message failed; dead-lettered", group=self.group, topic=record.topic,
                              offset=record.offset, error=repr(exc), exc_info=True)
                    await self._dead_letter(record, "handler_failed", repr(exc), attempts)
                    return
                await asyncio.sleep(self.settings.consumer_retry_backoff_ms / 1000 * 2 ** (attempt - 1))

    async def _dead_letter(self, record: ConsumerRecord, reason: str, error: str, attempts: int) -> None:
        headers = list(record.headers or []) + [
            ("dlq.reason", reason.encode()),
            ("dlq.error", error[:2000].encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.group", self.group.encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        topic = self.settings.topic(dead_letter_topic(self.sub.group))
        # Awaited before the offset is committed, and retried while Kafka is away: a dead
        # letter is never lost either.
        wait = 0.2
        while True:
            try:
                await (await self.producer.send(topic, record.value, key=record.key, headers=headers))
                break
            except KafkaError as exc:
                log.warning("dead letter not yet written: Kafka unavailable", group=self.group, error=repr(exc))
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)
        metrics.DEAD_LETTERS.labels(self.group, self._logical(record.topic)).inc()
        log.warning("dead letter", group=self.group, topic=record.topic, offset=record.offset, reason=reason, error=error)

    def _per_provider(self, real_topic: str) -> Any:
        if self._prefix and not real_topic.startswith(self._prefix):
            return None
        return per_provider(real_topic.removeprefix(self._prefix))

    def _logical(self, real_topic: str) -> str:
        found = self._per_provider(real_topic)
        return found[0].name if found else self._topic_by_real.get(real_topic, real_topic)


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:500]
