"""Kafka clients with safe defaults, and topic creation from the contracts' registry."""

from __future__ import annotations

import functools
import random
import struct
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from pars_contracts import topics as registry

from .logs import get_logger
from .settings import ServiceSettings

log = get_logger(__name__)
MAX_REQUEST_BYTES = 16 * 1024 * 1024
MAX_BATCH_BYTES = 512 * 1024
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's Utils.murmur2, which its default partitioner uses), as
    aiokafka's pure-Python one computes it, with the 4-byte words unpacked at once: about twice
    as fast, and every message sent with a key is hashed (tests/unit/runtime: equal to aiokafka's)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    for k in struct.unpack_from(f"<{length // 4}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        rest = data[length - tail:]
        if tail == 3:
            h ^= rest[2] << 16
        if tail >= 2:
            h ^= rest[1] << 8
        h = ((h ^ rest[0]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@functools.lru_cache(maxsize=16384)
def _key_hash(key: bytes) -> int:
    # Intake hashes a row's key when it stores the row (submit.submit_partition) and its relay
    # hashes it again moments later when it sends the row's message: the second is a lookup.
    return murmur2(key) & 0x7FFFFFFF


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a keyed message among `partitions`."""
    return _key_hash(key) % partitions


def partitioner(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """aiokafka's default partitioner, without hashing where there is nothing to choose: a
    one-partition topic (a provider's outcomes, two messages per record) takes every message."""
    if len(all_partitions) == 1:
        return all_partitions[0]
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[partition_of(key, len(all_partitions))]


def make_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    # Idempotence with acks=all: a retried send neither duplicates nor reorders within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        # A produce request carries at most one batch a partition, and aiokafka keeps one request
        # in flight a broker: with its default of 16 KiB a relay pass of 800 rows to a provider's
        # one-partition outcomes topic (two messages a row) took some ninety requests in turn,
        # each acknowledged by the broker before the next. Half a MiB stays within every topic's
        # max.message.bytes (the broker's default is 1 MiB; the registry only raises it).
        max_batch_size=MAX_BATCH_BYTES,
        partitioner=partitioner,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=30000,
        **settings.kafka_options(),
    )


def upstream_retention(settings: ServiceSettings) -> dict[str, str]:
    """A provider's upstream topics keep messages this long, or this many bytes a partition."""
    return {"retention.ms": str(settings.kafka_upstream_retention_ms),
            "retention.bytes": str(settings.kafka_upstream_retention_bytes)}


def dead_letter_retention(settings: ServiceSettings) -> dict[str, str]:
    """Dead-letter topics get copies of bad upstream messages too: bounded the same way."""
    return {"retention.ms": str(settings.kafka_dlq_retention_ms),
            "retention.bytes": str(settings.kafka_dlq_retention_bytes)}


async def ensure_topics(settings: ServiceSettings, groups: list[str]) -> None:
    """Create every registry topic and the given groups' dead-letter topics if missing, with the
    replication the cluster allows (KAFKA_REPLICATION_FACTOR, else three or fewer brokers)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options())
    await admin.start()
    try:
        replicas = settings.kafka_replication_factor or min(3, len((await admin.describe_cluster())["brokers"]))
        wanted = [
            NewTopic(settings.topic(t.name), t.partitions, replicas,
                     topic_configs={"max.message.bytes": str(t.max_message_bytes)} if t.max_message_bytes else {})
            for t in registry.ALL if not t.per_provider
        ]
        wanted += [
            NewTopic(settings.topic(registry.dead_letter_topic(g)), 1, replicas,
                     topic_configs={"max.message.bytes": str(MAX_REQUEST_BYTES), **dead_letter_retention(settings)})
            for g in groups
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created them first
            log.info("topics created", topics=[t.name for t in missing])
    finally:
        await admin.close()


async def ensure_provider_topics(settings: ServiceSettings, provider_ids: list[str]) -> list[str]:
    """Creates each provider's own upstream topics (completions in, outcomes out) if missing;
    returns their names. Intake calls it when a provider or an upstream credential is created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options())
    await admin.start()
    try:
        replicas = settings.kafka_replication_factor or min(3, len((await admin.describe_cluster())["brokers"]))
        wanted = [NewTopic(settings.topic(t.for_provider(pid)), t.partitions, replicas,
                           topic_configs=upstream_retention(settings))
                  for pid in provider_ids for t in registry.ALL if t.per_provider]
        existing = set(await admin.list_topics())
        for topic in [t for t in wanted if t.name not in existing]:
            try:
                await admin.create_topics([topic])
                log.info("provider topic created", topic=topic.name)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()
