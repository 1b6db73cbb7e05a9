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

from pars_contracts.topics import CONSUMER_GROUPS, dead_letter_topic, group_topics, per_provider

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
        error=headers.get("dlq.error", "")[:ERROR_CHARS], failed_at=headers.get("dlq.failed_at", ""),
        attempts=int(headers.get("dlq.attempts", "0") or 0), message_id=message_id, message_type=message_type,
        key=record.key.decode(errors="replace") if record.key else None,
        preview=(record.value or b"")[:PREVIEW_BYTES].decode(errors="replace"))


MAX_LIMIT = 200  # dead letters per partition in one page
PREVIEW_BYTES = 300  # of each message's value shown; the error header is cut to ERROR_CHARS
ERROR_CHARS = 1000
READ_SECONDS = 10  # at most, for one bounded read of the dead-letter topics


async def _partitions(settings: ServiceSettings, topics: dict[str, str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options())
    await admin.start()
    try:
        known = await partitions_of(admin, list(topics))
    finally:
        await admin.close()
    return [TopicPartition(t, p) for t in topics for p in known.get(t, [])]


def _consumer(settings: ServiceSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options(),
                            enable_auto_commit=False, group_id=None, auto_offset_reset="earliest")


async def _read_ranges(consumer: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]]) -> list:
    """The records of each partition's [first, upto) offsets, and nothing else: a bounded read."""
    wanted = {tp: r for tp, r in ranges.items() if r[0] < r[1]}
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp, (first, _) in wanted.items():
        consumer.seek(tp, first)
    result: list = []
    remaining = set(wanted)
    # The offsets asked for exist (below the end offsets read just before), but the first poll
    # after a seek may come back empty while the fetch for the new position is on its way: an
    # empty poll is no reason to stop, only the deadline is (records deleted by retention meanwhile).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_SECONDS
    while remaining and loop.time() < deadline:
        batches = await asyncio.wait_for(consumer.getmany(*remaining, timeout_ms=500), timeout=READ_SECONDS)
        for tp, records in batches.items():
            upto = wanted[tp][1]
            result.extend(r for r in records if r.offset < upto)
            if not records or records[-1].offset + 1 >= upto:
                remaining.discard(tp)
    return result


def parse_cursor(cursor: str | None) -> dict[tuple[str, int], int]:
    """`topic:partition:offset,...`: read below these offsets (the next page, older letters)."""
    before: dict[tuple[str, int], int] = {}
    for part in (cursor or "").split(",")[:1000]:
        topic, _, rest = part.rpartition(":")
        topic, _, partition = topic.rpartition(":")
        if topic and partition.isdigit() and rest.isdigit():
            before[(topic, int(partition))] = int(rest)
    return before


async def _read(settings: ServiceSettings, topics: dict[str, str], limit: int,
                cursor: str | None = None) -> tuple[list[tuple[object, str]], str | None]:
    """The newest `limit` records of each partition of the given DLQ topics (real name -> group),
    below the cursor's offsets when given; and the cursor of the page before (None: no older ones).
    Only those offsets are fetched (seek to end - limit), whatever the topics hold."""
    limit = max(1, min(limit, MAX_LIMIT))
    partitions = await _partitions(settings, topics)
    if not partitions:
        return [], None
    before = parse_cursor(cursor)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        begins = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        ranges = {}
        for tp in partitions:
            upto = min(ends[tp], before.get((tp.topic, tp.partition), ends[tp]))
            ranges[tp] = (max(begins[tp], upto - limit), upto)
        records = await _read_ranges(consumer, ranges)
        older = [f"{tp.topic}:{tp.partition}:{first}" for tp, (first, _) in ranges.items() if first > begins[tp]]
        return [(r, topics[r.topic]) for r in records], ",".join(older) or None
    finally:
        await consumer.stop()


def _dlq_topics(settings: ServiceSettings) -> dict[str, str]:
    return {settings.topic(dead_letter_topic(g)): g for g in GROUPS}


async def list_dead_letters(settings: ServiceSettings, limit: int = 50) -> list[DeadLetter]:
    """The newest `limit` dead letters of each partition (at most MAX_LIMIT)."""
    return (await page_dead_letters(settings, limit))[0]


async def page_dead_letters(settings: ServiceSettings, limit: int = 50,
                            cursor: str | None = None) -> tuple[list[DeadLetter], str | None]:
    """One page: the newest `limit` per partition below `cursor`, and the next (older) page's cursor."""
    records, older = await _read(settings, _dlq_topics(settings), limit, cursor)
    return [_view(r, g) for r, g in records], older


@dataclass
class Replayed:
    replayed: list[str]  # the letters' ids, sent back to their original topics
    skipped: list[dict[str, str]]  # {"id", "reason"}: letters that name no topic their group reads


def read_by(settings: ServiceSettings, group: str, topic: str) -> bool:
    """Whether `topic` is one that `group` reads in this system (its namespace, its registry
    topics, any provider's instance of a per-provider one). A dead letter's headers are data: a
    letter naming any other topic is never sent there."""
    prefix = settings.topic("")
    if not topic.startswith(prefix):
        return False
    name = topic[len(prefix):]
    found = per_provider(name)
    return (found[0].name if found else name) in group_topics(group)


async def replay(settings: ServiceSettings, producer: AIOKafkaProducer, ids: set[str] | None = None) -> Replayed:
    """Sends the chosen dead letters (all when `ids` is None) back to their original topics; a
    letter whose original topic its group does not read is skipped, with the reason."""
    topics = _dlq_topics(settings)
    partitions = await _partitions(settings, topics)
    consumer = _consumer(settings)
    await consumer.start()
    replayed: list[str] = []
    skipped: list[dict[str, str]] = []
    try:
        begins = await consumer.beginning_offsets(partitions) if partitions else {}
        ends = await consumer.end_offsets(partitions) if partitions else {}
        windows: list[dict[TopicPartition, tuple[int, int]]] = []
        if ids is not None:  # just those offsets, one by one
            by_name = {f"{tp.topic}:{tp.partition}": tp for tp in partitions}
            for letter_id in sorted(ids):
                name, _, offset = letter_id.rpartition(":")
                tp = by_name.get(name)
                if tp is not None and offset.isdigit() and begins[tp] <= int(offset) < ends[tp]:
                    windows.append({tp: (int(offset), int(offset) + 1)})
        else:  # everything, a bounded window at a time
            windows += [{tp: (first, min(first + MAX_LIMIT, ends[tp]))} for tp in partitions
                       for first in range(begins[tp], ends[tp], MAX_LIMIT)]
        for window in windows:
            for record in await _read_ranges(consumer, window):
                letter = _view(record, topics[record.topic])
                if not read_by(settings, letter.group, letter.original_topic):
                    skipped.append({"id": letter.id, "reason": f"its original topic {letter.original_topic[:200]!r} "
                                                              f"is not one that {letter.group} reads"})
                    continue
                headers = [(k, v) for k, v in (record.headers or []) if not k.startswith("dlq.")]
                headers.append(("dlq.replayed_from", letter.id.encode()))
                await (await producer.send(letter.original_topic, record.value, key=record.key, headers=headers))
                replayed.append(letter.id)
    finally:
        await consumer.stop()
    return Replayed(replayed, skipped)
