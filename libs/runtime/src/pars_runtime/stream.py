"""The services' Kafka consumers, on FastStream's KafkaBroker (aiokafka under it).

`subscribe(broker, processor)` is the only way a consumer group is declared: one batch subscriber
per group, handed the raw records, which `BatchProcessor.process` handles (inbox, effects and
outbox in one transaction; retries; dead letters). FastStream's defaults would lose messages
here, so every setting that matters is stated (docs/runtime.md tells why each):

- `AckPolicy.MANUAL` and the subscriber's own commit: after `process` returns (its transaction
  committed), this batch's offsets are committed for the partitions this member still owns. Never
  `ACK` (commits after a failure) nor `ACK_FIRST` (auto-commit).
- A batch whose handling raised is rewound (each partition sought back to its first record) and
  the subscriber pauses before polling again: FastStream would log the error and poll on, and the
  next commit would skip the failed batch.
- A parser and a decoder that do nothing but hand over the records: FastStream's decode every
  header strictly (one non-UTF-8 header from an upstream system fails the batch) and parse every
  body a second time; the processor reads each envelope once.
- `apply_types=False` and a handler without annotations: no per-call dependency solving.
- Topics are never created by the subscriber (`declare=False`): the registry creates them with
  their partitions and limits (kafka.ensure_topics); FastStream would make one partition.
- FastStream's own poll, `getmany(timeout_ms=KAFKA_POLL_MS)`, which returns as soon as records
  arrive. After an empty poll FastStream sleeps `KAFKA_POLL_MS` more, and a record arriving then
  waits that sleep out: the default (10 ms) is short so that the wait stays a few milliseconds
  per hop (measured in docs/runtime.md, "Poll"; FastStream offers no way to skip that sleep).

Only FastStream's public API is used: subscriber options, a custom parser and decoder, the
subscriber's `consumer` attribute. Nothing of it is patched."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from faststream import AckPolicy, StreamMessage
from faststream.kafka import KafkaBroker, Topic
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from pars_contracts import topics as registry

from . import metrics
from .kafka import MAX_REQUEST_BYTES
from .logs import get_logger
from .processor import BatchProcessor
from .settings import ServiceSettings

log = get_logger(__name__)

REWIND_PAUSE_S = 1.0  # after a failed batch, before it is polled again: never a hot loop
DRAIN_S = 12.0  # how long stopping waits for the batch in hand (the service's whole drain is 15 s)


def security(settings: ServiceSettings) -> BaseSecurity | None:
    """The broker's credentials, from the same settings every other Kafka client uses."""
    options = settings.kafka_options()
    protocol = options["security_protocol"]
    ssl = options.get("ssl_context")
    if protocol.startswith("SASL"):
        scram = SASLScram512 if options["sasl_mechanism"] == "SCRAM-SHA-512" else SASLScram256
        return scram(options["sasl_plain_username"], options["sasl_plain_password"], ssl_context=ssl,
                     use_ssl=protocol == "SASL_SSL")
    if protocol == "SSL":
        return BaseSecurity(ssl_context=ssl, use_ssl=True)
    return None


def make_broker(settings: ServiceSettings, service: str, *, watch_new_topics: bool = False) -> KafkaBroker:
    """The service's broker. It consumes; what the service says goes out through the outbox relay
    (relay.py), whose own idempotent producer sends in commit order and is replaced when a
    broker's refusal breaks it. `watch_new_topics`: look for new topics every second (a
    subscription to every provider's topic sees a new provider's at once)."""
    return KafkaBroker(
        [server.strip() for server in settings.kafka_bootstrap_servers.split(",") if server.strip()],
        client_id=service,
        security=security(settings),
        apply_types=False,  # the handler takes the records as they are: no per-call injection
        graceful_timeout=DRAIN_S,
        consumer_only=True,
        allow_auto_create_topics=False,
        metadata_max_age_ms=1000 if watch_new_topics else 300_000,
        request_timeout_ms=30_000,
        logger=None,  # the runtime logs what matters, as JSON (logs.py)
        description=f"PARS {service}",
    )


def subscribe(broker: KafkaBroker, processor: BatchProcessor) -> Any:
    """Declares the processor's group as one batch subscriber of the broker."""
    group, settings = processor.group, processor.settings
    per_provider = [registry.BY_NAME[t] for t in group.topics if registry.BY_NAME[t].per_provider]
    if per_provider:  # one topic per provider: all of them, as they are created
        if len(per_provider) != len(group.topics) or len(per_provider) > 1:
            raise ValueError(f"{group.name}: a per-provider topic is subscribed to alone")
        # FastStream reads `{...}` in a pattern as a named part: the provider id's seven digits are spelled out.
        pattern = registry.topic_pattern(per_provider[0], settings.pars_namespace).replace("[0-9]{7}", "[0-9]" * 7)
        where: dict[str, Any] = {"pattern": pattern}
        names: tuple[Any, ...] = ()
    else:
        where, names = {}, tuple(Topic(settings.topic(t), declare=False) for t in group.topics)
    subscriber = broker.subscriber(
        *names,
        **where,
        group_id=processor.real_group,
        batch=True,
        max_records=group.batch_size,
        batch_timeout_ms=settings.kafka_poll_ms,
        ack_policy=AckPolicy.MANUAL,  # committed below, after the batch's transaction
        auto_offset_reset="earliest",  # a new group misses nothing published before it existed
        session_timeout_ms=6000,
        heartbeat_interval_ms=1500,
        max_poll_interval_ms=300_000,
        fetch_max_bytes=MAX_REQUEST_BYTES * 2,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        parser=records_message,
        decoder=records_of,
        title=f"{group.name}:receive",
        description=group.description or None,
    )

    @subscriber
    async def consume(records):  # type: ignore[no-untyped-def]  # noqa: ANN001 - no annotation: no injection
        await handle(subscriber.consumer, records, processor.process)

    return subscriber


async def handle(consumer: Any, records: tuple[ConsumerRecord, ...],
                 process: Callable[[tuple[ConsumerRecord, ...]], Any]) -> None:
    """Process a batch, then commit its owned offsets; or rewind it, pause, and re-raise."""
    try:
        await process(records)
    except asyncio.CancelledError:  # stopping took longer than the drain allows: redo it next time
        rewind(consumer, records)
        raise
    except Exception:
        log.error("batch not handled; it is rewound and polled again", exc_info=True)
        rewind(consumer, records)
        await asyncio.sleep(REWIND_PAUSE_S)
        raise
    await commit_owned(consumer, records)


async def records_message(records: tuple[ConsumerRecord, ...]) -> StreamMessage[tuple[ConsumerRecord, ...]]:
    """The batch as FastStream's message, without reading it: the records are its body. No
    acknowledgement rides on it (`handle` commits or rewinds through the subscriber's consumer)."""
    first, last = records[0], records[-1]
    batch_id = f"{first.topic}-{first.partition}-{first.offset}-{last.offset}"
    return StreamMessage(raw_message=records, body=records, correlation_id=batch_id, message_id=batch_id)


async def records_of(message: StreamMessage[tuple[ConsumerRecord, ...]]) -> Any:
    return message.raw_message


def _last_offsets(records: tuple[ConsumerRecord, ...] | list[ConsumerRecord]) -> dict[TopicPartition, int]:
    last: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        last[tp] = max(last.get(tp, -1), r.offset + 1)
    return last


async def commit_owned(consumer: Any, records: tuple[ConsumerRecord, ...] | list[ConsumerRecord]) -> None:
    """Commits the batch's partitions this member still owns. When a rebalance took one away
    during the batch, its new owner redelivers from the last commit, and the inbox makes that a no-op."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return  # TestKafkaBroker's in-memory delivery: no offsets
    owned = {tp: offset for tp, offset in _last_offsets(records).items() if tp in consumer.assignment()}
    if not owned:
        return
    try:
        await consumer.commit(owned)
    except (CommitFailedError, IllegalStateError) as exc:
        log.warning("offsets not committed: the group is rebalancing", error=repr(exc))
    except KafkaError as exc:
        # The broker away: the next batch's commit covers these offsets, and a redelivery
        # after a restart is a no-op (inbox), so nothing is lost by going on.
        log.warning("offsets not committed: Kafka unavailable", error=repr(exc))


def rewind(consumer: Any, records: tuple[ConsumerRecord, ...] | list[ConsumerRecord]) -> None:
    """Seeks each partition of the batch back to its first record: the next poll delivers it again."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    for tp, offset in first.items():
        with contextlib.suppress(IllegalStateError):  # revoked meanwhile: its new owner starts from the commit
            consumer.seek(tp, offset)


class ConsumerStoppedFetching(RuntimeError):
    """A consumer's fetcher has ended while the service runs: see `check_fetching`."""


def check_fetching(group: str, consumer: Any) -> None:
    """Raises when the consumer's background fetcher has ended. aiokafka ends it on an error it
    does not expect (aio-libs/aiokafka#1038, #983) and tells no one: the consumer goes on
    heartbeating and holding its partitions while fetching nothing, for good. The service then
    stops with the error, and its supervisor restarts it (the inbox makes the redelivery a no-op),
    which is the only way back. (`_fetcher` is aiokafka's; where a version has none, nothing is
    checked: tests/integration/runtime/test_kafka_connection_reset.py checks the pinned one has.)"""
    fetching = getattr(getattr(consumer, "_fetcher", None), "error_future", None)
    if isinstance(fetching, asyncio.Future) and fetching.done():
        error = None if fetching.cancelled() else fetching.exception()
        raise ConsumerStoppedFetching(f"the consumer of {group} stopped fetching: {error!r}")


class LagGauge:
    """Lag per partition of each subscriber's consumer: the high watermark minus its position
    (SPEC section 6). A partition a rebalance gave to another instance loses its series here: its
    new owner reports it, and a stale value would count its lag twice in the group's sum.
    Per-provider topics share their registry topic's labels (labels come from the catalog, never
    from message content): their lags add up."""

    def __init__(self, processor: BatchProcessor, consumer: Callable[[], Any]) -> None:
        self.processor = processor
        self.consumer = consumer  # the subscriber's current aiokafka consumer (None when stopped)
        self._series: set[tuple[str, str, str]] = set()

    async def measure(self) -> None:
        consumer = self.consumer()
        measured: dict[tuple[str, str, str], int] = {}
        if consumer is not None:
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                if high is None:
                    continue
                try:
                    position = await consumer.position(tp)
                except IllegalStateError:
                    continue  # revoked by a rebalance since assignment() was read
                labels = (self.processor.real_group, self.processor.logical(tp.topic), str(tp.partition))
                measured[labels] = measured.get(labels, 0) + max(high - position, 0)
        for labels, lag in measured.items():
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
        for labels in self._series - measured.keys():
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(*labels)
        self._series = set(measured)
