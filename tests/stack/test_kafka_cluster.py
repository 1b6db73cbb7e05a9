"""The replicated local Kafka cluster: three KRaft nodes, replication factor 3, min.insync 2.

The anchor is Kafka's own replication system test: every message a producer with acks=all had
acknowledged survives the hard kill of the partition leader's broker, writes go on while it is
down, and the broker rejoins as a follower when it comes back."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_stack import Stack
from pars_stack.kafka import KafkaCluster
from tests.support.kafka import auth, service_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def leader_of(bootstrap: str, topic: str) -> tuple[int, list[int], list[int]]:
    """(leader, replicas, in-sync replicas) of the topic's partition 0."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        [partition] = described["partitions"]
        return partition["leader"], partition["replicas"], partition["isr"]
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), acks="all", enable_idempotence=True,
                                request_timeout_ms=30000)
    await producer.start()
    try:
        for value in values:  # each one acknowledged before the next
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, **auth(bootstrap), group_id=f"g-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(values) < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [r.value for records in batches.values() for r in records]
        return values
    finally:
        await consumer.stop()


def test_three_brokers_replicate_and_survive_the_leaders_hard_kill(cluster_stack: Stack) -> None:
    cluster = cluster_stack.kafka
    assert isinstance(cluster, KafkaCluster)
    bootstrap = cluster.bootstrap_servers
    assert bootstrap.count(",") == 2
    assert cluster_stack.env()["KAFKA_REPLICATION_FACTOR"] == "3"
    topic = f"replicated-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
        await admin.start()
        try:
            assert len((await admin.describe_cluster())["brokers"]) == 3
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])
        finally:
            await admin.close()
        await produce(bootstrap, topic, [f"before-{i}".encode() for i in range(100)])
        leader, replicas, isr = await leader_of(bootstrap, topic)
        assert sorted(replicas) == [1, 2, 3] and sorted(isr) == [1, 2, 3]

        # SIGKILL the leader's broker: no clean shutdown, no leadership handed over.
        killed = next(n for n in cluster.nodes if n.node_id == leader)
        killed.kill()
        await produce(bootstrap, topic, [f"during-{i}".encode() for i in range(100)])
        new_leader, _, isr = await leader_of(bootstrap, topic)
        assert new_leader != leader and leader not in isr

        killed.start()
        for _ in range(60):  # the restarted broker catches up and is in sync again
            _, _, isr = await leader_of(bootstrap, topic)
            if sorted(isr) == [1, 2, 3]:
                break
            await asyncio.sleep(1)
        assert sorted(isr) == [1, 2, 3]
        await produce(bootstrap, topic, [f"after-{i}".encode() for i in range(100)])

        values = await read_all(bootstrap, topic, 300)
        expected = [f"{phase}-{i}".encode() for phase in ("before", "during", "after") for i in range(100)]
        assert values == expected  # every acknowledged message, once, in order

    asyncio.run(scenario())


def test_services_create_their_topics_with_three_replicas(cluster_stack: Stack) -> None:
    from pars_contracts import topics as registry
    from pars_runtime.kafka import ensure_topics

    namespace = "c" + uuid.uuid4().hex[:8]
    settings = service_settings(cluster_stack.env(), pars_namespace=namespace, kafka_replication_factor=None)

    async def scenario() -> None:
        await ensure_topics(settings, ["pars.validator"])
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **auth(settings.kafka_bootstrap_servers))
        await admin.start()
        try:
            fixed = [t for t in registry.ALL if not t.per_provider]  # per-provider ones: made by intake
            # A new topic reaches every broker's metadata a moment after the controller made it:
            # the broker asked may not know it yet (UNKNOWN_TOPIC_OR_PARTITION), for a while.
            deadline = time.monotonic() + 15
            while True:
                described = await admin.describe_topics([settings.topic(t.name) for t in fixed])
                if all(not t["error_code"] for t in described) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            await admin.close()
        assert len(described) == len(fixed)
        for topic in described:
            assert topic["partitions"], topic
            assert all(len(p["replicas"]) == 3 for p in topic["partitions"]), topic["topic"]

    asyncio.run(scenario())
