"""An in-memory stand-in for aiokafka's consumer: what the runtime's subscriber uses of it.

It keeps positions, seeks and commits the way AIOKafkaConsumer does: a poll returns records from
each owned partition's position and advances it; a seek moves the position (and raises
IllegalStateError for a partition not assigned, as aiokafka does); a commit stores the explicit
offsets it is given. It subclasses AIOKafkaConsumer without connecting, so that the runtime takes
it for the real one."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError

TOPIC = "pars.learner-records.submitted.v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def record(tp: TopicPartition, offset: int, headers: list[tuple[str, bytes]] | None = None,
           value: bytes | None = None, key: bytes = b"key") -> ConsumerRecord:
    value = b'{"n": %d}' % offset if value is None else value
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, key, value, None, len(key), len(value),
                          headers or [])


class StandInConsumer(AIOKafkaConsumer):
    """By default two partitions (P0, P1) of `size` records each; or the partitions of `logs`.
    A poll returns up to `batch` records of each owned partition."""

    def __init__(self, batch: int = 2, size: int = 6,
                 logs: dict[TopicPartition, list[ConsumerRecord]] | None = None) -> None:  # no super().__init__
        self.logs = logs if logs is not None else {tp: [record(tp, i) for i in range(size)] for tp in (P0, P1)}
        self.positions = dict.fromkeys(self.logs, 0)
        self.owned = set(self.logs)
        self.batch = batch
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.commit_error: Exception | None = None  # raised by the next commit, as a broker would

    def assignment(self) -> set[TopicPartition]:
        return set(self.owned)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[ConsumerRecord]]:
        found = {}
        for tp in sorted(self.owned, key=lambda t: (t.topic, t.partition)):
            records = self.logs[tp][self.positions[tp]:self.positions[tp] + self.batch]
            if records:
                found[tp] = records
                self.positions[tp] = records[-1].offset + 1
        if not found:
            await asyncio.sleep(0.005)
        return found

    async def commit(self, offsets: Any = None) -> None:
        assert offsets is not None, "the runtime always commits explicit offsets"
        if self.commit_error is not None:
            error, self.commit_error = self.commit_error, None
            raise error
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if partition not in self.owned:
            raise IllegalStateError(f"No current assignment for partition {partition}")
        self.seeks.append((partition, offset))
        self.positions[partition] = offset

    async def stop(self) -> None:
        pass

    def committed_offset(self, tp: TopicPartition) -> int:
        return max((c[tp] for c in self.commits if tp in c), default=0)
