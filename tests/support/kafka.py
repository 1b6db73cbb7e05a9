"""Talking to the system's topics directly, as an upstream system or an auditor would."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pars_contracts.envelope import Envelope
from pars_runtime.lag import partitions_of
from pars_runtime.messages import decode, encode


def auth(bootstrap: str) -> dict[str, Any]:
    """The options that connect an aiokafka client to this address as the stack's admin (a
    super user): the tests read and write every topic as an auditor would. For a Kafka given in
    the environment, its KAFKA_* security settings."""
    from pars_runtime.kafka_security import env_options
    from pars_stack.kafka import admin_options

    return admin_options(bootstrap) or env_options(os.environ)


def service_settings(env: dict[str, str], **settings: Any) -> Any:
    """ServiceSettings for a client in the test process that talks to the system as its admin:
    the environment's Kafka address and credentials (KAFKA_*), plus `settings`."""
    from pars_runtime.settings import ServiceSettings

    kafka = {k.lower(): v for k, v in env.items() if k.startswith("KAFKA_") and k != "KAFKA_REPLICATION_FACTOR"}
    if not kafka.get("kafka_username"):
        options = auth(env["KAFKA_BOOTSTRAP_SERVERS"])
        if options:
            kafka.update(kafka_security_protocol=options["security_protocol"], kafka_username=options["sasl_plain_username"],
                         kafka_password=options["sasl_plain_password"])
    return ServiceSettings(**{**kafka, **settings})


async def publish(bootstrap: str, topic: str, items: list[tuple[str, Envelope]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, envelope in items:
            await producer.send_and_wait(topic, encode(envelope), key=key.encode())
    finally:
        await producer.stop()


async def read_until(bootstrap: str, topics: list[str], done: Callable[[list[Envelope]], bool],
                     timeout: float = 30) -> list[Envelope]:
    """Reads the topics from the beginning until `done(messages)` or the timeout; returns all read."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, **auth(bootstrap), auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen: list[Envelope] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and not done(seen):
            batches = await consumer.getmany(timeout_ms=200)
            seen.extend(decode(r.value) for rs in batches.values() for r in rs)
        return seen
    finally:
        await consumer.stop()


async def read_to_end(bootstrap: str, topics: list[str], timeout: float = 30) -> dict[str, list[bytes]]:
    """Every value on the topics now, per topic (records_to_end)."""
    return {topic: [r.value or b"" for r in records]
            for topic, records in (await records_to_end(bootstrap, topics, timeout)).items()}


async def records_to_end(bootstrap: str, topics: list[str], timeout: float = 30) -> dict[str, list[ConsumerRecord]]:
    """Every record on the topics now, with its headers, per topic: each partition read from its
    beginning to the end offset it had when asked (not for a fixed time, which could stop before
    a late message)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        known = await partitions_of(admin, topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t, p) for t, numbers in known.items() for p in numbers]
    found: dict[str, list[ConsumerRecord]] = {t: [] for t in topics}
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **auth(bootstrap), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            if loop.time() > deadline:
                raise AssertionError(f"the topics were not read to their end within {timeout:.0f} s")
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                found[tp.topic].extend(records)
        return found
    finally:
        await consumer.stop()


def by_record(messages: list[Envelope]) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {}
    for m in messages:
        result.setdefault(m.payload.get("record_id", "?"), []).append(m)
    return result


def run_sync(coroutine: Any) -> Any:
    """Runs a coroutine to completion from sync code, even where a loop already runs in this
    thread (Playwright's sync API keeps one): in a thread of its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
