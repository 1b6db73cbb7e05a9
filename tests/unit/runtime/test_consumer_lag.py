"""The consumer's lag gauge follows its assignment: a partition a rebalance moved to another
instance stops being reported here (its new owner reports it; a stale value would count its lag
twice in the group's sum), and per-provider topics add up under their registry topic's labels.
The Kafka consumer is a stand-in answering assignment, high watermark and position."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from pars_contracts import topics
from pars_runtime.processor import BatchProcessor, Group
from pars_runtime.settings import ServiceSettings
from pars_runtime.stream import LagGauge


class StandIn:
    def __init__(self) -> None:
        self.owned: dict[TopicPartition, tuple[int, int]] = {}  # partition -> (high watermark, position)

    def assignment(self) -> set[TopicPartition]:
        return set(self.owned)

    def highwater(self, tp: TopicPartition) -> int:
        return self.owned[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        return self.owned[tp][1]


def lag(group: str, topic: str, partition: int) -> Any:
    return REGISTRY.get_sample_value("pars_consumer_lag", {"group": group, "topic": topic, "partition": str(partition)})


def test_lag_follows_the_assignment_and_sums_per_provider_topics() -> None:
    settings = ServiceSettings(pars_namespace="lagtest")
    submitted = topics.RECORDS_SUBMITTED.name
    stand_in = StandIn()
    consumer = LagGauge(BatchProcessor(Group("validator", [submitted], {}), settings, None, None, "validator"),  # type: ignore[arg-type]
                        lambda: stand_in)
    group = settings.group("validator")
    real = settings.topic(submitted)

    stand_in.owned = {TopicPartition(real, 0): (100, 40), TopicPartition(real, 1): (10, 10)}
    asyncio.run(consumer.measure())
    assert lag(group, submitted, 0) == 60 and lag(group, submitted, 1) == 0

    # A rebalance gave partition 0 to the other instance.
    del stand_in.owned[TopicPartition(real, 0)]
    asyncio.run(consumer.measure())
    assert lag(group, submitted, 0) is None
    assert lag(group, submitted, 1) == 0


def test_per_provider_topics_add_up_under_their_registry_topic() -> None:
    settings = ServiceSettings(pars_namespace="lagtest2")
    inbound = topics.UPSTREAM_COMPLETIONS
    stand_in = StandIn()
    consumer = LagGauge(BatchProcessor(Group("intake-upstream", [inbound.name], {}), settings, None, None, "intake"),  # type: ignore[arg-type]
                        lambda: stand_in)
    first, second = (settings.topic(topics.completions_topic(p)) for p in ("1000001", "1000002"))
    stand_in.owned = {TopicPartition(first, 0): (7, 2), TopicPartition(second, 0): (30, 0)}
    asyncio.run(consumer.measure())
    assert lag(settings.group("intake-upstream"), inbound.name, 0) == 35
