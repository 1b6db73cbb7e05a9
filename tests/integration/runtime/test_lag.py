"""Consumer lag is measured per group and partition against the high watermarks."""

from __future__ import annotations

import asyncio

import pytest

from pars_contracts.topics import CONSUMER_GROUPS
from pars_runtime.lag import LagReader, measure_lag
from tests.support.kafka import auth
from tests.support.system import RunningSystem, eventually

pytestmark = pytest.mark.integration


async def test_lag_covers_every_group_and_partition(system: RunningSystem) -> None:
    ns = system.namespace
    system.new_provider()  # at least one message on pars.providers.v1, read by the notifier
    groups = {f"{ns}.{g}": [f"{ns}.{t.name}" for t in read] for g, (_, read) in CONSUMER_GROUPS.items()}
    lags = await measure_lag(system.env["KAFKA_BOOTSTRAP_SERVERS"], groups, **auth(system.env["KAFKA_BOOTSTRAP_SERVERS"]))
    assert {p.group for p in lags} == set(groups)
    assert all(p.end >= p.committed >= 0 for p in lags)
    notifier = [p for p in lags if p.group == f"{ns}.notifier" and p.topic.endswith("pars.providers.v1")]
    assert sum(p.end for p in notifier) >= 1


def test_lag_drains_to_zero(system: RunningSystem) -> None:
    """After a new provider is announced, the notifier's group is measured on every partition of
    the providers topic and catches up to its end (an empty measurement is not 'drained')."""
    from tests.support.kafka import run_sync

    ns = system.namespace
    system.new_provider()
    groups = {f"{ns}.notifier": [f"{ns}.pars.providers.v1"]}
    servers = system.env["KAFKA_BOOTSTRAP_SERVERS"]

    def drained() -> bool:
        lags = run_sync(measure_lag(servers, groups, **auth(servers)))
        return bool(lags) and sum(p.end for p in lags) >= 1 and all(p.lag == 0 for p in lags)

    eventually(drained, what="the notifier to catch up on every partition of the providers topic")


async def test_a_lag_reader_keeps_its_clients_and_reads_fresh_offsets(system: RunningSystem) -> None:
    """Intake's dashboard samples lag every OPS_SAMPLE_SECONDS on the same two clients: no new
    connections and SCRAM handshakes each time, and each measurement reads the offsets of now."""
    ns = system.namespace
    groups = {f"{ns}.notifier": [f"{ns}.pars.providers.v1"]}
    servers = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    reader = LagReader(servers, **auth(servers))
    try:
        before = sum(p.end for p in await reader.measure(groups))
        system.new_provider()  # one more message on pars.providers.v1
        deadline = asyncio.get_running_loop().time() + 30
        while sum(p.end for p in await reader.measure(groups)) == before:
            assert asyncio.get_running_loop().time() < deadline, "the new provider's message was never measured"
            await asyncio.sleep(0.2)
        assert reader.connected == 1
        await reader.close()
        assert {p.group for p in await reader.measure(groups)} == set(groups)  # closed: connects again
        assert reader.connected == 2
    finally:
        await reader.close()
