"""The guaranteed floor: the bare floor's four hops, each doing the durable work every service of
the pipeline must do, and nothing else, each in its own process (as the services run):

    consume a batch -> one PostgreSQL transaction (the messages' ids into an inbox with
    ON CONFLICT DO NOTHING, one effect row and one outbox row per new message) -> a relay
    transaction (DELETE ... RETURNING the outbox rows, sent with acks=all and idempotence before
    it commits) -> the consumer's offsets committed.

No JSON, no validation, no rules. The bare floor says what the broker carries; this one says
what share of it the guarantees leave, and the stream's share of *this* is what the services
spend on their own work per record (issue #25)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.bench.cpu import CpuMeter
from tests.bench.stream import HOPS, Sustained, closed_loop, wait_for_leaders
from tests.bench.work import WorkMeter
from tests.support.kafka import auth

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_inbox (hop int, id text, PRIMARY KEY (hop, id));
CREATE TABLE IF NOT EXISTS bench_effects (hop int, id text, body bytea);
CREATE TABLE IF NOT EXISTS bench_outbox (seq bigserial PRIMARY KEY, hop int, key bytea, value bytea);
CREATE INDEX IF NOT EXISTS bench_outbox_hop ON bench_outbox (hop, seq);
"""
TOPIC_PREFIX = "bench-guaranteed-"


async def guaranteed_hop(hop: int, source: str, target: str, bootstrap: str, options: dict[str, Any], dsn: str,
                         ready: Any, stop: Any) -> None:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, **options, group_id=f"{source}-g",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **options, linger_ms=5, acks="all",
                                enable_idempotence=True)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            if consumer.assignment():
                ready.set()  # started and given its partitions: the warm-up may begin
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            ids = [f"{r.topic}:{r.partition}:{r.offset}" for r in records]
            async with pool.acquire() as conn, conn.transaction():
                fresh = {row["id"] for row in await conn.fetch(
                    "INSERT INTO bench_inbox (hop, id) SELECT $1, unnest($2::text[]) "
                    "ON CONFLICT DO NOTHING RETURNING id", hop, ids)}
                new = [(i, r) for i, r in zip(ids, records, strict=True) if i in fresh]
                await conn.execute("INSERT INTO bench_effects (hop, id, body) SELECT $1, * "
                                   "FROM unnest($2::text[], $3::bytea[])", hop, [i for i, _ in new], [r.value for _, r in new])
                await conn.execute("INSERT INTO bench_outbox (hop, key, value) SELECT $1, * "
                                   "FROM unnest($2::bytea[], $3::bytea[])", hop, [r.key for _, r in new], [r.value for _, r in new])
            async with pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch("DELETE FROM bench_outbox WHERE hop = $1 RETURNING key, value", hop)
                sent = [await producer.send(target, row["value"], key=row["key"]) for row in rows]
                await asyncio.gather(*sent)
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
        await pool.close()


def hop_process(hop: int, source: str, target: str, bootstrap: str, options: dict[str, Any], dsn: str,
                ready: Any, stop: Any) -> None:
    asyncio.run(guaranteed_hop(hop, source, target, bootstrap, options, dsn, ready, stop))


async def make_topics(bootstrap: str) -> list[str]:
    run = f"{TOPIC_PREFIX}{uuid.uuid4().hex[:8]}-"
    names = [f"{run}{i}" for i in range(HOPS + 1)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 6, 1) for t in names])
        await wait_for_leaders(bootstrap, admin, names)
    finally:
        await admin.close()
    return names


async def guaranteed_rate(bootstrap: str, dsn: str, seconds: float, warmup: float, window: int,
                          meter: Callable[[dict[str, int]], CpuMeter] | None = None,
                          work: Callable[[Callable[[str], bool]], WorkMeter] | None = None) -> Sustained:
    """Messages per second through the guaranteed hops, driven like the stream. `meter` makes a
    CpuMeter given the hop processes (by name); `work` a WorkMeter given which topics are the run's."""
    names = await make_topics(bootstrap)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()
    ctx = mp.get_context("spawn")  # a fresh interpreter per hop: nothing of the bench process comes along
    stop = ctx.Event()
    ready = [ctx.Event() for _ in range(HOPS)]
    # The client options as this process knows them (the stack's credentials are found here).
    hops = [ctx.Process(target=hop_process, args=(n, a, b, bootstrap, auth(bootstrap), dsn, ready[n], stop),
                        name=f"hop {n + 1}")
            for n, (a, b) in enumerate(zip(names, names[1:], strict=False))]
    for process in hops:
        process.start()
    # A new interpreter per hop takes seconds to start on a busy machine: the warm-up starts
    # once every hop consumes (or one has failed: reported below).
    for event, process in zip(ready, hops, strict=True):
        while not await asyncio.to_thread(event.wait, 1.0) and process.is_alive():
            pass
    far_end = AIOKafkaConsumer(names[-1], bootstrap_servers=bootstrap, **auth(bootstrap), group_id=None,
                               auto_offset_reset="earliest")
    await far_end.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), linger_ms=5, acks="all")
    await producer.start()
    payload = b"x" * 600
    run = names[0].rpartition("-")[0] + "-"
    try:
        measured = await closed_loop(producer, names[0], lambda i: (str(i).encode(), payload), far_end, seconds, warmup,
                                     window, meter=meter({p.name: p.pid for p in hops if p.pid}) if meter else None,
                                     work=work(lambda topic: topic.startswith(run)) if work else None)
    finally:
        stop.set()
        for process in hops:
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()
        await producer.stop()
        await far_end.stop()
    failed = [f"{p.name} (exit code {p.exitcode})" for p in hops if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"guaranteed floor: {', '.join(failed)} failed; its error is above")
    return measured
