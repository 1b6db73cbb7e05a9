"""The stream path and its raw Kafka floor, for `make bench`, driven the same way.

- stream: upstream completions published on the inbound topic, each until its first outcome on
  the outcomes topic (intake -> validator -> board-gateway -> intake);
- floor: messages of the same size through the same four hops by bare aiokafka consumers and
  producers doing no work, on the same broker, in the same run.

Both are driven in a closed loop: the publisher keeps at most `window` messages in flight
(published, not yet out at the far end), so the backlog cannot grow without bound, and the rate
measured over `seconds` after a warm-up is the highest rate the path sustains with a stable
backlog (an open loop faster than that would only grow the backlog)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pars_contracts import topics
from tests.bench.cpu import CpuMeter
from tests.bench.work import Counts, WorkMeter
from tests.support.kafka import auth

HOPS = 4  # upstream -> submitted -> validated -> decisions -> outcomes
PER_ACTIVITY = 3000  # bench learners in the ABO registry: each (activity, learner) completes once


@dataclass
class Sustained:
    rate: float  # messages out at the far end per second, over the measured window
    published: int
    completed: int
    backlog_low: int  # in flight (published, not yet out), sampled each second of the window
    backlog_high: int
    measured: int = 0  # messages out at the far end during the measured window
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per part over that window
    work: Counts | None = None  # Kafka messages, PostgreSQL statements and rows over that window

    def figure(self) -> str:
        return f"{self.rate:,.0f} (backlog {self.backlog_low:,}-{self.backlog_high:,})"


async def closed_loop(producer: AIOKafkaProducer, topic: str, message: Callable[[int], tuple[bytes, bytes]],
                      far_end: AIOKafkaConsumer, seconds: float, warmup: float, window: int,
                      limit: int | None = None, meter: CpuMeter | None = None,
                      counts: Callable[[ConsumerRecord], bool] = lambda _: True,
                      work: WorkMeter | None = None) -> Sustained:
    """Publishes message(i) for i = 0, 1, ... (at most `limit`) keeping at most `window` in flight;
    a message is done when a record at the far end that `counts` arrives for it. `meter` measures
    the CPU of the system's processes, `work` the messages and database work, over the same window
    as the rate."""
    published = completed = 0
    finished = asyncio.Event()

    async def publish() -> None:
        nonlocal published
        while not finished.is_set() and (limit is None or published < limit):
            room = min(window - (published - completed), 200)
            if limit is not None:
                room = min(room, limit - published)
            if room <= 0:
                await asyncio.sleep(0.002)
                continue
            for _ in range(room):
                key, value = message(published)
                await producer.send(topic, value, key=key)
                published += 1
            await asyncio.sleep(0)  # lets the far end's reader run

    async def read() -> None:
        nonlocal completed
        while not finished.is_set():
            batches = await far_end.getmany(timeout_ms=100)
            completed += sum(1 for rs in batches.values() for r in rs if counts(r))

    tasks = [asyncio.create_task(publish()), asyncio.create_task(read())]
    try:
        await asyncio.sleep(warmup)
        if meter is not None:
            meter.start()
        before = completed
        if work is not None:
            await work.start()
        work_from = (before + completed) // 2  # the sample's middle
        start, start_count, backlog = time.perf_counter(), completed, []
        while time.perf_counter() - start < seconds:
            await asyncio.sleep(min(1.0, seconds))
            backlog.append(published - completed)
            if any(t.done() for t in tasks):
                break  # failed (raised below), or published all it may
        elapsed, done = time.perf_counter() - start, completed - start_count
        cpu = meter.seconds() if meter is not None else {}
        before = completed
        counted = await work.finish() if work is not None else None
        if counted is not None:
            counted.records = (before + completed) // 2 - work_from
    finally:
        finished.set()
        await asyncio.gather(*tasks)  # a failure of the publisher or reader fails the benchmark
    return Sustained(done / elapsed, published, completed, min(backlog), max(backlog), done, cpu, counted)


def completion_messages(namespace: str, provider_id: str, activities: list[str], year: int,
                        ) -> tuple[str, Callable[[int], tuple[bytes, bytes]]]:
    """The inbound topic and message(i): an upstream completion, one in ten invalid (credits not
    in .25 steps, 675), the rest for learners in the ABO registry (each pair of activity and
    learner once). Built with orjson from a template: the publisher must not be the bottleneck."""
    run = uuid.uuid4().hex[:8]
    capacity = len(activities) * PER_ACTIVITY

    def message(i: int) -> tuple[bytes, bytes]:
        if i >= capacity:
            raise RuntimeError(f"the stream bench prepared activities for {capacity:,} completions only")
        learner = i % PER_ACTIVITY
        payload = {"provider_id": provider_id, "activity_id": activities[i // PER_ACTIVITY], "board": "ABO",
                   "action": "Add", "first_name": "Bench", "last_name": f"Learner{learner}",
                   "learner_id": f"B{learner:05d}", "date_of_birth": "06/15", "completion_date": f"03/02/{year}",
                   "credits": "0.3" if i % 10 == 0 else "0.25", "credit_types": ["ABO MOC Part II"],
                   "credit_id": f"ccid:bench.example:{run}-{i}"}
        envelope = {"message_id": str(uuid.uuid4()), "type": "UpstreamCompletion", "schema_version": 1,
                    "occurred_at": datetime.now(UTC).isoformat(), "producer": "bench", "correlation_id": run,
                    "provider_id": provider_id, "payload": payload}
        return provider_id.encode(), orjson.dumps(envelope)

    return f"{namespace}.{topics.completions_topic(provider_id)}", message


def set_upstream_outcomes(client: httpx.Client) -> str:
    """The stream's provider reads LearnerRecordStatusChanged, as docs/upstream.md tells new
    integrations to, and turns the UpstreamOutcome that repeats it off;
    PARS_BENCH_UPSTREAM_OUTCOMES=1 keeps it on (the default for a provider). Returns what the
    provider's outcomes topic carries, for the report."""
    enabled = os.environ.get("PARS_BENCH_UPSTREAM_OUTCOMES", "0") == "1"
    client.put("/v1/provider/upstream-outcomes", json={"enabled": enabled}).raise_for_status()
    return ("UpstreamOutcome and LearnerRecordStatusChanged" if enabled else
            "LearnerRecordStatusChanged (UpstreamOutcome off; PARS_BENCH_UPSTREAM_OUTCOMES=1 keeps it)")


async def stream_rate(bootstrap: str, namespace: str, provider_id: str, activities: list[str], year: int,
                      seconds: float, warmup: float, window: int, meter: CpuMeter | None = None,
                      work: WorkMeter | None = None) -> Sustained:
    inbound, message = completion_messages(namespace, provider_id, activities, year)
    outcomes = f"{namespace}.{topics.outcomes_topic(provider_id)}"
    far_end = AIOKafkaConsumer(outcomes, bootstrap_servers=bootstrap, **auth(bootstrap), group_id=None, auto_offset_reset="latest")
    await far_end.start()
    await far_end.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), linger_ms=5, acks="all")
    await producer.start()
    try:
        # One LearnerRecordStatusChanged per completion: ABO decides at once, so its first outcome
        # is its only change (an UpstreamOutcome too, when the provider takes them).
        return await closed_loop(producer, inbound, message, far_end, seconds, warmup, window,
                                 limit=len(activities) * PER_ACTIVITY, meter=meter, work=work,
                                 counts=lambda r: ("type", b"LearnerRecordStatusChanged") in r.headers)
    finally:
        await producer.stop()
        await far_end.stop()


async def wait_for_leaders(bootstrap: str, admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30.0) -> None:
    """Until every partition of the new topics has a leader that serves it: a client that starts
    before that gets NotLeaderForPartition errors and retries, which would count against the
    floor. A leader in the metadata is not enough (KRaft names it before the broker has loaded the
    partition), so a probe also lists every partition's end offset from its leader."""
    deadline = time.monotonic() + timeout
    while True:
        described = await admin.describe_topics(names)
        if all(not t.get("error_code") and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
               for t in described):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the floor's topics have no leader after {timeout:.0f} s")
        await asyncio.sleep(0.1)
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, **auth(bootstrap), group_id=None)
    await probe.start()
    fetcher_log = logging.getLogger("aiokafka.consumer.fetcher")
    level = fetcher_log.level
    fetcher_log.setLevel(logging.CRITICAL)  # the probe's own retries are the wait, not a fault
    try:
        await probe.end_offsets(partitions)
    finally:
        fetcher_log.setLevel(level)
        await probe.stop()


async def floor_rate(bootstrap: str, seconds: float, warmup: float, window: int, size: int = 600,
                     meter: CpuMeter | None = None, work: Callable[[Callable[[str], bool]], WorkMeter] | None = None,
                     ) -> Sustained:
    """Messages per second through HOPS bare consume -> produce hops, driven like the stream."""
    run = uuid.uuid4().hex[:8]
    topics = [f"bench-floor-{run}-{i}" for i in range(HOPS + 1)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth(bootstrap))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 6, 1) for t in topics])
        await wait_for_leaders(bootstrap, admin, topics)
    finally:
        await admin.close()
    stop = asyncio.Event()

    async def hop(source: str, target: str) -> None:
        consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, **auth(bootstrap), group_id=f"{source}-g",
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), linger_ms=5, acks="all", enable_idempotence=True)
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
    far_end = AIOKafkaConsumer(topics[-1], bootstrap_servers=bootstrap, **auth(bootstrap), group_id=None, auto_offset_reset="earliest")
    await far_end.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), linger_ms=5, acks="all")
    await producer.start()
    payload = b"x" * size
    try:
        return await closed_loop(producer, topics[0], lambda i: (str(i).encode(), payload), far_end,
                                 seconds, warmup, window, meter=meter,
                                 work=work(lambda topic: topic.startswith(f"bench-floor-{run}-")) if work else None)
    finally:
        stop.set()
        await asyncio.gather(*hops, return_exceptions=True)
        await producer.stop()
        await far_end.stop()
