"""The short chaos run inside `make test` (the full one is `make chaos`: tests/chaos/harness.py).

A load through every path (web service, uploads, upstream Kafka) while every service is killed
with SIGKILL and restarted, Kafka and PostgreSQL restart and SMTP is down for a while; then no
record, status or e-mail may be lost or duplicated (SPEC 7, Reliability)."""

from __future__ import annotations

import os
import re

import pytest

from tests.chaos.harness import chaos, chaos_faults, down
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIZE = int(os.environ.get("PARS_CHAOS_SIZE", "900"))


@pytest.fixture(scope="module")
def system(stack, chaos_system):  # noqa: ANN001 - the chaos system: we kill its services and restart its servers
    if any(getattr(c, "external", False) for c in stack.components):
        pytest.skip("the stack's servers are external: Kafka and PostgreSQL cannot be restarted here")
    return chaos_system


def test_nothing_lost_or_duplicated_under_chaos(system: RunningSystem) -> None:
    ok, report = chaos(system, SIZE, chaos_faults(rounds=1, smtp_seconds=8), duration=30, settle_timeout=120)
    print(report)
    assert ok, report
    assert re.search(r"attempts the receiver refused while down: [1-9]", report), report  # the webhook fault bit


# A longer outage than a restart: consumers must wait for the database, not dead-letter messages.
def test_nothing_lost_while_postgres_is_down_longer_than_a_restart(system: RunningSystem) -> None:
    ok, report = chaos(system, 900, [down("postgres", "PostgreSQL", 6)], duration=16, settle_timeout=45)
    print(report)
    assert ok, report
