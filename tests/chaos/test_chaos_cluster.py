"""The short cluster chaos run inside `make test` (the full one: `make chaos`, the harness with
`--cluster`): three Kafka brokers, two instances of every service. While load flows through every
path the partition leaders' broker is SIGKILLed and restarted, one instance of each service is
killed (its group rebalances mid-batch), PostgreSQL restarts and SMTP is away; then nothing may be
lost or duplicated, no status or e-mail wrong. Then the network's short run (issue 26; the long one:
`make chaos`, the harness with `--network`): one intake instance's links to the brokers slowed,
then a validator instance cut off from every broker longer than its session timeout."""

from __future__ import annotations

import os
import uuid

import pytest

from pars_stack import Stack
from tests.chaos.harness import chaos, cluster_faults, network_faults, place, settings
from tests.chaos.network import Network
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]
SIZE = int(os.environ.get("PARS_CHAOS_CLUSTER_SIZE", "600"))


@pytest.fixture(scope="module")
def cluster_system(cluster_stack: Stack, tmp_path_factory):  # noqa: ANN001 - we kill its brokers and services
    running = RunningSystem(cluster_stack, tmp_path_factory.mktemp("chaos-cluster"), replicas=2, **settings())
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_nothing_lost_or_duplicated_on_a_cluster_under_chaos(cluster_system: RunningSystem) -> None:
    assert len(cluster_system.system.processes) == 8
    ok, report = chaos(cluster_system, SIZE, cluster_faults(smtp_seconds=5, short=True), duration=40,
                       settle_timeout=240)
    print(report)
    assert ok, report
    assert "broker" in report and "SIGKILL intake #2" in report  # the faults really ran


def test_nothing_lost_when_a_validator_is_cut_off_from_the_brokers_and_a_link_is_slow(
        cluster_system: RunningSystem) -> None:
    seed = int(os.environ.get("PARS_CHAOS_NETWORK_SEED", "26"))
    network = Network(uuid.uuid4().hex[:6])
    try:
        faults = network_faults(network, seed, short=True)
        place(network, cluster_system, faults)
        ok, report = chaos(cluster_system, 300, faults, duration=24, settle_timeout=120)
    finally:
        network.close()
    print(f"network schedule (seed {seed})", report)
    assert ok, report
    assert "commits refused after its group moved on" in report and "outcomes/s" in report  # both faults ran
