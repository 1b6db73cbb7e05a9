"""One system for all the provider-API tests (each test makes its own providers, so they do not
see each other). Its clock starts on 2020-03-15, so that the seed's 2019 activities still take
records (until March 31) but no longer take deletes (706), and 2020 activities take both.
A simulated day lasts 24 real seconds (ABIM decides within 1 s, ABPATH 12 s, ABS 24 s).
Webhooks' 3-day retry window lasts 8 s (WEBHOOK_TIME_SCALE), and demo mode lets them go to the
tests' receivers on loopback over http (test_webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pars_stack.util import free_port
from tests.support.system import RunningSystem

from .fake_gateway import FakeGateway

CLOCK_START = "2020-03-15"
DAY_SECONDS = 24


@pytest.fixture(scope="package")
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="package")
def system(stack: object, gateway: FakeGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # Two gateway instances, the first never answering (a restarting instance): intake takes them
    # in turn and falls over to the other, so every learner-match test also proves the failover.
    gateways = f"http://127.0.0.1:{free_port()},{gateway.url}"
    # ABIM runs every four simulated hours (4 s here), not every hour (a real second): a `?wait=`
    # answer then shows its first answer, Submitted, instead of racing the next run on a busy machine.
    running = RunningSystem(stack, tmp_path_factory.mktemp("intake_api"), BOARD_TIME_SCALE=str(86400 / DAY_SECONDS),
                            BOARD_SCHEDULE='{"ABIM": 4}',
                            PARS_CLOCK_START=CLOCK_START, BOARD_GATEWAY_URL=gateways, PARS_DEMO_MODE="1",
                            WEBHOOK_TIME_SCALE=str(3 * 86400 / 8), WEBHOOK_POLL_SECONDS="0.2",
                            WEBHOOK_TIMEOUT_SECONDS="5").start()
    yield running
    running.stop()
