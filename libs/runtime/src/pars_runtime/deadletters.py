"""Dead letters for operators: list every consumer group's dead-letter topic, and replay one or
all of them to the topic they came from once the cause is fixed.

Replay is idempotent: the message goes back byte for byte, with its envelope's message id, so a
consumer that already handled it (its inbox has the id) does nothing; one that has not, now does."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pars_contracts.topics import CONSUMER_GROUPS, dead_letter_topic

from .lag import partitions_of
from .settings import ServiceSettings

GROUPS = tuple(CONSUMER_GROUPS)


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    group: str
    original_topic: str
    reason: str
    error: str
    failed_at: str
    attempts: int
    message_id: str | None
    message_type: str | None
    key: str | None
    preview: str

    @property
    def id(self) -> str:
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    def as_dict(self) -> dict:
        return {**asdict(self), "id": self.id}


def _view(record, group: str) -> DeadLetter:  # noqa: ANN001 - aiokafka ConsumerRecord
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
    message_id = message_type = None
    try:
        envelope = orjson.loads(record.value or b"")
        message_id, message_type = envelope.get("message_id"), envelope.get("type")
    except (orjson.JSONDecodeError, AttributeError):
        pass  # unreadable: that is often why it is here
    return DeadLetter(
        dlq_topic=record.topic, partition=record.partition, offset=record.offset, group=group,
        original_topic=headers.get("dlq.topic", ""), reason=headers.get("dlq.reason", ""),
        error=headers.get("dlq.error", ""), failed_at=headers.get("dlq.failed_at", ""),
        attempts=int(headers.get("dlq.attempts", "0") or 0), message_id=message_id, message_type=message_type,
        key=record.key.decode(errors="replace") if record.key else None,
        preview=(record.value or b"")[:300].decode(errors="replace"))


async def _read(settings: ServiceSettings, topics: dict[str, str], limit: int) -> list[tuple[object, str]]:
    """All records of the given DLQ topics (real name -> group), oldest first, at most `limit` each."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options())
    await admin.start()
    try:
        known = await partitions_of(admin, list(topics))
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options(),
                                enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in known.get(t, [])]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        result: list[tuple[object, str]] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await asyncio.wait_for(consumer.getmany(*remaining, timeout_ms=500), timeout=10)
            for tp, records in batches.items():
                result.extend((r, topics[tp.topic]) for r in records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            if not batches:
                break
        return result[-limit * len(topics):]
    finally:
        await consumer.stop()


def _dlq_topics(settings: ServiceSettings) -> dict[str, str]:
    return {settings.topic(dead_letter_topic(g)): g for g in GROUPS}


async def list_dead_letters(settings: ServiceSettings, limit: int = 500) -> list[DeadLetter]:
    return [_view(r, g) for r, g in await _read(settings, _dlq_topics(settings), limit)]


async def replay(settings: ServiceSettings, producer: AIOKafkaProducer, ids: set[str] | None = None) -> list[str]:
    """Sends the chosen dead letters (all when `ids` is None) back to their original topics."""
    replayed = []
    for record, group in await _read(settings, _dlq_topics(settings), 100000):
        letter = _view(record, group)
        if (ids is not None and letter.id not in ids) or not letter.original_topic:
            continue
        headers = [(k, v) for k, v in (record.headers or []) if not k.startswith("dlq.")]  # type: ignore[attr-defined]
        headers.append(("dlq.replayed_from", letter.id.encode()))
        await (await producer.send(letter.original_topic, record.value, key=record.key, headers=headers))  # type: ignore[attr-defined]
        replayed.append(letter.id)
    return replayed
