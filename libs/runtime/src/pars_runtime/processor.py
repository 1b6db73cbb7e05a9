"""What every consumer group does with a batch of records, whatever delivers them (stream.py).

- idempotent: each message id is recorded in the inbox in the same PostgreSQL transaction as its
  effects and its outgoing messages (the outbox), so a redelivered message changes nothing; on a
  provider's own topic the key includes the provider, so one provider cannot take another's ids;
- bounded retries with backoff, then the group's dead-letter topic, so a poison message never
  blocks its partition; the original bytes are kept and the reason rides in headers;
- a database outage is waited out without spending a message's attempts;
- what no retry can fix is dead-lettered at once: an envelope that breaks its contract (read),
  and content the database refuses (a DataError or ProgramLimitExceeded, e.g. a NUL in a text).
A batch runs in one transaction for speed; if it fails, its messages are retried one by one.
Errors go to logs and dead-letter headers without the message's content (no pydantic input).

A group declares its handlers as plain functions of a typed message and a typed per-batch unit of
work: `async def record_submitted(row: LearnerRecordSubmitted, uow: Unit[ValidatorBatch])`. What
the handlers of one batch share (one read for the whole batch, writes gathered and done once) is
the group's `BatchState` subclass: its `prepare` runs before the handlers, its `flush` after
them, both in the batch's transaction.

The processor reaches the database only through `db.BatchDatabase` (a transaction, the inbox, the
outbox) and Kafka only through its producer's `send`: `pars_runtime.memory` has both in memory,
so its dedup, retries, outage waits and dead letters are tested without PostgreSQL or Kafka."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from pars_contracts.envelope import Envelope, schema_version
from pars_contracts.topics import BY_NAME, PAYLOADS, dead_letter_topic, per_provider
from pars_contracts.upcasting import upcast_envelope

from . import db, metrics
from .logs import bound_contextvars, get_logger
from .loops import Backoff
from .messages import Emitter, Outgoing, decode
from .settings import ServiceSettings

log = get_logger(__name__)


class BatchState:
    """What the handlers of one batch share, in its transaction. The default shares nothing."""

    async def prepare(self, conn: asyncpg.Connection, payloads: list[Any]) -> None:
        """Before the handlers, with every payload about to be handled: read what the whole batch
        needs in one query instead of one per message."""

    async def flush(self, conn: asyncpg.Connection) -> None:
        """After the handlers, before the outbox write and the commit: write what they gathered."""

    def committed(self) -> None:
        """Once the batch's transaction has committed (wake who waits for its effects)."""


S = TypeVar("S", bound=BatchState)


@dataclass(slots=True)
class Unit(Generic[S]):
    """One message's view of its batch's unit of work: the transaction, the batch's shared state,
    what the message says it is (its envelope), and where its outgoing messages go."""

    conn: asyncpg.Connection
    envelope: Envelope
    state: S
    emitter: Emitter
    # The topic the message came from, without the namespace; for a per-provider topic, whose
    # provider it is (decided by who may write there: the broker's ACLs).
    topic: str
    topic_provider_id: str | None
    _after_commit: list[Callable[[], Any]]

    def emit(self, topic: str, key: str, event: BaseModel, **kw: Any) -> Outgoing:
        """Say something to the other services: written to the outbox in this transaction."""
        return self.emitter.emit(topic, key, event, **kw)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run `callback` once the batch's transaction has committed (waking waiters, logging)."""
        self._after_commit.append(callback)


Handler = Callable[[Any, Unit[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Group(Generic[S]):
    """One consumer group: its topics, one handler per payload type, its per-batch state.

    How it is consumed is the same for every group and stated in stream.subscribe: offsets are
    committed only after the batch's transaction (at-least-once, the inbox makes redeliveries
    no-ops), and a new group starts from the beginning of its topics."""

    name: str  # logical group name; also names the dead-letter topic
    topics: list[str]  # registry topic names
    handlers: Mapping[type[BaseModel], Handler]
    state: Callable[[], S] = BatchState  # type: ignore[assignment]
    batch_size: int = 500
    # Inbound topics from outside systems: a message type this group does not handle is a
    # mistake of the sender (dead-lettered as unreadable), not a newer internal event to skip.
    strict_types: bool = False
    description: str = ""

    @property
    def type_names(self) -> dict[str, Handler]:
        return {model.__name__: handler for model, handler in self.handlers.items()}


INFRASTRUCTURE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    *db.CONNECTION_LOST,
    asyncpg.exceptions.OperatorInterventionError,  # the server shutting down or starting up
    asyncpg.exceptions.TooManyConnectionsError,
)


# The database refusing a message's content: deterministic, so no retry can help. asyncpg's
# client-side DataError (an argument it cannot encode) is an InterfaceError, which CONNECTION_LOST
# would take for an outage: caught before INFRASTRUCTURE_ERRORS.
CONTENT_ERRORS = (
    asyncpg.DataError,  # SQLSTATE class 22: NUL, untranslatable characters, values too long...
    asyncpg.exceptions.ProgramLimitExceededError,  # class 54: e.g. a key too long for its index
    asyncpg.exceptions._base.DataError,
)


class DeadLetter(Exception):
    """Raised by a handler for a message no retry can fix (e.g. an unknown provider): it goes
    to the dead-letter topic at once, with this reason, and can be replayed after a fix.

    Raise it before the handler has written anything: the rest of the batch then goes on in the
    same transaction (one bad message among 500 does not make the others be redone one by one)."""


class Unreadable(Exception):
    """A message that no retry can fix: not JSON, not an envelope, or a payload that fails its contract."""


@dataclass(frozen=True, slots=True)
class TopicFacts:
    logical: str  # the registry's name (a provider's topic: its template's)
    without_namespace: str
    provider_id: str | None  # a per-provider topic's provider (who may write there: the ACLs)
    carries: frozenset[str] | None  # the payload types it may carry; None: not a registry topic


@dataclass(slots=True)
class Item:
    record: ConsumerRecord
    envelope: Envelope
    payload: BaseModel | None  # None: a type this group does not handle (skipped)


def _typed_envelopes() -> TypeAdapter[Any]:
    """Every known event in its envelope, validated from the record's bytes in one pass (the
    envelope and its payload together, in pydantic's core): the common case costs one parse."""
    models = [create_model(f"{name}Envelope", __base__=Envelope, type=(Literal[name], ...),  # type: ignore[call-overload, arg-type]
                           payload=(model, ...))
              for name, model in PAYLOADS.items()]
    return TypeAdapter(Annotated[Union[tuple(models)], Field(discriminator="type")])  # type: ignore[arg-type]  # noqa: UP007


TYPED_ENVELOPES = _typed_envelopes()
CURRENT_VERSIONS = {name: schema_version(model) for name, model in PAYLOADS.items()}


@dataclass
class BatchProcessor:
    group: Group[Any]
    settings: ServiceSettings
    database: db.BatchDatabase  # db.PostgresBatches on the service's pool
    producer: AIOKafkaProducer  # dead letters go out through it, byte for byte
    service: str
    real_group: str = field(init=False)

    def __post_init__(self) -> None:
        self.real_group = self.settings.group(self.group.name)
        self._handlers = self.group.type_names
        self._topic_by_real = {self.settings.topic(t): t for t in self.group.topics}
        self._prefix = f"{self.settings.pars_namespace}." if self.settings.pars_namespace else ""
        self._topics: dict[str, TopicFacts] = {}

    async def process(self, records: list[ConsumerRecord] | tuple[ConsumerRecord, ...]) -> None:
        """Handles a batch. Never raises for a message's fault (that one is retried, then dead-
        lettered); waits while PostgreSQL or Kafka is away. Returning means every record is done."""
        started = time.perf_counter()
        items: list[Item] = []
        for record in records:
            try:
                items.append(self.read(record))
            except Unreadable as exc:
                await self._dead_letter(record, "unreadable", str(exc), attempts=1)
        if items:
            with bound_contextvars(group=self.real_group):
                try:
                    await self._in_transaction(items)
                except Exception as exc:  # noqa: BLE001 - any failure: retry each message alone
                    log.warning("batch failed; retrying messages one by one", error=_describe(exc, repr))
                    for item in items:
                        await self._with_retries(item)
        metrics.HANDLER_SECONDS.labels(self.real_group).observe(time.perf_counter() - started)

    def read(self, record: ConsumerRecord) -> Item:
        """The record's envelope and payload, or Unreadable."""
        if record.value is not None:
            try:
                envelope = TYPED_ENVELOPES.validate_json(record.value)
            except ValidationError:
                pass  # not the common case: classified below, with the reason
            else:
                if envelope.schema_version == CURRENT_VERSIONS[envelope.type] and self._accepts(record.topic, envelope.type):
                    return Item(record, envelope, envelope.payload)
        return self._read_slowly(record)

    def _accepts(self, real_topic: str, type_name: str) -> bool:
        carried = self.facts(real_topic).carries
        return type_name in self._handlers and (carried is None or type_name in carried)

    def facts(self, real_topic: str) -> TopicFacts:
        """What the registry says of a topic this group reads, worked out once per topic."""
        known = self._topics.get(real_topic)
        if known is None:
            name = real_topic.removeprefix(self._prefix) if real_topic.startswith(self._prefix) else None
            found = per_provider(name) if name is not None else None
            topic = found[0] if found else BY_NAME.get(self._topic_by_real.get(real_topic, ""))
            known = self._topics[real_topic] = TopicFacts(
                logical=topic.name if topic else real_topic,
                without_namespace=real_topic.removeprefix(self._prefix),
                provider_id=found[1] if found else None,
                # The types the topic may carry (the registry's payloads): a message of another
                # type on a topic is never handled, whoever published it.
                carries=frozenset(p.__name__ for p in topic.payloads) if topic else None)
        return known

    def _read_slowly(self, record: ConsumerRecord) -> Item:
        try:
            envelope = decode(record.value)
        except (ValueError, TypeError) as exc:
            raise Unreadable(f"not a message envelope: {_describe(exc)}") from None
        try:
            envelope = upcast_envelope(envelope)  # an older version of its type, brought up to this one
        except ValueError as exc:
            raise Unreadable(f"{envelope.type[:100]} version {envelope.schema_version}: {_describe(exc)}") from None
        model = PAYLOADS.get(envelope.type)
        if model is None or not self._accepts(record.topic, envelope.type):
            if self.group.strict_types:
                raise Unreadable(f"message type {envelope.type[:100]!r} is not accepted on this topic")
            return Item(record, envelope, None)  # a type this group does not handle: skipped, as contracts allow
        try:
            return Item(record, envelope, model.model_validate(envelope.payload))
        except ValidationError as exc:
            raise Unreadable(f"{envelope.type} payload invalid: {_describe(exc)}") from None

    async def _in_transaction(self, items: list[Item]) -> None:
        after_commit: list[Callable[[], Any]] = []
        outcomes: Counter[tuple[str, str, str]] = Counter()
        emitted: list[Emitter] = []
        refused: list[tuple[Item, str]] = []
        state = self.group.state()
        async with self.database.transaction() as tx:
            conn = tx.conn
            fresh = await tx.inbox_add(self.real_group, [self._inbox_key(i) for i in items])
            todo: list[Item] = []
            for item in items:
                key = self._inbox_key(item)
                if key not in fresh:
                    outcomes[self._labels(item, "duplicate")] += 1
                    continue
                fresh.discard(key)  # the same message twice in one batch: once
                if item.payload is None:
                    outcomes[self._labels(item, "skipped")] += 1
                    continue
                todo.append(item)
            if todo:
                await state.prepare(conn, [i.payload for i in todo])
            for item in todo:
                envelope = item.envelope
                emitter = Emitter(self.service, self.settings.topic, envelope.correlation_id,
                                  envelope.message_id, envelope.provider_id)
                facts = self.facts(item.record.topic)
                unit = Unit(conn, envelope, state, emitter, facts.without_namespace, facts.provider_id, after_commit)
                try:  # log context is bound per batch (the group): per message it cost ~4% of a service
                    await self._handlers[envelope.type](item.payload, unit)
                except DeadLetter as exc:
                    refused.append((item, str(exc)))
                    continue
                emitted.append(emitter)
                outcomes[self._labels(item, "handled")] += 1
            if refused:
                # Not handled: out of the inbox again, so that a redelivery (a crash before the
                # dead letter below is sent) decides it again instead of skipping it as a duplicate.
                await tx.inbox_remove(self.real_group, [self._inbox_key(i) for i, _ in refused])
            await state.flush(conn)
            # One outbox write for the whole batch, in message order (per-key order is kept).
            await tx.outbox_put([out for e in emitted for out in e.items])
        for labels, count in outcomes.items():
            metrics.MESSAGES_HANDLED.labels(self.real_group, *labels).inc(count)
        for callback in after_commit:
            callback()
        state.committed()
        # After the batch's commit and before its offsets' (the caller commits them).
        for item, reason in refused:
            metrics.MESSAGES_HANDLED.labels(self.real_group, *self._labels(item, "rejected")).inc()
            await self._dead_letter(item.record, "rejected", reason, 1)

    async def _with_retries(self, item: Item) -> None:
        attempts = self.settings.consumer_max_attempts
        attempt = 0
        outage = Backoff()
        retry = Backoff(initial=self.settings.consumer_retry_backoff_ms / 1000, cap=float("inf"))
        while True:
            try:
                await self._in_transaction([item])  # a DeadLetter is dead-lettered in there
                return
            except CONTENT_ERRORS as exc:
                # This message alone in its transaction: the content is its own, and the same
                # content fails the same way again, so it is not retried.
                await self._dead_letter(item.record, "unreadable",
                                        f"the database refused its content: {_describe(exc)}", attempt + 1)
                return
            except INFRASTRUCTURE_ERRORS as exc:
                # The database away is no fault of the message: wait for it as long as it takes,
                # without spending the message's attempts (its partition waits too, keeping order).
                log.warning("database unavailable; waiting before retrying", error=repr(exc))
                await asyncio.sleep(outage.next())
            except Exception as exc:  # noqa: BLE001
                attempt += 1
                if attempt == attempts:
                    # A ValidationError's traceback would show the content it refused (N14).
                    log.error("message failed; dead-lettered", topic=item.record.topic, offset=item.record.offset,
                              error=_describe(exc, repr), exc_info=not isinstance(exc, ValidationError))
                    await self._dead_letter(item.record, "handler_failed", _describe(exc, repr, 2000), attempts)
                    return
                await asyncio.sleep(retry.next())

    async def _dead_letter(self, record: ConsumerRecord, reason: str, error: str, attempts: int) -> None:
        headers = list(record.headers or []) + [
            ("dlq.reason", reason.encode()),
            ("dlq.error", error[:2000].encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.group", self.real_group.encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        topic = self.settings.topic(dead_letter_topic(self.group.name))
        # Awaited before the offset is committed, and retried while Kafka is away: a dead
        # letter is never lost either.
        outage = Backoff()
        while True:
            try:
                await (await self.producer.send(topic, record.value, key=record.key, headers=headers))
                break
            except KafkaError as exc:
                log.warning("dead letter not yet written: Kafka unavailable", group=self.real_group, error=repr(exc))
                await asyncio.sleep(outage.next())
        metrics.DEAD_LETTERS.labels(self.real_group, self.logical(record.topic)).inc()
        log.warning("dead letter", group=self.real_group, topic=record.topic, offset=record.offset,
                    reason=reason, error=error)

    def _inbox_key(self, item: Item) -> tuple[str, str]:
        """(provider, message id): a provider's own topic's provider (who may write there, by the
        broker's ACLs), '' on the services' topics. Keyed on the id alone, a provider could send
        another's predictable ids first and have the real messages skipped as duplicates (N9)."""
        return self.facts(item.record.topic).provider_id or "", item.envelope.message_id

    def _labels(self, item: Item, outcome: str) -> tuple[str, str, str]:
        return self.logical(item.record.topic), item.envelope.type, outcome

    def logical(self, real_topic: str) -> str:
        """The registry name of a topic (per-provider topics share their registry topic's)."""
        return self.facts(real_topic).logical


def _describe(exc: BaseException, text: Callable[[BaseException], str] = str, limit: int = 500) -> str:
    """The error for logs and dead-letter headers, without the content of the message (N14):
    pydantic's errors without their input, the database's refusal by its class and SQLSTATE
    (its messages may quote the value)."""
    if isinstance(exc, ValidationError):
        said = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                         for e in exc.errors(include_url=False, include_context=False, include_input=False))
    elif isinstance(exc, CONTENT_ERRORS):
        said = f"{type(exc).__name__} (SQLSTATE {getattr(exc, 'sqlstate', None) or 'none: refused by the client'})"
    else:
        said = text(exc)
    return said.replace("\n", " ")[:limit]
