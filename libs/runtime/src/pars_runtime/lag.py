"""Consumer lag per group and partition, measured against the high watermarks: what each group
has committed versus the end of each partition it reads."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


async def partitions_of(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, list[int]]:
    """The partitions of each existing topic among `topics` (missing topics are left out)."""
    described = await admin.describe_topics(topics)
    return {t.get("topic", t.get("name")): sorted(p["partition"] for p in t["partitions"])
            for t in described if not t.get("error_code")}


class LagReader:
    """Measures lag with an admin client and a consumer kept from one measurement to the next
    (intake's dashboard samples every OPS_SAMPLE_SECONDS): two fresh clients each time cost four
    connections, each with a SCRAM handshake (thousands of PBKDF2 rounds in the client) and its
    metadata requests.
    Clients that failed are closed and made again at the next measurement. `options`: the
    clients' credentials (`ServiceSettings.kafka_options()`)."""

    def __init__(self, bootstrap_servers: str, **options: Any) -> None:
        self.bootstrap_servers, self.options = bootstrap_servers, options
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None
        self.connected = 0  # how many times the clients were made (tests)

    async def measure(self, groups: dict[str, list[str]]) -> list[PartitionLag]:
        """`groups`: real group name -> the real topics it reads. A partition the group has not
        committed on yet counts from offset 0 (auto_offset_reset is earliest everywhere)."""
        try:
            admin, consumer = self._clients or await self._connect()
            return await _measure(admin, consumer, groups)
        except BaseException:
            await self.close()  # a client in an unknown state (or a measurement cut off) is not kept
            raise

    async def _connect(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self.options)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                    group_id=None, **self.options)
        self._clients = (admin, consumer)  # closed by close() whichever start fails
        await admin.start()
        await consumer.start()
        self.connected += 1
        return admin, consumer

    async def close(self) -> None:
        clients, self._clients = self._clients, None
        if clients is not None:
            admin, consumer = clients
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await admin.close()


async def measure_lag(bootstrap_servers: str, groups: dict[str, list[str]], **options: Any) -> list[PartitionLag]:
    """One measurement on clients of its own (LagReader.measure)."""
    reader = LagReader(bootstrap_servers, **options)
    try:
        return await reader.measure(groups)
    finally:
        await reader.close()


async def _measure(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer,
                   groups: dict[str, list[str]]) -> list[PartitionLag]:
    if any("{provider_id}" in t for ts in groups.values() for t in ts):
        # A per-provider topic (the registry's `{provider_id}` template): every provider's.
        existing = await admin.list_topics()
        groups = {g: [r for t in ts for r in _expand(t, existing)] for g, ts in groups.items()}
    known = await partitions_of(admin, sorted({t for ts in groups.values() for t in ts}))
    result = []
    for group, topics in groups.items():
        partitions = [TopicPartition(t, p) for t in topics for p in known.get(t, [])]
        if not partitions:
            continue
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            result.append(PartitionLag(group, tp.topic, tp.partition, done, ends[tp]))
    return result


def _expand(topic: str, existing: list[str]) -> list[str]:
    if "{provider_id}" not in topic:
        return [topic]
    head, tail = topic.split("{provider_id}")
    pattern = re.compile(re.escape(head) + "[0-9]{7}" + re.escape(tail))
    return sorted(t for t in existing if pattern.fullmatch(t))
