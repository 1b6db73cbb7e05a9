"""The dead-letter listing reads only the newest offsets of each partition, a page at a time
(seek to end - limit), and shows a bounded preview of each message, however much the topics hold."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from pars_contracts.topics import BOARD_BATCHES, BOARD_DECISIONS, PROVIDERS, dead_letter_topic
from pars_runtime.deadletters import MAX_LIMIT, PREVIEW_BYTES, list_dead_letters, page_dead_letters, replay
from tests.support.kafka import auth, service_settings
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration


async def test_dead_letters_are_paged_and_bounded(system: RunningSystem) -> None:
    settings = service_settings(system.env, pars_namespace=system.namespace)
    bootstrap = settings.kafka_bootstrap_servers
    topic = settings.topic(dead_letter_topic("notifier"))
    key = f"paged-{uuid.uuid4().hex[:8]}".encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2 * 1024 * 1024, **auth(bootstrap))
    await producer.start()
    try:
        for n in range(25):
            value = b"x" * (1024 * 1024) if n == 24 else f'{{"n": {n}}}'.encode()
            await producer.send_and_wait(topic, value, key=key, partition=0, headers=[
                ("dlq.topic", b"pars.providers.v1"), ("dlq.reason", b"unreadable"), ("dlq.error", b"e" * 5000)])
    finally:
        await producer.stop()

    def ours(letters: list) -> list:
        return [d for d in letters if d.key == key.decode()]

    seen: list = []
    cursor = None
    pages = 0
    while True:
        letters, cursor = await page_dead_letters(settings, limit=10, cursor=cursor)
        assert len([d for d in letters if d.dlq_topic == topic and d.partition == 0]) <= 10
        seen += ours(letters)
        pages += 1
        if cursor is None or topic not in cursor:
            break
    offsets = [d.offset for d in seen]
    assert len(offsets) == 25 and len(set(offsets)) == 25
    assert pages == 3  # 10 + 10 + 5, newest first
    newest = max(seen, key=lambda d: d.offset)
    assert len(newest.preview.encode()) <= PREVIEW_BYTES and len(newest.error) <= 1000
    # A limit above the cap is cut to it.
    letters, _ = await page_dead_letters(settings, limit=10 * MAX_LIMIT)
    assert len([d for d in letters if d.dlq_topic == topic and d.partition == 0]) <= MAX_LIMIT


async def test_a_letter_naming_a_topic_its_group_does_not_read_is_skipped_not_sent(system: RunningSystem) -> None:
    """A dead letter's headers are data: one whose `dlq.topic` names a topic outside this system,
    or one its group does not read, is skipped with the reason, and the rest are replayed."""
    settings = service_settings(system.env, pars_namespace=system.namespace)
    bootstrap = settings.kafka_bootstrap_servers
    topic = settings.topic(dead_letter_topic("notifier"))
    key = f"foreign-{uuid.uuid4().hex[:8]}".encode()
    outside, not_read, read = PROVIDERS.name, settings.topic(BOARD_DECISIONS.name), settings.topic(BOARD_BATCHES.name)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap))
    await producer.start()
    try:
        for original in (outside, not_read, read):
            await producer.send_and_wait(topic, b'{"n": 1}', key=key, partition=0, headers=[
                ("dlq.topic", original.encode()), ("dlq.reason", b"unreadable"), ("dlq.error", b"e")])
        letter = {d.original_topic: d.id for d in await list_dead_letters(settings) if d.key == key.decode()}
        done = await replay(settings, producer, set(letter.values()))
    finally:
        await producer.stop()
    assert done.replayed == [letter[read]]
    skipped = {s["id"]: s["reason"] for s in done.skipped}
    assert set(skipped) == {letter[outside], letter[not_read]}
    assert skipped[letter[outside]] == f"its original topic {outside!r} is not one that notifier reads"
