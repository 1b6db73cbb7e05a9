"""The manual acknowledgement of every consumer group, on FastStream's real consume loop.

The Kafka consumer is a stand-in that keeps positions, seeks and commits the way aiokafka's does
(a poll advances the position; a commit stores explicit offsets; a seek moves the position), so
these tests see exactly what the runtime commits, rewinds and hands to the processor when a batch
succeeds, fails, is cancelled mid-drain, or loses a partition to a rebalance. No Kafka, no
PostgreSQL: the processor is a recorder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import TestKafkaBroker
from kafka_standin import P0, P1, TOPIC, StandInConsumer, record

from pars_runtime import stream
from pars_runtime.processor import Group
from pars_runtime.settings import ServiceSettings


@dataclass
class Recorder:
    """Stands in for BatchProcessor: what `subscribe` reads of it, and a `process` that records."""

    group: Group[Any]
    settings: ServiceSettings
    real_group: str
    fail_on: set[int] = field(default_factory=set)  # offsets (of P0) whose batch fails, once each
    batches: list[list[tuple[int, int]]] = field(default_factory=list)
    failures: int = 0

    async def process(self, records: tuple[ConsumerRecord, ...]) -> None:
        seen = [(r.partition, r.offset) for r in records]
        hit = {o for p, o in seen if p == 0} & self.fail_on
        if hit:
            self.fail_on -= hit
            self.failures += 1
            raise RuntimeError("the batch's transaction failed")
        self.batches.append(seen)

    def handled(self, partition: int) -> list[int]:
        return [o for batch in self.batches for p, o in batch if p == partition]


async def run(recorder: Recorder, consumer: StandInConsumer, until: Any, timeout: float = 5.0) -> None:
    settings = recorder.settings
    broker = stream.make_broker(settings, "test")
    subscriber = stream.subscribe(broker, recorder)  # type: ignore[arg-type]
    async with TestKafkaBroker(broker):
        subscriber.consumer = consumer
        subscriber.running = True
        loop = asyncio.create_task(subscriber._run_consume_loop(consumer))
        try:
            async with asyncio.timeout(timeout):
                while not until():
                    await asyncio.sleep(0.01)
        finally:
            subscriber.running = False
            loop.cancel()


def recorder(**kw: Any) -> Recorder:
    settings = ServiceSettings()
    return Recorder(Group("validator", [TOPIC], {}), settings, "validator", **kw)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "REWIND_PAUSE_S", 0.0)


def test_each_batch_is_committed_after_it_is_handled_with_explicit_offsets() -> None:
    consumer, rec = StandInConsumer(), recorder()
    asyncio.run(run(rec, consumer, lambda: len(rec.handled(0)) == 6 and len(rec.handled(1)) == 6))
    assert rec.handled(0) == [0, 1, 2, 3, 4, 5] and rec.handled(1) == [0, 1, 2, 3, 4, 5]
    # One commit per batch, for exactly the batch's partitions, each at its last offset + 1.
    assert consumer.commits[:3] == [{P0: 2, P1: 2}, {P0: 4, P1: 4}, {P0: 6, P1: 6}]
    assert consumer.seeks == []


def test_a_failed_batch_is_rewound_and_handled_again_nothing_skipped() -> None:
    consumer, rec = StandInConsumer(), recorder(fail_on={2})
    asyncio.run(run(rec, consumer, lambda: consumer.committed_offset(P0) == 6 and consumer.committed_offset(P1) == 6))
    assert rec.failures == 1
    # The failed batch (offsets 2-3 of both partitions) was sought back and delivered again.
    assert consumer.seeks == [(P0, 2), (P1, 2)]
    assert rec.handled(0) == [0, 1, 2, 3, 4, 5] and rec.handled(1) == [0, 1, 2, 3, 4, 5]
    # No commit ever passed the failed batch before it was handled.
    first_past = next(i for i, c in enumerate(consumer.commits) if c.get(P0, 0) > 2)
    assert first_past == 1 and consumer.commits[0] == {P0: 2, P1: 2}


def test_a_partition_taken_by_a_rebalance_is_not_committed() -> None:
    consumer = StandInConsumer()
    rec = recorder()
    original = rec.process

    async def lose_p1_during_first_batch(records: tuple[ConsumerRecord, ...]) -> None:
        await original(records)
        consumer.owned.discard(P1)  # revoked while the batch was being handled

    rec.process = lose_p1_during_first_batch  # type: ignore[method-assign]
    asyncio.run(run(rec, consumer, lambda: len(rec.handled(0)) == 6))
    assert consumer.commits[0] == {P0: 2}  # P1's offsets are its new owner's to commit
    assert all(P1 not in c for c in consumer.commits)


def test_a_batch_cancelled_by_the_drain_is_rewound_not_committed() -> None:
    consumer, rec = StandInConsumer(batch=6), recorder()
    started = asyncio.Event()

    async def slow(records: tuple[ConsumerRecord, ...]) -> None:
        started.set()
        await asyncio.sleep(30)

    rec.process = slow  # type: ignore[method-assign]

    async def scenario() -> None:
        broker = stream.make_broker(rec.settings, "test")
        subscriber = stream.subscribe(broker, rec)  # type: ignore[arg-type]
        async with TestKafkaBroker(broker):
            subscriber.consumer = consumer
            subscriber.running = True
            loop = asyncio.create_task(subscriber._run_consume_loop(consumer))
            await asyncio.wait_for(started.wait(), 5)
            loop.cancel()
            with pytest.raises(asyncio.CancelledError):
                await loop

    asyncio.run(scenario())
    assert consumer.commits == []
    assert sorted(consumer.seeks, key=lambda s: s[0].partition) == [(P0, 0), (P1, 0)]


def test_a_header_that_is_not_utf8_reaches_the_processor_byte_for_byte() -> None:
    consumer, rec = StandInConsumer(size=1), recorder()
    consumer.logs[P0] = [record(P0, 0, headers=[("upstream-trace", b"\xc3(\xff")])]
    got: list[ConsumerRecord] = []

    async def keep(records: tuple[ConsumerRecord, ...]) -> None:
        got.extend(records)

    rec.process = keep  # type: ignore[method-assign]
    asyncio.run(run(rec, consumer, lambda: len(got) == 2))
    bad = next(r for r in got if r.partition == 0)
    assert bad.headers == [("upstream-trace", b"\xc3(\xff")]
    assert consumer.commits[0] == {P0: 1, P1: 1}
