"""The stream path and its raw Kafka floor, for `make bench`.

- stream: upstream completions published as fast as one producer can, until every one has its
  first outcome on the outcomes topic (intake -> validator -> board-gateway -> intake);
- floor: the same number of messages through the same four hops by bare aiokafka consumers and
  producers doing no work, on the same broker, in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_contracts.envelope import wrap
from pars_contracts.events import UpstreamCompletion
from pars_runtime.messages import encode

HOPS = 4  # upstream -> submitted -> validated -> decisions -> outcomes


async def stream_rate(bootstrap: str, namespace: str, provider_id: str, activity: str, year: int, count: int,
                      learners: int) -> float:
    inbound, outcomes = f"{namespace}.pars.upstream.completions.v1", f"{namespace}.pars.upstream.outcomes.v1"
    run = uuid.uuid4().hex[:8]
    envelopes = [wrap(UpstreamCompletion(
        provider_id=provider_id, activity_id=activity, board="ABO", action="Add", first_name="Bench",
        last_name=f"Learner{i % learners}", learner_id=f"B{i % learners:05d}", date_of_birth="06/15",
        completion_date=f"03/{1 + (i // learners) % 28:02d}/{year}", credits="0.25", credit_types=["ABO MOC Part II"],
        credit_id=f"ccid:bench.example:{run}-{i}"), producer="bench", correlation_id=run, provider_id=provider_id)
        for i in range(count)]
    wanted = {e.message_id for e in envelopes}
    consumer = AIOKafkaConsumer(outcomes, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest")
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        for e in envelopes:
            await producer.send(inbound, encode(e), key=provider_id.encode())
        await producer.flush()
        while wanted:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    wanted.discard(_source_id(r.value))
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"{len(wanted)} completions without an outcome after 10 minutes")
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


def _source_id(value: bytes) -> str:
    import orjson

    return str(orjson.loads(value)["payload"].get("source_message_id"))


async def floor_rate(bootstrap: str, count: int, size: int = 600) -> float:
    """Messages per second through HOPS bare consume -> produce hops."""
    run = uuid.uuid4().hex[:8]
    topics = [f"bench-floor-{run}-{i}" for i in range(HOPS + 1)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 6, 1) for t in topics])
    finally:
        await admin.close()
    stop = asyncio.Event()

    async def hop(source: str, target: str) -> None:
        consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"{source}-g",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", enable_idempotence=True)
        await consumer.start()
        await producer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=500)
                sent = [await producer.send(target, r.value, key=r.key) for rs in batches.values() for r in rs]
                await asyncio.gather(*sent)
                if batches:
                    await consumer.commit()
        finally:
            await producer.stop()
            await consumer.stop()

    hops = [asyncio.create_task(hop(a, b)) for a, b in zip(topics, topics[1:], strict=False)]
    last = AIOKafkaConsumer(topics[-1], bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await last.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        payload = b"x" * size
        for i in range(count):
            await producer.send(topics[0], payload, key=str(i).encode())
        await producer.flush()
        seen = 0
        while seen < count:
            batches = await last.getmany(timeout_ms=500)
            seen += sum(len(rs) for rs in batches.values())
        return count / (time.perf_counter() - started)
    finally:
        stop.set()
        await asyncio.gather(*hops, return_exceptions=True)
        await producer.stop()
        await last.stop()
