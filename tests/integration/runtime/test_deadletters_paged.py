"""The dead-letter listing reads only the newest offsets of each partition, a page at a time
(seek to end - limit), and shows a bounded preview of each message, however much the topics hold."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from pars_contracts.topics import dead_letter_topic
from pars_runtime.deadletters import MAX_LIMIT, PREVIEW_BYTES, page_dead_letters
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
