"""The manual acknowledgement of every consumer group, on FastStream's real consume loop.

The Kafka consumer is a stand-in that keeps positions, seeks and commits the way aiokafka's does
(a poll advances the position; a commit stores explicit offsets; a seek moves the position), so
these tests see exactly what the runtime commits, rewinds and hands to the processor when a batch
succeeds, fails, is cancelled mid-drain, or loses a partition to a rebalance. No Kafka, no
PostgreSQL: the processor is a recorder, or the real one on the in-memory database
(pars_runtime.memory)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError
from faststream.kafka import TestKafkaBroker
from kafka_standin import P0, P1, TOPIC, StandInConsumer, record

from pars_contracts.envelope import wrap
from pars_contracts.events import ProviderRegistered
from pars_runtime import stream
from pars_runtime.memory import MemoryBatches, MemoryProducer
from pars_runtime.messages import encode
from pars_runtime.processor import BatchProcessor, Group, Unit
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


def test_a_commit_the_group_or_kafka_refuses_is_logged_and_the_next_batch_covers_it() -> None:
    consumer = StandInConsumer(size=4)
    handled: list[int] = []

    async def process(records: tuple[ConsumerRecord, ...]) -> None:
        handled.extend(r.offset for r in records if r.partition == 0)

    async def scenario() -> None:
        for error in (CommitFailedError("rebalancing"), KafkaConnectionError("Kafka away")):
            consumer.commit_error = error
            await stream.handle(consumer, tuple(r for rs in (await consumer.getmany()).values() for r in rs), process)

    asyncio.run(scenario())
    assert handled == [0, 1, 2, 3] and consumer.commits == []  # handled, not raised, nothing committed yet
    asyncio.run(stream.handle(consumer, (record(P0, 4), record(P1, 4)), process))
    assert consumer.commits == [{P0: 5, P1: 5}]


def test_a_failed_batch_is_rewound_only_where_this_member_still_owns_the_partition() -> None:
    consumer = StandInConsumer(batch=3)

    async def fail(records: tuple[ConsumerRecord, ...]) -> None:
        consumer.owned.discard(P1)  # revoked by a rebalance while the batch was handled
        raise RuntimeError("the batch failed")

    async def scenario() -> None:
        batch = tuple(r for rs in (await consumer.getmany()).values() for r in rs)
        with pytest.raises(RuntimeError, match="the batch failed"):
            await stream.handle(consumer, batch, fail)

    asyncio.run(scenario())
    assert consumer.seeks == [(P0, 0)] and consumer.positions[P0] == 0
    assert consumer.commits == []


def provider_log(tp: TopicPartition, first: int, count: int) -> list[ConsumerRecord]:
    events = [(i, ProviderRegistered(provider_id=f"{1000000 + first + i}", name="P")) for i in range(count)]
    return [record(tp, i, value=encode(wrap(e, producer="intake", correlation_id="c", message_id=f"00000000-0000-4000-8000-{first + i:012d}")),
                   key=e.provider_id.encode()) for i, e in events]


def test_the_processor_on_the_consume_loop_commits_after_its_transaction_and_a_redelivery_changes_nothing() -> None:
    """The whole consuming path without Kafka or PostgreSQL: FastStream's loop, the stand-in
    consumer, the real processor on the in-memory database. Then the same records again, as after
    a restart that lost the commits: the inbox makes them no-ops."""
    providers = "pars.providers.v1"
    q0, q1 = TopicPartition(providers, 0), TopicPartition(providers, 1)
    calls: list[str] = []

    async def registered(event: ProviderRegistered, uow: Unit[Any]) -> None:
        calls.append(f"m-{int(uow.envelope.message_id.rsplit('-', 1)[1])}")  # the id's number, as m-n
        uow.emit(providers, event.provider_id, event)

    database = MemoryBatches()
    processor = BatchProcessor(Group("notifier", [providers], {ProviderRegistered: registered}), ServiceSettings(),
                               database, MemoryProducer(), "notifier")  # type: ignore[arg-type]
    for attempt in range(2):
        consumer = StandInConsumer(logs={q0: provider_log(q0, 0, 3), q1: provider_log(q1, 10, 3)})
        asyncio.run(run(processor, consumer, lambda c=consumer: c.committed_offset(q0) == 3 and c.committed_offset(q1) == 3))  # type: ignore[arg-type, misc]
        assert consumer.commits == [{q0: 2, q1: 2}, {q0: 3, q1: 3}]
        assert sorted(calls) == ["m-0", "m-1", "m-10", "m-11", "m-12", "m-2"]  # once each, both times
        assert len(database.outbox) == 6 and database.committed == 2 * (attempt + 1)
