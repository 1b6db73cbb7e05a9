"""How long a record waits in a consumer's poll, on a real Kafka: what `KAFKA_POLL_MS` costs.

FastStream's batch subscriber polls `getmany(timeout_ms=batch_timeout_ms)`, which returns as soon
as records arrive, and after an empty poll sleeps `batch_timeout_ms` more: a record arriving during
that sleep waits it out. The runtime used to poll with its own `getmany(200 ms)` and no sleep
(nothing waits). This sends single records at random intervals, so that most of them arrive
while the consumers are idle, and reads them at once with:

- `bare getmany(200)`: a plain aiokafka loop, the poll the runtime had before (the floor);
- `faststream N ms`: `stream.subscribe` with `batch_timeout_ms=N`, for a few N.

Every consumer reads the same records (one group each), so all see the same arrivals. The figure
is the time from just before the send to the handler, in milliseconds; the produce itself is in
every figure alike. Then each consumer alone, idle, for the CPU its polling costs.

    .venv/bin/python -m tests.bench.poll_latency [--records 250] [--bootstrap HOST:PORT]

Without --bootstrap it starts a one-node Kafka of the local stack in a temporary directory."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_contracts import topics as registry
from pars_runtime import stream
from pars_runtime.processor import Group
from tests.support.kafka import service_settings

TOPIC = registry.PROVIDERS.name  # any registry topic: the subscriber reads it by its registry name
POLLS_MS = (10, 20, 50, 200)  # 200: FastStream's default batch_timeout_ms
IDLE_S = 10.0


@dataclass
class Waits:
    """Stands in for BatchProcessor: records each record's wait."""

    group: Group[Any]
    settings: Any
    real_group: str
    ms: list[float] = field(default_factory=list)

    async def process(self, records: Any) -> None:
        now = time.perf_counter()
        self.ms.extend((now - struct.unpack("d", r.value)[0]) * 1000 for r in records)


async def bare_consumer(settings: Any, group: str, waits: Waits, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(settings.topic(TOPIC), bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=group, enable_auto_commit=False, auto_offset_reset="latest",
                                **settings.kafka_options())
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            if batches:
                await waits.process([r for rs in batches.values() for r in rs])
    finally:
        await consumer.stop()


async def started(settings: Any, run: str) -> tuple[dict[str, Waits], Callable[[], Any]]:
    """Every consumer, started and assigned; returns them and a function that stops them all."""
    found: dict[str, Waits] = {}
    brokers = []
    for poll in POLLS_MS:
        name = f"faststream {poll} ms"
        waits = found[name] = Waits(Group(f"latency-{run}-{poll}", [TOPIC], {}), settings, f"latency-{run}-{poll}")
        broker = stream.make_broker(settings, "latency")
        waits.settings = settings.model_copy(update={"kafka_poll_ms": poll})  # read when it declares the subscriber
        subscriber = stream.subscribe(broker, waits)  # type: ignore[arg-type]
        await broker.start()
        brokers.append((broker, subscriber))
    stop = asyncio.Event()
    found["bare getmany(200)"] = bare = Waits(Group("bare", [TOPIC], {}), settings, "bare")
    task = asyncio.create_task(bare_consumer(settings, f"latency-{run}-bare", bare, stop))
    for _ in range(300):  # every consumer owns the partition before the first record is sent
        if all(s.consumer is not None and s.consumer.assignment() for _, s in brokers):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)

    async def stop_all() -> None:
        stop.set()
        await task
        for broker, _ in brokers:
            await broker.stop()

    return found, stop_all


async def measure(settings: Any, records: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **settings.kafka_options())
    await admin.start()
    with contextlib.suppress(Exception):
        await admin.create_topics([NewTopic(settings.topic(TOPIC), 1, 1)])
    await admin.close()
    found, stop_all = await started(settings, str(int(time.time())))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=0, acks=1,
                                **settings.kafka_options())
    await producer.start()
    rng = random.Random(22)
    try:
        for _ in range(records):
            await asyncio.sleep(rng.uniform(0.05, 0.5))  # idle between records: empty polls
            await producer.send(settings.topic(TOPIC), struct.pack("d", time.perf_counter()))
        await asyncio.sleep(1)
    finally:
        await producer.stop()
        await stop_all()
    print(f"{records} records, one at a time, 50-500 ms apart; ms from send to handler")
    print(f"{'consumer':20} {'mean':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for name, waits in found.items():
        ms = sorted(waits.ms)
        pct = statistics.quantiles(ms, n=100)
        print(f"{name:20} {statistics.fmean(ms):7.1f} {pct[49]:7.1f} {pct[89]:7.1f} {pct[98]:7.1f} {ms[-1]:7.1f}"
              f"{'' if len(ms) == records else f'  ({len(ms)} of {records} read)'}")


async def idle_cpu(settings: Any) -> None:
    """CPU seconds per second that each consumer's polling costs while nothing arrives."""
    print(f"\nidle, {IDLE_S:.0f} s each, CPU of this process in ms per second")
    for poll in (*POLLS_MS, None):
        broker = None
        stop = asyncio.Event()
        task = None
        waits = Waits(Group(f"idle-{poll}", [TOPIC], {}), settings, f"idle-{poll}")
        if poll is None:
            task = asyncio.create_task(bare_consumer(settings, f"idle-{time.time()}", waits, stop))
        else:
            broker = stream.make_broker(settings, "latency")
            waits.settings = settings.model_copy(update={"kafka_poll_ms": poll})
            stream.subscribe(broker, waits)  # type: ignore[arg-type]
            await broker.start()
        await asyncio.sleep(3)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(IDLE_S)
        used = (time.process_time() - cpu) / (time.perf_counter() - wall) * 1000
        print(f"{'bare getmany(200)' if poll is None else f'faststream {poll} ms':20} {used:7.2f}")
        stop.set()
        if task:
            await task
        if broker:
            await broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=250)
    parser.add_argument("--bootstrap", help="a running Kafka (its KAFKA_* security settings from the environment)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.bootstrap:
            env = {"KAFKA_BOOTSTRAP_SERVERS": args.bootstrap}
        else:
            from pars_stack.kafka import Kafka

            kafka = Kafka(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "kafka")
            kafka.start()
            stack.callback(kafka.stop)
            env = kafka.client_env()
        settings = service_settings(env, pars_namespace="latency")
        asyncio.run(measure(settings, args.records))
        asyncio.run(idle_cpu(settings))


if __name__ == "__main__":
    main()
