"""The outbox relay never stalls on a message Kafka refuses for good (review H3): the message is
moved to `outbox_set_aside` with its reason and counted, and the hundred messages after it still
arrive, in order. Real Kafka and PostgreSQL: once for a message the relay measures as too large
before sending, once for one that only the broker refuses (its topic takes less than the relay
was told)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_contracts.events import ProviderRegistered
from pars_runtime import db, messages, metrics
from pars_runtime.relay import OutboxRelay, PostgresOutbox
from tests.support.kafka import read_until

try:  # the stack's Kafka may require credentials (tests/support/kafka.auth)
    from tests.support.kafka import auth
except ImportError:  # pragma: no cover - a stack without Kafka authentication
    def auth(bootstrap: str) -> dict[str, Any]:
        return {}

pytestmark = pytest.mark.integration


def _message(topic: str, n: int, name: str = "Provider") -> messages.Outgoing:
    return messages.outgoing(topic, "k", ProviderRegistered(provider_id=f"{1000000 + n}", name=name), producer="test",
                             correlation_id=f"c{n}")


async def _setup(env: dict[str, str], topic_bytes: int) -> tuple[str, str, asyncpg.Pool]:
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    tag = uuid.uuid4().hex[:8]
    topic, schema = f"t{tag}.pars.providers.v1", f"t{tag}_relay"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": str(topic_bytes)})])
    finally:
        await admin.close()
    pool = await db.create_pool(env["DATABASE_URL"], schema, min_size=1, max_size=3)
    await db.migrate(pool, schema, "pars_contracts")  # the runtime's tables only (no service migrations)
    return topic, schema, pool


def _producers(bootstrap: str) -> tuple[list[AIOKafkaProducer], Any]:
    """A factory of started producers as the service makes them (idempotent, acks=all), and
    the list of those it made."""
    made: list[AIOKafkaProducer] = []

    async def new_producer() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), acks="all",
                                    enable_idempotence=True, linger_ms=2, max_request_size=16 * 1024 * 1024)
        await producer.start()
        made.append(producer)
        return producer

    return made, new_producer


async def _relay_until_empty(relay: OutboxRelay, pool: asyncpg.Pool) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        for _ in range(300):
            if not await pool.fetchval("SELECT count(*) FROM outbox"):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the outbox did not drain")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.mark.parametrize(("topic_bytes", "relay_told", "big", "reason"), [
    (1_048_588, None, 2_000_000, "too large"),  # measured by the relay, never sent
    (20_000, 1_048_588, 60_000, "MessageSizeTooLarge"),  # refused by the broker itself
], ids=["measured", "broker"])
async def test_a_refused_message_is_set_aside_and_the_next_hundred_arrive(
        stack: Any, topic_bytes: int, relay_told: int | None, big: int, reason: str) -> None:
    env = stack.env()
    topic, schema, pool = await _setup(env, topic_bytes)
    made, new_producer = _producers(env["KAFKA_BOOTSTRAP_SERVERS"])
    try:
        before = [_message(topic, 0)]
        oversized = _message(topic, 1, name="x" * big)
        after = [_message(topic, n) for n in range(2, 102)]
        async with pool.acquire() as conn:
            await messages.put_many(conn, [*before, oversized, *after])
        counted = metrics.OUTBOX_SET_ASIDE.labels(schema, topic)._value.get()
        relay = OutboxRelay(PostgresOutbox(pool, schema), None, schema, batch_size=1000, new_producer=new_producer,
                            max_message_bytes=(lambda _t: relay_told) if relay_told else None)
        await _relay_until_empty(relay, pool)

        aside = await pool.fetch("SELECT message_id, topic, reason, length(value) AS size FROM outbox_set_aside")
        assert [(r["message_id"], r["topic"]) for r in aside] == [(oversized.message_id, topic)]
        assert reason in aside[0]["reason"] and aside[0]["size"] > big
        assert metrics.OUTBOX_SET_ASIDE.labels(schema, topic)._value.get() == counted + 1

        wanted = [e.message_id for e in [*before, *after]]
        seen = await read_until(env["KAFKA_BOOTSTRAP_SERVERS"], [topic], lambda ms: len(ms) >= len(wanted))
        assert [m.message_id for m in seen] == wanted  # every other message, once, in order

        # The relay goes on working: a later message still arrives.
        later = _message(topic, 200)
        async with pool.acquire() as conn:
            await messages.put_many(conn, [later])
        await _relay_until_empty(relay, pool)
        seen = await read_until(env["KAFKA_BOOTSTRAP_SERVERS"], [topic], lambda ms: len(ms) > len(wanted))
        assert [m.message_id for m in seen][-1] == later.message_id
    finally:
        for producer in made:
            await producer.stop()  # a second stop (the relay stops its own) does nothing
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await pool.close()
